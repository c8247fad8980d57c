"""The e-Permit peer protocol between two Kervan authorities, TR (issuer) and UZ (quota and
control authority), each with its own store, keys and FastAPI app; events really signed and
really posted. Valid proofs are accepted and applied; each refusal carries the standard's code."""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kervan.documents.epermit import Permit, PermitType, Quota
from kervan.errors import EpermitPeerError
from kervan.exchange.epermit_peer.client import EpermitPeerClient, HttpResponse
from kervan.exchange.epermit_peer.peer import Accepted, EpermitPeer, permit_created
from kervan.exchange.epermit_peer.router import PeerFace, epermit_router
from kervan.exchange.epermit_peer.wire import (
    Common,
    EventBody,
    EventType,
    KeyCreated,
    PermitRevoked,
    PermitUsed,
    QuotaCreated,
    event_type_of,
    serialise,
)
from kervan.signatures.encoding import unix_seconds
from kervan.signatures.jws import sign_detached
from kervan.signatures.keys import Es256Signer, Signer
from kervan.signatures.trustlist import TrustList
from kervan.store.db import make_engine, make_session_factory, unit_of_work
from kervan.store.repositories import Organisation, OrganisationKind, OrganisationRepository
from kervan.store.repositories.permits import PermitRepository, QuotaKey
from kervan.store.tables import PermitQuotaRow, PermitRow, PermitUsageRow
from kervan.store.tables.exchange import EpermitPeerEventRow
from tests.databases import BACKENDS, migrated_database

NOW = datetime.now(UTC)
YEAR = NOW.year
T0 = NOW - timedelta(days=1)
URLS = {"TR": "http://tr.test", "UZ": "http://uz.test"}


@dataclasses.dataclass
class Authority:
    code: str
    org_id: str
    signer: Es256Signer
    sessions: sessionmaker[Session]
    peer: EpermitPeer
    http: TestClient
    client: EpermitPeerClient | None = None


@pytest.fixture(params=BACKENDS)
def authorities(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, Authority]]:
    signers = {code: Es256Signer.generate(f"{code.lower()}-1", party=code) for code in URLS}
    with contextlib.ExitStack() as stack:
        made: dict[str, Authority] = {}
        for code, base_url in URLS.items():
            url = stack.enter_context(migrated_database(request.param, tmp_path / code))
            engine = make_engine(url)
            stack.callback(engine.dispose)
            sessions = make_session_factory(engine)
            org_id = f"{code.lower()}-permits"
            with sessions.begin() as session:
                OrganisationRepository(session).add(
                    Organisation(org_id, f"{code} permit authority", code,
                                 OrganisationKind.PERMIT_AUTHORITY, T0)
                )  # fmt: skip
            trust = TrustList()
            for signer in signers.values():
                trust.add_signer(signer, not_before=T0)
            partner = "UZ" if code == "TR" else "TR"
            peer = EpermitPeer(
                code, name=f"{code} authority", org_id=org_id, signer=signers[code], trust=trust,
                partners={partner: f"{partner} authority"},
            )  # fmt: skip
            app = FastAPI()
            app.include_router(epermit_router(face(peer, sessions)))
            http = stack.enter_context(TestClient(app, base_url=base_url))
            made[code] = Authority(code, org_id, signers[code], sessions, peer, http)
        for code, authority in made.items():
            partner = "UZ" if code == "TR" else "TR"
            authority.client = EpermitPeerClient(
                authority.peer, authority.sessions, made[partner].http, {partner: URLS[partner]}
            )
        yield made


def face(peer: EpermitPeer, sessions: sessionmaker[Session]) -> PeerFace:
    """The peer's public API over one store, each request in its own transaction."""

    def receive(path: str, data: bytes, authorization: str | None) -> Accepted:
        with unit_of_work(sessions) as session:
            accepted = peer.receive(session, path, data, authorization)
        if accepted.after_commit is not None:
            accepted.after_commit()
        return accepted

    def verify(qr: str) -> dict[str, Any]:
        with unit_of_work(sessions) as session:
            return peer.verify_qr(session, qr)

    return PeerFace(peer.describe, receive, verify, peer.now, peer.code)


