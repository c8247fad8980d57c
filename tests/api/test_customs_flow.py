"""The Simplified Customs Corridor over HTTP: pre-arrival work lists, lanes with reasons, release
with a signed-off control that the next country recognises, and a broken seal sending it red."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.api.conftest import CorridorNode
from tests.api.test_shipment_flow import CARGO_BATTERIES, customs_of, event, plan

SEAL = "CN2026118"


def book_container(node: CorridorNode) -> tuple[str, dict[str, Any]]:
    route = {
        "origin": "Xi'an",
        "destination": "Halkali",
        "avoid_countries": ["RU", "BY"],
        "avoid_modes": ["road", "sea"],
        "alternatives": 1,
    }
    chosen = plan(node, "xian-forwarding", route)
    booking = {
        "reference": "XIA-HAL-CUSTOMS",
        "route": route,
        "plan_key": chosen["plan_key"],
        "consignee": "istanbul-imports",
        "rail_carrier": "ktz-express",
        "cargo": CARGO_BATTERIES,
    }
    booked = node.client.post("/v1/shipments", json=booking, headers=node.tokens("xian-forwarding"))
    assert booked.status_code == 201, booked.text
    return booked.json()["id"], chosen


def work_list(node: CorridorNode, country: str) -> dict[str, Any]:
    response = node.client.get("/v1/customs/worklist", headers=node.tokens(customs_of(country)))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def release(
    node: CorridorNode, country: str, shipment_id: str, leg: int, at: datetime, **checks: Any
) -> Any:
    body = {"leg_index": leg, "at": at.isoformat(), "documentary_check_passed": True, **checks}
    return node.client.post(
        f"/v1/customs/shipments/{shipment_id}/release",
        json=body,
        headers=node.tokens(customs_of(country)),
    )


def test_green_sealed_container_is_not_reinspected_and_a_broken_seal_goes_red(
    corridor_node: CorridorNode,
) -> None:
    node = corridor_node
    shipment_id, chosen = book_container(node)
    borders = [leg for leg in chosen["legs"] if leg["border"]]
    countries = [leg["to_country"] for leg in borders]
    assert countries[:2] == ["KZ", "AZ"]
    # Before the cargo leaves, nobody's work list has it.
    assert work_list(node, "KZ")["arriving"] == []
    t0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    assert event(node, "ktz-express", shipment_id, "taken_over", t0) == 201

    # Pre-arrival: every country on the route sees it coming, when the plan says it arrives,
    # in a lane with reasons.
    timeline = node.client.get(
        f"/v1/shipments/{shipment_id}/timeline", headers=node.tokens("ktz-express")
    ).json()
    planned = {(step["event"], step["leg_index"]): step["planned_at"] for step in timeline}
    for country in countries:
        arriving = work_list(node, country)["arriving"]
        assert [item["shipment_id"] for item in arriving] == [shipment_id]
        item = arriving[0]
        assert item["expected_at"] is not None
        assert item["expected_at"] == planned[("border_arrival", item["leg_index"])]
        assert item["lane"] in ("green", "yellow", "red")
        assert any("CSQU3054383" in t for t in item["transport"])
    kz = work_list(node, "KZ")["arriving"][0]
    rules = {r["rule"] for r in kz["reasons"]}
    assert rules & {"dangerous_goods", "sensitive_hs"}  # lithium batteries, UN3480 class 9
    assert work_list(node, "TM")["arriving"] == []  # TM is not on this route

    at = t0 + timedelta(hours=60)
    kz_leg = borders[0]["index"]
    assert event(node, "kz-customs", shipment_id, "border_arrival", at, kz_leg) == 201
    assert [i["shipment_id"] for i in work_list(node, "KZ")["at_border"]] == [shipment_id]
    seals = [{"number": SEAL, "condition": "intact"}]
    if kz["physical_inspection_required"]:
        refused = release(node, "KZ", shipment_id, kz_leg, at + timedelta(hours=2), seals=seals)
        assert refused.status_code == 409
    released = release(
        node, "KZ", shipment_id, kz_leg, at + timedelta(hours=4), seals=seals, inspection="conform"
    )
    assert released.status_code == 200, released.text

    # Azerbaijan recognises Kazakhstan's control: same seal intact, green, no re-inspection.
    az = work_list(node, "AZ")["arriving"][0]
    assert az["lane"] == "green"
    assert not az["physical_inspection_required"]
    assert az["recognised_control"].startswith("KZ at ")
    at += timedelta(hours=80)
    az_leg = borders[1]["index"]
    # Azerbaijan records the arrival at its own border; the trade side's timeline follows.
    arrival = {"leg_index": az_leg, "at": at.isoformat()}
    path = f"/v1/customs/shipments/{shipment_id}/arrival"
    arrived = node.client.post(path, json=arrival, headers=node.tokens("az-customs"))
    assert arrived.status_code == 200, arrived.text
    assert arrived.json()["arrived_at"] is not None
    assert [i["shipment_id"] for i in work_list(node, "AZ")["at_border"]] == [shipment_id]
    again = node.client.post(path, json=arrival, headers=node.tokens("az-customs"))
    assert again.status_code == 409
    assert (
        node.client.post(path, json=arrival, headers=node.tokens("ge-customs")).status_code == 404
    )
    steps = node.client.get(
        f"/v1/shipments/{shipment_id}/timeline", headers=node.tokens("xian-forwarding")
    ).json()
    recorded = {(s["event"], s["leg_index"]): s["actual_at"] for s in steps}
    assert recorded[("border_arrival", az_leg)] is not None
    assert (
        release(node, "AZ", shipment_id, az_leg, at + timedelta(hours=1), seals=seals).status_code
        == 200
    )

    # Georgia finds the seal broken: red, and no release without an inspection.
    at += timedelta(hours=30)
    ge_leg = borders[2]["index"]
    assert event(node, "ge-customs", shipment_id, "border_arrival", at, ge_leg) == 201
    broken = [{"number": SEAL, "condition": "broken"}]
    refused = release(node, "GE", shipment_id, ge_leg, at + timedelta(hours=1), seals=broken)
    assert refused.status_code in (409, 422)
    # A documentary check that failed holds the cargo too.
    held = release(
        node,
        "GE",
        shipment_id,
        ge_leg,
        at + timedelta(hours=1),
        seals=broken,
        documentary_check_passed=False,
        inspection="conform",
    )
    assert held.status_code == 409
    # An inspection that found a discrepancy holds it as well: the goods are detained.
    detained = release(
        node,
        "GE",
        shipment_id,
        ge_leg,
        at + timedelta(hours=2),
        seals=broken,
        inspection="discrepancy",
    )
    assert detained.status_code == 409
    assert "discrepancy" in detained.json()["detail"]
    # Another country's officer cannot release at the Georgian border.
    assert release(node, "TR", shipment_id, ge_leg, at, seals=seals).status_code == 404


def test_customs_endpoints_need_a_customs_authority(corridor_node: CorridorNode) -> None:
    node = corridor_node
    assert (
        node.client.get("/v1/customs/worklist", headers=node.tokens("xian-forwarding")).status_code
        == 403
    )
    assert node.client.get("/v1/customs/worklist").status_code == 401


def test_customs_times_need_a_time_zone(corridor_node: CorridorNode) -> None:
    node = corridor_node
    naive = "2026-11-27T08:00:00"
    for step, body in (
        ("release", {"leg_index": 1, "at": naive, "documentary_check_passed": True}),
        ("arrival", {"leg_index": 1, "at": naive}),
    ):
        answer = node.client.post(
            f"/v1/customs/shipments/SHP-20261124-NONE/{step}",
            json=body,
            headers=node.tokens("kz-customs"),
        )
        assert answer.status_code == 422, (step, answer.text)
