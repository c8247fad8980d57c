"""A permit authority on the e-Permit network: its partners, the protocol it serves (GET /,
POST /events/..., GET /verify/{qr}) and the delivery of its own events.

The authority is an organisation of kind permit_authority on this node; on the network it is its
country code (e.g. "UZ") and signs with its ES256 key. Its partners (code, URL, public keys) are
its records, configured by the operator. The events it produces (QUOTA_CREATED, PERMIT_CREATED,
PERMIT_USED, PERMIT_REVOKED, KEY_CREATED, KEY_REVOKED) are written by the use case that causes
them, in the same transaction (`announce`), and delivered afterwards (`deliver_events`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from kervan.documents.epermit import EARLIEST_EVENT_TIMESTAMP
from kervan.errors import InvalidRequestError, NotFoundError, TrustListError
from kervan.exchange.epermit_peer.client import (
    DeadLetter,
    DeliveryReport,
    EpermitPeerClient,
    HttpClient,
)
from kervan.exchange.epermit_peer.peer import Accepted, EpermitPeer, OutgoingEvent
from kervan.exchange.epermit_peer.wire import (
    EventBody,
    EventType,
    KeyCreated,
    KeyRevoked,
    parse_event,
)
from kervan.services.access import Caller, Scope, Who, identify
from kervan.services.epermit_corridor import SCHEME, corridor_partner, forward, partner_keys
from kervan.signatures.encoding import from_unix_seconds, unix_seconds
from kervan.signatures.keys import ES256, Signer, public_key_from_jwk
from kervan.signatures.trustlist import TrustList
from kervan.store.repositories.epermit_network import Partner
from kervan.store.repositories.organisations import OrganisationKind

if TYPE_CHECKING:
    from kervan.services.node import NodeUnitOfWork
    from kervan.store.uow import UnitOfWork

_EARLIEST = from_unix_seconds(EARLIEST_EVENT_TIMESTAMP)


class _AuthorityKey:
    """The organisation's ES256 key as its e-Permit authority signs with it (party = code)."""

    def __init__(self, signer: Signer, code: str) -> None:
        self._signer = signer
        self._code = code

    @property
    def kid(self) -> str:
        return self._signer.kid

    @property
    def party(self) -> str:
        return self._code

    @property
    def alg(self) -> str:
        return self._signer.alg

    def sign(self, data: bytes) -> bytes:
        return self._signer.sign(data)

    def public_jwk(self) -> dict[str, str]:
        return self._signer.public_jwk()


def authority_peer(uow: NodeUnitOfWork, org_id: str) -> EpermitPeer:
    """The e-Permit authority `org_id` runs, in the open unit of work: its ES256 key, its own
    and its partners' public keys (with the keys partners announced since), its partners.
    NotFoundError unless `org_id` is a permit authority of this node."""
    org = uow.organisations.find(org_id)
    if org is None or org.kind is not OrganisationKind.PERMIT_AUTHORITY:
        raise NotFoundError("permit authority", org_id)
    code = org.country
    trust = TrustList()
    for key in uow.signing_keys.keys_of(org_id, org_ids=[org_id]):
        if key.alg == ES256:
            trust.add(
                {**key.public_jwk, "kid": key.kid, "alg": key.alg},
                party=code,
                not_before=key.not_before,
            )
            # A key rotated out signs nothing new: partners were told so by KEY_REVOKED.
            ended = [t for t in (key.revoked_at, key.superseded_at) if t is not None]
            if ended:
                trust.revoke(key.kid, at=min(ended))
    partners = uow.epermit_network.partners(org_id)
    for partner in partners:
        for jwk in partner.keys:
            if jwk.get("kid") not in trust:
                trust.add(jwk, party=partner.code, not_before=_EARLIEST)
    signer = _AuthorityKey(uow.node.signer(uow.session, org_id, ES256), code)
    peer = EpermitPeer(
        code,
        name=org.name,
        org_id=org_id,
        signer=signer,
        trust=trust,
        partners={p.code: p.url for p in partners},
        clock=uow.node.clock,
    )
    peer.restore_keys(uow.session)
    return peer