def deliver(authority: Authority) -> tuple[str, ...]:
    assert authority.client is not None
    report = authority.client.deliver_pending()
    assert not report.failed, report.failed
    return report.delivered


def post(
    to: Authority,
    body: EventBody,
    *,
    signer: Signer,
    producer: str = "TR",
    consumer: str = "UZ",
    previous: str = "0",
    timestamp: int | None = None,
    tamper: bool = False,
) -> HttpResponse:
    common = Common(
        event_producer=producer,
        event_consumer=consumer,
        event_timestamp=timestamp or unix_seconds(NOW),
        event_type=event_type_of(body),
        event_id=str(uuid.uuid4()),
        previous_event_id=previous,
    )
    data = serialise(body, common)
    proof = sign_detached(data, signer, form="epermit")
    if tamper:
        data = data.replace(b"ABC 10", b"ABC 19")  # another truck
    return to.http.post(
        f"/events/{event_type_of(body).path}",
        content=data,
        headers={"Authorization": f"Bearer {proof}"},
    )


def code_of(response: HttpResponse) -> str:
    body: dict[str, Any] = response.json()
    assert set(body) == {"status", "timestamp", "error_id", "error_message", "details"}
    assert body["status"] == response.status_code
    return str(body["details"]["errorCode"])


def grant_and_issue(tr: Authority, uz: Authority, quantity: int, permits: int) -> list[Permit]:
    with uz.sessions.begin() as session:
        uz.peer.grant_quota(
            session, Quota(permit_issuer="TR", permit_issued_for="UZ", permit_year=YEAR,
                           permit_type=PermitType.BILATERAL, quantity=quantity)
        )  # fmt: skip
    assert len(deliver(uz)) == 1
    issued = []
    key = QuotaKey(tr.org_id, "TR", "UZ", YEAR, PermitType.BILATERAL)
    for n in range(permits):
        with tr.sessions.begin() as session:
            permit = PermitRepository(session).issue_permit(
                key, org_ids=[tr.org_id], plate_number=f"06 ABC {100 + n}",
                company_name="Kervan Lojistik A.S.", company_id="TR-1234",
                issued_at=NOW.date(), expires_at=NOW.date() + timedelta(days=60), at=NOW,
                qr_signer=tr.signer,
            )  # fmt: skip
            tr.peer.produce(session, "UZ", permit_created(permit))
        issued.append(permit)
    assert len(deliver(tr)) == permits
    return issued


