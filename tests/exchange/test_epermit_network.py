"""The e-Permit network over HTTP on loopback: two Kervan permit authorities (TR and UZ, each its
own node, database and keys, its `kervan epermit serve` app on a real socket) and one
independent peer (AZ, written in the tests from the standard). Quotas are exchanged, a permit UZ
issues to its haulier is checked offline and used at the TR border, the use reaches UZ, a
revocation reaches the TR border device's list; every event type goes both ways, every error
code of the standard is met, refused events are set aside while later ones flow, and a partner
that was down gets its events when it is back."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kervan.api.app import create_app
from kervan.api.epermit_app import create_epermit_app
from kervan.errors import InvalidRequestError
from kervan.network.dataset import load_network
from kervan.network.model import Network
from kervan.services.access import Caller
from kervan.services.demo_corridor import caller_for
from kervan.services.epermit_border import (
    BorderUse,
    DeviceScan,
    Grant,
    GrantRequest,
    UseAtBorder,
    check_on_device,
    grant_quota,
    record_border_use,
)
from kervan.services.epermit_network import (
    AuthorityRef,
    DeadLetterRef,
    NewPartner,
    PartnerSpec,
    add_partner,
    resend_dead_letter,
    rotate_authority_key,
)
from kervan.services.epermit_sync import network_view
from kervan.services.node import NodeContext
from kervan.store.db import unit_of_work
from tests.api.conftest import CorridorNode, book_truck, node_settings
from tests.api.corridor_parties import register_corridor, tokens_for
from tests.databases import BACKENDS, migrated_database
from tests.exchange.independent_peer import IndependentPeer, Key, PeerServer, serialise, write_json

YEAR = datetime.now(UTC).year
PERMIT_TYPE = {"bilateral": 1, "transit": 2, "third-country": 3}
TRICKY = "Şirvan <Nəqliyyat>='MMC'\u2028Bakı\u2029 & Co"


class MovableClock:
    """The wall clock, moved forward by the test (to pass a retry delay without waiting)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@contextlib.contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Serve `app` with uvicorn from a thread on a free loopback port; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", ws="none", lifespan="on", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the e-Permit app did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@dataclass
class Authority:
    """A Kervan permit authority: its node (API), its e-Permit app's URL and delivery."""

    code: str
    org_id: str
    node: CorridorNode
    epermit: FastAPI
    url: str = ""
    clock: MovableClock = field(default_factory=MovableClock)

    @property
    def ctx(self) -> NodeContext:
        ctx: NodeContext = self.node.app.state.node
        return ctx

    def caller(self) -> Caller:
        with unit_of_work(self.ctx.sessions) as session:
            return caller_for(session, self.org_id)

    def deliver(self) -> Any:
        return self.epermit.state.deliver_once()

    def view(self) -> Any:
        return network_view(self.ctx.unit_of_work(), self.caller(), AuthorityRef(self.org_id))


@dataclass
class Network3:
    tr: Authority
    uz: Authority
    az: IndependentPeer
    az_server: PeerServer

    def restart_az(self) -> None:
        self.az_server = PeerServer(self.az, self.az_server.port)


def _partner(authority: Authority, code: str, url: str) -> None:
    answer = httpx.get(url + "/", timeout=10).json()
    spec = PartnerSpec(code=code, url=url, name=answer["name"], keys=answer["keys"])
    add_partner(
        authority.ctx.unit_of_work(), authority.caller(), NewPartner(authority.org_id, spec)
    )


@pytest.fixture(scope="module")
def shipped_network() -> Network:
    return load_network()


def _kervan_authority(
    stack: contextlib.ExitStack,
    code: str,
    tmp_path: Path,
    shipped_network: Network,
    backend: str = "sqlite",
) -> Authority:
    """A Kervan node (API) with the corridor's organisations, and its authority's e-Permit
    app served on a loopback socket (delivery rounds run by the test)."""
    folder = tmp_path / code
    folder.mkdir()
    url = stack.enter_context(migrated_database(backend, folder))
    app = create_app(node_settings(url, folder), network=shipped_network)
    register_corridor(app.state.sessions, app.state.node.keys)
    client = stack.enter_context(TestClient(app))
    node = CorridorNode(client, tokens_for(client, app.state.sessions), app)
    clock = MovableClock()
    epermit = create_epermit_app(
        f"{code.lower()}-permits",
        app.state.settings,
        engine=app.state.engine,
        network=shipped_network,
        deliver_every=0,
        clock=clock,
    )
    authority = Authority(code, f"{code.lower()}-permits", node, epermit, clock=clock)
    authority.url = stack.enter_context(serve(epermit))
    return authority


