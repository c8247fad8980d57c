"""Sending a cross-border message from a use case: signed by the sending authority, written to
the outbox of the use case's unit of work, and delivered once that commits."""

from __future__ import annotations

from collections.abc import Mapping

from kervan.exchange.envelope import CrossBorderMessage, MessageType
from kervan.exchange.outbox import OutgoingMessage, enqueue
from kervan.services.customs.delivery import deliver_after_commit
from kervan.services.node import NodeContext
from kervan.signatures.canonical import JsonValue
from kervan.store.uow import UnitOfWork


def send(
    uow: UnitOfWork,
    node: NodeContext,
    sender: str,
    receiver: str,
    kind: MessageType,
    payload: Mapping[str, JsonValue],
) -> CrossBorderMessage:
    """Sign `payload` as `sender` (its current key on this node) and put it in the outbox for
    `receiver`; authorities on this node get it right after the unit of work commits, the
    others through the relay and the broker."""
    signer = node.signer(uow.session, sender)
    message = enqueue(uow.outbox, signer, OutgoingMessage(receiver, kind, payload), node.clock())
    deliver_after_commit(uow, node)
    return message