def announce(
    uow: NodeUnitOfWork, org_id: str, consumer: str, body: EventBody
) -> OutgoingEvent | None:
    """Write `body` to the outbox for partner `consumer`, in the use case's transaction (None
    when `consumer` is not on the network as this authority's partner: nothing to tell)."""
    peer = authority_peer(uow, org_id)
    if consumer not in peer.partners:
        return None
    event = peer.produce(uow.session, consumer, body)
    forward(uow, peer, event)
    return event


# -- the protocol the authority serves (public: partners prove themselves per event) ------------


@dataclass(frozen=True, slots=True)
class AuthorityRef:
    """The permit authority a request is for (the organisation the node serves it as; empty in
    a signed-in caller's own request: the caller's organisation)."""

    org_id: str


@dataclass(frozen=True, slots=True)
class PostedEvent:
    """An event a partner POSTed to /events/`path`, with its Authorization header."""

    org_id: str
    path: str
    body: bytes
    authorization: str | None


@dataclass(frozen=True, slots=True)
class PartnerQr:
    """GET /verify/{qr} on the authority `org_id`."""

    org_id: str
    qr: str


def describe_authority(uow: NodeUnitOfWork, command: AuthorityRef) -> dict[str, Any]:
    """GET /: the authority's code, name, version and valid public keys. Read-only."""
    with uow.for_reading():
        return authority_peer(uow, command.org_id).describe()


def receive_event(uow: NodeUnitOfWork, command: PostedEvent) -> Accepted:
    """Judge and apply a partner's event (EpermitPeerError with the standard's code)."""
    # Key events change the in-memory trust of this request's peer only (its `after_commit` is
    # not needed): the next request rebuilds the trust from the stored events.
    with uow:
        peer = authority_peer(uow, command.org_id)
        return peer.receive(uow.session, command.path, command.body, command.authorization)