@pytest.fixture
def three(tmp_path: Path, shipped_network: Network) -> Iterator[Network3]:
    with contextlib.ExitStack() as stack:
        made = {code: _kervan_authority(stack, code, tmp_path, shipped_network)
                for code in ("TR", "UZ")}  # fmt: skip
        az = IndependentPeer("AZ")
        server = PeerServer(az)
        three = Network3(made["TR"], made["UZ"], az, server)
        stack.callback(lambda: three.az_server.stop())  # noqa: PLW0108 (the server of the end)
        _partner(made["TR"], "UZ", made["UZ"].url)
        _partner(made["UZ"], "TR", made["TR"].url)
        for authority in made.values():
            _partner(authority, "AZ", server.url)
            az.learn(authority.code, authority.url)
        yield three


@dataclass
class Pair:
    uz: Authority
    az: IndependentPeer


@pytest.fixture(params=BACKENDS)
def pair(
    request: pytest.FixtureRequest, tmp_path: Path, shipped_network: Network
) -> Iterator[Pair]:
    """UZ (Kervan, on SQLite and on PostgreSQL) and AZ (independent) as partners."""
    with contextlib.ExitStack() as stack:
        uz = _kervan_authority(stack, "UZ", tmp_path, shipped_network, request.param)
        az = IndependentPeer("AZ")
        server = PeerServer(az)
        stack.callback(server.stop)
        _partner(uz, "AZ", server.url)
        az.learn("UZ", uz.url)
        yield Pair(uz, az)


def _grant(authority: Authority, issuer: str, permit_type: int, quantity: int) -> None:
    request = GrantRequest(issuer=issuer, year=YEAR, permit_type=permit_type, quantity=quantity)
    granted = grant_quota(
        authority.ctx.unit_of_work(), authority.caller(), Grant(authority.org_id, request)
    )
    assert granted.announced


def _delivered(authority: Authority) -> tuple[str, ...]:
    report = authority.deliver()
    assert not report.failed, report.failed
    assert not report.dead, report.dead
    return tuple(report.delivered)


def _requests_of(node: CorridorNode, reference: str) -> dict[str, dict[str, Any]]:
    """The booked truck's e-Permit requests by the country they let it enter."""
    booked = book_truck(node, reference)
    return {d["content"]["countries"][0]: d for d in booked.documents if d["kind"] == "e-Permit"}


def _issue(uz: Authority, request: dict[str, Any]) -> dict[str, Any]:
    issued = uz.node.client.post(
        "/v1/permits", json={"document_id": request["id"]}, headers=uz.node.tokens(uz.org_id)
    )
    assert issued.status_code == 201, issued.text
    permit: dict[str, Any] = issued.json()
    return permit


def _device(tr: Authority) -> str:
    """What `kervan epermit border sync` keeps: the authority's GET / and its border bundle."""
    import json  # noqa: PLC0415

    authority = httpx.get(tr.url + "/", timeout=10).json()
    bundle = httpx.get(tr.url + "/border-bundle", timeout=10).json()["bundle"]
    return json.dumps({"authority": authority, "bundle": bundle})


