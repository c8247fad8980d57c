"""e-Permits as use cases: a permit authority's quotas, issuing the permits shipments request,
revoking an unused permit, and verifying a permit's QR code for anyone who scans it.

A booking opens one e-Permit request per foreign country its truck enters; the permit authority
of the truck's own country issues the permit from the quota that country granted it (the
sequence number is claimed atomically, so the quota is never exceeded) and signs its QR code
with its ES256 key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from kervan.documents.epermit import EARLIEST_EVENT_TIMESTAMP, PermitRecord, PermitType, Quota
from kervan.documents.kinds import DocumentKind
from kervan.documents.text import FreeText, Line
from kervan.errors import InvalidRequestError, NotFoundError, ScopeError, SignatureError
from kervan.exchange.epermit_peer.peer import permit_created
from kervan.exchange.epermit_peer.wire import PermitRevoked
from kervan.services.access import Caller, Scope, Who, identify
from kervan.services.epermit_network import announce
from kervan.services.idempotency import answer_once
from kervan.services.parties import party_of
from kervan.services.planning import CountryCode
from kervan.shipments.booking import Cargo
from kervan.signatures.encoding import from_unix_seconds, unix_seconds
from kervan.signatures.jws import verify_compact
from kervan.signatures.trustlist import TrustList
from kervan.store.repositories.organisations import OrganisationKind
from kervan.store.repositories.permits import QuotaKey
from kervan.store.repositories.shipment_documents import DocumentLink

if TYPE_CHECKING:
    from kervan.services.node import NodeUnitOfWork
    from kervan.store.uow import UnitOfWork

_EARLIEST = from_unix_seconds(EARLIEST_EVENT_TIMESTAMP)
PERMIT_TYPES = {
    "bilateral": PermitType.BILATERAL,
    "transit": PermitType.TRANSIT,
    "third-country": PermitType.THIRD_COUNTRY,
}


class QuotaRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    issued_for: CountryCode
    year: int = Field(ge=2021, le=2100)
    permit_type: int = Field(ge=1, le=4)
    quantity: int = Field(ge=0, le=10_000_000)


class QuotaView(BaseModel):
    permit_issuer: str
    permit_issued_for: str
    permit_year: int
    permit_type: int
    quantity: int
    used: int


class IssueRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    document_id: Line = Field(min_length=1, max_length=128)
    valid_days: int = Field(90, ge=1, le=366)


class RevokeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: FreeText = Field(min_length=3, max_length=500, description="Why the permit is revoked")


class PermitRevocation(BaseModel):
    """A revoked permit: from now on its QR code checks as revoked."""

    permit_id: str
    revoked_at: datetime
    reason: str
    document_id: str | None = Field(
        None, description="The shipment's e-Permit document, now in state `revoked`"
    )


@dataclass(frozen=True, slots=True)
class RevokePermit:
    """A permit to revoke, and why."""

    permit_id: str
    revocation: RevokeRequest


@dataclass(frozen=True, slots=True)
class QrScan:
    """A scanned permit QR code (the compact JWS it carries)."""

    qr: str


@dataclass(frozen=True, slots=True)
class PermitRef:
    """A permit, by its id."""

    permit_id: str


class PermitCheck(BaseModel):
    """What scanning a permit's QR code tells its holder or a control officer."""

    permit_id: str
    plate_number: str
    company_name: str
    valid_from: date
    valid_until: date
    issuer: str
    status: str
    revoked_at: datetime | None = Field(None, description="When the issuer revoked it")
    revoke_reason: str | None = Field(None, description="Why, when the issuer said so here")


def _authority(caller: Caller) -> None:
    caller.require(Scope.PERMITS)
    if caller.kind is not OrganisationKind.PERMIT_AUTHORITY:
        raise ScopeError("only a permit authority manages quotas and issues permits")


def add_quota(uow: UnitOfWork, caller: Who, command: QuotaRequest) -> QuotaView:
    """A quota a partner country (`issued_for`) granted the caller's authority: how many permits
    it may issue its own hauliers for entering that country (once per Idempotency-Key)."""
    with uow:
        who = identify(uow, caller)
        return answer_once(
            uow, who, lambda: _add_quota(uow, who, command), QuotaView.model_validate
        )


