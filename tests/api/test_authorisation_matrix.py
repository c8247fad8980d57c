"""The authorisation matrix: every object endpoint x every organisation of the corridor and every
kind of bad credential, on SQLite and on PostgreSQL.

Two shipments are built over HTTP: a rail container Xi'an -> Halkali booked by xian-forwarding
with ktz-express and already taken over (so customs on its route see a customs view), and a
truck Tashkent -> Istanbul booked by tashkent-cotton with uz-trucking, still only booked (so no
customs sees it yet). Every operation of the OpenAPI document that takes a shipment or document
id (in its path or its body) must be in the expectation table below, so a new endpoint fails
this test until someone decides who may use it.

For each request the exact status is asserted. On top of that:
- an organisation that may not see an object gets the same answer (status, code, detail) as
  for an id that does not exist: 404, or the 403 its missing scope gives whatever the id;
- customs views carry no prices;
- a refused write leaves every table of the database exactly as it was, and the one allowed
  write then succeeds.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import OctKey
from sqlalchemy import Engine, inspect, text

from kervan.services.access import KIND_SCOPES, Scope, node_operator
from kervan.services.credentials import (
    NewCredential,
    RevokeCredential,
    create_client,
    revoke_client,
)
from kervan.store.repositories.organisations import OrganisationKind
from kervan.store.uow import UnitOfWork
from tests.api.conftest import CorridorNode
from tests.api.corridor_parties import CORRIDOR_ORGANISATIONS, UZBEK_TRUCK_TO_ISTANBUL
from tests.api.test_shipment_flow import CARGO_BATTERIES, CARGO_COTTON, NO_NORTH, plan

SHIPMENT_ID = re.compile(r"SHP-\d{8}-[0-9A-F]{8}(-[A-Z]+-\d+)?")
OBJECT_IDS = frozenset({"shipment_id", "document_id"})
HTTP_METHODS = frozenset({"get", "post", "put", "patch", "delete"})
SECRET_KEY = "t" * 48  # tests.api.conftest.node_settings
PRICE_KEYS = frozenset({"cost_usd", "charges", "price", "freight_usd"})
MISSING_SHIPMENT = "SHP-20000101-00000000"
MISSING_DOCUMENT = f"{MISSING_SHIPMENT}-ECMR-1"
K = OrganisationKind
ORGS: dict[str, tuple[str, OrganisationKind]] = {
    org_id: (country, kind) for org_id, _, country, kind, *_ in CORRIDOR_ORGANISATIONS
}
BAD_CREDENTIALS = ("anonymous", "garbage", "expired", "wrong-key", "revoked")
CALLERS = (*ORGS, *BAD_CREDENTIALS)

# Every operation taking a shipment or document id, and how this test uses it.
READS = {
    ("GET", "/v1/shipments/{shipment_id}"): "shipment",
    ("GET", "/v1/shipments/{shipment_id}/documents"): "shipment",
    ("GET", "/v1/shipments/{shipment_id}/timeline"): "shipment",
    ("GET", "/v1/shipments/{shipment_id}/consignment"): "shipment",
    ("GET", "/v1/documents/{document_id}"): "document",
    ("GET", "/v1/documents/{document_id}/evidence"): "document",
    ("GET", "/v1/documents/{document_id}/uncefact"): "uncefact",
    # The eFTI data set is seen as the UN/CEFACT export is: e-CMR and CIM/SMGS notes only.
    ("GET", "/v1/documents/{document_id}/efti"): "uncefact",
    ("GET", "/v1/tir/{document_id}"): "tir",
    ("GET", "/v1/tir/{document_id}/messages"): "tir",
}
WRITES = frozenset(
    {
        ("POST", "/v1/shipments/{shipment_id}/events"),
        ("POST", "/v1/documents/{document_id}/signatures"),
        ("POST", "/v1/tir/{document_id}/guarantee"),
        ("POST", "/v1/tir/{document_id}/guarantee/cancellation"),
        ("POST", "/v1/tir/{document_id}/declaration"),
        ("POST", "/v1/tir/{document_id}/acceptance"),
        ("POST", "/v1/tir/{document_id}/operations"),
        ("POST", "/v1/customs/shipments/{shipment_id}/release"),
        ("POST", "/v1/customs/shipments/{shipment_id}/arrival"),
        ("POST", "/v1/permits"),
    }
)


def scopes(org_id: str) -> frozenset[Scope]:
    return KIND_SCOPES[ORGS[org_id][1]]


def country(org_id: str) -> str:
    return ORGS[org_id][0]


def is_customs(org_id: str) -> bool:
    return ORGS[org_id][1] is K.CUSTOMS_AUTHORITY


@dataclass
class Shipment:
    id: str
    parties: frozenset[str]
    countries: frozenset[str]
    taken_over: bool
    documents: dict[str, dict[str, Any]]
    plan: dict[str, Any]

    def document(self, kind: str) -> dict[str, Any]:
        return next(d for d in self.documents.values() if d["kind"] == kind)

    def customs_view(self, org_id: str) -> bool:
        return is_customs(org_id) and country(org_id) in self.countries and self.taken_over

    def visible(self, org_id: str) -> bool:
        return org_id in self.parties or self.customs_view(org_id)


@dataclass
class Call:
    """One request of the matrix: what to send and what must come back."""

    method: str
    path: str
    missing_path: str
    body: dict[str, Any] | None
    missing_body: dict[str, Any] | None
    # The caller may see the object (so a 403/409/422 tells it nothing new).
    sees: Callable[[str], bool]
    expected: Callable[[str], int]


class Matrix:
    def __init__(self, node: CorridorNode, credentials: dict[str, dict[str, str]]) -> None:
        self.node = node
        self.credentials = credentials
        self.requests = 0
        # Answers for ids that do not exist, per caller and request (they never change).
        self.missing: dict[tuple[str, str, str, str], tuple[int, dict[str, Any]]] = {}

    def send(
        self, caller: str, method: str, path: str, body: dict[str, Any] | None
    ) -> tuple[int, dict[str, Any]]:
        response = self.node.client.request(
            method, path, json=body, headers=self.credentials[caller]
        )
        self.requests += 1
        assert response.status_code != 429, "the matrix ran into the rate limit"
        # The eFTI data set is XML: only JSON answers (problems included) are read.
        as_json = response.headers.get("content-type", "").endswith("json")
        payload = response.json() if response.content and as_json else {}
        return response.status_code, payload if isinstance(payload, dict) else {"items": payload}

    def check(self, call: Call, caller: str) -> dict[str, Any]:
        status, payload = self.send(caller, call.method, call.path, call.body)
        expected = call.expected(caller)
        where = f"{caller} {call.method} {call.path}"
        assert status == expected, f"{where}: {status} (expected {expected}): {payload}"
        assert status != 403 or caller not in ORGS or call.sees(caller) or _scope_refusal(payload)
        if status >= 400:
            assert payload.get("status") == status, f"{where}: not problem+json: {payload}"
        if caller in ORGS and not call.sees(caller):
            # Indistinguishable from an object that does not exist.
            key = (caller, call.method, call.missing_path, repr(call.missing_body))
            if key not in self.missing:
                self.missing[key] = self.send(
                    caller, call.method, call.missing_path, call.missing_body
                )
            missing_status, missing = self.missing[key]
            assert (missing_status, missing.get("code")) == (status, payload.get("code")), where
            assert _detail(missing) == _detail(payload), where
        return payload


def _scope_refusal(payload: dict[str, Any]) -> bool:
    return payload.get("code") == "insufficient_scope"


def _detail(payload: dict[str, Any]) -> str:
    return SHIPMENT_ID.sub("<id>", str(payload.get("detail", "")))


def price_keys(value: Any) -> list[str]:
    """Every key naming a price or a cost anywhere in a JSON value."""
    if isinstance(value, dict):
        found = [k for k, v in value.items() if k in PRICE_KEYS and v not in ([], (), None)]
        return found + [k for v in value.values() for k in price_keys(v)]
    if isinstance(value, list):
        return [k for v in value for k in price_keys(v)]
    return []


def database_rows(engine: Engine) -> dict[str, list[tuple[str, ...]]]:
    """Every row of every table, as text, sorted: to prove a refused write changed nothing."""
    rows: dict[str, list[tuple[str, ...]]] = {}
    with engine.connect() as connection:
        for table in sorted(inspect(connection).get_table_names()):
            if table == "alembic_version":
                continue
            result = connection.execute(text(f'SELECT * FROM "{table}"'))
            rows[table] = sorted(tuple(str(v) for v in row) for row in result)
    return rows


def object_operations(openapi: dict[str, Any]) -> set[tuple[str, str]]:
    """Operations taking a shipment or document id in the path or in a JSON body."""
    schemas = openapi.get("components", {}).get("schemas", {})
    found: set[tuple[str, str]] = set()
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            content = operation.get("requestBody", {}).get("content", {})
            for media in content.values():
                schema = media.get("schema", {})
                ref = schema.get("$ref", "")
                schema = schemas.get(ref.rsplit("/", 1)[-1], schema) if ref else schema
                names |= set(schema.get("properties", {}))
            if names & OBJECT_IDS:
                found.add((method.upper(), path))
    return found


def test_every_object_endpoint_is_in_the_expectation_table(sqlite_client: TestClient) -> None:
    app = sqlite_client.app
    assert isinstance(app, FastAPI)
    endpoints = object_operations(app.openapi())
    table = set(READS) | WRITES
    assert endpoints - table == set(), "object endpoints missing from the authorisation matrix"
    assert table - endpoints == set(), "the matrix names endpoints the API no longer has"


def bad_credentials(node: CorridorNode) -> dict[str, dict[str, str]]:
    now = datetime.now(UTC)

    def token(key: str, **claims: Any) -> str:
        base = {
            "iss": "kervan",
            "sub": "client:none",
            "org": "xian-forwarding",
            "scope": " ".join(s.value for s in Scope),
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(minutes=15)).timestamp()),
        }
        return jwt.encode({"alg": "HS256"}, {**base, **claims}, OctKey.import_key(key))

    sessions = node.app.state.sessions
    operator = node_operator("kervan-test", "TR")
    issued = create_client(UnitOfWork(sessions), operator, NewCredential("xian-forwarding"))
    granted = node.client.post(
        "/v1/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": issued.identifier,
            "client_secret": issued.secret,
        },
    )
    assert granted.status_code == 200, granted.text
    revoked = granted.json()["access_token"]
    revoke_client(
        UnitOfWork(sessions), operator, RevokeCredential("xian-forwarding", issued.identifier)
    )
    live_sub = f"client:{issued.identifier}"
    return {
        "anonymous": {},
        "garbage": {"authorization": "Bearer not-a-token"},
        "expired": {
            "authorization": "Bearer "
            + token(
                SECRET_KEY,
                sub=live_sub,
                iat=int((now - timedelta(hours=2)).timestamp()),
                exp=int((now - timedelta(hours=1)).timestamp()),
            )
        },
        "wrong-key": {"authorization": "Bearer " + token("w" * 48)},
        "revoked": {"authorization": f"Bearer {revoked}"},
    }


def book(node: CorridorNode, who: str, booking: dict[str, Any]) -> str:
    booked = node.client.post("/v1/shipments", json=booking, headers=node.tokens(who))
    assert booked.status_code == 201, booked.text
    return str(booked.json()["id"])


def sign(node: CorridorNode, who: str, document_id: str, step: str) -> None:
    response = node.client.post(
        f"/v1/documents/{document_id}/signatures", json={"step": step}, headers=node.tokens(who)
    )
    assert response.status_code == 201, (who, step, response.text)


def load(node: CorridorNode, shipment_id: str, owner: str, taken_over: bool) -> Shipment:
    seen = node.client.get(f"/v1/shipments/{shipment_id}", headers=node.tokens(owner)).json()
    documents = node.client.get(
        f"/v1/shipments/{shipment_id}/documents", headers=node.tokens(owner)
    ).json()
    return Shipment(
        id=shipment_id,
        parties=frozenset(p["org_id"] for p in seen["parties"]),
        countries=frozenset(seen["countries"]),
        taken_over=taken_over,
        documents={d["id"]: d for d in documents},
        plan=seen["plan"],
    )


def permit_request(truck: Shipment) -> tuple[dict[str, Any], str]:
    """One of the truck's e-Permit requests (for entering KZ, AZ or GE) and the permit authority
    that answers it: the Uzbek truck's own."""
    permit = next(
        d
        for d in truck.documents.values()
        if d["kind"] == "e-Permit" and d["content"]["countries"][0] in {"KZ", "AZ", "GE"}
    )
    return permit, f"{permit['content']['permit_issuer_country'].lower()}-permits"


