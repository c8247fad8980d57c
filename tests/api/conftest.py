"""An API node on a real, migrated database (SQLite, and PostgreSQL where the test asks)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kervan.api.app import create_app
from kervan.network.dataset import load_network
from kervan.network.model import Network
from kervan.settings import Settings
from tests.databases import migrated_database


@pytest.fixture(scope="session")
def shipped_network() -> Network:
    return load_network()


def node_settings(url: str, data_dir: Path) -> Settings:
    return Settings(environment="test", database_url=url, data_dir=data_dir, secret_key="t" * 48)


@pytest.fixture
def sqlite_client(tmp_path: Path, shipped_network: Network) -> Iterator[TestClient]:
    with migrated_database("sqlite", tmp_path) as url:
        app = create_app(node_settings(url, tmp_path), network=shipped_network)
        with TestClient(app) as client:
            yield client
