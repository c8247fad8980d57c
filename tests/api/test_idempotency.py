"""Idempotency-Key: the answer is remembered in the use case's own transaction, on SQLite and
PostgreSQL. A repeated key replays the first answer (the step is not signed twice), a key
reused for another request is refused (422), and a request that failed is not remembered: its
rollback takes the remembered answer with it, so the same key runs again once allowed."""

from __future__ import annotations

from tests.api.conftest import CorridorNode, book_truck

CARRIER = "uz-trucking"
SHIPPER = "tashkent-cotton"


def test_a_signed_step_is_answered_once_per_key(corridor_node: CorridorNode) -> None:
    node = corridor_node
    truck = book_truck(node, "TAS-IST-ONCE")
    url = f"/v1/documents/{truck.ecmr}/signatures"
    headers = {**node.tokens(SHIPPER), "idempotency-key": "issue-tas-ist-once"}

    first = node.client.post(url, json={"step": "issue"}, headers=headers)
    assert first.status_code == 201, first.text
    assert "idempotent-replay" not in first.headers
    again = node.client.post(url, json={"step": "issue"}, headers=headers)
    assert again.status_code == 201
    assert again.headers["idempotent-replay"] == "true"
    assert again.json() == first.json()
    stored = node.client.get(f"/v1/documents/{truck.ecmr}", headers=node.tokens(SHIPPER)).json()
    assert [(s["party"], s["role"]) for s in stored["signatures"]] == [(SHIPPER, "consignor")]
    assert stored["state"] == first.json()["state"] == "issued"

    other = node.client.post(url, json={"step": "cancel", "reason": "wrong"}, headers=headers)
    assert other.status_code == 422, other.text
    assert other.json()["code"] == "idempotency_conflict"


def test_a_refused_request_is_not_remembered(corridor_node: CorridorNode) -> None:
    node = corridor_node
    truck = book_truck(node, "TAS-IST-EARLY")
    url = f"/v1/documents/{truck.ecmr}/signatures"
    carrier = {**node.tokens(CARRIER), "idempotency-key": "take-over-tas-ist-early"}

    early = node.client.post(url, json={"step": "sign_taking_over"}, headers=carrier)
    assert early.status_code == 409, early.text  # the draft is not issued yet
    issued = node.client.post(url, json={"step": "issue"}, headers=node.tokens(SHIPPER))
    assert issued.status_code == 201, issued.text

    taken = node.client.post(url, json={"step": "sign_taking_over"}, headers=carrier)
    assert taken.status_code == 201, taken.text
    assert "idempotent-replay" not in taken.headers
    assert [(s["party"], s["role"]) for s in taken.json()["signatures"]] == [
        (SHIPPER, "consignor"),
        (CARRIER, "carrier"),
    ]
