"""A node's files at rest: `kervan db upgrade` and `kervan org create` leave the data directory
0700, the SQLite file, the passphrase file and every key file 0600, and no key file holds an
unencrypted PEM; the passphrase comes from the environment or a file and is required in
production; key files written unencrypted before are read and re-written encrypted."""

from __future__ import annotations

import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from kervan.cli import app
from kervan.errors import ConfigurationError, KeyFileError
from kervan.settings import Environment, Settings, get_settings
from kervan.store.keyfiles import KeyFileStore
from kervan.store.node_files import PASSPHRASE_FILE_NAME, key_passphrase
from tests.databases import BACKENDS, admin_sql, schema_url

runner = CliRunner()
STRONG = "a-production-passphrase-of-forty-characters!"
PLAIN_PEM = b"BEGIN PRIVATE KEY"
ENCRYPTED_PEM = b"-----BEGIN ENCRYPTED PRIVATE KEY-----"


def kervan(*args: str) -> Result:
    return runner.invoke(app, list(args))


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(params=BACKENDS)
def environment(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """The command line's environment: a development node in a data directory not created
    yet, its database SQLite there or a fresh PostgreSQL schema."""
    data_dir = tmp_path / "node"
    monkeypatch.setenv("KERVAN_ENVIRONMENT", "development")
    monkeypatch.setenv("KERVAN_DATA_DIR", str(data_dir))
    for name in ("KERVAN_DATABASE_URL", "KERVAN_KEY_PASSPHRASE", "KERVAN_KEY_PASSPHRASE_FILE"):
        monkeypatch.delenv(name, raising=False)
    schema = None
    if request.param == "postgresql":
        schema = f"kervan_test_{uuid.uuid4().hex[:16]}"
        admin_sql(f"CREATE SCHEMA {schema}")
        monkeypatch.setenv("KERVAN_DATABASE_URL", schema_url(schema))
    get_settings.cache_clear()
    yield data_dir
    get_settings.cache_clear()
    if schema is not None:
        admin_sql(f"DROP SCHEMA {schema} CASCADE")


def set_up_node() -> None:
    migrated = kervan("db", "upgrade")
    assert migrated.exit_code == 0, migrated.output
    registered = kervan(
        "org", "create", "kz-customs", "State Revenue Committee", "KZ", "customs_authority",
        "--street", "Zhenis 11", "--city", "Astana",
    )  # fmt: skip
    assert registered.exit_code == 0, registered.output


def test_a_new_node_keeps_its_files_to_its_owner(environment: Path) -> None:
    set_up_node()
    assert mode(environment) == 0o700
    assert mode(environment / "keys") == 0o700
    assert mode(environment / PASSPHRASE_FILE_NAME) == 0o600
    database = environment / "kervan.sqlite3"
    for sqlite_file in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        if sqlite_file.exists():
            assert mode(sqlite_file) == 0o600, sqlite_file
    key_files = sorted((environment / "keys").glob("*/*.pem"))
    # The node's own key (it signs tree heads) and the customs authority's.
    assert {path.parent.name for path in key_files} == {"kervan-node", "kz-customs"}
    for path in key_files:
        assert mode(path) == 0o600
        assert mode(path.parent) == 0o700
        content = path.read_bytes()
        assert content.startswith(ENCRYPTED_PEM)
        assert PLAIN_PEM not in content.replace(b"ENCRYPTED PRIVATE KEY", b"")
    # Only the passphrase opens them.
    settings = get_settings()
    keys = KeyFileStore(settings.keys_dir, passphrase=key_passphrase(settings))
    (kid,) = keys.kids("kz-customs")
    assert keys.load("kz-customs", kid).party == "kz-customs"
    with pytest.raises(KeyFileError, match="wrong passphrase"):
        KeyFileStore(settings.keys_dir, passphrase=b"not the passphrase").load("kz-customs", kid)


def test_an_unencrypted_key_file_is_read_and_re_written_encrypted(environment: Path) -> None:
    settings = get_settings()
    # What a node wrote before its keys were encrypted.
    old = KeyFileStore(settings.keys_dir).generate("kervan-node", "kervan-node-ed-old")
    path = settings.keys_dir / "kervan-node" / "kervan-node-ed-old.pem"
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    set_up_node()
    assert path.read_bytes().startswith(ENCRYPTED_PEM)
    assert mode(path) == 0o600
    keys = KeyFileStore(settings.keys_dir, passphrase=key_passphrase(settings))
    assert keys.load("kervan-node", old.kid).public_jwk() == old.public_jwk()


def test_the_passphrase_can_come_from_a_file(
    environment: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    passphrase = tmp_path / "passphrase"
    passphrase.write_text(STRONG + "\n", encoding="utf-8")
    passphrase.chmod(0o644)
    monkeypatch.setenv("KERVAN_KEY_PASSPHRASE_FILE", str(passphrase))
    get_settings.cache_clear()
    refused = kervan("db", "upgrade")
    assert refused.exit_code == ConfigurationError.exit_code
    assert "chmod 600" in refused.output
    passphrase.chmod(0o600)
    set_up_node()
    assert not (environment / PASSPHRASE_FILE_NAME).exists()
    keys = KeyFileStore(environment / "keys", passphrase=STRONG.encode())
    (kid,) = keys.kids("kz-customs")
    assert keys.load("kz-customs", kid).party == "kz-customs"


def test_production_refuses_to_start_without_a_passphrase(
    environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KERVAN_ENVIRONMENT", "production")
    monkeypatch.setenv("KERVAN_SECRET_KEY", STRONG)
    for given in (None, ""):
        if given is not None:
            monkeypatch.setenv("KERVAN_KEY_PASSPHRASE", given)
        get_settings.cache_clear()
        refused = kervan("db", "upgrade")
        assert refused.exit_code == ConfigurationError.exit_code
        assert "KERVAN_KEY_PASSPHRASE" in refused.output
    assert not (environment / "keys").exists()
    monkeypatch.setenv("KERVAN_KEY_PASSPHRASE", STRONG)
    get_settings.cache_clear()
    set_up_node()
    assert not (environment / PASSPHRASE_FILE_NAME).exists()


def test_settings_refuse_an_empty_production_passphrase(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="KERVAN_KEY_PASSPHRASE"):
        Settings(environment=Environment.PRODUCTION, data_dir=tmp_path, secret_key=STRONG,
                 key_passphrase="")  # fmt: skip
