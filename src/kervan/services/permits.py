"""e-Permits as use cases: a permit authority's quotas, issuing the permits shipments request,
revoking an unused permit, and verifying a permit's QR code for anyone who scans it.

A booking opens one e-Permit request per foreign country its truck enters; the permit authority
of the truck's own country issues the permit from the quota that country granted it (the
sequence number is claimed atomically, so the quota is never exceeded) and signs its QR code
with its ES256 key.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from kervan.documents.epermit import PermitType, Quota
from kervan.documents.kinds import DocumentKind
from kervan.errors import InvalidRequestError, NotFoundError, ScopeError, SignatureError
from kervan.services.access import Caller, Scope
from kervan.services.node import NodeContext
from kervan.services.planning import CountryCode
from kervan.services.shipments import party_of
from kervan.shipments.booking import Cargo
from kervan.signatures.jws import verify_compact
from kervan.store.repositories.documents import DocumentRepository
from kervan.store.repositories.organisations import OrganisationKind
from kervan.store.repositories.permits import PermitRepository, QuotaKey
from kervan.store.repositories.signing_keys import SigningKeyRepository
from kervan.store.tables import PermitRow, ShipmentDocumentRow, ShipmentPartyRow, ShipmentRow

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

    document_id: str = Field(min_length=1, max_length=128)
    valid_days: int = Field(90, ge=1, le=366)


class RevokeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field(min_length=3, max_length=500, description="Why the permit is revoked")


class PermitRevocation(BaseModel):
    """A revoked permit: from now on its QR code checks as revoked."""

    permit_id: str
    revoked_at: datetime
    reason: str
    document_id: str | None = Field(
        None, description="The shipment's e-Permit document, now in state `revoked`"
    )


class PermitCheck(BaseModel):
    """What scanning a permit's QR code tells its holder or a control officer."""

    permit_id: str
    plate_number: str
    company_name: str
    valid_from: date
    valid_until: date
    issuer: str
    status: str


def _authority(caller: Caller) -> None:
    caller.require(Scope.PERMITS)
    if caller.kind is not OrganisationKind.PERMIT_AUTHORITY:
        raise ScopeError("only a permit authority manages quotas and issues permits")


def add_quota(session: Session, caller: Caller, body: QuotaRequest) -> QuotaView:
    """A quota a partner country (`issued_for`) granted the caller's authority: how many permits
    it may issue its own hauliers for entering that country."""
    _authority(caller)
    quota = Quota(
        permit_issuer=caller.country,
        permit_issued_for=body.issued_for,
        permit_year=body.year,
        permit_type=PermitType(body.permit_type),
        quantity=body.quantity,
    )
    stored = PermitRepository(session).add_quota(caller.org_id, quota)
    return QuotaView(
        permit_issuer=caller.country,
        permit_issued_for=body.issued_for,
        permit_year=body.year,
        permit_type=body.permit_type,
        quantity=body.quantity,
        used=stored.used,
    )


def issue_for_shipment(
    ctx: NodeContext, session: Session, caller: Caller, body: IssueRequest
) -> dict[str, Any]:
    """Issue the permit a shipment's e-Permit request asks of the caller's country."""
    _authority(caller)
    link = session.scalars(
        select(ShipmentDocumentRow).where(ShipmentDocumentRow.document_id == body.document_id)
    ).one_or_none()
    if link is None or link.kind != DocumentKind.EPERMIT:
        raise NotFoundError("e-Permit request", body.document_id)
    repository = DocumentRepository(session)
    owner = [link.org_id]
    request = repository.get_version(body.document_id, 1, org_ids=owner).content()
    content = request["content"]
    assert isinstance(content, dict)
    if content.get("permit_issuer_country") != caller.country:
        raise NotFoundError("e-Permit request", body.document_id)  # another country's request
    if json.loads(link.lifecycle).get("state") != "requested":
        raise InvalidRequestError(f"e-Permit request {body.document_id} is already answered")
    shipment = session.get(ShipmentRow, (link.org_id, link.shipment_id))
    assert shipment is not None
    carrier_id = session.scalars(
        select(ShipmentPartyRow.party_org_id).where(
            ShipmentPartyRow.org_id == link.org_id,
            ShipmentPartyRow.shipment_id == link.shipment_id,
            ShipmentPartyRow.role == "road_carrier",
        )
    ).one()
    carrier = party_of(session, carrier_id)
    cargo = Cargo.model_validate_json(shipment.cargo)
    if not cargo.vehicle_plates:
        raise InvalidRequestError("the shipment names no vehicle plate for the permit")
    kind = PERMIT_TYPES[str(content.get("permit_type"))]
    at = ctx.clock()
    # Issued today, or for the day the truck is taken over if that is later.
    issued_at = max(cargo.date_of_taking_over, at.date())
    entering = str(content["countries"][0])  # the country the permit lets the truck enter
    key = QuotaKey(caller.org_id, caller.country, entering, issued_at.year, kind)
    permit = PermitRepository(session).issue_permit(
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
        qr_signer=ctx.signer(session, caller.org_id, "ES256"),
    )
    wire = permit.to_wire()
    version = repository.add_version(
        body.document_id,
        {
            "document_id": body.document_id,
            "kind": DocumentKind.EPERMIT.value,
            "version": 2,
            "content": {**content, "permit": wire},
        },
        at=at,
        org_ids=owner,
    )
    repository.set_state(body.document_id, "issued", at=at, org_ids=owner)
    link.lifecycle = json.dumps({"state": "issued", "permit_id": permit.permit_id})
    ctx.ledger(session, link.org_id).append(
        body.document_id, "version:2", json.loads(version.body), at
    )
    session.flush()
    return wire


