"""Settings: development needs nothing (it makes its own secret); any other environment refuses
missing or weak secrets."""

from __future__ import annotations

import multiprocessing
import secrets
import stat
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from kervan.errors import ConfigurationError
from kervan.settings import (
    SECRET_KEY_FILE,
    Environment,
    Settings,
    get_settings,
    node_secret,
)
from kervan.store.db import normalise_url

STRONG = secrets.token_urlsafe(48)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ENVIRONMENT", "DATA_DIR", "DATABASE_URL", "SECRET_KEY", "METRICS_TOKEN"):
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
    secret_file = tmp_path / "var" / "kervan" / SECRET_KEY_FILE
    assert settings.secret_origin == "generated"
    assert settings.secret_key_value() == secret_file.read_text().strip()
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert len(settings.secret_key_value()) >= 64


def test_development_keeps_the_secret_it_made_and_no_two_nodes_share_one(tmp_path: Path) -> None:
    first = Settings(data_dir=tmp_path / "a")
    again = Settings(data_dir=tmp_path / "a")
    other = Settings(data_dir=tmp_path / "b")
    assert again.secret_key_value() == first.secret_key_value()
    assert again.secret_origin == "read from the data directory"
    assert other.secret_key_value() != first.secret_key_value()
    assert first.metrics_token_value() != first.secret_key_value()


def test_a_configured_secret_is_used_as_given_and_nothing_is_written(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key=STRONG)
    assert settings.secret_key_value() == STRONG
    assert settings.secret_origin == "configured"
    assert not (tmp_path / SECRET_KEY_FILE).exists()


def test_production_without_secret_fails_with_the_variable_to_set(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="KERVAN_SECRET_KEY is required") as caught:
        Settings(environment=Environment.PRODUCTION, data_dir=tmp_path)
    assert "at least 32 characters" in caught.value.message


@pytest.mark.parametrize("environment", ["production", "test"])
def test_short_secret_is_refused_outside_development(environment: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="31 characters long"):
        Settings(environment=Environment(environment), data_dir=tmp_path, secret_key="x" * 31)


@pytest.mark.parametrize(
    "guessable",
    ["s" * 64, "ab" * 20, "0123" * 10],
)
def test_a_guessable_secret_is_refused_in_production(guessable: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="too guessable"):
        Settings(environment="production", data_dir=tmp_path, secret_key=guessable)


@pytest.mark.parametrize("environment", ["production", "test"])
def test_the_secret_earlier_versions_published_is_refused(environment: str, tmp_path: Path) -> None:
    published = "kervan-development-only-secret-never-use-outside-development"
    with pytest.raises(ConfigurationError, match="published with earlier versions"):
        Settings(environment=Environment(environment), data_dir=tmp_path, secret_key=published)


def test_a_weak_metrics_token_is_refused_in_production(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="KERVAN_METRICS_TOKEN is too guessable"):
        Settings(
            environment="production", data_dir=tmp_path, secret_key=STRONG, metrics_token="m" * 40
        )


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


def _secret_in(path: str) -> tuple[str, bool]:
    return node_secret(Path(path))


def test_processes_starting_together_share_one_secret(tmp_path: Path) -> None:
    """`kervan serve --workers N` on a fresh data directory: every worker signs with the same
    secret, and exactly one of them made it."""
    path = str(tmp_path / "fresh" / SECRET_KEY_FILE)
    with ProcessPoolExecutor(4, mp_context=multiprocessing.get_context("spawn")) as pool:
        found = list(pool.map(_secret_in, [path] * 8))
    assert len({secret for secret, _ in found}) == 1
    assert sum(made for _, made in found) == 1
    assert sorted(p.name for p in (tmp_path / "fresh").iterdir()) == [SECRET_KEY_FILE]
