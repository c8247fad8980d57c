"""An API node on a real, migrated database (SQLite, and PostgreSQL where the test asks)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kervan.api.app import create_app
from kervan.network.dataset import load_network
from kervan.network.model import Network
from kervan.services.demo_corridor import COTTON
from kervan.settings import Settings
from tests.api.corridor_parties import (
    UZBEK_TRUCK_TO_ISTANBUL,
    Tokens,
    register_corridor,
    tokens_for,
)
from tests.databases import BACKENDS, migrated_database


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


@dataclass
class CorridorNode:
    client: TestClient
    tokens: Tokens
    app: FastAPI


@pytest.fixture(params=BACKENDS)
def corridor_node(
    request: pytest.FixtureRequest, tmp_path: Path, shipped_network: Network
) -> Iterator[CorridorNode]:
    """A node on SQLite and on PostgreSQL with the demonstration corridor's organisations."""
    with migrated_database(request.param, tmp_path) as url:
        app = create_app(node_settings(url, tmp_path), network=shipped_network)
        register_corridor(app.state.sessions, app.state.node.keys)
        with TestClient(app) as client:
            yield CorridorNode(client, tokens_for(client, app.state.sessions), app)


@dataclass(frozen=True)
class BookedTruck:
    shipment_id: str
    ecmr: str
    documents: list[dict[str, Any]]


def book_truck(node: CorridorNode, reference: str = "TAS-IST-RACE") -> BookedTruck:
    """Book the Uzbek truck Tashkent -> Istanbul over HTTP as its shipper (documents in draft,
    e-Permits requested)."""
    shipper = node.tokens("tashkent-cotton")
    plans = node.client.post("/v1/routes/plan", json=UZBEK_TRUCK_TO_ISTANBUL, headers=shipper)
    assert plans.status_code == 200, plans.text
    booking = {
        "reference": reference,
        "route": UZBEK_TRUCK_TO_ISTANBUL,
        "plan_key": plans.json()["plans"][0]["plan_key"],
        "consignee": "istanbul-imports",
        "road_carrier": "uz-trucking",
        "guarantee_chain": "uz-tir-association",
        "cargo": {**COTTON, "date_of_taking_over": "2026-11-24"},
    }
    booked = node.client.post("/v1/shipments", json=booking, headers=shipper)
    assert booked.status_code == 201, booked.text
    shipment_id = str(booked.json()["id"])
    documents = node.client.get(f"/v1/shipments/{shipment_id}/documents", headers=shipper).json()
    ecmr = str(next(d["id"] for d in documents if d["kind"] == "e-CMR"))
    return BookedTruck(shipment_id, ecmr, documents)