def test_quotas_a_permit_its_use_and_its_revocation_travel_between_authorities(
    three: Network3,
) -> None:
    tr, uz, az = three.tr, three.uz, three.az
    requests = _requests_of(uz.node, "TAS-IST-EPERMIT-1")
    assert "TR" in requests, sorted(requests)
    to_tr = requests["TR"]
    kind = PERMIT_TYPE[to_tr["content"]["permit_type"]]

    # Quotas: TR grants UZ (a Kervan pair), UZ grants AZ, AZ grants UZ (the independent peer).
    _grant(tr, "UZ", kind, 2)
    _grant(uz, "AZ", 1, 3)
    assert "AZ" in requests, sorted(requests)
    az_kind = PERMIT_TYPE[requests["AZ"]["content"]["permit_type"]]
    quota = az.event("UZ", "QUOTA_CREATED", {"permit_issuer": "UZ", "permit_issued_for": "AZ",
                                             "permit_year": YEAR, "permit_type": az_kind,
                                             "quantity": 4})  # fmt: skip
    assert az.post(quota).status_code == 200
    assert len(_delivered(tr)) == 1
    assert len(_delivered(uz)) == 1
    assert az.quotas[("AZ", "UZ", YEAR, 1)] == 3
    received = {(q.partner, q.role, q.granted) for q in uz.view().quotas}
    assert ("TR", "issuer", 2) in received
    assert ("AZ", "issuer", 4) in received
    # UZ issues the same truck its permit for AZ, then revokes it: AZ hears both.
    for_az = _issue(uz, requests["AZ"])
    gone = uz.node.client.post(
        f"/v1/permits/{for_az['permit_id']}/revocation",
        json={"reason": "route changed"},
        headers=uz.node.tokens(uz.org_id),
    )
    assert gone.status_code == 201, gone.text
    assert len(_delivered(uz)) == 2
    assert [e["permit_id"] for e in az.of_type("UZ", "PERMIT_CREATED")] == [for_az["permit_id"]]
    assert [e["permit_id"] for e in az.of_type("UZ", "PERMIT_REVOKED")] == [for_az["permit_id"]]
    assert ("AZ", "quota authority", 3) in received

    # UZ issues its haulier the permit for entering TR; TR hears of it.
    permit = _issue(uz, to_tr)
    assert permit["permit_id"] == f"UZ-TR-{YEAR}-{kind}-1"
    # Until TR accepts it, UZ's reconciliation shows the drift.
    [line] = [q for q in uz.view().quotas if q.partner == "TR"]
    assert (line.granted, line.issued, line.not_delivered) == (2, 1, 1)
    assert line.drift == ["1 issued permits not yet accepted by TR"]
    assert len(_delivered(uz)) == 1
    [line] = [q for q in uz.view().quotas if q.partner == "TR"]
    assert (line.not_delivered, line.drift) == (0, [])
    tr_view = tr.view()
    assert [(q.partner, q.role, q.granted, q.issued) for q in tr_view.quotas] == [
        ("UZ", "quota authority", 2, 1)
    ]
    assert tr_view.partners[[p.code for p in tr_view.partners].index("UZ")].last_received

    # The TR border device checks the QR offline, from a fresh signed revocation list.
    device = _device(tr)
    verdict = check_on_device(DeviceScan(device, permit["qr_code"], datetime.now(UTC)))
    assert verdict.status == "valid"
    assert verdict.issuer == "UZ"
    assert not verdict.list_stale
    assert verdict.list_age < timedelta(hours=1)
    later = check_on_device(
        DeviceScan(device, permit["qr_code"], datetime.now(UTC) + timedelta(days=2))
    )
    assert later.list_stale  # a two-day-old list says so

    # TR's border records the entrance; UZ hears of the use.
    use = BorderUse(qr=permit["qr_code"], plate=permit["plate_number"], activity="ENTRANCE",
                    details="Sarp border post")  # fmt: skip
    recorded = record_border_use(tr.ctx.unit_of_work(), tr.caller(), UseAtBorder(tr.org_id, use))
    assert (recorded.permit_id, recorded.issuer, recorded.uses) == (permit["permit_id"], "UZ", 1)
    assert len(_delivered(tr)) == 1
    record = uz.node.client.get(
        f"/v1/permits/{permit['permit_id']}", headers=uz.node.tokens(uz.org_id)
    )
    assert record.status_code == 200, record.text
    usages = record.json()["usages"]
    assert [(u["control_authority"], u["activity_type"]) for u in usages] == [("TR", "ENTRANCE")]

    # A second permit, revoked by UZ: the revocation reaches the TR border device's list.
    second = _issue(uz, _requests_of(uz.node, "TAS-IST-EPERMIT-2")["TR"])
    revoked = uz.node.client.post(
        f"/v1/permits/{second['permit_id']}/revocation",
        json={"reason": "vehicle sold"},
        headers=uz.node.tokens(uz.org_id),
    )
    assert revoked.status_code == 201, revoked.text
    assert len(_delivered(uz)) == 2  # PERMIT_CREATED, then PERMIT_REVOKED
    verdict = check_on_device(DeviceScan(_device(tr), second["qr_code"], datetime.now(UTC)))
    assert verdict.status == "revoked"
    assert verdict.revocation is not None
    assert verdict.revocation.revoked_at.replace(microsecond=0) == datetime.fromisoformat(
        revoked.json()["revoked_at"]
    ).replace(microsecond=0)
    # The first permit is still valid on the same device.
    assert (
        check_on_device(DeviceScan(_device(tr), permit["qr_code"], datetime.now(UTC))).status
        == "valid"
    )


