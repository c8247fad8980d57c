"""The trust list a node reads from a JWKS file, re-read when the file changes.

The corridor's operators write a new trust list (a rotated or revoked key) to each node's file
(`kervan corridor trust-list`); every node applies it to the messages it receives from then on,
without a restart. A file that cannot be read or parsed leaves the last good list in force (and
is logged): a half-written file must not open the door to every key or to none.

The corridor's list is signed (`sign_trust_list`): the JWKS carries `issued_at` and a detached
JWS `signature` by the corridor operator's trust-list key over the canonical JSON of the rest.
A node given that key (`signed_by`) applies a list only when the signature verifies and it is
not older than the list in force: a list copied in by anyone else, altered on the way, or an
old list put back, is refused and the last good one stays.
"""

from __future__ import annotations

import json
import logging
import os
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from kervan.errors import SignatureError, TrustListError
from kervan.signatures.canonical import canonical_json
from kervan.signatures.encoding import unix_seconds
from kervan.signatures.jws import sign_detached, verify_detached
from kervan.signatures.keys import Signer
from kervan.signatures.trustlist import TrustList

log = logging.getLogger(__name__)
#: The party of the corridor operator's key that signs the trust list.
TRUST_LIST_SIGNER: Final = "corridor-operator"


def sign_trust_list(trust: TrustList, signer: Signer, issued_at: datetime) -> str:
    """The trust list as JWKS text, with `issued_at` and `signer`'s detached signature."""
    document: dict[str, Any] = {**trust.to_jwks(), "issued_at": unix_seconds(issued_at)}
    document["signature"] = sign_detached(canonical_json(document), signer)
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def check_signature(document: dict[str, Any], signed_by: TrustList) -> int:
    """The `issued_at` of a signed trust list whose signature verifies with a key of
    `signed_by`; TrustListError otherwise."""
    signature = document.get("signature")
    issued_at = document.get("issued_at")
    if not isinstance(signature, str) or not isinstance(issued_at, int):
        raise TrustListError("the trust list is not signed (no signature and issued_at)")
    body = {name: value for name, value in document.items() if name != "signature"}
    try:
        verified = verify_detached(signature, canonical_json(body), signed_by)
    except SignatureError as exc:
        raise TrustListError(f"the trust list's signature does not verify: {exc.message}") from exc
    if verified.party != TRUST_LIST_SIGNER:
        raise TrustListError(f"the trust list is signed by {verified.party}, not the operator")
    return issued_at


class TrustListFile:
    """The trust list in `path` (JWKS), reloaded when its modification time or size changes,
    looked at no more than once per `interval` seconds; with `signed_by` (the operator's
    public key), only a list it signed, no older than the one in force (`refused` counts the
    others)."""

    def __init__(
        self, path: Path, *, interval: float = 0.5, signed_by: TrustList | None = None
    ) -> None:
        self.path = path
        self._interval = interval
        self._signed_by = signed_by
        self._issued_at = 0
        self._stamp: tuple[int, int] | None = None
        self._checked = 0.0
        self.reloads = 0
        self.refused = 0
        self._trust = self._read()

    def current(self) -> TrustList:
        """The trust list in force now."""
        now = time.monotonic()
        if now - self._checked >= self._interval:
            self._checked = now
            try:
                stat = self.path.stat()
            except OSError as exc:
                log.error("trust list %s unreadable (%s); keeping the last one", self.path, exc)
                return self._trust
            if (stat.st_mtime_ns, stat.st_size) != self._stamp:
                try:
                    self._trust = self._read()
                    self.reloads += 1
                    log.warning("trust list %s reloaded (%d keys)", self.path, len(self._trust))
                except TrustListError as exc:
                    self.refused += 1
                    self._stamp = (stat.st_mtime_ns, stat.st_size)  # refused once, not each look
                    log.error("trust list %s refused (%s); keeping the last one", self.path, exc)
        return self._trust

    def _read(self) -> TrustList:
        try:
            stat = self.path.stat()
            document = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise TrustListError(f"cannot read the trust list {self.path}: {exc}") from exc
        if not isinstance(document, dict):
            raise TrustListError(f"the trust list {self.path} is not a JWKS object")
        issued_at = self._issued_at
        if self._signed_by is not None:
            issued_at = check_signature(document, self._signed_by)
            if issued_at < self._issued_at:
                raise TrustListError(
                    f"the trust list {self.path} is older than the one in force "
                    f"(issued {issued_at}, in force since {self._issued_at})"
                )
        trust = TrustList.from_jwks(document)
        self._stamp = (stat.st_mtime_ns, stat.st_size)
        self._issued_at = issued_at
        return trust


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` in one step (a reader sees the old file or the new one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.part")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)
