"""The e-Permit network over the corridor's broker, for permit authorities that run a node on
the same corridor.

A partner configured with the URL `kervan://<organisation id>` is such an authority: the events
this authority produces for it (QUOTA_CREATED when it grants a quota, PERMIT_CREATED when it
issues a permit, PERMIT_USED when its border records a use, PERMIT_REVOKED, KEY_CREATED and
KEY_REVOKED) go, in the transaction of the use case that produced them, into the outbox as a
signed EPERMIT_EVENT message for that organisation, carrying the peer event's exact bytes and
its detached ES256 proof, instead of an HTTP POST. The receiving permit authority's node applies
it with the peer protocol's receiver rules (`EpermitPeer.receive`: a known producer, its proof,
the producer->consumer chain, the quota, ...); what those rules refuse is recorded by the
receiving inbox with the standard's error code (`kervan messages list`, the messages page).
Known limit: the producer takes an event handed to the broker as delivered, so after a refusal
its later events in that producer->consumer chain are refused in turn (PREVIOUS_EVENT_NOTFOUND)
until the two authorities' operators mend the chain; over HTTP the producer hears the refusal
and re-chains by itself.

Payload of EPERMIT_EVENT: {"event_type": "PERMIT_USED", "event_id", "body", "proof"}.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Final

from kervan.errors import DocumentValidationError, EpermitPeerError
from kervan.exchange.envelope import CrossBorderMessage, MessageType
from kervan.exchange.epermit_peer.wire import EventType, parse_event
from kervan.exchange.outbox import OutgoingMessage, enqueue
from kervan.signatures.canonical import JsonValue
from kervan.signatures.keys import ES256
from kervan.store.repositories.organisations import OrganisationKind

if TYPE_CHECKING:
    from kervan.exchange.epermit_peer.peer import EpermitPeer, OutgoingEvent
    from kervan.services.node import NodeUnitOfWork
    from kervan.store.uow import UnitOfWork

SCHEME: Final = "kervan://"


def corridor_partner(url: str | None) -> str | None:
    """The organisation id a `kervan://<org id>` partner URL names (None for an HTTP URL)."""
    if url is None or not url.startswith(SCHEME):
        return None
    return url.removeprefix(SCHEME).strip("/") or None


def partner_keys(uow: UnitOfWork, org_id: str) -> list[dict[str, object]]:
    """The ES256 public keys of the permit authority `org_id` as the corridor's directory holds
    them (onboarding shares every organisation's public keys with every node)."""
    found = uow.organisations.find(org_id)
    if found is None or found.kind is not OrganisationKind.PERMIT_AUTHORITY:
        return []
    return [
        {**key.public_jwk, "kid": key.kid, "alg": key.alg}
        for key in uow.signing_keys.keys_of(org_id, org_ids=[org_id])
        if key.alg == ES256 and key.revoked_at is None
    ]


def forward(uow: NodeUnitOfWork, peer: EpermitPeer, event: OutgoingEvent) -> bool:
    """Put `event` into the outbox for its consumer when that partner is on the corridor
    (`kervan://`), in the open unit of work, and mark it handed over (the HTTP delivery then
    leaves it alone); False for a partner reached over HTTP."""
    target = corridor_partner(peer.partners.get(event.consumer))
    if target is None:
        return False
    payload: dict[str, JsonValue] = {
        "event_type": event.event_type.value,
        "event_id": event.event_id,
        "body": event.body.decode("utf-8"),
        "proof": event.proof,
    }
    node = uow.node
    signer = node.signer(uow.session, peer.org_id)
    message = OutgoingMessage(target, MessageType.EPERMIT_EVENT, payload)
    enqueue(uow.outbox, signer, message, node.clock())
    uow.epermit_network.delivered(
        peer.org_id, peer.code, event.consumer, event.event_id, node.clock()
    )
    # Authorities hosted on this very node get it right after the commit, as customs do.
    from kervan.services.customs.delivery import deliver_after_commit  # noqa: PLC0415

    deliver_after_commit(uow, node)
    return True


def receive_corridor_event(uow: NodeUnitOfWork, message: CrossBorderMessage, at: datetime) -> None:  # noqa: ARG001
    """A permit authority applies an e-Permit event a partner's node sent over the corridor,
    with the peer protocol's receiver rules. Refused (DocumentValidationError or the
    standard's EpermitPeerError): a receiver that is no permit authority of this node, a
    payload that is not an event, a sender that is not the producing authority."""
    from kervan.services.epermit_network import authority_peer  # noqa: PLC0415

    with uow:
        raw_type, body, proof = (message.payload.get(k) for k in ("event_type", "body", "proof"))
        if not (isinstance(raw_type, str) and isinstance(body, str) and isinstance(proof, str)):
            raise DocumentValidationError(f"{message.id}: not an e-Permit event")
        try:
            kind = EventType(raw_type)
        except ValueError as exc:
            raise DocumentValidationError(f"{message.id}: no e-Permit event {raw_type!r}") from exc
        data = body.encode("utf-8")
        _, common = parse_event(kind, data)
        sender = uow.organisations.find(message.sender)
        if (
            sender is None
            or sender.kind is not OrganisationKind.PERMIT_AUTHORITY
            or sender.country != common.event_producer
        ):
            raise EpermitPeerError(
                "EVENT_PRODUCER_MISMATCH",
                f"{message.sender} is not the permit authority of {common.event_producer}",
            )
        peer = authority_peer(uow, message.receiver)
        if corridor_partner(peer.partners.get(common.event_producer)) != message.sender:
            raise EpermitPeerError(
                "AUTHORITY_NOT_FOUND",
                f"{common.event_producer} is no partner of {peer.code} on this corridor",
            )
        peer.receive(uow.session, kind.path, data, f"Bearer {proof}")