def test_events_with_escaped_characters_go_both_ways_with_the_independent_peer(
    three: Network3,
) -> None:
    uz, az = three.uz, three.az
    _grant(uz, "AZ", 1, 3)
    assert len(_delivered(uz)) == 1
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    expires = today + timedelta(days=30)
    permit_id = f"AZ-UZ-{YEAR}-1-1"
    qr = az.qr(permit_id, today, expires, "10-AB-123", TRICKY)
    created = az.event("UZ", "PERMIT_CREATED", {
        "permit_id": permit_id, "permit_type": 1, "permit_issuer": "AZ",
        "permit_issued_for": "UZ", "permit_year": YEAR, "issued_at": f"{today:%d/%m/%Y}",
        "expires_at": f"{expires:%d/%m/%Y}", "plate_number": "10-AB-123",
        "company_name": TRICKY, "company_id": "AZ-1700123", "departure_country": "AZ",
        "arrival_country": "UZ", "qr_code": qr, "other_claims": {"note": "<a='b'>"},
    })  # fmt: skip
    answer = az.post(created)
    assert answer.status_code == 200, answer.text
    verified = httpx.get(f"{uz.url}/verify/{qr}", timeout=10)
    assert verified.status_code == 200, verified.text
    assert verified.json()["company_name"] == TRICKY

    details = "Ələt <gate>='3'\u2028lane\u20292"
    use = BorderUse(qr=qr, plate="10-AB-123", activity="ENTRANCE", details=details)
    recorded = record_border_use(uz.ctx.unit_of_work(), uz.caller(), UseAtBorder(uz.org_id, use))
    assert recorded.issuer == "AZ"
    assert len(_delivered(uz)) == 1
    [used] = az.of_type("UZ", "PERMIT_USED")
    assert used["activity_details"] == details
    assert used["permit_id"] == permit_id


def test_a_refused_event_is_a_dead_letter_and_later_events_still_flow(three: Network3) -> None:
    uz, az = three.uz, three.az
    az.refuse_next = "INSUFFICIENT_PERMIT_QUOTA"
    _grant(uz, "AZ", 1, 3)
    _grant(uz, "AZ", 2, 5)
    report = uz.deliver()
    assert [(d.consumer, d.event_type, d.error_code) for d in report.dead] == [
        ("AZ", "QUOTA_CREATED", "INSUFFICIENT_PERMIT_QUOTA")
    ]
    assert len(report.delivered) == 1  # the next event, chained anew
    [accepted] = az.of_type("UZ", "QUOTA_CREATED")
    assert accepted["previous_event_id"] == "0"
    assert accepted["permit_type"] == 2
    _grant(uz, "AZ", 3, 1)
    assert len(_delivered(uz)) == 1
    assert len(az.of_type("UZ", "QUOTA_CREATED")) == 2
    view = uz.view()
    assert [(d.partner, d.error_code) for d in view.dead_letters] == [
        ("AZ", "INSUFFICIENT_PERMIT_QUOTA")
    ]
    [az_line] = [p for p in view.partners if p.code == "AZ"]
    assert (az_line.dead_letters, az_line.waiting) == (1, 0)
    metrics = httpx.get(f"{uz.url}/metrics", timeout=10).text
    assert 'kervan_epermit_dead_letters_total{error_code="INSUFFICIENT_PERMIT_QUOTA"' in metrics
    # The operator fixed the cause: the refused content goes again, at the chain's end.
    dead_id = view.dead_letters[0].event_id
    ref = DeadLetterRef(uz.org_id, "AZ", dead_id)
    new_id = resend_dead_letter(uz.ctx.unit_of_work(), uz.caller(), ref)
    assert len(_delivered(uz)) == 1
    resent = az.of_type("UZ", "QUOTA_CREATED")[-1]
    assert (resent["event_id"], resent["permit_type"]) == (new_id, 1)
    with pytest.raises(InvalidRequestError, match="resent already"):
        resend_dead_letter(uz.ctx.unit_of_work(), uz.caller(), ref)


