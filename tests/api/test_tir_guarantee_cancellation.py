"""The guarantee chain cancels a TIR guarantee over HTTP: at once while no declaration uses it,
else from the start of the next TIR operation (eTIR I3), on the Uzbek truck Tashkent ->
Istanbul under guarantee XG71234567 of the Uzbek TIR association."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import CorridorNode, book_truck
from tests.api.test_shipment_flow import assert_node_audit_holds, customs_of

GUARANTEE = {"reference": "XG71234567", "valid_from": "2026-11-01", "valid_until": "2027-02-01"}
CHAIN = "uz-tir-association"
HOLDER = "uz-trucking"


def etir_of(node: CorridorNode, reference: str) -> dict[str, Any]:
    """Book the truck and register its guarantee; the e-TIR document as the holder sees it."""
    truck = book_truck(node, reference)
    etir = next(d for d in truck.documents if d["kind"] == "e-TIR")
    registered = node.client.post(
        f"/v1/tir/{etir['id']}/guarantee", json=GUARANTEE, headers=node.tokens(CHAIN)
    )
    assert registered.status_code == 200, registered.text
    assert "cancel the guarantee" in registered.json()["allowed_steps"]
    return etir


def post(node: CorridorNode, path: str, who: str, body: Any = None) -> Any:
    return node.client.post(path, json=body, headers=node.tokens(who))


def test_a_guarantee_in_use_is_cancelled_from_the_next_operation(
    corridor_node: CorridorNode,
) -> None:
    node = corridor_node
    etir = etir_of(node, "TAS-IST-XG-IN-USE")
    tir = f"/v1/tir/{etir['id']}"
    first, second = etir["countries"][0], etir["countries"][1]
    assert post(node, f"{tir}/declaration", HOLDER).status_code == 200
    assert post(node, f"{tir}/acceptance", customs_of(first)).status_code == 200
    started = post(node, f"{tir}/operations", customs_of(first), {"action": "start"})
    assert started.status_code == 200, started.text

    # Only the shipment's chain cancels: the holder and customs hold no guarantee scope, and an
    # id the chain cannot see answers as one that does not exist.
    assert post(node, f"{tir}/guarantee/cancellation", HOLDER).status_code == 403
    assert post(node, f"{tir}/guarantee/cancellation", customs_of(first)).status_code == 403
    missing = post(node, f"/v1/tir/{etir['id']}9/guarantee/cancellation", CHAIN)
    assert missing.status_code == 404
    assert node.client.post(f"{tir}/guarantee/cancellation").status_code == 401

    cancelled = post(node, f"{tir}/guarantee/cancellation", CHAIN)
    assert cancelled.status_code == 200, cancelled.text
    view = cancelled.json()
    assert view["state"] == "accepted"
    assert view["guarantee"]["state"] == "in_use"
    assert view["guarantee"]["cancellation_requested_at"] is not None
    assert view["allowed_steps"] == [f"terminate the TIR operation in {first}"]
    again = post(node, f"{tir}/guarantee/cancellation", CHAIN)
    assert again.status_code == 409
    assert again.json()["code"] == "illegal_transition"

    # The operation under way runs to its discharge; the next country cannot start one.
    for action in ("terminate", "discharge"):
        step = post(node, f"{tir}/operations", customs_of(first), {"action": action})
        assert step.status_code == 200, (action, step.text)
    refused = post(node, f"{tir}/operations", customs_of(second), {"action": "start"})
    assert refused.status_code == 409
    assert refused.json()["code"] == "guarantee_not_valid"
    assert "XG71234567" in refused.json()["detail"]

    # The relay tells the eTIR international system in the order it happened.
    relayed = node.client.get(f"{tir}/messages", headers=node.tokens(customs_of(first)))
    assert relayed.status_code == 200, relayed.text
    messages = relayed.json()["messages"]
    assert [m["code"] for m in messages] == ["I7", "I19", "E9", "I15", "I9", "I3", "I11", "I13"]
    assert [m["sequence"] for m in messages] == list(range(1, 9))
    cancel = messages[5]
    assert (cancel["sender"], cancel["data"]["guarantee"]["reference"]) == (
        "guarantee chain",
        "XG71234567",
    )
    assert_node_audit_holds(node)


def test_an_unused_guarantee_is_cancelled_at_once_and_no_declaration_runs_under_it(
    corridor_node: CorridorNode,
) -> None:
    node = corridor_node
    etir = etir_of(node, "TAS-IST-XG-UNUSED")
    tir = f"/v1/tir/{etir['id']}"
    cancelled = post(node, f"{tir}/guarantee/cancellation", CHAIN)
    assert cancelled.status_code == 200, cancelled.text
    view = cancelled.json()
    assert (view["state"], view["guarantee"]["state"], view["allowed_steps"]) == (
        "guarantee_cancelled",
        "cancelled",
        [],
    )
    document = node.client.get(f"/v1/documents/{etir['id']}", headers=node.tokens(HOLDER))
    assert document.json()["state"] == "guarantee_cancelled"

    declared = post(node, f"{tir}/declaration", HOLDER)
    assert declared.status_code == 409
    assert declared.json()["code"] == "guarantee_not_valid"
    assert post(node, f"{tir}/guarantee/cancellation", CHAIN).status_code == 409
    relayed = node.client.get(tir + "/messages", headers=node.tokens(CHAIN)).json()["messages"]
    assert [(m["code"], m["sequence"]) for m in relayed] == [("I7", 1), ("I3", 2)]
    assert_node_audit_holds(node)


def test_a_transport_that_ended_keeps_its_guarantee(corridor_node: CorridorNode) -> None:
    node = corridor_node
    etir = etir_of(node, "TAS-IST-XG-ENDED")
    tir = f"/v1/tir/{etir['id']}"
    no_guarantee = book_truck(node, "TAS-IST-XG-NONE")
    bare = next(d for d in no_guarantee.documents if d["kind"] == "e-TIR")
    early = post(node, f"/v1/tir/{bare['id']}/guarantee/cancellation", CHAIN)
    assert early.status_code == 422
    assert post(node, f"{tir}/declaration", HOLDER).status_code == 200
    itinerary = etir["countries"]
    assert post(node, f"{tir}/acceptance", customs_of(itinerary[0])).status_code == 200
    for country in itinerary:
        for action in ("start", "terminate", "discharge"):
            step = post(node, f"{tir}/operations", customs_of(country), {"action": action})
            assert step.status_code == 200, (country, action, step.text)
    late = post(node, f"{tir}/guarantee/cancellation", CHAIN)
    assert late.status_code == 409
    assert late.json()["code"] == "illegal_transition"
    ended = node.client.get(tir, headers=node.tokens(CHAIN)).json()
    assert ended["state"] == "ended"
    assert ended["guarantee"]["cancellation_requested_at"] is None
