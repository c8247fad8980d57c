"""GET /v1/documents/{id}/uncefact on SQLite and PostgreSQL: a booked, signed shipment's e-CMR
and CIM/SMGS note as UN/CEFACT D23B JSON, valid against the published schemas, with their HS
codes; seen exactly as the document is (404 to another organisation, customs without charges);
e-Permit and e-TIR have no such export (422)."""

from __future__ import annotations

from datetime import UTC, datetime

from kervan.documents.uncefact import CIM_SMGS_GUIDELINE, ECMR_GUIDELINE
from tests.api.conftest import CorridorNode, book_truck
from tests.api.test_shipment_flow import CARGO_BATTERIES, NO_NORTH, event, plan, sign
from tests.uncefact_schemas import CIM_SMGS_SCHEMA, ECMR_SCHEMA, assert_valid, hs_codes

HS = "1"  # UNTDID 3055: the Customs Co-operation Council (WCO), keeper of the HS


def guideline(exported: dict[str, object]) -> str:
    context = exported["exchangedDocumentContext"]
    assert isinstance(context, dict)
    return str(context["guidelineSpecifiedDocumentContextParameter"][0]["id"]["content"])


def test_ecmr_export_validates_with_its_hs_code(corridor_node: CorridorNode) -> None:
    node = corridor_node
    truck = book_truck(node, "TAS-IST-UNCEFACT")
    sign(node, "tashkent-cotton", truck.ecmr, "issue")
    answer = node.client.get(
        f"/v1/documents/{truck.ecmr}/uncefact", headers=node.tokens("uz-trucking")
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    exported = answer.json()
    assert_valid(ECMR_SCHEMA, exported)
    assert guideline(exported) == ECMR_GUIDELINE
    assert exported["exchangedDocument"]["id"] == {"content": f"{truck.ecmr}/v1"}
    assert exported["exchangedDocument"]["remarks"] == [{"content": "state: issued"}]
    assert hs_codes(exported) == [{"content": "520100", "listAgencyId": HS}]

    # Another organisation's document answers as one that does not exist.
    stranger = node.client.get(
        f"/v1/documents/{truck.ecmr}/uncefact", headers=node.tokens("xian-forwarding")
    )
    missing = node.client.get(
        f"/v1/documents/{truck.shipment_id}-ECMR-9/uncefact",
        headers=node.tokens("xian-forwarding"),
    )
    assert stranger.status_code == missing.status_code == 404
    assert stranger.json()["code"] == missing.json()["code"] == "not_found"
    # Customs sees nothing of a shipment only booked.
    customs = node.client.get(
        f"/v1/documents/{truck.ecmr}/uncefact", headers=node.tokens("tr-customs")
    )
    assert customs.status_code == 404


def test_permit_and_tir_have_no_uncefact_export(corridor_node: CorridorNode) -> None:
    node = corridor_node
    described = node.app.openapi()["paths"]["/v1/documents/{document_id}/uncefact"]["get"]
    assert "UN/CEFACT standard, release D23B" in described["description"]
    assert {"200", "404", "422"} <= set(described["responses"])
    assert ECMR_GUIDELINE in described["description"]
    assert CIM_SMGS_GUIDELINE in described["description"]
    truck = book_truck(node, "TAS-IST-NOEXPORT")
    for kind in ("e-Permit", "e-TIR"):
        document = next(d for d in truck.documents if d["kind"] == kind)
        answer = node.client.get(
            f"/v1/documents/{document['id']}/uncefact", headers=node.tokens("tashkent-cotton")
        )
        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["code"] == "invalid_request"
        assert kind in answer.json()["detail"]


def test_rail_note_export_for_the_parties_and_customs(corridor_node: CorridorNode) -> None:
    node = corridor_node
    route = {
        "origin": "Xi'an",
        "destination": "Halkali",
        "avoid_countries": NO_NORTH,
        "avoid_modes": ["road", "sea"],
        "alternatives": 1,
    }
    chosen = plan(node, "xian-forwarding", route)
    booking = {
        "reference": "XIA-HAL-UNCEFACT",
        "route": route,
        "plan_key": chosen["plan_key"],
        "consignee": "istanbul-imports",
        "rail_carrier": "ktz-express",
        "cargo": CARGO_BATTERIES,
    }
    booked = node.client.post("/v1/shipments", json=booking, headers=node.tokens("xian-forwarding"))
    assert booked.status_code == 201, booked.text
    shipment_id = booked.json()["id"]
    note = f"{shipment_id}-CIMSMGS-1"
    sign(node, "xian-forwarding", note, "issue")
    sign(node, "ktz-express", note, "accept")
    taken_over = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    assert event(node, "ktz-express", shipment_id, "taken_over", taken_over) == 201
    sign(node, "ktz-express", note, "depart")

    party = node.client.get(f"/v1/documents/{note}/uncefact", headers=node.tokens("ktz-express"))
    assert party.status_code == 200, party.text
    exported = party.json()
    assert_valid(CIM_SMGS_SCHEMA, exported)
    assert guideline(exported) == CIM_SMGS_GUIDELINE
    assert exported["exchangedDocument"]["information"] == [{"content": "state: in_transit"}]
    assert hs_codes(exported) == [{"content": "850760", "listAgencyId": HS}]
    assert "secondSignatoryDocumentAuthentication" in exported["exchangedDocument"]

    # Customs on the route see the departed note's export, as they see the note; customs off
    # the route do not.
    customs = node.client.get(f"/v1/documents/{note}/uncefact", headers=node.tokens("kz-customs"))
    assert customs.status_code == 200, customs.text
    assert_valid(CIM_SMGS_SCHEMA, customs.json())
    assert hs_codes(customs.json()) == hs_codes(exported)
    elsewhere = node.client.get(f"/v1/documents/{note}/uncefact", headers=node.tokens("tm-customs"))
    assert elsewhere.status_code == 404