def test_a_partner_down_gets_its_events_in_order_when_it_is_back(three: Network3) -> None:
    uz, az = three.uz, three.az
    three.az_server.stop()
    _grant(uz, "AZ", 1, 3)
    _grant(uz, "AZ", 2, 4)
    report = uz.deliver()
    assert "AZ" in report.failed
    assert not report.delivered
    [az_line] = [p for p in uz.view().partners if p.code == "AZ"]
    assert az_line.waiting == 2
    assert az_line.last_error is not None
    assert "UNREACHABLE" in az_line.last_error
    three.restart_az()
    # Back, but the retry is not due yet: nothing is sent before its time.
    assert uz.deliver().delivered == ()
    uz.clock.offset = timedelta(minutes=10)
    assert len(_delivered(uz)) == 2
    assert [e["permit_type"] for e in az.of_type("UZ", "QUOTA_CREATED")] == [1, 2]


def _permit_event(az: IndependentPeer, permit_id: str, **changes: Any) -> dict[str, Any]:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    expires = today + timedelta(days=30)
    own = {
        "permit_id": permit_id, "permit_type": 1, "permit_issuer": "AZ",
        "permit_issued_for": "UZ", "permit_year": YEAR, "issued_at": f"{today:%d/%m/%Y}",
        "expires_at": f"{expires:%d/%m/%Y}", "plate_number": "10-AB-123",
        "company_name": "Gəncə Logistika", "company_id": "AZ-1",
        "qr_code": az.qr(permit_id, today, expires, "10-AB-123", "Gəncə Logistika"),
    }  # fmt: skip
    own.update(changes)
    return az.event("UZ", "PERMIT_CREATED", own)


def _code(response: httpx.Response) -> tuple[int, str]:
    body = response.json()
    assert set(body) >= {"status", "timestamp", "error_id", "error_message", "details"}
    return response.status_code, body["details"]["errorCode"]


