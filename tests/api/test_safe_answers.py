"""What every answer carries and what the node keeps to itself: security headers on API answers,
errors, the docs and the web pages; `/metrics` only for the node's scraper; `/docs` and `/redoc`
built from the package's own scripts; the environment and the secret's origin logged at start."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kervan.api.app import create_app
from kervan.network.model import Network
from kervan.settings import METRICS_TOKEN_FILE, Settings
from tests.databases import migrated_database


def test_every_answer_carries_the_security_headers(sqlite_client: TestClient) -> None:
    for path in ("/health", "/v1/places?q=Aktau", "/v1/shipments", "/no-such-page", "/metrics"):
        answer = sqlite_client.get(path)
        headers = answer.headers
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["x-frame-options"] == "DENY", path
        assert headers["referrer-policy"] == "same-origin", path
        assert headers["content-security-policy"].startswith("default-src 'none'"), path
        assert "frame-ancestors 'none'" in headers["content-security-policy"], path
    page = sqlite_client.get("/")  # the planner keeps its own policy: scripts from this node
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert page.headers["x-frame-options"] == "DENY"


def test_metrics_answer_only_the_nodes_scraper(sqlite_client: TestClient) -> None:
    settings: Settings = sqlite_client.app.state.settings  # type: ignore[attr-defined]
    token = settings.metrics_token_value()
    assert (settings.resolved_data_dir / METRICS_TOKEN_FILE).read_text().strip() == token
    assert sqlite_client.get("/metrics").status_code == 401
    wrong = sqlite_client.get("/metrics", headers={"authorization": "Bearer " + "m" * 64})
    assert wrong.status_code == 401
    scraped = sqlite_client.get("/metrics", headers={"authorization": f"Bearer {token}"})
    assert scraped.status_code == 200
    assert "kervan_http_requests" in scraped.text


def test_configured_metrics_token_is_used(tmp_path: Path, shipped_network: Network) -> None:
    with migrated_database("sqlite", tmp_path) as url:
        settings = Settings(
            environment="test",
            database_url=url,
            data_dir=tmp_path,
            secret_key="t" * 48,
            metrics_token="scrape-" + "p" * 40,
        )
        with TestClient(create_app(settings, network=shipped_network)) as client:
            headers = {"authorization": "Bearer scrape-" + "p" * 40}
            assert client.get("/metrics", headers=headers).status_code == 200
    assert not (tmp_path / METRICS_TOKEN_FILE).exists()


@pytest.mark.parametrize(
    ("path", "script"),
    [
        ("/docs", "/web/static/vendor/swagger-ui/swagger-ui-bundle.js"),
        ("/redoc", "/web/static/vendor/redoc/redoc.standalone.js"),
    ],
)
def test_docs_load_only_vendored_scripts(sqlite_client: TestClient, path: str, script: str) -> None:
    page = sqlite_client.get(path)
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert script in sources
    assert all(source.startswith("/") for source in sources), sources
    assert "fonts.googleapis" not in page.text
    for source in sources:
        assert sqlite_client.get(source).status_code == 200, source


def test_the_node_logs_its_environment_and_secret_at_start(
    tmp_path: Path, shipped_network: Network, caplog: pytest.LogCaptureFixture
) -> None:
    with migrated_database("sqlite", tmp_path) as url:
        settings = Settings(database_url=url, data_dir=tmp_path)  # development, nothing set
        with caplog.at_level(logging.INFO, logger="kervan.api"):
            create_app(settings, network=shipped_network).state.engine.dispose()
    started = next(r for r in caplog.records if r.getMessage() == "node starting")
    assert started.__dict__["environment"] == "development"
    assert started.__dict__["token_secret"] == "generated"