def _add_quota(uow: UnitOfWork, caller: Caller, body: QuotaRequest) -> QuotaView:
    _authority(caller)
    quota = Quota(
        permit_issuer=caller.country,
        permit_issued_for=body.issued_for,
        permit_year=body.year,
        permit_type=PermitType(body.permit_type),
        quantity=body.quantity,
    )
    stored = uow.permits.add_quota(caller.org_id, quota)
    return QuotaView(
        permit_issuer=caller.country,
        permit_issued_for=body.issued_for,
        permit_year=body.year,
        permit_type=body.permit_type,
        quantity=body.quantity,
        used=stored.used,
    )


def issue_for_shipment(uow: NodeUnitOfWork, caller: Who, command: IssueRequest) -> dict[str, Any]:
    """Issue the permit a shipment's e-Permit request asks of the caller's country, from the
    matching quota (once per Idempotency-Key); the permit as the e-Permit wire carries it."""
    with uow:
        who = identify(uow, caller)
        return answer_once(uow, who, lambda: _issue(uow, who, command), dict)


def _issue(uow: NodeUnitOfWork, caller: Caller, body: IssueRequest) -> dict[str, Any]:
    _authority(caller)
    ctx = uow.node
    link = uow.shipment_documents.link(body.document_id)
    if link is None or link.kind != DocumentKind.EPERMIT:
        raise NotFoundError("e-Permit request", body.document_id)
    repository = uow.documents
    owner = [link.org_id]
    request = repository.get_version(body.document_id, 1, org_ids=owner).content()
    content = request["content"]
    assert isinstance(content, dict)
    if content.get("permit_issuer_country") != caller.country:
        raise NotFoundError("e-Permit request", body.document_id)  # another country's request
    if json.loads(link.lifecycle).get("state") != "requested":
        raise InvalidRequestError(f"e-Permit request {body.document_id} is already answered")
    shipment = uow.shipments.get(link.org_id, link.shipment_id)
    assert shipment is not None  # the link's foreign key holds it
    carrier_id = uow.shipments.role_holder(link.org_id, link.shipment_id, "road_carrier")
    if carrier_id is None:
        raise InvalidRequestError("the shipment names no road carrier to hold the permit")
    carrier = party_of(uow, carrier_id)
    cargo = Cargo.model_validate_json(shipment.cargo)
    if not cargo.vehicle_plates:
        raise InvalidRequestError("the shipment names no vehicle plate for the permit")
    kind = PERMIT_TYPES[str(content.get("permit_type"))]
    at = ctx.clock()
    # Issued today, or for the day the truck is taken over if that is later.
    issued_at = max(cargo.date_of_taking_over, at.date())
    entering = str(content["countries"][0])  # the country the permit lets the truck enter
    key = QuotaKey(caller.org_id, caller.country, entering, issued_at.year, kind)
    permit = uow.permits.issue_permit(
        key,
        org_ids=[caller.org_id],
        plate_number=cargo.vehicle_plates[0].number,
        plate_number2=cargo.vehicle_plates[1].number if len(cargo.vehicle_plates) > 1 else None,
        company_name=carrier.name,
        company_id=carrier.id,
        issued_at=issued_at,
        expires_at=issued_at + timedelta(days=body.valid_days),
        at=at,
        departure_country=shipment.countries.split()[0],
        arrival_country=shipment.countries.split()[-1],
        qr_signer=ctx.signer(uow.session, caller.org_id, "ES256"),
    )
    wire = permit.to_wire()
    issued = {
        "document_id": body.document_id,
        "kind": DocumentKind.EPERMIT.value,
        "version": 2,
        "content": {**content, "permit": wire},
    }
    # The ledger event first: a document's state changes only with the event that records it
    # (the database's guard on documents.state looks for it).
    ctx.ledger(uow.session, link.org_id).append(body.document_id, "version:2", issued, at)
    repository.set_state(body.document_id, "issued", at=at, org_ids=owner)
    repository.add_version(body.document_id, issued, at=at, org_ids=owner)
    uow.shipment_documents.set_lifecycle(
        link, json.dumps({"state": "issued", "permit_id": permit.permit_id})
    )
    # The partner whose quota this is hears of the permit (if it is on the e-Permit network).
    announce(uow, caller.org_id, permit.permit_issued_for, permit_created(permit))
    return wire


