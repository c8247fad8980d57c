"""Settings: development needs nothing; any other environment refuses default or weak secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from kervan.errors import ConfigurationError
from kervan.settings import (
    DEVELOPMENT_SECRET_KEY,
    Environment,
    Settings,
    get_settings,
)
from kervan.store.db import normalise_url

STRONG = "s" * 32


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ENVIRONMENT", "DATA_DIR", "DATABASE_URL", "SECRET_KEY"):
        monkeypatch.delenv(f"KERVAN_{name}", raising=False)
    get_settings.cache_clear()


def test_development_works_with_nothing_set(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.environment is Environment.DEVELOPMENT
    assert settings.resolved_data_dir == tmp_path / "var" / "kervan"
    assert settings.resolved_database_url == f"sqlite:///{tmp_path}/var/kervan/kervan.sqlite3"
    assert settings.keys_dir == tmp_path / "var" / "kervan" / "keys"
    assert settings.secret_key_value() == DEVELOPMENT_SECRET_KEY
    assert "development" in DEVELOPMENT_SECRET_KEY


def test_production_without_secret_fails_with_the_variable_to_set(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="KERVAN_SECRET_KEY is required") as caught:
        Settings(environment=Environment.PRODUCTION, data_dir=tmp_path)
    assert "at least 32 characters" in caught.value.message


@pytest.mark.parametrize("environment", ["production", "test"])
def test_short_secret_is_refused_outside_development(environment: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="31 characters long"):
        Settings(environment=Environment(environment), data_dir=tmp_path, secret_key="x" * 31)


def test_development_secret_is_refused_in_production(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="development secret"):
        Settings(environment="production", data_dir=tmp_path, secret_key=DEVELOPMENT_SECRET_KEY)


def test_production_needs_an_explicit_data_dir() -> None:
    with pytest.raises(ConfigurationError, match="KERVAN_DATA_DIR is required in production"):
        Settings(environment="production", secret_key=STRONG)


def test_settings_come_from_kervan_environment_variables(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KERVAN_ENVIRONMENT", "production")
    monkeypatch.setenv("KERVAN_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KERVAN_SECRET_KEY", STRONG)
    monkeypatch.setenv("KERVAN_KEY_PASSPHRASE", STRONG)
    monkeypatch.setenv("KERVAN_DATABASE_URL", "postgresql://kervan@db/kervan")
    settings = get_settings()
    assert settings is get_settings()
    assert settings.environment is Environment.PRODUCTION
    assert settings.resolved_data_dir == tmp_path
    assert settings.resolved_database_url == "postgresql://kervan@db/kervan"
    assert settings.secret_key_value() == STRONG


def test_production_environment_without_secret_fails_through_get_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KERVAN_ENVIRONMENT", "production")
    monkeypatch.setenv("KERVAN_DATA_DIR", str(tmp_path))
    with pytest.raises(ConfigurationError, match="KERVAN_SECRET_KEY"):
        get_settings()


def test_secret_never_shows_in_repr(tmp_path: Path) -> None:
    settings = Settings(environment="test", data_dir=tmp_path, secret_key=STRONG)
    assert STRONG not in repr(settings)
    assert STRONG not in str(settings)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:////srv/k.sqlite3", "sqlite:////srv/k.sqlite3"),
    ],
)
def test_database_urls_use_psycopg_3(given: str, expected: str) -> None:
    assert normalise_url(given).render_as_string() == expected


def test_other_databases_are_refused() -> None:
    with pytest.raises(ValueError, match="unsupported database URL"):
        normalise_url("mysql://u@h/db")