def build_corridor(node: CorridorNode) -> tuple[Shipment, Shipment]:
    """The container (taken over, customs on its route see it) and the truck (only booked)."""
    rail_route = {
        "origin": "Xi'an",
        "destination": "Halkali",
        "avoid_countries": NO_NORTH,
        "avoid_modes": ["road", "sea"],
        "alternatives": 1,
    }
    container_id = book(
        node,
        "xian-forwarding",
        {
            "reference": "MATRIX-RAIL",
            "route": rail_route,
            "plan_key": plan(node, "xian-forwarding", rail_route)["plan_key"],
            "consignee": "istanbul-imports",
            "rail_carrier": "ktz-express",
            "cargo": CARGO_BATTERIES,
        },
    )
    road_route = UZBEK_TRUCK_TO_ISTANBUL
    truck_id = book(
        node,
        "tashkent-cotton",
        {
            "reference": "MATRIX-ROAD",
            "route": road_route,
            "plan_key": plan(node, "tashkent-cotton", road_route)["plan_key"],
            "consignee": "istanbul-imports",
            "road_carrier": "uz-trucking",
            "guarantee_chain": "uz-tir-association",
            "cargo": CARGO_COTTON,
        },
    )
    container = load(node, container_id, "xian-forwarding", taken_over=False)
    note = container.document("CIM-SMGS")["id"]
    sign(node, "xian-forwarding", note, "issue")
    sign(node, "ktz-express", note, "accept")
    taken = node.client.post(
        f"/v1/shipments/{container_id}/events",
        json={"type": "taken_over", "at": "2026-11-24T08:00:00+00:00"},
        headers=node.tokens("ktz-express"),
    )
    assert taken.status_code == 201, taken.text
    container = load(node, container_id, "xian-forwarding", taken_over=True)
    truck = load(node, truck_id, "tashkent-cotton", taken_over=False)
    permit, authority = permit_request(truck)
    kind = {"bilateral": 1, "transit": 2, "third-country": 3}[permit["content"]["permit_type"]]
    entering = permit["content"]["countries"][0]
    quota = {"issued_for": entering, "year": 2026, "permit_type": kind, "quantity": 5}
    added = node.client.post("/v1/permits/quotas", json=quota, headers=node.tokens(authority))
    assert added.status_code == 201, added.text
    # The situation the matrix relies on.
    assert {"KZ", "AZ", "GE", "TR"} <= container.countries
    assert "TM" not in container.countries
    assert "UZ" in truck.countries
    assert "TM" not in truck.countries
    assert "CN" not in truck.countries
    assert "UZ" not in container.countries
    return container, truck


