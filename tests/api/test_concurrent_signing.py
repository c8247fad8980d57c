"""Signers racing on one e-CMR: the lifecycle step is decided on the state it changes."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from kervan.ledger.chain import verify_chain
from kervan.services.demo_corridor import COTTON
from kervan.services.ledger_sequencer import LedgerSequencer
from kervan.store.db import unit_of_work
from kervan.store.repositories.ledger import SqlLedgerStore
from kervan.store.repositories.ledger_pending import PendingLedgerEvents
from tests.api.conftest import CorridorNode
from tests.api.corridor_parties import UZBEK_TRUCK_TO_ISTANBUL

RACERS = 6


def _book_truck(node: CorridorNode) -> str:
    shipper = node.tokens("tashkent-cotton")
    plans = node.client.post("/v1/routes/plan", json=UZBEK_TRUCK_TO_ISTANBUL, headers=shipper)
    assert plans.status_code == 200, plans.text
    booking = {
        "reference": "TAS-IST-RACE",
        "route": UZBEK_TRUCK_TO_ISTANBUL,
        "plan_key": plans.json()["plans"][0]["plan_key"],
        "consignee": "istanbul-imports",
        "road_carrier": "uz-trucking",
        "guarantee_chain": "uz-tir-association",
        "cargo": {**COTTON, "date_of_taking_over": "2026-11-24"},
    }
    booked = node.client.post("/v1/shipments", json=booking, headers=shipper)
    assert booked.status_code == 201, booked.text
    documents = node.client.get(
        f"/v1/shipments/{booked.json()['id']}/documents", headers=shipper
    ).json()
    return str(next(d["id"] for d in documents if d["kind"] == "e-CMR"))


def test_racing_issuers_sign_an_ecmr_once(corridor_node: CorridorNode) -> None:
    node = corridor_node
    ecmr = _book_truck(node)
    shipper = node.tokens("tashkent-cotton")
    start = threading.Barrier(RACERS)

    def issue(_: int) -> int:
        start.wait(timeout=30)
        response = node.client.post(
            f"/v1/documents/{ecmr}/signatures", json={"step": "issue"}, headers=shipper
        )
        return response.status_code

    with ThreadPoolExecutor(RACERS) as pool:
        statuses = sorted(pool.map(issue, range(RACERS)))
    assert statuses == [201] + [409] * (RACERS - 1)

    document = node.client.get(f"/v1/documents/{ecmr}", headers=shipper).json()
    assert document["state"] == "issued"
    assert [(s["party"], s["role"]) for s in document["signatures"]] == [
        ("tashkent-cotton", "consignor")
    ]
    with unit_of_work(node.app.state.sessions) as session:
        chain = SqlLedgerStore(session, org_id="tashkent-cotton").entries_for_document(ecmr)
    assert [e.event_type for e in chain] == ["version:1", "issue"]
    assert verify_chain(chain).ok


def test_signing_over_http_waits_for_the_ledger_on_the_event_loop_not_a_request_thread(
    corridor_node: CorridorNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request thread never waits for a ledger batch (the event loop does, before answering),
    yet the answer still goes out only once the step's events are in the log."""
    node = corridor_node
    ecmr = _book_truck(node)
    shipper = node.tokens("tashkent-cotton")

    def held_in_a_request_thread(_: LedgerSequencer) -> None:
        raise AssertionError("a request thread waited for the ledger sequencer")

    monkeypatch.setattr(LedgerSequencer, "catch_up", held_in_a_request_thread)
    for step, events in (("issue", 2), ("sign_taking_over", 3)):
        response = node.client.post(
            f"/v1/documents/{ecmr}/signatures", json={"step": step}, headers=shipper
        )
        assert response.status_code == 201, response.text
        with unit_of_work(node.app.state.sessions) as session:
            chain = SqlLedgerStore(session, org_id="tashkent-cotton").entries_for_document(ecmr)
            assert PendingLedgerEvents(session).count() == 0
        assert len(chain) == events
        assert chain[-1].event_type == step
        assert verify_chain(chain).ok