def revoke_permit(
    ctx: NodeContext, session: Session, caller: Caller, permit_id: str, body: RevokeRequest
) -> PermitRevocation:
    """Revoke a permit the caller's authority issued and nobody has used yet.

    Another authority's permit is a NotFoundError; a used or already revoked one is an
    IllegalTransitionError (wire codes PERMIT_USED, PERMIT_ALREADY_REVOKED). The shipment's
    e-Permit document goes to state `revoked` and its ledger chain records the revocation.
    """
    _authority(caller)
    at = ctx.clock()
    revoked = PermitRepository(session).revoke_permit(permit_id, at=at, org_ids=[caller.org_id])
    assert revoked.revoked_at is not None
    revocation = PermitRevocation(
        permit_id=permit_id, revoked_at=revoked.revoked_at, reason=body.reason
    )
    link = _permit_document(session, permit_id)
    if link is None:
        return revocation
    lifecycle = {
        "state": "revoked",
        "permit_id": permit_id,
        "revoked_at": revoked.revoked_at.isoformat(),
        "reason": body.reason,
    }
    owner = [link.org_id]
    DocumentRepository(session).set_state(link.document_id, "revoked", at=at, org_ids=owner)
    link.lifecycle = json.dumps(lifecycle)
    ctx.ledger(session, link.org_id).append(
        link.document_id, "revoke", {**lifecycle, "authority": caller.org_id}, at
    )
    session.flush()
    return revocation.model_copy(update={"document_id": link.document_id})


def _permit_document(session: Session, permit_id: str) -> ShipmentDocumentRow | None:
    """The shipment's e-Permit document the permit was issued for (its lifecycle names it)."""
    candidates = session.scalars(
        select(ShipmentDocumentRow).where(
            ShipmentDocumentRow.kind == DocumentKind.EPERMIT,
            ShipmentDocumentRow.lifecycle.contains(json.dumps(permit_id)),
        )
    )
    for link in candidates:
        if json.loads(link.lifecycle).get("permit_id") == permit_id:
            return link
    return None


def check_qr(session: Session, token: str, at: datetime) -> PermitCheck:
    """Verify a scanned permit QR against the node's trust list; say what it proves.

    Reveals only what the QR itself carries (id, plate, company, validity), its issuer and
    whether the permit is valid, expired or revoked; nothing about the shipment.
    """
    if len(token) > 4096:
        raise InvalidRequestError("a permit QR token is at most 4096 characters")
    trust = SigningKeyRepository(session).trust_list()
    verified = verify_compact(token.strip(), trust)
    claims = verified.claims
    try:
        permit_id = str(claims["id"])
        valid_from = datetime.fromtimestamp(int(str(claims["iat"])), tz=at.tzinfo).date()
        valid_until = datetime.fromtimestamp(int(str(claims["exp"])), tz=at.tzinfo).date()
        plate, company = str(claims["pn"]), str(claims["cn"])
    except (KeyError, ValueError) as exc:
        raise SignatureError("claims", f"the QR lacks a permit claim: {exc}") from exc
    row = session.scalars(
        select(PermitRow).where(
            PermitRow.permit_id == permit_id, PermitRow.qr_code == token.strip()
        )
    ).one_or_none()
    status = "valid"
    if row is not None and row.revoked_at is not None:
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
    )
