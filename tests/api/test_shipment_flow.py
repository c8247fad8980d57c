"""The whole flow over HTTP, on SQLite and PostgreSQL: plan, book, sign, cross, deliver, verify.

A container from Xi'an to Halkali (Istanbul) by rail and the Caspian ferry on a CIM/SMGS note,
and a Uzbek truck from Tashkent to Istanbul on an e-CMR with e-TIR and e-Permits to request.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from kervan.ledger.evidence import verify_bundle_json
from kervan.services.audit import AuditNode, audit_node
from kervan.services.demo_corridor import BATTERIES, COTTON
from kervan.signatures.encoding import b64url_decode
from kervan.signatures.trustlist import TrustList
from kervan.store.uow import UnitOfWork
from tests.api.conftest import CorridorNode
from tests.api.corridor_parties import UZBEK_TRUCK_TO_ISTANBUL

# The demonstration corridor's cargo, taken over on a fixed day.
CARGO_BATTERIES = {**BATTERIES, "date_of_taking_over": "2026-11-24"}
CARGO_COTTON = {**COTTON, "date_of_taking_over": "2026-11-24"}
NO_NORTH = ["RU", "BY"]


def plan(node: CorridorNode, who: str, route: dict[str, Any]) -> dict[str, Any]:
    response = node.client.post("/v1/routes/plan", json=route, headers=node.tokens(who))
    assert response.status_code == 200, response.text
    return response.json()["plans"][0]  # type: ignore[no-any-return]


def sign(node: CorridorNode, who: str, document_id: str, step: str, **extra: Any) -> dict[str, Any]:
    response = node.client.post(
        f"/v1/documents/{document_id}/signatures",
        json={"step": step, **extra},
        headers=node.tokens(who),
    )
    assert response.status_code == 201, (who, step, response.text)
    return response.json()  # type: ignore[no-any-return]


def event(
    node: CorridorNode, who: str, shipment_id: str, kind: str, at: datetime, leg: int | None = None
) -> int:
    body: dict[str, Any] = {"type": kind, "at": at.isoformat()}
    if leg is not None:
        body["leg_index"] = leg
    response = node.client.post(
        f"/v1/shipments/{shipment_id}/events", json=body, headers=node.tokens(who)
    )
    return response.status_code


def customs_of(country: str) -> str:
    return f"{country.lower()}-customs"


def test_container_xian_to_istanbul_by_rail_and_ferry(corridor_node: CorridorNode) -> None:
    node = corridor_node
    route = {
        "origin": "Xi'an",
        "destination": "Halkali",
        "avoid_countries": NO_NORTH,
        "avoid_modes": ["road", "sea"],
        "alternatives": 1,
    }
    chosen = plan(node, "xian-forwarding", route)
    assert "ferry" in chosen["modes"]
    booking = {
        "reference": "XIA-HAL-0001",
        "route": route,
        "plan_key": chosen["plan_key"],
        "consignee": "istanbul-imports",
        "rail_carrier": "ktz-express",
        "cargo": CARGO_BATTERIES,
    }
    headers = {**node.tokens("xian-forwarding"), "idempotency-key": "book-xia-hal-0001"}
    booked = node.client.post("/v1/shipments", json=booking, headers=headers)
    assert booked.status_code == 201, booked.text
    shipment = booked.json()
    replay = node.client.post("/v1/shipments", json=booking, headers=headers)
    assert replay.status_code == 201
    assert replay.json()["id"] == shipment["id"]
    assert replay.headers["idempotent-replay"] == "true"
    shipment_id = shipment["id"]
    assert shipment["status"] == "booked"

    documents = node.client.get(
        f"/v1/shipments/{shipment_id}/documents", headers=node.tokens("ktz-express")
    ).json()
    assert [d["kind"] for d in documents] == ["CIM-SMGS"]
    note = documents[0]
    assert note["state"] == "draft"
    assert {s["law"] for s in note["content"]["route"]} == {"SMGS", "CIM"}

    # Customs sees nothing before the cargo is on its way.
    assert (
        node.client.get(
            f"/v1/shipments/{shipment_id}", headers=node.tokens("kz-customs")
        ).status_code
        == 404
    )

    sign(node, "xian-forwarding", note["id"], "issue")
    sign(node, "ktz-express", note["id"], "accept")
    t0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    assert event(node, "ktz-express", shipment_id, "taken_over", t0) == 201
    sign(node, "ktz-express", note["id"], "depart")

    # Now each customs authority on the route sees it, without prices.
    seen = node.client.get(f"/v1/shipments/{shipment_id}", headers=node.tokens("kz-customs"))
    assert seen.status_code == 200
    assert seen.json()["view"] == "customs"
    assert "cost_usd" not in seen.json()["plan"]["totals"]
    assert (
        node.client.get(
            f"/v1/shipments/{shipment_id}", headers=node.tokens("tm-customs")
        ).status_code
        == 404
    )

    at = t0
    for leg in [leg for leg in chosen["legs"] if leg["border"]]:
        entering = leg["to_country"]
        at += timedelta(hours=30)
        # The wrong authority cannot record another country's crossing.
        assert (
            event(
                node,
                "ge-customs" if entering != "GE" else "tr-customs",
                shipment_id,
                "border_arrival",
                at,
                leg["index"],
            )
            == 403
        )
        assert (
            event(node, customs_of(entering), shipment_id, "border_arrival", at, leg["index"])
            == 201
        )
        at += timedelta(hours=10)
        assert (
            event(node, customs_of(entering), shipment_id, "border_release", at, leg["index"])
            == 201
        )
    at += timedelta(hours=40)
    # Delivery cannot come twice, nor before its time.
    assert event(node, "istanbul-imports", shipment_id, "delivered", t0) == 422
    assert event(node, "istanbul-imports", shipment_id, "delivered", at) == 201
    assert event(node, "istanbul-imports", shipment_id, "delivered", at) == 409
    done = sign(node, "istanbul-imports", note["id"], "deliver")
    assert done["state"] == "delivered"
    assert [(s["party"], s["role"]) for s in done["signatures"]] == [
        ("xian-forwarding", "consignor"),
        ("ktz-express", "carrier"),
        ("ktz-express", "carrier"),
        ("istanbul-imports", "consignee"),
    ]

    final = node.client.get(
        f"/v1/shipments/{shipment_id}", headers=node.tokens("xian-forwarding")
    ).json()
    assert final["status"] == "delivered"
    timeline = node.client.get(
        f"/v1/shipments/{shipment_id}/timeline", headers=node.tokens("istanbul-imports")
    ).json()
    assert timeline[0]["step"] == "taken over"
    assert (timeline[0]["event"], timeline[-1]["event"]) == ("taken_over", "delivered")
    crossings = timeline[1:-1]
    assert crossings
    assert [step["event"] for step in crossings] == ["border_arrival", "border_release"] * (
        len(crossings) // 2
    )
    assert timeline[-1]["actual_at"] is not None
    assert all(entry["planned_at"] for entry in timeline)

    # The evidence verifies offline against the published trust list, and tampering is caught.
    bundle = node.client.get(
        f"/v1/documents/{note['id']}/evidence", headers=node.tokens("istanbul-imports")
    ).json()
    trust = TrustList.from_jwks(node.client.get("/v1/trust-list").json())
    report = verify_bundle_json(bundle, trust)
    assert report.ok, report.summary()
    bundle["document"]["content"]["goods"][0]["gross_weight_kg"] = "1.000"
    assert not verify_bundle_json(bundle, trust).ok
    assert_node_audit_holds(node)


def test_uzbek_truck_tashkent_to_istanbul_on_an_ecmr(corridor_node: CorridorNode) -> None:
    node = corridor_node
    route = UZBEK_TRUCK_TO_ISTANBUL
    chosen = plan(node, "tashkent-cotton", route)
    booking = {
        "reference": "TAS-IST-0042",
        "route": route,
        "plan_key": chosen["plan_key"],
        "consignee": "istanbul-imports",
        "road_carrier": "uz-trucking",
        "guarantee_chain": "uz-tir-association",
        "cargo": CARGO_COTTON,
    }
    booked = node.client.post("/v1/shipments", json=booking, headers=node.tokens("tashkent-cotton"))
    assert booked.status_code == 201, booked.text
    shipment_id = booked.json()["id"]
    documents = node.client.get(
        f"/v1/shipments/{shipment_id}/documents", headers=node.tokens("uz-trucking")
    ).json()
    kinds = [d["kind"] for d in documents]
    assert kinds.count("e-CMR") == 1
    assert kinds.count("e-TIR") == 1
    entered = [c for c in dict.fromkeys(chosen["countries"]) if c != "UZ"]
    permits = [d for d in documents if d["kind"] == "e-Permit"]
    assert sorted(p["content"]["countries"][0] for p in permits) == sorted(entered)
    assert {p["content"]["permit_issuer_country"] for p in permits} == {"UZ"}
    ecmr = next(d for d in documents if d["kind"] == "e-CMR")
    etir = next(d for d in documents if d["kind"] == "e-TIR")

    # The Uzbek permit authority issues each permit from the quota the country entered granted
    # it, QR signed ES256; the country entered does not issue it.
    authority = "uz-permits"
    permit_ids = []
    for permit in permits:
        country = permit["content"]["countries"][0]
        kind = {"bilateral": 1, "transit": 2, "third-country": 3}[permit["content"]["permit_type"]]
        quota = {"issued_for": country, "year": 2026, "permit_type": kind, "quantity": 5}
        assert (
            node.client.post(
                "/v1/permits/quotas", json=quota, headers=node.tokens(authority)
            ).status_code
            == 201
        )
        wrong = node.client.post(
            "/v1/permits",
            json={"document_id": permit["id"]},
            headers=node.tokens(f"{country.lower()}-permits"),
        )
        assert wrong.status_code == 404
        issued = node.client.post(
            "/v1/permits", json={"document_id": permit["id"]}, headers=node.tokens(authority)
        )
        assert issued.status_code == 201, issued.text
        wire = issued.json()
        assert wire["permit_id"] == f"UZ-{country}-2026-{kind}-1"
        permit_ids.append(wire["permit_id"])
        assert wire["plate_number"] == "01 A 123 BC"
        scan = node.client.post("/v1/verify/permit", json={"qr": wire["qr_code"]})
        assert scan.status_code == 200
        assert scan.json()["status"] in ("valid", "not yet valid")
        assert scan.json()["issuer"] == authority
        forged = wire["qr_code"][:-6] + (
            "AAAAAA" if not wire["qr_code"].endswith("AAAAAA") else "BBBBBB"
        )
        assert node.client.post("/v1/verify/permit", json={"qr": forged}).status_code == 422

    # e-TIR: guarantee, declaration, acceptance at departure, an operation per country.
    tir = f"/v1/tir/{etir['id']}"
    assert (
        node.client.post(f"{tir}/declaration", headers=node.tokens("uz-trucking")).status_code
        == 422
    )
    guarantee = {"reference": "XG71234567", "valid_from": "2026-11-01", "valid_until": "2027-02-01"}
    assert (
        node.client.post(
            f"{tir}/guarantee", json=guarantee, headers=node.tokens("tashkent-cotton")
        ).status_code
        == 403  # a shipper holds no guarantee scope, whatever the id
    )
    registered = node.client.post(
        f"{tir}/guarantee", json=guarantee, headers=node.tokens("uz-tir-association")
    )
    assert registered.status_code == 200, registered.text
    submitted = node.client.post(f"{tir}/declaration", headers=node.tokens("uz-trucking"))
    assert submitted.status_code == 200, submitted.text
    itinerary = etir["countries"]
    assert (
        node.client.post(
            f"{tir}/acceptance", headers=node.tokens(customs_of(itinerary[-1]))
        ).status_code
        == 403
    )
    accepted = node.client.post(f"{tir}/acceptance", headers=node.tokens(customs_of(itinerary[0])))
    assert accepted.status_code == 200, accepted.text
    for country in itinerary:
        for action in ("start", "terminate", "discharge"):
            step = node.client.post(
                f"{tir}/operations",
                json={"action": action},
                headers=node.tokens(customs_of(country)),
            )
            assert step.status_code == 200, (country, action, step.text)
    ended = node.client.get(tir, headers=node.tokens("uz-trucking")).json()
    assert ended["state"] == "ended"
    assert {op["state"] for op in ended["operations"]} == {"discharged"}

    # The carrier cannot issue the consignor's note; the consignor cannot deliver.
    refused = node.client.post(
        f"/v1/documents/{ecmr['id']}/signatures",
        json={"step": "issue"},
        headers=node.tokens("uz-trucking"),
    )
    assert refused.status_code in (403, 409)
    sign(node, "tashkent-cotton", ecmr["id"], "issue")
    early = node.client.post(
        f"/v1/documents/{ecmr['id']}/signatures",
        json={"step": "deliver"},
        headers=node.tokens("istanbul-imports"),
    )
    assert early.status_code == 409
    assert early.json()["code"] == "illegal_transition"
    sign(node, "tashkent-cotton", ecmr["id"], "sign_taking_over")
    taken = sign(node, "uz-trucking", ecmr["id"], "sign_taking_over")
    assert taken["state"] == "taken_over"
    sign(node, "uz-trucking", ecmr["id"], "depart")
    delivered = sign(node, "istanbul-imports", ecmr["id"], "deliver")
    assert delivered["state"] == "delivered"
    assert {s["party"] for s in delivered["signatures"]} == {
        "tashkent-cotton",
        "uz-trucking",
        "istanbul-imports",
    }

    bundle = node.client.get(
        f"/v1/documents/{ecmr['id']}/evidence", headers=node.tokens("tashkent-cotton")
    ).json()
    trust = TrustList.from_jwks(node.client.get("/v1/trust-list").json())
    assert verify_bundle_json(bundle, trust).ok
    # Each signature's protected header names the step it signs, the version and the role:
    # the carrier's taking over and departure are two different signatures.
    report = verify_bundle_json(bundle, trust)
    headers = [
        json.loads(b64url_decode(entry["protected"])) for entry in bundle["jws"]["signatures"]
    ]
    version = int(bundle["ledger_entry"]["event_type"].removeprefix("version:"))
    assert [(h["party"], h["role"], h["step"], h["version"]) for h in headers] == [
        ("tashkent-cotton", "consignor", "issue", version),
        ("tashkent-cotton", "consignor", "sign_taking_over", version),
        ("uz-trucking", "carrier", "sign_taking_over", version),
        ("uz-trucking", "carrier", "depart", version),
        ("istanbul-imports", "consignee", "deliver", version),
    ]
    assert all(c.ok for c in report.checks if c.name.endswith(".version"))
    assert len([c for c in report.checks if c.name.endswith(".version")]) == len(headers)

    # One consignment record: every identifier the regimes gave it, and where each document
    # stands.
    record = node.client.get(
        f"/v1/shipments/{shipment_id}/consignment", headers=node.tokens("uz-trucking")
    )
    assert record.status_code == 200, record.text
    found = {
        (i["regime"], i["scheme"], i["value"]): i["state"] for i in record.json()["identifiers"]
    }
    assert found[("e-CMR", "consignment note number", ecmr["id"])] == "delivered"
    assert found[("eFTI", "UIL (gate/platform/dataset)", f"KZ/kervan-node/{ecmr['id']}")] == (
        "delivered"
    )
    assert found[("eTIR", "TIR guarantee reference", "XG71234567")] == "ended"
    assert [k for k in found if k[:2] == ("eTIR", "TIR reference")]
    assert {k[2] for k in found if k[:2] == ("e-Permit", "permit id")} == set(permit_ids)
    assert ("road", "registration plate (UZ)", "01 A 123 BC") in found
    standing = {d["document_id"]: d["state"] for d in record.json()["documents"]}
    assert standing == {
        d["id"]: d["state"]
        for d in node.client.get(
            f"/v1/shipments/{shipment_id}/documents", headers=node.tokens("uz-trucking")
        ).json()
    }
    stranger = node.client.get(
        f"/v1/shipments/{shipment_id}/consignment", headers=node.tokens("xian-forwarding")
    )
    assert stranger.status_code == 404
    # Every state the journey reached (e-CMR delivered, e-TIR ended, e-Permits issued) is the one
    # its signed steps lead to.
    assert_node_audit_holds(node)


def assert_node_audit_holds(node: CorridorNode) -> None:
    """The node's audit (`kervan audit`, and every start) finds nothing after the journey."""
    state = node.app.state
    report = audit_node(UnitOfWork(state.sessions), AuditNode(), log_id=state.settings.node_id)
    assert report.ok, [finding.line() for finding in report.findings]
    assert report.signatures > 0
