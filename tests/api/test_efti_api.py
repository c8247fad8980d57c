"""eFTI over HTTP on SQLite and PostgreSQL, on notes the product made through its own API:
GET /v1/documents/{id}/efti gives the common data set (valid against the published schema)
to whoever sees the note; a competent authority's identifier and UIL queries are answered with
gate.xsd messages; every other caller gets 404; a malformed query is a 422."""

from __future__ import annotations

from datetime import UTC, datetime

from lxml import etree

from tests.api.conftest import CorridorNode, book_truck
from tests.api.test_shipment_flow import CARGO_BATTERIES, NO_NORTH, event, plan, sign
from tests.efti_schemas import assert_valid

COMMON = "{http://efti.eu/v1/consignment/common}"
IDENT = "{http://efti.eu/v1/consignment/identifier}"
ED = "{http://efti.eu/v1/edelivery}"
XML = {"content-type": "application/xml"}


def identifier_query(identifier: str, types: str = "", **filters: str) -> bytes:
    kind = f' type="{types}"' if types else ""
    extra = "".join(
        f"<{name}>{filters[name]}</{name}>"
        for name in ("registrationCountryCode", "modeCode", "dangerousGoodsIndicator")
        if name in filters
    )
    return (
        f'<identifierQuery xmlns="http://efti.eu/v1/edelivery" requestId="req-1">'
        f"<identifier{kind}>{identifier}</identifier>{extra}</identifierQuery>"
    ).encode()


def uil_query(gate: str, platform: str, dataset: str) -> bytes:
    return (
        f'<uilQuery xmlns="http://efti.eu/v1/edelivery" requestId="req-2"><uil>'
        f"<gateId>{gate}</gateId><platformId>{platform}</platformId>"
        f"<datasetId>{dataset}</datasetId></uil><subsetId>full</subsetId></uilQuery>"
    ).encode()


def ask(node: CorridorNode, who: str, path: str, body: bytes) -> tuple[int, bytes]:
    answer = node.client.post(path, content=body, headers={**node.tokens(who), **XML})
    return answer.status_code, answer.content


def datasets(response: bytes) -> list[str]:
    root = etree.fromstring(response)
    return [uil.findtext(f"{ED}datasetId") or "" for uil in root.iter(f"{ED}uil")]


