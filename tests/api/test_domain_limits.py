"""The limits over HTTP, on SQLite and PostgreSQL: a 999,999,999 kg container, a wagon number
with a wrong UIC check digit, dates in 1900 and 9999 and unbounded goods are refused with a
422 problem naming the field and the kind of refusal; nothing is booked."""

from __future__ import annotations

from typing import Any, cast

from kervan.services.demo_corridor import COTTON
from tests.api.conftest import CorridorNode, book_truck
from tests.api.corridor_parties import UZBEK_TRUCK_TO_ISTANBUL

#: The one goods item of the demonstration cotton.
COTTON_ITEM: dict[str, Any] = cast("list[dict[str, Any]]", COTTON["goods"])[0]


def booking(node: CorridorNode, reference: str, cargo: dict[str, Any]) -> dict[str, Any]:
    shipper = node.tokens("tashkent-cotton")
    plans = node.client.post("/v1/routes/plan", json=UZBEK_TRUCK_TO_ISTANBUL, headers=shipper)
    assert plans.status_code == 200, plans.text
    return {
        "reference": reference,
        "route": UZBEK_TRUCK_TO_ISTANBUL,
        "plan_key": plans.json()["plans"][0]["plan_key"],
        "consignee": "istanbul-imports",
        "road_carrier": "uz-trucking",
        "guarantee_chain": "uz-tir-association",
        "cargo": {**COTTON, "date_of_taking_over": "2026-11-24", **cargo},
    }


def refusal(answer: Any) -> dict[str, str]:
    assert answer.status_code == 422, answer.text
    return {e["field"]: e["type"] for e in answer.json()["errors"]}


def test_bookings_beyond_the_limits_are_refused(corridor_node: CorridorNode) -> None:
    client = corridor_node.client
    shipper = corridor_node.tokens("tashkent-cotton")
    item = COTTON_ITEM
    heavy = booking(
        corridor_node,
        "HEAVY",
        {
            "goods": [{**item, "gross_weight_kg": "999999999"}],
            "containers": [{"number": "CSQU3054383", "size_type": "22G1"}],
        },
    )
    assert refusal(client.post("/v1/shipments", json=heavy, headers=shipper)) == {
        "body.cargo": "gross_mass_over_limit"
    }
    truck = booking(corridor_node, "TRUCK", {"goods": [{**item, "gross_weight_kg": "40001"}]})
    assert refusal(client.post("/v1/shipments", json=truck, headers=shipper)) == {
        "body.cargo": "gross_mass_over_limit"
    }
    wagon = booking(corridor_node, "WAGON", {"wagons": [{"number": "218124712174"}]})
    assert refusal(client.post("/v1/shipments", json=wagon, headers=shipper)) == {
        "body.cargo.wagons.0.number": "wagon_check_digit"
    }
    box = booking(corridor_node, "BOX", {"containers": [{"number": "CSQU3054384"}]})
    assert refusal(client.post("/v1/shipments", json=box, headers=shipper)) == {
        "body.cargo.containers.0.number": "container_check_digit"
    }
    for day in ("1900-01-01", "9999-12-31"):
        dated = booking(corridor_node, "OLD", {"date_of_taking_over": day})
        assert refusal(client.post("/v1/shipments", json=dated, headers=shipper)) == {
            "body.cargo.date_of_taking_over": "date_out_of_window"
        }
    many = booking(corridor_node, "MANY", {"goods": [item] * 100})
    assert refusal(client.post("/v1/shipments", json=many, headers=shipper)) == {
        "body.cargo.goods": "too_long"
    }
    listed = client.get("/v1/shipments", headers=shipper).json()
    assert listed["total"] == 0, "a refused booking stored a shipment"


def test_events_and_arrivals_outside_the_window_are_refused(corridor_node: CorridorNode) -> None:
    client = corridor_node.client
    booked = book_truck(corridor_node, reference="WINDOW")
    carrier = corridor_node.tokens("uz-trucking")
    for at in ("1900-01-01T00:00:00Z", "9999-12-31T23:59:59Z"):
        event = client.post(
            f"/v1/shipments/{booked.shipment_id}/events",
            json={"type": "taken_over", "at": at},
            headers=carrier,
        )
        assert refusal(event) == {"body.at": "date_out_of_window"}
    arrival = client.post(
        f"/v1/customs/shipments/{booked.shipment_id}/arrival",
        json={"leg_index": 0, "at": "1900-06-01T10:00:00+05:00"},
        headers=corridor_node.tokens("kz-customs"),
    )
    assert refusal(arrival) == {"body.at": "date_out_of_window"}
