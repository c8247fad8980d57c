"""The e-Permit roles of a permit authority besides issuing: quota authority (grants partners
quotas for entering its country) and control authority (checks permits at its border, records
ENTRANCE and EXIT, hands its border devices a signed revocation list).

Each use case that changes what a partner must know writes the event to the outbox in its own
transaction (`announce`): QUOTA_CREATED to the issuer it grants, PERMIT_USED to the permit's
issuer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from kervan.customs.permit_device import (
    BorderBundle,
    OfflineVerdict,
    check_offline,
    open_bundle,
)
from kervan.customs.permits import Trip, record_permit_use, usage_rule
from kervan.customs.rules import load_rules
from kervan.documents.epermit import ActivityType, PermitType, Quota
from kervan.documents.goods import VehiclePlate
from kervan.documents.text import FreeText, Line
from kervan.errors import (
    InvalidRequestError,
    NotFoundError,
    PermitRefusedError,
    SignatureError,
    TrustListError,
)
from kervan.exchange.epermit_peer.wire import PermitUsed
from kervan.services.access import Who, identify
from kervan.services.epermit_corridor import forward
from kervan.services.epermit_network import (
    AuthorityRef,
    acting_for,
    announce,
    authority_peer,
)
from kervan.services.idempotency import answer_once
from kervan.signatures.encoding import unix_seconds
from kervan.signatures.jws import sign_compact
from kervan.signatures.trustlist import TrustList

if TYPE_CHECKING:
    from kervan.services.node import NodeUnitOfWork


class GrantRequest(BaseModel):
    """A quota this authority grants a partner's issuing authority: how many permits of a type
    it may issue its hauliers for entering this country in a year."""

    model_config = ConfigDict(extra="forbid")

    issuer: str = Field(pattern=r"^[A-Z]{2}$", description="The partner authority's code")
    year: int = Field(ge=2021, le=2100)
    permit_type: int = Field(ge=1, le=4)
    quantity: int = Field(ge=1, le=10_000_000)


class GrantedQuota(BaseModel):
    permit_issuer: str
    permit_issued_for: str
    permit_year: int
    permit_type: int
    quantity: int
    announced: bool = Field(description="Whether a QUOTA_CREATED event goes to the issuer")


@dataclass(frozen=True, slots=True)
class Grant:
    """A quota the permit authority `org_id` grants (None: the caller's own)."""

    org_id: str | None
    request: GrantRequest


def grant_quota(uow: NodeUnitOfWork, caller: Who, command: Grant) -> GrantedQuota:
    """As the quota authority: grant a partner permits for entering the authority's country
    (once per Idempotency-Key); a partner on the network is told by QUOTA_CREATED. A second
    grant for the same year and type adds to the first."""
    with uow:
        who = identify(uow, caller)
        org_id = command.org_id or who.org_id
        acting_for(who, org_id)
        return answer_once(
            uow,
            who,
            lambda: _grant(uow, org_id, command.request),
            GrantedQuota.model_validate,
        )


def _grant(uow: NodeUnitOfWork, org_id: str, body: GrantRequest) -> GrantedQuota:
    peer = authority_peer(uow, org_id)
    if body.issuer == peer.code:
        raise InvalidRequestError("an authority grants quotas to its partners, not to itself")
    quota = Quota(
        permit_issuer=body.issuer,
        permit_issued_for=peer.code,
        permit_year=body.year,
        permit_type=PermitType(body.permit_type),
        quantity=body.quantity,
    )
    announced = body.issuer in peer.partners
    if announced:
        forward(uow, peer, peer.grant_quota(uow.session, quota))
    else:
        uow.permits.add_quota(org_id, quota)
    return GrantedQuota(
        permit_issuer=body.issuer,
        permit_issued_for=peer.code,
        permit_year=body.year,
        permit_type=body.permit_type,
        quantity=body.quantity,
        announced=announced,
    )


class BorderUse(BaseModel):
    """A permit presented at the caller's border: its QR, the vehicle's plate, what happens."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    qr: Line = Field(min_length=10, max_length=4096)
    plate: Line = Field(min_length=2, max_length=16)
    activity: Literal["ENTRANCE", "EXIT"]
    details: FreeText | None = Field(None, max_length=500)


class RecordedUse(BaseModel):
    permit_id: str
    issuer: str
    activity: str
    at: datetime
    uses: int
    trip_kind: str


@dataclass(frozen=True, slots=True)
class UseAtBorder:
    """A permit presented at the border of the permit authority `org_id` (None: the caller)."""

    org_id: str | None
    use: BorderUse


def record_border_use(uow: NodeUnitOfWork, caller: Who, command: UseAtBorder) -> RecordedUse:
    """As the control authority: check a presented permit (QR signature, claims, dates, plate,
    that it is for entering this country, its type for the trip, the usage rule) and record the
    ENTRANCE or EXIT; the issuer is told by PERMIT_USED. A refusal is PermitRefusedError with
    its reason (once per Idempotency-Key)."""
    with uow:
        who = identify(uow, caller)
        org_id = command.org_id or who.org_id
        acting_for(who, org_id)
        return answer_once(
            uow, who, lambda: _use(uow, org_id, command.use), RecordedUse.model_validate
        )


def _use(uow: NodeUnitOfWork, org_id: str, body: BorderUse) -> RecordedUse:
    peer = authority_peer(uow, org_id)
    at = uow.clock()
    permit_id = _qr_permit_id(body.qr)
    try:
        record = uow.permits.get_permit(permit_id, org_ids=[org_id])
    except NotFoundError:
        raise PermitRefusedError(
            permit_id, "unknown_permit", "no issuing authority announced this permit to us"
        ) from None
    permit = record.permit
    rules = load_rules(peer.code).permits
    trip = Trip(
        truck_flag=permit.permit_issuer,
        loading_country=permit.departure_country or permit.permit_issuer,
        unloading_country=permit.arrival_country or peer.code,
    )
    vehicle = VehiclePlate(number=body.plate, country=permit.permit_issuer)
    updated = record_permit_use(
        record,
        body.qr,
        peer.trust,
        activity=ActivityType(body.activity),
        control_country=peer.code,
        at=at,
        vehicles=[vehicle],
        trip=trip,
        rules=rules,
        details=body.details,
    )
    usage = updated.usages[-1]
    stored = uow.permits.record_usage(
        permit_id, usage, usage_rule(rules, int(permit.permit_type)), at=at, org_ids=[org_id]
    )
    announce(
        uow,
        org_id,
        permit.permit_issuer,
        PermitUsed(
            permit_id=permit_id,
            activity_type=usage.activity_type.value,
            activity_timestamp=usage.activity_timestamp,
            activity_details=usage.activity_details,
        ),
    )
    return RecordedUse(
        permit_id=permit_id,
        issuer=permit.permit_issuer,
        activity=usage.activity_type.value,
        at=at,
        uses=len(stored.usages),
        trip_kind=trip.kind_in(peer.code).value,
    )


def _qr_permit_id(qr: str) -> str:
    """The permit id a QR claims (not yet verified: the check that follows verifies it)."""
    from kervan.signatures.encoding import b64url_decode  # noqa: PLC0415

    try:
        claims = json.loads(b64url_decode(qr.strip().split(".")[1]))
        return str(claims["id"])
    except (IndexError, ValueError, KeyError, TypeError) as exc:
        raise PermitRefusedError("?", "qr_signature", "not a permit QR code") from exc


def border_bundle(uow: NodeUnitOfWork, command: AuthorityRef) -> str:
    """The signed border bundle of the control authority: now, the issuers' public keys it
    trusts and every revoked permit it knows of (public: a device may fetch it). Read-only."""
    with uow.for_reading():
        peer = authority_peer(uow, command.org_id)
        now = uow.clock()
        keys = [key.to_jwk() for key in peer.trust if key.revoked_at is None]
        revoked = [
            {
                "id": r.permit_id,
                "issuer": r.permit_issuer,
                "revoked_at": unix_seconds(r.revoked_at),
                "reason": r.reason,
            }
            for r in uow.epermit_network.revoked_permits(command.org_id)
        ]
        claims = {"iss": peer.code, "iat": unix_seconds(now), "keys": keys, "revoked": revoked}
        return sign_compact(claims, peer.signer)


@dataclass(frozen=True, slots=True)
class DeviceScan:
    """A QR scanned on a border device holding `device` (the JSON `kervan epermit border sync`
    wrote: the authority's GET / answer and its border bundle), checked at `at`."""

    device: str
    qr: str
    at: datetime


def open_device(device: str) -> BorderBundle:
    """A border device file's bundle, its signature checked against the authority's keys the
    file holds (SignatureError when it does not hold, InvalidRequestError when it is no device
    file)."""
    try:
        value: dict[str, Any] = json.loads(device)
        authority = value["authority"]
        keys = TrustList()
        for jwk in authority["keys"]:
            keys.add(jwk, party=str(authority["code"]), not_before=_EPOCH)
        token = str(value["bundle"])
    except (ValueError, KeyError, TypeError, TrustListError) as exc:
        raise InvalidRequestError(f"not a border device file: {exc!r}") from exc
    bundle = open_bundle(token, keys)
    if bundle.authority != authority["code"]:
        raise SignatureError("signer", "the bundle is not signed by the device's authority")
    return bundle


def check_on_device(command: DeviceScan) -> OfflineVerdict:
    """The offline verdict on a scanned permit QR from the device's bundle alone: status,
    the revocation (when and why) and how fresh the revocation list is."""
    return check_offline(command.qr, open_device(command.device), command.at)


_EPOCH = datetime.fromtimestamp(0, tz=UTC)
