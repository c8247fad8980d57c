"""The operator's commands on a fresh node: migrate, register an organisation, issue a client and
an API key, and revoke them, checked where it matters, at the node's API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from kervan.api.app import create_app
from kervan.cli import app
from kervan.settings import get_settings

runner = CliRunner()


def kervan(*args: str) -> Result:
    return runner.invoke(app, list(args))


@pytest.fixture
def node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A node migrated by `kervan db upgrade` with one forwarder registered by `kervan org
    create`, in a data directory of its own."""
    monkeypatch.setenv("KERVAN_ENVIRONMENT", "development")
    monkeypatch.setenv("KERVAN_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("KERVAN_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    migrated = kervan("db", "upgrade")
    assert migrated.exit_code == 0, migrated.output
    registered = kervan(
        "org",
        "create",
        "almaty-logistics",
        "Almaty Logistics LLP",
        "kz",
        "forwarder",
        "--street",
        "Dostyk 38",
        "--city",
        "Almaty",
    )
    assert registered.exit_code == 0, registered.output
    assert "almaty-logistics (forwarder, KZ)" in registered.output
    yield tmp_path
    get_settings.cache_clear()


def test_a_revoked_client_gets_no_token(node: Path) -> None:
    created = kervan("client", "create", "almaty-logistics")
    assert created.exit_code == 0, created.output
    fields = dict(line.split("=", 1) for line in created.stdout.split())
    form = {
        "grant_type": "client_credentials",
        "client_id": fields["client_id"],
        "client_secret": fields["client_secret"],
    }
    with TestClient(create_app(get_settings())) as api:
        assert api.post("/v1/oauth/token", data=form).status_code == 200
        revoked = kervan("client", "revoke", "almaty-logistics", fields["client_id"])
        assert revoked.exit_code == 0, revoked.output
        refused = api.post("/v1/oauth/token", data=form)
        assert refused.status_code == 401
    again = kervan("client", "revoke", "almaty-logistics", "no-such-client")
    assert again.exit_code == 18  # not found, in one line
    assert "Traceback" not in again.output


def test_a_revoked_api_key_is_refused(node: Path) -> None:
    created = kervan("key", "create", "almaty-logistics")
    assert created.exit_code == 0, created.output
    key = created.stdout.strip()
    key_id = key.split("_")[1]
    with TestClient(create_app(get_settings())) as api:
        assert api.get("/v1/shipments", headers={"X-API-Key": key}).status_code == 200
        revoked = kervan("key", "revoke", "almaty-logistics", key_id)
        assert revoked.exit_code == 0, revoked.output
        assert api.get("/v1/shipments", headers={"X-API-Key": key}).status_code == 401


def test_an_organisation_is_registered_once(node: Path) -> None:
    twice = kervan(
        "org",
        "create",
        "almaty-logistics",
        "Almaty Logistics LLP",
        "KZ",
        "forwarder",
        "--street",
        "Dostyk 38",
        "--city",
        "Almaty",
    )
    assert twice.exit_code != 0
    assert "already exists" in twice.output
    assert "Traceback" not in twice.output


def test_a_disabled_person_can_no_longer_log_in_and_their_token_stops(node: Path) -> None:
    password_file = node / "pw.txt"
    password_file.write_text("dostyk-gate-2026\n")
    created = kervan(
        "user",
        "create",
        "almaty-logistics",
        "planner.almaty",
        "--password-file",
        str(password_file),
    )
    assert created.exit_code == 0, created.output
    login = {"username": "planner.almaty", "password": "dostyk-gate-2026"}
    with TestClient(create_app(get_settings())) as api:
        signed_in = api.post("/v1/auth/login", json=login)
        assert signed_in.status_code == 200, signed_in.text
        bearer = {"authorization": f"Bearer {signed_in.json()['access_token']}"}
        assert api.get("/v1/shipments", headers=bearer).status_code == 200
        disabled = kervan("user", "disable", "almaty-logistics", "planner.almaty")
        assert disabled.exit_code == 0, disabled.output
        assert "disabled" in disabled.output
        assert api.get("/v1/shipments", headers=bearer).status_code == 401
        assert api.post("/v1/auth/login", json=login).status_code == 401
    unknown = kervan("user", "disable", "almaty-logistics", "nobody")
    assert unknown.exit_code == 18
    assert "Traceback" not in unknown.output