def verify_for_partner(uow: NodeUnitOfWork, command: PartnerQr) -> dict[str, Any]:
    """GET /verify/{qr}: the permit a QR code names, its signature checked. Read-only."""
    with uow.for_reading():
        return authority_peer(uow, command.org_id).verify_qr(uow.session, command.qr)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One round of delivery for authority `org_id` through `http`."""

    org_id: str
    http: HttpClient
    on_dead_letter: Callable[[DeadLetter], None] | None = None


def deliver_events(uow: NodeUnitOfWork, command: Delivery) -> DeliveryReport:
    """POST the authority's due events to its partners (see EpermitPeerClient): delivered ones
    are marked, unreachable partners wait with back-off, refused events become dead letters."""
    with uow.for_reading():
        peer = authority_peer(uow, command.org_id)
    # Partners on the corridor (kervan://) get their events through the outbox and the broker.
    over_http = {c: url for c, url in peer.partners.items() if corridor_partner(url) is None}
    client = EpermitPeerClient(
        peer, uow.node.sessions, command.http, over_http, on_dead_letter=command.on_dead_letter
    )
    return client.deliver_pending()


class KeyRotation(BaseModel):
    """A rotated authority key: the new key id, the one rotated out, the partners told."""

    kid: str
    previous_kid: str
    partners_told: list[str]


def rotate_authority_key(uow: NodeUnitOfWork, caller: Who, command: AuthorityRef) -> KeyRotation:
    """Give the authority a new ES256 key (QR codes and events are signed with it from now on)
    and tell every partner: KEY_CREATED for the new key, KEY_REVOKED for the old one, both
    signed with the old key the partners know. What the old key signed before stays valid."""
    with uow:
        who = identify(uow, caller)
        org_id = command.org_id or who.org_id
        acting_for(who, org_id)
        peer = authority_peer(uow, org_id)
        at = uow.clock()
        old = peer.signer.kid
        new = uow.keys.generate(org_id, f"{org_id}-es-{at:%Y%m%d%H%M%S%f}", alg=ES256)
        # QR codes carry their issue date at day precision (iat is 00:00 UTC of the day), so
        # the new key is valid from the start of the day, as at registration.
        day = at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        uow.signing_keys.add_signer(new, not_before=day)
        uow.signing_keys.supersede(old, at=at, org_ids=[org_id])
        jwk = json.dumps(new.public_jwk(), sort_keys=True, separators=(",", ":"))
        for partner in sorted(peer.partners):
            created = peer.produce(
                uow.session, partner, KeyCreated(authority=peer.code, kid=new.kid, jwk=jwk)
            )
            forward(uow, peer, created)
            revoked = peer.produce(
                uow.session,
                partner,
                KeyRevoked(authority=peer.code, key_id=old, revoked_at=unix_seconds(at)),
            )
            forward(uow, peer, revoked)
        return KeyRotation(kid=new.kid, previous_kid=old, partners_told=sorted(peer.partners))


@dataclass(frozen=True, slots=True)
class DeadLetterRef:
    """A dead letter of the authority `org_id`: the partner and the event id."""

    org_id: str
    partner: str
    event_id: str


def resend_dead_letter(uow: NodeUnitOfWork, caller: Who, command: DeadLetterRef) -> str:
    """Send a refused event's content again as a new event at the end of the partner's chain
    (once the cause is fixed, e.g. the partner granted the missing quota); return its id."""
    with uow:
        who = identify(uow, caller)
        acting_for(who, command.org_id)
        peer = authority_peer(uow, command.org_id)
        repository = uow.epermit_network
        row = repository.outgoing(command.org_id, peer.code, command.partner, command.event_id)
        if row.dead_at is None:
            raise InvalidRequestError(f"event {command.event_id} is not a dead letter")
        if "(resent as " in (row.error_message or ""):
            raise InvalidRequestError(f"event {command.event_id} was resent already")
        body, _ = parse_event(EventType(row.event_type), row.body.encode("utf-8"))
        sent = peer.produce(uow.session, command.partner, body)
        forward(uow, peer, sent)
        repository.mark_resent(
            command.org_id, peer.code, command.partner, command.event_id, sent.event_id
        )
        return sent.event_id


# -- partners (configured by the node's operator or the authority itself) -----------------------


class PartnerSpec(BaseModel):
    """A partner authority to exchange with: its code, its public API's base URL, its keys."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: str = Field(pattern=r"^[A-Z]+$", min_length=2, max_length=16)
    url: str = Field(
        pattern=r"^(https?|kervan)://",
        max_length=500,
        description="https://... (the peer protocol over HTTP) or kervan://<organisation id> "
        "(a permit authority's node on the same corridor: events go over the broker)",
    )
    name: str = Field("", max_length=200)
    keys: list[dict[str, Any]] = Field(
        default_factory=list,
        max_length=20,
        description="Its ES256 public keys (for a kervan:// partner, default: the directory's)",
    )


@dataclass(frozen=True, slots=True)
class NewPartner:
    """Partner `spec` for the permit authority `org_id`."""

    org_id: str
    spec: PartnerSpec


@dataclass(frozen=True, slots=True)
class PartnerRef:
    """Partner `code` of the permit authority `org_id`."""

    org_id: str
    code: str


class PartnerView(BaseModel):
    code: str
    name: str
    url: str
    kids: list[str]
    added_at: datetime


def known_authority(uow: UnitOfWork, org_id: str) -> str:
    """The country code of the permit authority `org_id`; NotFoundError for any other."""
    org = uow.organisations.find(org_id)
    if org is None or org.kind is not OrganisationKind.PERMIT_AUTHORITY:
        raise NotFoundError("permit authority", org_id)
    return org.country