def test_quota_permits_usage_and_revocation_flow_between_two_authorities(
    authorities: dict[str, Authority],
) -> None:
    tr, uz = authorities["TR"], authorities["UZ"]
    first, second = grant_and_issue(tr, uz, quantity=2, permits=2)
    with tr.sessions.begin() as session:
        quota = session.get(PermitQuotaRow, (tr.org_id, "TR", "UZ", YEAR, 1))
        assert quota is not None
        assert (quota.quantity, quota.used) == (2, 2)
    with uz.sessions.begin() as session:
        stored = session.scalars(
            select(PermitRow.permit_id).where(PermitRow.org_id == uz.org_id)
        ).all()
        assert sorted(stored) == [first.permit_id, second.permit_id]
    # The control authority UZ reports a usage to the issuer; TR revokes the unused permit.
    with uz.sessions.begin() as session:
        used = PermitUsed(
            permit_id=first.permit_id,
            activity_type="ENTRANCE",
            activity_timestamp=unix_seconds(NOW),
        )
        uz.peer.produce(session, "TR", used)
    assert len(deliver(uz)) == 1
    with tr.sessions.begin() as session:
        usage = session.scalars(select(PermitUsageRow)).one()
        assert (usage.permit_id, usage.control_authority) == (first.permit_id, "UZ")
        tr.peer.produce(
            session, "UZ", PermitRevoked(permit_id=second.permit_id, revoked_at=unix_seconds(NOW))
        )
    assert len(deliver(tr)) == 1
    with uz.sessions.begin() as session:
        row = session.get(PermitRow, (uz.org_id, second.permit_id))
        assert row is not None
        assert row.revoked_at is not None
    # UZ's officer scans the QR of the first permit.
    assert first.qr_code is not None
    answer = uz.http.get(f"/verify/{first.qr_code}")
    assert answer.status_code == 200
    assert answer.json()["permit_id"] == first.permit_id
    # GET / publishes the authority's key.
    described = uz.http.get("/").json()
    assert (described["code"], [k["kid"] for k in described["keys"]]) == ("UZ", ["uz-1"])
    assert described["keys"][0]["kty"] == "EC"
    # Every event in both chains links to the one before it.
    with uz.sessions.begin() as session:
        chain = session.scalars(
            select(EpermitPeerEventRow)
            .where(EpermitPeerEventRow.event_producer == "TR")
            .order_by(EpermitPeerEventRow.recorded_at)
        ).all()
    assert [e.previous_event_id for e in chain] == ["0"] + [e.event_id for e in chain[:-1]]


def test_refusals_carry_the_standards_codes(authorities: dict[str, Authority]) -> None:
    tr, uz = authorities["TR"], authorities["UZ"]
    (permit,) = grant_and_issue(tr, uz, quantity=1, permits=1)
    with uz.sessions.begin() as session:
        last = session.scalars(
            select(EpermitPeerEventRow.event_id).where(EpermitPeerEventRow.direction == "in")
        ).one()
    revoke = PermitRevoked(permit_id=permit.permit_id, revoked_at=unix_seconds(NOW))
    over = permit_created(permit).model_copy(update={"permit_id": f"TR-UZ-{YEAR}-1-2"})

    # Wrong key: UZ's key (valid, but not the producer's), an unknown key, a changed body.
    stranger = Es256Signer.generate("tr-1-copy", party="TR")
    assert post(uz, revoke, signer=uz.signer, previous=last).status_code == 401
    assert post(uz, revoke, signer=stranger, previous=last).status_code == 401
    tampered = post(uz, over, signer=tr.signer, previous=last, tamper=True)
    assert (tampered.status_code, code_of(tampered)) == (401, "INVALID_PROOF")
    assert uz.http.post("/events/permit-revoked", content=b"{}").status_code == 400
    no_proof = uz.http.post(
        "/events/permit-revoked",
        content=serialise(revoke, Common(event_producer="TR", event_consumer="UZ",
                          event_timestamp=unix_seconds(NOW), event_type=EventType.PERMIT_REVOKED,
                          event_id=str(uuid.uuid4()), previous_event_id=last)),
    )  # fmt: skip
    assert no_proof.status_code == 401
    # Unknown producer, wrong consumer, wrong producer for a quota event.
    unknown = post(uz, revoke, signer=tr.signer, producer="KZ", previous=last)
    assert (unknown.status_code, code_of(unknown)) == (422, "AUTHORITY_NOT_FOUND")
    elsewhere = post(uz, revoke, signer=tr.signer, consumer="AZ", previous=last)
    assert code_of(elsewhere) == "EVENT_CONSUMER_MISMATCH"
    quota_by_issuer = QuotaCreated(permit_issuer="TR", permit_issued_for="UZ", permit_year=YEAR,
                                   permit_type=1, quantity=500)  # fmt: skip
    assert code_of(post(uz, quota_by_issuer, signer=tr.signer, previous=last)) == (
        "EVENT_PRODUCER_MISMATCH"
    )
    # Chain: missing previous event, second genesis.
    missing = post(uz, revoke, signer=tr.signer, previous="no-such-event-0000000")
    assert code_of(missing) == "PREVIOUS_EVENT_NOTFOUND"
    assert code_of(post(uz, revoke, signer=tr.signer, previous="0")) == (
        "GENESIS_EVENT_ALREADY_EXISTS"
    )
    # A permit past the quota UZ granted.
    beyond = post(uz, over, signer=tr.signer, previous=last)
    assert (beyond.status_code, code_of(beyond)) == (422, "INSUFFICIENT_PERMIT_QUOTA")
    assert code_of(post(uz, permit_created(permit), signer=tr.signer, previous=last)) == (
        "PERMITID_ALREADY_EXISTS"
    )
    bad_id = permit_created(permit).model_copy(update={"permit_id": f"TR-UZ-{YEAR}-2-1"})
    assert code_of(post(uz, bad_id, signer=tr.signer, previous=last)) == "INVALID_PERMITID"
    # None of the refusals moved the chain or changed UZ's permits.
    accepted = post(uz, revoke, signer=tr.signer, previous=last)
    assert accepted.status_code == 200, accepted.text
    again = post(uz, revoke, signer=tr.signer, previous=accepted.json()["event_id"])
    assert code_of(again) == "PERMIT_ALREADY_REVOKED"