def read_calls(container: Shipment, truck: Shipment) -> Iterator[tuple[Call, Shipment]]:
    def shipment_read(shipment: Shipment) -> Callable[[str], int]:
        def expected(caller: str) -> int:
            if caller not in ORGS:
                return 401
            if Scope.SHIPMENTS_READ not in scopes(caller):
                return 403
            return 200 if shipment.visible(caller) else 404

        return expected

    for (method, template), kind in READS.items():
        for shipment in (container, truck):
            if kind == "shipment":
                path = template.format(shipment_id=shipment.id)
                missing = template.format(shipment_id=MISSING_SHIPMENT)
                yield (
                    Call(
                        method, path, missing, None, None, shipment.visible, shipment_read(shipment)
                    ),
                    shipment,
                )
                continue
            for document_id, document in shipment.documents.items():
                path = template.format(document_id=document_id)
                missing = template.format(document_id=MISSING_DOCUMENT)
                sees: Callable[[str], bool] = shipment.visible
                expected = shipment_read(shipment)
                if kind == "tir":
                    sees, expected = tir_read(shipment, document)
                if kind == "uncefact":
                    expected = uncefact_read(shipment, document)
                yield Call(method, path, missing, None, None, sees, expected), shipment


def uncefact_read(shipment: Shipment, document: dict[str, Any]) -> Callable[[str], int]:
    """A document's UN/CEFACT export: seen as the document is; e-TIR and e-Permit have none
    (422 to whoever sees them)."""

    def expected(caller: str) -> int:
        if caller not in ORGS:
            return 401
        if Scope.SHIPMENTS_READ not in scopes(caller):
            return 403
        if not shipment.visible(caller):
            return 404
        return 200 if document["kind"] in ("e-CMR", "CIM-SMGS") else 422

    return expected