def revoke_permit(uow: NodeUnitOfWork, caller: Who, command: RevokePermit) -> PermitRevocation:
    """Revoke a permit the caller's authority issued and nobody has used yet (once per
    Idempotency-Key).

    Another authority's permit is a NotFoundError; a used or already revoked one is an
    IllegalTransitionError (wire codes PERMIT_USED, PERMIT_ALREADY_REVOKED). The shipment's
    e-Permit document goes to state `revoked` and its ledger chain records the revocation.
    """
    with uow:
        who = identify(uow, caller)
        return answer_once(
            uow,
            who,
            lambda: _revoke(uow, who, command.permit_id, command.revocation),
            PermitRevocation.model_validate,
        )


def _revoke(
    uow: NodeUnitOfWork, caller: Caller, permit_id: str, body: RevokeRequest
) -> PermitRevocation:
    _authority(caller)
    ctx = uow.node
    at = ctx.clock()
    revoked = uow.permits.revoke_permit(permit_id, at=at, org_ids=[caller.org_id])
    assert revoked.revoked_at is not None
    revocation = PermitRevocation(
        permit_id=permit_id, revoked_at=revoked.revoked_at, reason=body.reason
    )
    uow.epermit_network.set_revoke_reason(caller.org_id, permit_id, body.reason)
    announce(
        uow,
        caller.org_id,
        revoked.permit.permit_issued_for,
        PermitRevoked(permit_id=permit_id, revoked_at=unix_seconds(revoked.revoked_at)),
    )
    link = _permit_document(uow, permit_id)
    if link is None:
        return revocation
    lifecycle = {
        "state": "revoked",
        "permit_id": permit_id,
        "revoked_at": revoked.revoked_at.isoformat(),
        "reason": body.reason,
    }
    owner = [link.org_id]
    # The event before the state (the guard on documents.state looks for it).
    ctx.ledger(uow.session, link.org_id).append(
        link.document_id, "revoke", {**lifecycle, "authority": caller.org_id}, at
    )
    uow.documents.set_state(link.document_id, "revoked", at=at, org_ids=owner)
    uow.shipment_documents.set_lifecycle(link, json.dumps(lifecycle))
    return revocation.model_copy(update={"document_id": link.document_id})


def _permit_document(uow: UnitOfWork, permit_id: str) -> DocumentLink | None:
    """The shipment's e-Permit document the permit was issued for (its lifecycle names it)."""
    for link in uow.shipment_documents.naming(DocumentKind.EPERMIT, json.dumps(permit_id)):
        if json.loads(link.lifecycle).get("permit_id") == permit_id:
            return link
    return None


def check_qr(uow: UnitOfWork, command: QrScan) -> PermitCheck:
    """Verify a scanned permit QR against the node's trust list; say what it proves (public:
    anyone who scans a permit may check it). Read-only.

    Reveals only what the QR itself carries (id, plate, company, validity), its issuer and
    whether the permit is valid, expired or revoked; nothing about the shipment.
    """
    token = command.qr
    if len(token) > 4096:
        raise InvalidRequestError("a permit QR token is at most 4096 characters")
    with uow.for_reading():
        at = uow.clock()
        trust = uow.signing_keys.trust_list()
        # Permits of partner authorities this node exchanges with verify against their keys.
        for code, jwk in uow.epermit_network.partner_keys():
            if jwk.get("kid") not in trust:
                trust.add(jwk, party=code, not_before=_EARLIEST)
        return _checked(token, trust, at, uow)


