"""The file key store: organisations' private signing keys under `data_dir/keys`.

Layout: `keys/<org_id>/<kid>.pem`, PKCS#8 PEM (encrypted when a passphrase is given), files
0600 in directories 0700. A key file anyone but its owner could read is refused on load. A node
always gives a passphrase (kervan.store.node_files); a key file written before keys were
encrypted is still read, and `encrypt_plain_files` re-writes such files encrypted. Keys
come back only as the core's `Signer` objects, which never hand out private bytes; nothing here
logs or returns key material. An HSM or vault can stand behind the same `Signer` protocol.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Final, Literal

from kervan.errors import KeyFileError
from kervan.signatures.keys import (
    EDDSA,
    ES256,
    Ed25519Signer,
    Es256Signer,
    load_signer_from_keystore_pem,
)

_SAFE_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_FILE_MODE: Final = 0o600
_DIR_MODE: Final = 0o700
#: How an unencrypted PKCS#8 PEM starts (an encrypted one says ENCRYPTED PRIVATE KEY).
_PLAIN_PEM: Final = b"-----BEGIN PRIVATE KEY-----"


class KeyFileStore:
    """Private keys of the node's organisations, one PEM file per key id."""

    def __init__(self, directory: Path, *, passphrase: bytes | None = None) -> None:
        """Keep keys under `directory` (usually `Settings.keys_dir`); with `passphrase` the
        PEM files are encrypted with it."""
        self._directory = directory
        self._passphrase = passphrase

    def __repr__(self) -> str:
        return f"KeyFileStore({str(self._directory)!r})"

    @property
    def directory(self) -> Path:
        """The directory holding one sub-directory per organisation."""
        return self._directory

    def generate(
        self, org_id: str, kid: str, *, alg: Literal["EdDSA", "ES256"] = EDDSA
    ) -> Ed25519Signer | Es256Signer:
        """Create a new key for `org_id` named `kid`, write it (0600) and return its signer.

        EdDSA (Ed25519) for document signatures, ES256 (P-256) for e-Permit QR codes and peers.
        Raises KeyFileError if a key with this kid already exists (keys are never overwritten).
        """
        if alg == EDDSA:
            signer: Ed25519Signer | Es256Signer = Ed25519Signer.generate(kid, party=org_id)
        elif alg == ES256:
            signer = Es256Signer.generate(kid, party=org_id)
        else:
            raise KeyFileError(f"unsupported key algorithm {alg!r}: use EdDSA or ES256")
        self.save(signer)
        return signer

    def save(self, signer: Ed25519Signer | Es256Signer) -> Path:
        """Write `signer`'s private key to its file (created 0600, never overwritten)."""
        path = self._path(signer.party, signer.kid)
        self._directory.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
        self._directory.chmod(_DIR_MODE)
        path.parent.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
        path.parent.chmod(_DIR_MODE)
        pem = signer.export_private_pem_for_keystore(self._passphrase)
        try:
            # O_EXCL: a key file is written once; the mode is set at creation, never widened.
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _FILE_MODE)
        except FileExistsError as exc:
            raise KeyFileError(
                f"a key file for kid {signer.kid!r} of {signer.party!r} already exists; "
                f"choose a new kid (keys are rotated, never overwritten)"
            ) from exc
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
        return path

    def load(self, org_id: str, kid: str) -> Ed25519Signer | Es256Signer:
        """Return the signer for `org_id`'s key `kid`.

        Raises KeyFileError when the file is missing, readable by group or others, or not a
        key this store wrote (or the passphrase is wrong).
        """
        path = self._path(org_id, kid)
        try:
            mode = path.stat().st_mode
        except FileNotFoundError as exc:
            raise KeyFileError(
                f"no key file for kid {kid!r} of {org_id!r} in {self._directory}"
            ) from exc
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyFileError(
                f"key file {path} is accessible by group or others (mode "
                f"{stat.S_IMODE(mode):o}); run `chmod 600 {path}`"
            )
        pem = path.read_bytes()
        # A file written before the node's keys were encrypted is read as it is.
        password = None if pem.startswith(_PLAIN_PEM) else self._passphrase
        try:
            return load_signer_from_keystore_pem(pem, kid=kid, party=org_id, password=password)
        except (ValueError, TypeError) as exc:
            # The cryptography message names no key bytes; keep only the file in the message.
            raise KeyFileError(
                f"key file {path} cannot be loaded (not a PKCS#8 key or wrong passphrase)"
            ) from exc

    def encrypt_plain_files(self) -> list[Path]:
        """Re-write every unencrypted key file encrypted with the store's passphrase (each
        replaced atomically, 0600); return the files re-written. Raises KeyFileError without
        a passphrase or for a file that is not a key."""
        if not self._passphrase:
            raise KeyFileError("key files can only be encrypted with a passphrase")
        rewritten = []
        for path in sorted(self._directory.glob("*/*.pem")):
            if not path.read_bytes().startswith(_PLAIN_PEM):
                continue
            signer = self.load(path.parent.name, path.stem)
            pem = signer.export_private_pem_for_keystore(self._passphrase)
            partial = path.with_name(f".{path.name}.encrypting")
            partial.unlink(missing_ok=True)
            descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _FILE_MODE)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(pem)
                handle.flush()
                os.fsync(handle.fileno())
            partial.replace(path)
            rewritten.append(path)
        return rewritten

    def kids(self, org_id: str) -> list[str]:
        """Return the kids of `org_id`'s stored keys, sorted."""
        folder = self._directory / _safe(org_id, "organisation id")
        if not folder.is_dir():
            return []
        return sorted(path.stem for path in folder.glob("*.pem"))

    def _path(self, org_id: str, kid: str) -> Path:
        return self._directory / _safe(org_id, "organisation id") / f"{_safe(kid, 'kid')}.pem"


def _safe(name: str, what: str) -> str:
    # Names become path parts: refuse anything that could climb out of the key directory.
    if not isinstance(name, str) or _SAFE_NAME.fullmatch(name) is None or ".." in name:
        raise KeyFileError(
            f"{what} {name!r} cannot name a key file: use letters, digits, '.', '_' or '-'"
        )
    return name
