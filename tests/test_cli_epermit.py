"""The e-Permit commands an operator runs: partners configured by command (keys from a file or
from the partner's GET /), a quota granted, `kervan epermit serve` in its own process serving
the protocol and delivering the quota to the partner (the independent test peer), dead letters
listed, and a border device synced and checking a QR offline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner, Result

from kervan.cli import app
from kervan.settings import get_settings
from tests.exchange.independent_peer import IndependentPeer, PeerServer
from tests.ports import free_port

runner = CliRunner()
YEAR = datetime.now(UTC).year


def kervan(*args: str) -> Result:
    return runner.invoke(app, list(args))


@pytest.fixture
def node_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """A migrated development node with the Uzbek permit authority registered."""
    env = {**os.environ, "KERVAN_ENVIRONMENT": "development", "KERVAN_DATA_DIR": str(tmp_path)}
    env.pop("KERVAN_DATABASE_URL", None)
    for name in ("KERVAN_ENVIRONMENT", "KERVAN_DATA_DIR"):
        monkeypatch.setenv(name, env[name])
    monkeypatch.delenv("KERVAN_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    assert kervan("db", "upgrade").exit_code == 0
    registered = kervan(
        "org", "create", "uz-permits", "Ministry of Transport of Uzbekistan", "uz",
        "permit_authority", "--street", "Mustaqillik 5", "--city", "Tashkent",
    )  # fmt: skip
    assert registered.exit_code == 0, registered.output
    yield env
    get_settings.cache_clear()


@pytest.fixture
def az() -> Iterator[PeerServer]:
    server = PeerServer(IndependentPeer("AZ"))
    yield server
    server.stop()


def wait_for(condition: Callable[[], object], what: str, limit: float = 120.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.2)


def test_partners_a_served_authority_its_delivery_and_a_border_device(
    node_env: dict[str, str], az: PeerServer, tmp_path: Path
) -> None:
    keys = tmp_path / "az-keys.json"
    keys.write_text(json.dumps({"keys": az.peer.describe()["keys"]}), encoding="utf-8")
    added = kervan("epermit", "partner", "add", "uz-permits", "AZ", az.url, "--keys-file",
                   str(keys), "--name", "Azerbaijan")  # fmt: skip
    assert added.exit_code == 0, added.output
    assert az.peer.key.kid in added.output
    twice = kervan("epermit", "partner", "add", "uz-permits", "AZ", az.url, "--keys-file",
                   str(keys))  # fmt: skip
    assert twice.exit_code != 0
    bad = tmp_path / "bad.json"
    bad.write_text('{"keys": [{"kty": "EC", "kid": "x"}]}', encoding="utf-8")
    refused = kervan("epermit", "partner", "add", "uz-permits", "KG", az.url, "--keys-file",
                     str(bad))  # fmt: skip
    assert refused.exit_code == 2, refused.output
    listed = kervan("epermit", "partner", "list", "uz-permits")
    assert listed.exit_code == 0
    assert "AZ" in listed.output
    assert az.url in listed.output
    assert "KG" not in listed.output
    assert kervan("epermit", "partner", "list", "nobody").exit_code == 18

    port = free_port()
    log = (tmp_path / "serve.log").open("w", encoding="utf-8")
    served = subprocess.Popen(
        [sys.executable, "-m", "kervan", "epermit", "serve", "uz-permits", "--port", str(port),
         "--deliver-every", "0.5"],
        env=node_env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:

        def up() -> bool:
            try:
                return httpx.get(base + "/", timeout=5).status_code == 200
            except httpx.HTTPError:
                assert served.poll() is None, (tmp_path / "serve.log").read_text()
                return False

        wait_for(up, "kervan epermit serve to answer")
        described = httpx.get(base + "/", timeout=10).json()
        assert described["code"] == "UZ"
        assert described["keys"][0]["crv"] == "P-256"
        az.peer.learn("UZ", base)  # AZ trusts UZ's keys from its GET /
        granted = kervan("epermit", "quota", "grant", "uz-permits", "AZ", str(YEAR), "1", "3")
        assert granted.exit_code == 0, granted.output
        assert "QUOTA_CREATED queued" in granted.output
        wait_for(lambda: az.peer.of_type("UZ", "QUOTA_CREATED"), "the quota to reach AZ")
        [quota] = az.peer.of_type("UZ", "QUOTA_CREATED")
        assert (quota["permit_issuer"], quota["quantity"]) == ("AZ", 3)
        assert kervan("epermit", "dead-letters", "uz-permits").output.strip() == ""

        device = tmp_path / "device.json"
        synced = kervan("epermit", "border", "sync", base, "--out", str(device))
        assert synced.exit_code == 0, synced.output
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        qr = az.peer.qr(f"AZ-UZ-{YEAR}-1-1", today, today.replace(year=YEAR + 1),
                        "10-AB-123", "Gəncə Logistika")  # fmt: skip
        checked = kervan("epermit", "border", "check", str(device), qr)
        assert checked.exit_code == 0, checked.output
        assert "valid" in checked.output
        assert "min old" in checked.output
        metrics = httpx.get(base + "/metrics", timeout=10).text
        assert 'kervan_epermit_events_delivered_total{partner="AZ"} 1.0' in metrics
    finally:
        served.terminate()
        served.wait(timeout=60)
        log.close()

    removed = kervan("epermit", "partner", "remove", "uz-permits", "AZ")
    assert removed.exit_code == 0
    assert "AZ" not in kervan("epermit", "partner", "list", "uz-permits").output

    # The same partner again, from a file of partners.
    partners = tmp_path / "partners.json"
    entry = {"code": "AZ", "url": az.url, "name": "Azerbaijan", "keys": az.peer.describe()["keys"]}
    partners.write_text(json.dumps([entry]), encoding="utf-8")
    imported = kervan("epermit", "partner", "import", "uz-permits", str(partners))
    assert imported.exit_code == 0, imported.output
    assert "AZ" in kervan("epermit", "partner", "list", "uz-permits").output
    partners.write_text(json.dumps([{**entry, "code": "az"}]), encoding="utf-8")
    assert kervan("epermit", "partner", "import", "uz-permits", str(partners)).exit_code == 2