def acting_for(caller: Caller, org_id: str) -> None:
    """The node's operator, or the permit authority itself, acts for the authority `org_id`
    (NotFoundError for another organisation's caller)."""
    if Scope.ADMIN in caller.scopes:
        return
    caller.require(Scope.PERMITS)
    if caller.org_id != org_id:
        raise NotFoundError("permit authority", org_id)


def _view(partner: Partner) -> PartnerView:
    return PartnerView(
        code=partner.code,
        name=partner.name,
        url=partner.url,
        kids=[str(k.get("kid")) for k in partner.keys],
        added_at=partner.added_at,
    )


def add_partner(uow: NodeUnitOfWork, caller: Who, command: NewPartner) -> PartnerView:
    """Configure a partner authority: events are exchanged with it from now on."""
    with uow:
        who = identify(uow, caller)
        acting_for(who, command.org_id)
        own = authority_peer(uow, command.org_id)
        spec = command.spec
        if spec.code == own.code:
            raise InvalidRequestError(f"{spec.code} is this authority itself")
        given = spec.keys
        target = corridor_partner(spec.url)
        if target is not None:
            if known_authority(uow, target) != spec.code:
                raise InvalidRequestError(f"{spec.url} is not the permit authority of {spec.code}")
            given = given or partner_keys(uow, target)
        elif spec.url.startswith(SCHEME):
            raise InvalidRequestError(f"{spec.url}: name the partner's organisation")
        if not given:
            raise InvalidRequestError(f"partner {spec.code}: give its public keys")
        keys = [_checked_jwk(jwk) for jwk in given]
        partner = Partner(
            spec.code, spec.name or spec.code, spec.url.rstrip("/"), tuple(keys), uow.clock()
        )
        return _view(uow.epermit_network.add_partner(command.org_id, partner))


def _checked_jwk(jwk: Mapping[str, Any]) -> dict[str, Any]:
    kid = jwk.get("kid")
    if not isinstance(kid, str) or not kid:
        raise InvalidRequestError("each partner key is a public JWK with a kid")
    try:
        _, alg = public_key_from_jwk({**jwk, "alg": jwk.get("alg", ES256)})
    except (ValueError, TrustListError) as exc:
        raise InvalidRequestError(f"partner key {kid}: {exc}") from exc
    if alg != ES256 or "d" in jwk:
        raise InvalidRequestError(f"partner key {kid}: an EC P-256 public key (ES256) only")
    return {name: jwk[name] for name in ("kty", "crv", "x", "y", "kid") if name in jwk} | {
        "alg": ES256
    }


def remove_partner(uow: NodeUnitOfWork, caller: Who, command: PartnerRef) -> None:
    """Stop exchanging with a partner (what was exchanged stays on record)."""
    with uow:
        who = identify(uow, caller)
        acting_for(who, command.org_id)
        uow.epermit_network.remove_partner(command.org_id, command.code)


def list_partners(uow: UnitOfWork, caller: Who, command: AuthorityRef) -> list[PartnerView]:
    """The authority's partners. Read-only."""
    with uow.for_reading():
        who = identify(uow, caller)
        acting_for(who, command.org_id)
        known_authority(uow, command.org_id)
        return [_view(p) for p in uow.epermit_network.partners(command.org_id)]


def jwk_list(text: str) -> list[dict[str, Any]]:
    """Partner keys from a file's text: a JWKS {"keys": [...]}, a list of JWKs, or GET /'s
    answer; InvalidRequestError otherwise."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise InvalidRequestError(f"the keys are not JSON: {exc}") from exc
    keys = value.get("keys") if isinstance(value, dict) else value
    if not isinstance(keys, list) or not all(isinstance(k, dict) for k in keys):
        raise InvalidRequestError('the keys are a JWKS {"keys": [...]} or a list of JWKs')
    return keys