def test_kervan_answers_every_error_code_of_the_standard(pair: Pair) -> None:
    uz, az = pair.uz, pair.az
    _grant(uz, "AZ", 1, 2)  # UZ lets AZ issue two bilateral permits for entering UZ
    assert len(_delivered(uz)) == 1
    first = _permit_event(az, f"AZ-UZ-{YEAR}-1-1")

    # The proof: missing, malformed, by an unknown key, not over these bytes -> 401.
    assert az.post(first, authorization="").status_code == 401
    assert az.post(first, authorization="Bearer not-a-proof").status_code == 401
    rogue = Key("rogue-1")
    data = serialise(first)
    assert az.post(first, authorization=f"Bearer {az.proof(data, rogue)}").status_code == 401
    other = serialise({**first, "plate_number": "99-ZZ-999"})
    assert az.post(first, authorization=f"Bearer {az.proof(other)}").status_code == 401
    # A field missing -> 400 naming it.
    missing = {k: v for k, v in first.items() if k != "company_name"}
    refused = az.post(missing, body=serialise(missing))
    assert refused.status_code == 400
    assert "company_name" in refused.json()["details"]["fields"]
    # An unknown producer.
    stranger = {**first, "event_producer": "KG"}
    assert _code(az.post(stranger)) == (422, "AUTHORITY_NOT_FOUND")

    assert az.post(first).status_code == 200
    assert _code(az.post(first)) == (422, "EVENT_ALREADY_EXISTS")
    genesis = {**_permit_event(az, f"AZ-UZ-{YEAR}-1-2"), "previous_event_id": "0"}
    assert _code(az.post(genesis)) == (422, "GENESIS_EVENT_ALREADY_EXISTS")
    lost = {**_permit_event(az, f"AZ-UZ-{YEAR}-1-2"), "previous_event_id": "x" * 20}
    assert _code(az.post(lost)) == (422, "PREVIOUS_EVENT_NOTFOUND")
    assert _code(az.post(_permit_event(az, f"AZ-UZ-{YEAR}-1-1"))) == (
        422, "PERMITID_ALREADY_EXISTS"
    )  # fmt: skip
    assert _code(az.post(_permit_event(az, f"AZ-UZ-{YEAR}-1"))) == (422, "INVALID_PERMITID")
    mismatch = _permit_event(az, f"AZ-TR-{YEAR}-1-2")
    assert _code(az.post(mismatch)) == (422, "INVALID_PERMITID")
    assert _code(az.post(_permit_event(az, f"AZ-UZ-{YEAR}-1-3"))) == (
        422, "INSUFFICIENT_PERMIT_QUOTA"
    )  # fmt: skip
    revoke_unknown = az.event("UZ", "PERMIT_REVOKED", {"permit_id": f"AZ-UZ-{YEAR}-1-2",
                                                       "revoked_at": int(time.time())})  # fmt: skip
    assert _code(az.post(revoke_unknown)) == (422, "PERMIT_NOTFOUND")

    # A used permit cannot be revoked; an unused one once.
    use = BorderUse(qr=first["qr_code"], plate="10-AB-123", activity="ENTRANCE")
    record_border_use(uz.ctx.unit_of_work(), uz.caller(), UseAtBorder(uz.org_id, use))
    revoke_used = az.event("UZ", "PERMIT_REVOKED", {"permit_id": first["permit_id"],
                                                    "revoked_at": int(time.time())})  # fmt: skip
    assert _code(az.post(revoke_used)) == (422, "PERMIT_USED")
    second = _permit_event(az, f"AZ-UZ-{YEAR}-1-2")
    assert az.post(second).status_code == 200
    revoke = az.event("UZ", "PERMIT_REVOKED", {"permit_id": second["permit_id"],
                                               "revoked_at": int(time.time())})  # fmt: skip
    assert az.post(revoke).status_code == 200
    again = az.event("UZ", "PERMIT_REVOKED", {"permit_id": second["permit_id"],
                                              "revoked_at": int(time.time())})  # fmt: skip
    assert _code(az.post(again)) == (422, "PERMIT_ALREADY_REVOKED")
    # The revocation reaches the UZ border device's list (no reason travels on the wire).
    verdict = check_on_device(DeviceScan(_device(uz), second["qr_code"], datetime.now(UTC)))
    assert verdict.status == "revoked"
    assert verdict.revocation is not None
    assert verdict.revocation.reason is None

    # Keys: a new key is announced, then signs; a kid twice is refused; a revoked key is done.
    new_key = Key("az-2")
    announce = az.event("UZ", "KEY_CREATED", {"authority": "AZ", "kid": "az-2",
                                              "jwk": write_json(new_key.public_jwk())})  # fmt: skip
    assert az.post(announce).status_code == 200
    twice = az.event("UZ", "KEY_CREATED", {"authority": "AZ", "kid": "az-2",
                                           "jwk": write_json(new_key.public_jwk())})  # fmt: skip
    assert _code(az.post(twice)) == (422, "KEYID_ALREADY_EXISTS")
    az.key = new_key
    quota = az.event("UZ", "QUOTA_CREATED", {"permit_issuer": "UZ", "permit_issued_for": "AZ",
                                             "permit_year": YEAR, "permit_type": 2,
                                             "quantity": 7})  # fmt: skip
    assert az.post(quota).status_code == 200
    # Revoked from a minute ago: any event it signs now is refused.
    retire = az.event("UZ", "KEY_REVOKED", {"authority": "AZ", "key_id": "az-2",
                                            "revoked_at": int(time.time()) - 60})  # fmt: skip
    assert az.post(retire).status_code == 200
    late = az.event("UZ", "QUOTA_CREATED", {"permit_issuer": "UZ", "permit_issued_for": "AZ",
                                            "permit_year": YEAR, "permit_type": 3,
                                            "quantity": 1})  # fmt: skip
    assert az.post(late).status_code == 401


def test_a_key_rotation_reaches_the_partners_and_the_new_key_signs(pair: Pair) -> None:
    uz, az = pair.uz, pair.az
    rotation = rotate_authority_key(uz.ctx.unit_of_work(), uz.caller(), AuthorityRef(uz.org_id))
    assert rotation.partners_told == ["AZ"]
    assert len(_delivered(uz)) == 2
    [created] = az.of_type("UZ", "KEY_CREATED")
    [revoked] = az.of_type("UZ", "KEY_REVOKED")
    assert (created["kid"], revoked["key_id"]) == (rotation.kid, rotation.previous_kid)
    assert [k["kid"] for k in httpx.get(uz.url + "/", timeout=10).json()["keys"]] == [rotation.kid]
    _grant(uz, "AZ", 1, 3)  # signed with the new key, which AZ learned from KEY_CREATED
    assert len(_delivered(uz)) == 1
    assert az.quotas[("AZ", "UZ", YEAR, 1)] == 3