def test_road_note_data_set_and_the_authoritys_queries(corridor_node: CorridorNode) -> None:
    node = corridor_node
    truck = book_truck(node, "TAS-IST-EFTI")
    sign(node, "tashkent-cotton", truck.ecmr, "issue")

    answer = node.client.get(f"/v1/documents/{truck.ecmr}/efti", headers=node.tokens("uz-trucking"))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/xml"
    assert_valid("common", answer.content)
    dataset = etree.fromstring(answer.content)
    assert dataset.findtext(f"{COMMON}transportContractDocument/{COMMON}typeCode") == "730"
    assert dataset.findtext(f"{COMMON}consignor/{COMMON}id") == "tashkent-cotton"
    plate = f"{COMMON}mainCarriageTransportMovement/{COMMON}usedTransportMeans/{COMMON}id"
    assert dataset.findtext(plate) == "01 A 123 BC"
    assert dataset.findtext(f"{COMMON}grossWeight") == "20000.000"
    # Another organisation's note answers as one that does not exist; an e-Permit has no data set.
    stranger = node.client.get(
        f"/v1/documents/{truck.ecmr}/efti", headers=node.tokens("xian-forwarding")
    )
    assert stranger.status_code == 404
    permit = next(d for d in truck.documents if d["kind"] == "e-Permit")
    refused = node.client.get(
        f"/v1/documents/{permit['id']}/efti", headers=node.tokens("tashkent-cotton")
    )
    assert refused.status_code == 422

    # The Turkish customs, a competent authority, finds the note by the truck's plate (in
    # any case), and only with filters the truck fits.
    status, found = ask(
        node, "tr-customs", "/v1/efti/identifier-query", identifier_query("01 a 123 bc")
    )
    assert status == 200, found
    assert_valid("gate", found)
    assert datasets(found) == [truck.ecmr]
    consignment = etree.fromstring(found).find(f"{ED}consignment")
    assert consignment is not None
    means = consignment.find(f"{IDENT}mainCarriageTransportMovement/{IDENT}usedTransportMeans")
    assert means is not None
    assert means.findtext(f"{IDENT}registrationCountry/{IDENT}code") == "UZ"
    fitting = identifier_query("01 A 123 BC", "means", registrationCountryCode="UZ", modeCode="3")
    assert datasets(ask(node, "tr-customs", "/v1/efti/identifier-query", fitting)[1]) == [
        truck.ecmr
    ]
    for other in (
        identifier_query("01 A 123 BC", "equipment"),
        identifier_query("01 A 123 BC", registrationCountryCode="KZ"),
        identifier_query("01 A 123 BC", modeCode="2"),
        identifier_query("01 A 123 BC", dangerousGoodsIndicator="true"),
        identifier_query("01 A 123 XX"),
    ):
        status, none = ask(node, "tr-customs", "/v1/efti/identifier-query", other)
        assert status == 200
        assert_valid("gate", none)
        assert datasets(none) == []

    # The UIL of the answer gives the common data set.
    uil = consignment.find(f"{ED}uil")
    assert uil is not None
    gate, platform = uil.findtext(f"{ED}gateId") or "", uil.findtext(f"{ED}platformId") or ""
    status, full = ask(
        node, "tr-customs", "/v1/efti/uil-query", uil_query(gate, platform, truck.ecmr)
    )
    assert status == 200, full
    assert_valid("gate", full)
    inner = etree.fromstring(full).find(f"{COMMON}consignment")
    assert inner is not None
    assert_valid("common", inner)
    status, missing = ask(
        node, "tr-customs", "/v1/efti/uil-query", uil_query(gate, platform, f"{truck.ecmr}9")
    )
    assert status == 404
    assert_valid("gate", missing)
    assert etree.fromstring(missing).get("status") == "404"
    status, elsewhere = ask(
        node, "tr-customs", "/v1/efti/uil-query", uil_query(gate, "another-platform", truck.ecmr)
    )
    assert status == 404
    assert etree.fromstring(elsewhere).get("status") == "404"

    # Nobody but a competent authority is answered, not even the note's own parties.
    for who in ("tashkent-cotton", "uz-trucking", "xian-forwarding"):
        for path, body in (
            ("/v1/efti/identifier-query", identifier_query("01 A 123 BC")),
            ("/v1/efti/uil-query", uil_query(gate, platform, truck.ecmr)),
        ):
            answer = node.client.post(path, content=body, headers={**node.tokens(who), **XML})
            assert answer.status_code == 404, (who, path, answer.text)
            assert answer.json()["code"] == "not_found"
    unauthenticated = node.client.post(
        "/v1/efti/identifier-query", content=identifier_query("01 A 123 BC"), headers=XML
    )
    assert unauthenticated.status_code == 401

    # A message that is not a valid query is refused with the reason.
    for bad in (b"", b"<identifierQuery", uil_query(gate, platform, truck.ecmr)):
        answer = node.client.post(
            "/v1/efti/identifier-query", content=bad, headers={**node.tokens("tr-customs"), **XML}
        )
        assert answer.status_code == 422, answer.text
        assert answer.json()["code"] == "invalid_request"


def test_rail_note_data_set_and_a_container_query(corridor_node: CorridorNode) -> None:
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
        "reference": "XIA-HAL-EFTI",
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
    assert (
        event(node, "ktz-express", shipment_id, "taken_over", datetime(2026, 11, 24, 8, tzinfo=UTC))
        == 201
    )
    sign(node, "ktz-express", note, "depart")

    answer = node.client.get(f"/v1/documents/{note}/efti", headers=node.tokens("xian-forwarding"))
    assert answer.status_code == 200, answer.text
    assert_valid("common", answer.content)
    dataset = etree.fromstring(answer.content)
    assert dataset.findtext(f"{COMMON}transportContractDocument/{COMMON}typeCode") == "720"
    modes = {
        m.findtext(f"{COMMON}modeCode")
        for m in dataset.iter(f"{COMMON}mainCarriageTransportMovement")
    }
    assert modes == {"2"}
    seal = dataset.find(f"{COMMON}usedTransportEquipment/{COMMON}affixedSeal")
    assert seal is not None
    assert seal.findtext(f"{COMMON}id") == "CN2026118"

    # The container's number finds the note, dangerous goods and rail mode included.
    query = identifier_query(
        "csqu3054383", "equipment", modeCode="2", dangerousGoodsIndicator="true"
    )
    status, found = ask(node, "kz-customs", "/v1/efti/identifier-query", query)
    assert status == 200, found
    assert_valid("gate", found)
    assert datasets(found) == [note]
