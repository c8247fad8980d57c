"""Signers racing on one e-CMR: the lifecycle step is decided on the state it changes."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from kervan.ledger.chain import verify_chain
from kervan.services.ledger_sequencer import LedgerSequencer
from kervan.store.db import unit_of_work
from kervan.store.repositories.ledger import SqlLedgerStore
from kervan.store.repositories.ledger_pending import PendingLedgerEvents
from tests.api.conftest import CorridorNode, book_truck

RACERS = 6


def test_racing_issuers_sign_an_ecmr_once(corridor_node: CorridorNode) -> None:
    node = corridor_node
    ecmr = book_truck(node).ecmr
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
    ecmr = book_truck(node).ecmr
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
