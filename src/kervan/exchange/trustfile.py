"""The trust list a node reads from a JWKS file, re-read when the file changes.

The corridor's operators write a new trust list (a rotated or revoked key) to each node's file
(`kervan corridor trust-list`); every node applies it to the messages it receives from then on,
without a restart. A file that cannot be read or parsed leaves the last good list in force (and
is logged): a half-written file must not open the door to every key or to none.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

from kervan.errors import TrustListError
from kervan.signatures.trustlist import TrustList

log = logging.getLogger(__name__)


class TrustListFile:
    """The trust list in `path` (JWKS), reloaded when its modification time or size changes,
    looked at no more than once per `interval` seconds."""

    def __init__(self, path: Path, *, interval: float = 0.5) -> None:
        self.path = path
        self._interval = interval
        self._stamp: tuple[int, int] | None = None
        self._checked = 0.0
        self.reloads = 0
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
        trust = TrustList.from_jwks(document)
        self._stamp = (stat.st_mtime_ns, stat.st_size)
        return trust


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` in one step (a reader sees the old file or the new one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.part")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)
