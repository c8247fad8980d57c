"""Kervan's settings, read from the environment (prefix KERVAN_) by pydantic-settings.

Development works with no configuration at all: data under ./var/kervan, a SQLite file there and
a clearly labelled development secret. Any other environment must say where its data lives and
give a real secret of at least 32 characters; constructing `Settings` fails with a
`ConfigurationError` naming the variable otherwise, so a node never starts on a default secret.
"""

from __future__ import annotations

import functools
from enum import StrEnum
from pathlib import Path
from typing import Final

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from kervan.errors import ConfigurationError

#: Only ever used when KERVAN_ENVIRONMENT is development; refused everywhere else.
DEVELOPMENT_SECRET_KEY: Final = "kervan-development-only-secret-never-use-outside-development"  # noqa: S105
MIN_SECRET_KEY_LENGTH: Final = 32
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
    node_id: str = Field(default="kervan-node", pattern=r"^[a-z0-9][a-z0-9._-]{1,63}$")
    node_country: str = Field(default="KZ", pattern=r"^[A-Z]{2}$")
    request_threads: int = Field(default=3, ge=1, le=64)
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
                    f"{MIN_SECRET_KEY_LENGTH} characters (e.g. `python -c "
                    f'"import secrets; print(secrets.token_urlsafe(48))"`)'
                )
            object.__setattr__(self, "secret_key", SecretStr(DEVELOPMENT_SECRET_KEY))
        elif not development:
            if secret == DEVELOPMENT_SECRET_KEY:
                raise ConfigurationError(
                    f"KERVAN_SECRET_KEY is the development secret, which is refused when "
                    f"KERVAN_ENVIRONMENT is {self.environment.value}: set a random value of at "
                    f"least {MIN_SECRET_KEY_LENGTH} characters"
                )
            if len(secret) < MIN_SECRET_KEY_LENGTH:
                raise ConfigurationError(
                    f"KERVAN_SECRET_KEY is {len(secret)} characters long; when "
                    f"KERVAN_ENVIRONMENT is {self.environment.value} it must be at least "
                    f"{MIN_SECRET_KEY_LENGTH}"
                )
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


@functools.cache
def get_settings() -> Settings:
    """Return the process's settings, read from the environment once and cached.

    Raises ConfigurationError when the environment is unsafe (see `Settings`). Tests that change
    the environment call `get_settings.cache_clear()`.
    """
    return Settings()