def test_a_duplicate_is_refused_and_the_sender_counts_it_delivered(
    authorities: dict[str, Authority],
) -> None:
    tr, uz = authorities["TR"], authorities["UZ"]
    grant_and_issue(tr, uz, quantity=1, permits=1)
    with tr.sessions.begin() as session:
        event = session.scalars(
            select(EpermitPeerEventRow).where(EpermitPeerEventRow.direction == "out")
        ).one()
    repeated = uz.http.post(
        "/events/permit-created",
        content=event.body.encode(),
        headers={"Authorization": f"Bearer {event.proof}"},
    )
    assert (repeated.status_code, code_of(repeated)) == (422, "EVENT_ALREADY_EXISTS")
    assert tr.client is not None
    tr.client.post("UZ", EventType.PERMIT_CREATED, event.body.encode(), event.proof)
    with pytest.raises(EpermitPeerError) as refused:
        tr.client.post("UZ", EventType.PERMIT_CREATED, b"{}", event.proof)
    assert refused.value.http_status == 400


def test_a_new_key_is_announced_then_trusted(authorities: dict[str, Authority]) -> None:
    tr, uz = authorities["TR"], authorities["UZ"]
    fresh = Es256Signer.generate("tr-2", party="TR")
    jwk = fresh.public_jwk()
    announce = KeyCreated(authority="TR", kid="tr-2", jwk=httpx.Response(200, json=jwk).text)
    first = post(uz, announce, signer=tr.signer)
    assert first.status_code == 200, first.text
    assert "tr-2" in uz.peer.trust
    again = post(uz, announce, signer=tr.signer, previous=first.json()["event_id"])
    assert code_of(again) == "KEYID_ALREADY_EXISTS"
    quota = QuotaCreated(permit_issuer="UZ", permit_issued_for="TR", permit_year=YEAR,
                         permit_type=1, quantity=3)  # fmt: skip
    signed_with_new_key = post(uz, quota, signer=fresh, previous=first.json()["event_id"])
    assert signed_with_new_key.status_code == 200, signed_with_new_key.text
    # After a restart the key comes back from the stored events.
    restarted = TrustList()
    for key in (tr.signer, uz.signer):
        restarted.add_signer(key, not_before=T0)
    peer = EpermitPeer("UZ", name="UZ authority", org_id=uz.org_id, signer=uz.signer,
                       trust=restarted, partners={"TR": "TR authority"})  # fmt: skip
    assert "tr-2" not in restarted
    with uz.sessions.begin() as session:
        assert peer.restore_keys(session) == 1
    assert restarted.get("tr-2").party == "TR"