def _checked(token: str, trust: TrustList, at: datetime, uow: UnitOfWork) -> PermitCheck:
    verified = verify_compact(token.strip(), trust)
    claims = verified.claims
    try:
        permit_id = str(claims["id"])
        valid_from = datetime.fromtimestamp(int(str(claims["iat"])), tz=at.tzinfo).date()
        valid_until = datetime.fromtimestamp(int(str(claims["exp"])), tz=at.tzinfo).date()
        plate, company = str(claims["pn"]), str(claims["cn"])
    except (KeyError, ValueError) as exc:
        raise SignatureError("claims", f"the QR lacks a permit claim: {exc}") from exc
    status = "valid"
    revocation = uow.permits.qr_revocation(permit_id, token.strip())
    if revocation is not None:
        status = "revoked"
    elif at.date() > valid_until:
        status = "expired"
    elif at.date() < valid_from:
        status = "not yet valid"
    return PermitCheck(
        permit_id=permit_id,
        plate_number=plate,
        company_name=company,
        valid_from=valid_from,
        valid_until=valid_until,
        issuer=verified.party,
        status=status,
        revoked_at=None if revocation is None else revocation[0],
        revoke_reason=None if revocation is None else revocation[1],
    )


class QuotaUse(BaseModel):
    """A quota beside how many of its permits were issued."""

    permit_issued_for: str
    permit_year: int
    permit_type: int
    quantity: int
    used: int


class PermitRequestLine(BaseModel):
    """An e-Permit request a shipment sent to the authority's country, not answered yet."""

    document_id: str
    permit_type: str
    countries: list[str]
    holder_name: str
    holder_country: str


class IssuedPermitLine(BaseModel):
    permit_id: str
    issuer: str
    plate: str
    company: str
    valid_from: date
    valid_until: date
    revoked: bool
    qr: str


class PermitDesk(BaseModel):
    """A permit authority's desk: its quotas and their use, the requests waiting for it and
    the latest permits it issued."""

    country: str
    quotas: list[QuotaUse]
    requests: list[PermitRequestLine]
    permits: list[IssuedPermitLine]


def permit_desk(uow: UnitOfWork, caller: Who, _: None = None) -> PermitDesk:
    """The caller's permit desk (a permit authority's own quotas, requests and permits).
    Read-only."""
    with uow.for_reading():
        who = identify(uow, caller)
        _authority(who)
        quotas = [
            QuotaUse(
                permit_issued_for=q.quota.permit_issued_for,
                permit_year=q.quota.permit_year,
                permit_type=int(q.quota.permit_type),
                quantity=q.quota.quantity,
                used=q.used,
            )
            for q in uow.permits.quotas_of(who.org_id)
        ]
        permits = [
            IssuedPermitLine(
                permit_id=p.permit.permit_id,
                issuer=p.permit.permit_issuer,
                plate=p.permit.plate_number,
                company=p.permit.company_name,
                valid_from=p.permit.issued_at,
                valid_until=p.permit.expires_at,
                revoked=p.revoked_at is not None,
                qr=p.permit.qr_code or "",
            )
            for p in uow.permits.issued_by(who.org_id, 100)
        ]
        return PermitDesk(
            country=who.country,
            quotas=quotas,
            requests=_requests(uow, who),
            permits=permits,
        )


def _requests(uow: UnitOfWork, caller: Caller) -> list[PermitRequestLine]:
    """e-Permit requests asking the caller's country, not answered yet."""
    out = []
    for link in uow.shipment_documents.of_kind(DocumentKind.EPERMIT):
        if json.loads(link.lifecycle).get("state") != "requested":
            continue
        content = uow.documents.get_version(link.document_id, 1, org_ids=[link.org_id]).content()
        body = content.get("content")
        if not isinstance(body, dict) or body.get("permit_issuer_country") != caller.country:
            continue
        raw_holder = body.get("holder")
        holder: dict[str, Any] = raw_holder if isinstance(raw_holder, dict) else {}
        countries = body.get("countries")
        out.append(
            PermitRequestLine(
                document_id=link.document_id,
                permit_type=str(body.get("permit_type", "")),
                countries=[str(c) for c in countries] if isinstance(countries, list) else [],
                holder_name=str(holder.get("name", "")),
                holder_country=str(holder.get("country", "")),
            )
        )
    return out


def issued_permit(uow: UnitOfWork, caller: Who, command: PermitRef) -> PermitRecord:
    """A permit the caller's authority issued, with its usages and revocation (NotFoundError
    for another authority's). Read-only."""
    with uow.for_reading():
        who = identify(uow, caller)
        _authority(who)
        return uow.permits.get_permit(command.permit_id, org_ids=[who.org_id])