def tir_read(
    shipment: Shipment, document: dict[str, Any]
) -> tuple[Callable[[str], bool], Callable[[str], int]]:
    """A TIR transport: its shipment's parties and customs of its itinerary countries (from
    the booking on: customs of departure accepts the declaration before the truck leaves)."""
    itinerary = set(document["countries"])

    def sees(caller: str) -> bool:
        is_tir = document["kind"] == "e-TIR"
        on_itinerary = is_customs(caller) and country(caller) in itinerary
        return is_tir and (caller in shipment.parties or on_itinerary)

    def expected(caller: str) -> int:
        if caller not in ORGS:
            return 401
        return 200 if sees(caller) else 404

    return sees, expected


def test_authorisation_matrix(corridor_node: CorridorNode) -> None:
    node = corridor_node
    assert object_operations(node.app.openapi()) == set(READS) | WRITES
    container, truck = build_corridor(node)
    credentials = {org_id: node.tokens(org_id) for org_id in ORGS}
    credentials.update(bad_credentials(node))
    matrix = Matrix(node, credentials)
    engine: Engine = node.app.state.engine

    for call, shipment in read_calls(container, truck):
        for caller in CALLERS:
            payload = matrix.check(call, caller)
            if call.expected(caller) != 200 or call.path.startswith("/v1/tir/"):
                continue
            if shipment.customs_view(caller) and caller not in shipment.parties:
                assert price_keys(payload) == [], (caller, call.path)
                if "view" in payload:
                    assert payload["view"] == "customs"
            elif "view" in payload:
                assert payload["view"] == "full"

    before = database_rows(engine)
    for call, allowed, success in write_calls(container, truck):
        for caller in CALLERS:
            if caller == allowed:
                continue
            matrix.check(call, caller)
            after = database_rows(engine)
            changed = [t for t in before if before[t] != after.get(t)]
            assert changed == [], f"{caller} {call.method} {call.path} changed {changed}"
        if allowed is not None:
            assert matrix.check(call, allowed) is not None
            assert call.expected(allowed) == success
            after = database_rows(engine)
            assert after != before, f"{allowed} {call.path} changed nothing"
            before = after
    assert matrix.requests > 1000


