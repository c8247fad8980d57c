"""Kervan's settings, read from the environment (prefix KERVAN_) by pydantic-settings.

Development works with no configuration at all: data under ./var/kervan, a SQLite file there and
a random secret the node makes on its first start and keeps in its data directory (`secret_key`,
readable by its owner only). No secret is written in the code, so no two nodes share one. Any
other environment must say where its data lives and give a real secret of at least 32 characters
(production also refuses one with too little entropy); constructing `Settings` fails with a
`ConfigurationError` naming the variable otherwise, so a node never starts on a weak secret.

`/metrics` answers only a scraper presenting `KERVAN_METRICS_TOKEN` as a Bearer token; unset, the
node makes one the same way (`metrics_token` in the data directory) for the scraper to read.
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
import secrets
from collections import Counter
from enum import StrEnum
from pathlib import Path
from typing import Final

from pydantic import Field, PrivateAttr, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from kervan.errors import ConfigurationError

MIN_SECRET_KEY_LENGTH: Final = 32
#: Production refuses a secret whose characters carry fewer bits than this (see `entropy_bits`).
MIN_SECRET_KEY_BITS: Final = 128
#: Files in the data directory holding the secrets a node makes for itself.
SECRET_KEY_FILE: Final = "secret_key"  # noqa: S105 (a file name, not a secret)
METRICS_TOKEN_FILE: Final = "metrics_token"  # noqa: S105 (a file name, not a secret)
#: SHA-256 of secrets once published (the development secret earlier versions shipped in this
#: file): anyone can mint tokens with them, so every environment but development refuses them.
PUBLISHED_SECRETS: Final = frozenset(
    {"7c8f9fd75f0f828ca16746a589a7e62a85464be3f1cecea1489e9f4df3a8a42c"}
)
_MAKE_SECRET: Final = 'python -c "import secrets; print(secrets.token_urlsafe(48))"'  # noqa: S105 (how to make one)
DEFAULT_DATA_DIR: Final = Path("var/kervan")
SQLITE_FILE_NAME: Final = "kervan.sqlite3"


class Environment(StrEnum):
    """Where this node runs; everything but development must be configured explicitly."""

    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class Settings(BaseSettings):
    """A node's configuration.

    `data_dir` holds the SQLite file and the key files (`data_dir/keys`); `database_url` defaults
    to that SQLite file; `secret_key` signs API access tokens. `node_id` and `node_country` name
    this node (its ledger signs tree heads as `node_id`) and the country whose authority runs it.
    `request_threads` is how many requests one server process works on at once (the rest wait
    their turn): Python runs one thread at a time, so more threads only add switching. A
    request waiting for the ledger's sequencer holds no thread (the event loop waits), so a few
    threads keep a process busy; measured on 2 cores with PostgreSQL, 2-3 threads per process
    answered 15-25% more requests than 8 (see bench/api.py).
    """

    model_config = SettingsConfigDict(env_prefix="KERVAN_", extra="ignore", frozen=True)

    environment: Environment = Environment.DEVELOPMENT
    data_dir: Path | None = None
    database_url: str | None = None
    secret_key: SecretStr | None = Field(default=None, repr=False)
    metrics_token: SecretStr | None = Field(default=None, repr=False)
    node_id: str = Field(default="kervan-node", pattern=r"^[a-z0-9][a-z0-9._-]{1,63}$")
    node_country: str = Field(default="KZ", pattern=r"^[A-Z]{2}$")
    request_threads: int = Field(default=3, ge=1, le=64)
    #: Wrong logins one account, and one source address (an office behind one gateway: more),
    #: may make in `login_window_seconds` before further attempts answer 429 until the window
    #: has passed.
    login_failures_allowed: int = Field(default=5, ge=1, le=1000)
    login_address_failures_allowed: int = Field(default=20, ge=1, le=10_000)
    login_window_seconds: int = Field(default=900, ge=1, le=86_400)
    _secret_origin: str = PrivateAttr(default="configured")
    # -- the node's private keys at rest and its start-up audit (kervan.store.node_files) --
    #: Passphrase the key files are encrypted with; or a file holding it. Required (and not
    #: empty) in production; development and test generate a random one in data_dir.
    key_passphrase: SecretStr | None = Field(default=None, repr=False)
    key_passphrase_file: Path | None = None
    #: Serve even when the start-up audit finds the store does not verify (logged loudly).
    serve_unverified_ledger: bool = False

    @model_validator(mode="after")
    def _complete_and_refuse_unsafe(self) -> Settings:
        # Frozen model: defaults that depend on other fields are filled in once, here.
        development = self.environment is Environment.DEVELOPMENT
        data_dir = self.data_dir
        if data_dir is None:
            if self.environment is Environment.PRODUCTION:
                raise ConfigurationError(
                    "KERVAN_DATA_DIR is required in production: set it to the directory that "
                    "holds this node's key files (and its SQLite database, if any)"
                )
            data_dir = DEFAULT_DATA_DIR
        data_dir = data_dir.expanduser().absolute()
        object.__setattr__(self, "data_dir", data_dir)
        if self.database_url is None:
            object.__setattr__(self, "database_url", f"sqlite:///{data_dir / SQLITE_FILE_NAME}")
        secret = self.secret_key.get_secret_value() if self.secret_key is not None else None
        if secret is None:
            if not development:
                raise ConfigurationError(
                    f"KERVAN_SECRET_KEY is required when KERVAN_ENVIRONMENT is "
                    f"{self.environment.value}: set it to a random value of at least "
                    f"{MIN_SECRET_KEY_LENGTH} characters (e.g. `{_MAKE_SECRET}`)"
                )
            secret, made = node_secret(data_dir / SECRET_KEY_FILE)
            object.__setattr__(self, "secret_key", SecretStr(secret))
            self._secret_origin = "generated" if made else "read from the data directory"
        elif not development:
            _refuse_weak("KERVAN_SECRET_KEY", secret, self.environment)
        token = self.metrics_token.get_secret_value() if self.metrics_token is not None else None
        if token is None:
            token, _ = node_secret(data_dir / METRICS_TOKEN_FILE)
            object.__setattr__(self, "metrics_token", SecretStr(token))
        elif not development:
            _refuse_weak("KERVAN_METRICS_TOKEN", token, self.environment)
        _refuse_missing_key_passphrase(self)
        return self

    @property
    def resolved_data_dir(self) -> Path:
        """The absolute data directory (always set after construction)."""
        assert self.data_dir is not None
        return self.data_dir

    @property
    def resolved_database_url(self) -> str:
        """The database URL (the SQLite file under `data_dir` unless KERVAN_DATABASE_URL)."""
        assert self.database_url is not None
        return self.database_url

    @property
    def keys_dir(self) -> Path:
        """Where the file key store keeps private keys: `data_dir/keys`."""
        return self.resolved_data_dir / "keys"

    @property
    def secret_origin(self) -> str:
        """Where the token secret came from: configured, generated, or read from the data
        directory (a secret this node generated on an earlier start); logged at start."""
        return self._secret_origin

    def metrics_token_value(self) -> str:
        """The Bearer token a Prometheus scraper presents on `/metrics`."""
        assert self.metrics_token is not None
        return self.metrics_token.get_secret_value()

    def secret_key_value(self) -> str:
        """Return the secret for signing API access tokens (never logged by `repr`)."""
        assert self.secret_key is not None
        return self.secret_key.get_secret_value()


def _refuse_missing_key_passphrase(settings: Settings) -> None:
    # Development and test generate a passphrase file in the data directory on first use.
    if settings.environment is not Environment.PRODUCTION:
        return
    given = settings.key_passphrase
    if settings.key_passphrase_file is None and (given is None or not given.get_secret_value()):
        raise ConfigurationError(
            "KERVAN_KEY_PASSPHRASE or KERVAN_KEY_PASSPHRASE_FILE is required in production: the "
            "node's private key files are encrypted with it (a random value of at least "
            f"{MIN_SECRET_KEY_LENGTH} characters)"
        )


def entropy_bits(secret: str) -> float:
    """An upper estimate of the bits of randomness in `secret`: its length times the Shannon
    entropy of its characters' frequencies ("aaaa..." carries none; 64 url-safe random
    characters about 350)."""
    counts = Counter(secret)
    per_character = -sum(n / len(secret) * math.log2(n / len(secret)) for n in counts.values())
    return max(0.0, len(secret) * per_character)


def _refuse_weak(variable: str, secret: str, environment: Environment) -> None:
    if hashlib.sha256(secret.encode()).hexdigest() in PUBLISHED_SECRETS:
        raise ConfigurationError(
            f"{variable} is a secret published with earlier versions of Kervan, which anyone "
            f"can sign tokens with: set a random value, e.g. `{_MAKE_SECRET}`"
        )
    if len(secret) < MIN_SECRET_KEY_LENGTH:
        raise ConfigurationError(
            f"{variable} is {len(secret)} characters long; when KERVAN_ENVIRONMENT is "
            f"{environment.value} it must be at least {MIN_SECRET_KEY_LENGTH} (e.g. "
            f"`{_MAKE_SECRET}`)"
        )
    bits = entropy_bits(secret)
    if environment is Environment.PRODUCTION and bits < MIN_SECRET_KEY_BITS:
        raise ConfigurationError(
            f"{variable} is too guessable (about {bits:.0f} bits of entropy, at least "
            f"{MIN_SECRET_KEY_BITS} are needed in production): set a random value, e.g. "
            f"`{_MAKE_SECRET}`"
        )


def node_secret(path: Path) -> tuple[str, bool]:
    """The secret kept in `path`, made now (random, the file readable by its owner only) when
    there is none yet; returns it and whether it was made now.

    Several processes of one node may start at once (`kervan serve --workers N`): each writes its
    candidate to a file of its own and links it into place; the first link wins and the others
    read the winner's, so they all sign with the same secret.
    """
    try:
        return _read_secret(path), False
    except FileNotFoundError:
        pass
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    candidate = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    made = secrets.token_urlsafe(48)
    descriptor = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            file.write(made + "\n")
            file.flush()
            os.fsync(file.fileno())
        os.link(candidate, path)
    except FileExistsError:
        return _read_secret(path), False
    finally:
        candidate.unlink(missing_ok=True)
    return made, True


def _read_secret(path: Path) -> str:
    secret = path.read_text(encoding="ascii").strip()
    if len(secret) < MIN_SECRET_KEY_LENGTH:
        raise ConfigurationError(
            f"{path} holds {len(secret)} characters, fewer than {MIN_SECRET_KEY_LENGTH}: delete "
            f"it to have the node make a new secret (tokens signed with the old one stop working)"
        )
    return secret


@functools.cache
def get_settings() -> Settings:
    """Return the process's settings, read from the environment once and cached.

    Raises ConfigurationError when the environment is unsafe (see `Settings`). Tests that change
    the environment call `get_settings.cache_clear()`.
    """
    return Settings()
