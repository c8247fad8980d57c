"""The node's files on disk: its data directory (0700), the passphrase its private keys are
encrypted with, and the key store opened with it.

The passphrase comes from KERVAN_KEY_PASSPHRASE or the file KERVAN_KEY_PASSPHRASE_FILE names;
production requires one (kervan.settings refuses to start without). Development and test
generate a random passphrase into `data_dir/key-passphrase` (0600) the first time, as a secret
would be, so a laptop node still needs no set-up. Opening the key store re-writes key files
written before keys were encrypted, encrypted (logged), so an existing node is converted the
first time it starts.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
from pathlib import Path
from typing import Final

from kervan.errors import ConfigurationError
from kervan.settings import Settings
from kervan.store.keyfiles import KeyFileStore

log = logging.getLogger(__name__)

PASSPHRASE_FILE_NAME: Final = "key-passphrase"  # noqa: S105 (a file name)
DATA_DIR_MODE: Final = 0o700
_FILE_MODE: Final = 0o600


def secure_data_dir(settings: Settings) -> Path:
    """Create the data directory if needed and make it the owner's only (0700); return it."""
    directory = settings.resolved_data_dir
    directory.mkdir(mode=DATA_DIR_MODE, parents=True, exist_ok=True)
    directory.chmod(DATA_DIR_MODE)
    return directory


def key_passphrase(settings: Settings) -> bytes:
    """The passphrase the node's key files are encrypted with (see the module's docstring).

    Raises ConfigurationError for an empty passphrase, a passphrase file that is missing,
    empty, or readable by group or others.
    """
    if settings.key_passphrase is not None:
        value = settings.key_passphrase.get_secret_value()
        if not value:
            raise ConfigurationError("KERVAN_KEY_PASSPHRASE is empty: set the key passphrase")
        return value.encode("utf-8")
    if settings.key_passphrase_file is not None:
        return _read_passphrase(settings.key_passphrase_file, "KERVAN_KEY_PASSPHRASE_FILE")
    path = secure_data_dir(settings) / PASSPHRASE_FILE_NAME
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _FILE_MODE)
    except FileExistsError:
        return _read_passphrase(path, "the generated key passphrase")
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(secrets.token_urlsafe(48) + "\n")
    log.info("generated a key passphrase for development in %s", path)
    return _read_passphrase(path, "the generated key passphrase")


def node_keys(settings: Settings) -> KeyFileStore:
    """The node's key store under `data_dir/keys`, encrypted with the node's passphrase; key
    files found unencrypted are re-written encrypted first."""
    secure_data_dir(settings)
    keys = KeyFileStore(settings.keys_dir, passphrase=key_passphrase(settings))
    if keys.directory.is_dir():
        for path in keys.encrypt_plain_files():
            log.warning("key file %s was not encrypted: re-written encrypted", path)
    return keys


def _read_passphrase(path: Path, what: str) -> bytes:
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"{what} {path} cannot be read: {exc.strerror or exc}") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigurationError(
            f"{what} {path} is accessible by group or others (mode {stat.S_IMODE(mode):o}); "
            f"run `chmod 600 {path}`"
        )
    value = text.rstrip("\r\n")
    if not value:
        raise ConfigurationError(f"{what} {path} is empty: write the key passphrase in it")
    return value.encode("utf-8")


def keys_of_node_dir(data_dir: Path, settings: Settings) -> KeyFileStore:
    """The key store of another node's data directory (a corridor's topology names several),
    read with the passphrase the environment gives (KERVAN_KEY_PASSPHRASE or its file) or, in
    development, the one that node generated in its directory; files not encrypted yet are
    read as they are."""
    passphrase: bytes | None
    if settings.key_passphrase is not None or settings.key_passphrase_file is not None:
        passphrase = key_passphrase(settings)
    elif (data_dir / PASSPHRASE_FILE_NAME).is_file():
        passphrase = _read_passphrase(data_dir / PASSPHRASE_FILE_NAME, "the key passphrase")
    else:
        passphrase = None
    return KeyFileStore(data_dir / "keys", passphrase=passphrase)