def write_calls(container: Shipment, truck: Shipment) -> Iterator[tuple[Call, str | None, int]]:
    """Writes in an order where each allowed write sets up the next one.

    Yields the call, the one organisation allowed to make it (made last) and its status.
    """
    ecmr = truck.document("e-CMR")["id"]
    etir = truck.document("e-TIR")
    note = container.document("CIM-SMGS")["id"]
    permit, permit_authority = permit_request(truck)

    def refusal(
        shipment: Shipment,
        allowed: str | None,
        scope: Scope,
        wrong_party: int,
        success: int,
    ) -> Callable[[str], int]:
        def expected(caller: str) -> int:
            if caller not in ORGS:
                return 401
            if scope not in scopes(caller) or Scope.SHIPMENTS_READ not in scopes(caller):
                return 403
            if not shipment.visible(caller):
                return 404
            return success if caller == allowed else wrong_party

        return expected

    # e-CMR of the truck: only its consignor issues it; carrier and consignee are refused.
    yield (
        Call(
            "POST",
            f"/v1/documents/{ecmr}/signatures",
            f"/v1/documents/{MISSING_DOCUMENT}/signatures",
            {"step": "issue"},
            {"step": "issue"},
            truck.visible,
            refusal(truck, "tashkent-cotton", Scope.DOCUMENTS_SIGN, 403, 201),
        ),
        "tashkent-cotton",
        201,
    )
    # CIM/SMGS of the container, taken over: only the railway departs it. Customs on the route
    # see the note but are no party to it.
    yield (
        Call(
            "POST",
            f"/v1/documents/{note}/signatures",
            f"/v1/documents/{MISSING_DOCUMENT}/signatures",
            {"step": "depart"},
            {"step": "depart"},
            container.visible,
            refusal(container, "ktz-express", Scope.DOCUMENTS_SIGN, 403, 201),
        ),
        "ktz-express",
        201,
    )
    # The e-TIR is signed through its own endpoints, by nobody here.
    yield (
        Call(
            "POST",
            f"/v1/documents/{etir['id']}/signatures",
            f"/v1/documents/{MISSING_DOCUMENT}/signatures",
            {"step": "issue"},
            {"step": "issue"},
            truck.visible,
            refusal(truck, None, Scope.DOCUMENTS_SIGN, 422, 201),
        ),
        None,
        0,
    )
    yield from tir_writes(truck, etir)
    # The permit of one country: only that country's permit authority issues it.
    body = {"document_id": permit["id"]}

    def permit_expected(caller: str) -> int:
        if caller not in ORGS:
            return 401
        if ORGS[caller][1] is not K.PERMIT_AUTHORITY:
            return 403
        return 201 if caller == permit_authority else 404

    yield (
        Call(
            "POST",
            "/v1/permits",
            "/v1/permits",
            body,
            {"document_id": MISSING_DOCUMENT},
            lambda caller: caller == permit_authority,
            permit_expected,
        ),
        permit_authority,
        201,
    )
    # The container's next event is the arrival at the first border: that country's customs
    # records it; the parties and the other countries' customs are refused.
    first_border = next(leg for leg in container.plan["legs"] if leg["border"])
    entering = first_border["to_country"]
    arrival = {
        "type": "border_arrival",
        "at": "2026-11-26T08:00:00+00:00",
        "leg_index": first_border["index"],
    }
    entry_customs = f"{entering.lower()}-customs"
    yield (
        Call(
            "POST",
            f"/v1/shipments/{container.id}/events",
            f"/v1/shipments/{MISSING_SHIPMENT}/events",
            arrival,
            arrival,
            container.visible,
            refusal(container, entry_customs, Scope.SHIPMENTS_READ, 403, 201),
        ),
        entry_customs,
        201,
    )
    release = {
        "leg_index": first_border["index"],
        "at": "2026-11-26T12:00:00+00:00",
        "documentary_check_passed": True,
        "inspection": "conform",
        "seals": [{"number": "CN2026118", "condition": "intact"}],
    }

    def release_expected(caller: str) -> int:
        if caller not in ORGS:
            return 401
        if not is_customs(caller):
            return 403
        # Another country's officer finds no crossing of its own on this leg.
        return 200 if caller == entry_customs else 404

    yield (
        Call(
            "POST",
            f"/v1/customs/shipments/{container.id}/release",
            f"/v1/customs/shipments/{MISSING_SHIPMENT}/release",
            release,
            release,
            container.visible,
            release_expected,
        ),
        entry_customs,
        200,
    )
    # Then the cargo reaches the next border: only that country's customs records the arrival.
    next_border = next(
        leg
        for leg in container.plan["legs"]
        if leg["border"] and leg["index"] > first_border["index"]
    )
    next_customs = f"{next_border['to_country'].lower()}-customs"
    arrival_there = {"leg_index": next_border["index"], "at": "2026-11-28T08:00:00+00:00"}

    def arrival_expected(caller: str) -> int:
        if caller not in ORGS:
            return 401
        if not is_customs(caller):
            return 403
        # Another country's customs holds no crossing of its own on that leg.
        return 200 if caller == next_customs else 404

    yield (
        Call(
            "POST",
            f"/v1/customs/shipments/{container.id}/arrival",
            f"/v1/customs/shipments/{MISSING_SHIPMENT}/arrival",
            arrival_there,
            arrival_there,
            container.visible,
            arrival_expected,
        ),
        next_customs,
        200,
    )
    # Last, the truck is taken over by its carrier (the shipper and consignee are refused).
    taken = {"type": "taken_over", "at": "2026-11-24T08:00:00+00:00"}
    yield (
        Call(
            "POST",
            f"/v1/shipments/{truck.id}/events",
            f"/v1/shipments/{MISSING_SHIPMENT}/events",
            taken,
            taken,
            truck.visible,
            refusal(truck, "uz-trucking", Scope.SHIPMENTS_READ, 403, 201),
        ),
        "uz-trucking",
        201,
    )


def tir_writes(truck: Shipment, etir: dict[str, Any]) -> Iterator[tuple[Call, str | None, int]]:
    """Guarantee (the shipment's chain), declaration (the holder), acceptance (customs of
    departure), the first operation (customs of departure), the guarantee's cancellation (the
    chain)."""
    itinerary = list(etir["countries"])
    departure = f"{itinerary[0].lower()}-customs"
    base = f"/v1/tir/{etir['id']}"
    missing = f"/v1/tir/{MISSING_DOCUMENT}"
    guarantee = {"reference": "XG71234567", "valid_from": "2026-11-01", "valid_until": "2027-02-01"}

    def on_itinerary(caller: str) -> bool:
        return is_customs(caller) and country(caller) in itinerary

    def guarantee_expected(caller: str) -> int:
        if caller not in ORGS:
            return 401
        if Scope.GUARANTEES not in scopes(caller):
            return 403
        return 200 if caller == "uz-tir-association" else 404

    def declaration_expected(caller: str) -> int:
        if caller not in ORGS:
            return 401
        if Scope.DOCUMENTS_SIGN not in scopes(caller):
            return 403
        return 200 if caller == "uz-trucking" else 404

    def customs_expected(wrong_country: int) -> Callable[[str], int]:
        def expected(caller: str) -> int:
            if caller not in ORGS:
                return 401
            if not is_customs(caller):
                return 403
            if not on_itinerary(caller):
                return 404
            return 200 if caller == departure else wrong_country

        return expected

    def sees(caller: str) -> bool:
        return caller in truck.parties or on_itinerary(caller)

    yield (
        Call(
            "POST",
            f"{base}/guarantee",
            f"{missing}/guarantee",
            guarantee,
            guarantee,
            sees,
            guarantee_expected,
        ),
        "uz-tir-association",
        200,
    )
    yield (
        Call(
            "POST",
            f"{base}/declaration",
            f"{missing}/declaration",
            None,
            None,
            sees,
            declaration_expected,
        ),
        "uz-trucking",
        200,
    )
    yield (
        Call(
            "POST",
            f"{base}/acceptance",
            f"{missing}/acceptance",
            None,
            None,
            sees,
            customs_expected(403),
        ),
        departure,
        200,
    )
    start = {"action": "start"}
    yield (
        Call(
            "POST",
            f"{base}/operations",
            f"{missing}/operations",
            start,
            start,
            sees,
            customs_expected(409),
        ),
        departure,
        200,
    )
    # The chain cancels the guarantee in use (from the next operation's start).
    yield (
        Call(
            "POST",
            f"{base}/guarantee/cancellation",
            f"{missing}/guarantee/cancellation",
            None,
            None,
            sees,
            guarantee_expected,
        ),
        "uz-tir-association",
        200,
    )
