"""The transactional outbox: a cross-border message is written in the same transaction as the
change it reports, and a relay publishes it to the broker afterwards, at least once.

A message committed with its change is never lost (the relay retries until the broker takes
it); a message whose change rolled back never leaves. The relay marks rows sent only after the
broker acknowledged them, so a crash in between publishes them again: the broker's de-duplication
(JetStream `Nats-Msg-Id` = message id) and the receiver's inbox make that harmless.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from kervan.exchange.bus import Broker
from kervan.exchange.channels import Clock, next_outgoing_seq, utc_now
from kervan.exchange.envelope import CrossBorderMessage, MessageType, check_authority, message_id
from kervan.signatures.canonical import JsonValue
from kervan.signatures.keys import Signer
from kervan.store.db import unit_of_work
from kervan.store.tables.exchange import OutboxRow

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """What a use case hands the outbox: to whom, what kind, and the JSON payload."""

    receiver: str
    type: MessageType
    payload: Mapping[str, JsonValue]


class Outbox:
    """Writes `authority`'s signed messages into the caller's transaction."""

    def __init__(self, authority: str, signer: Signer, *, clock: Clock = utc_now) -> None:
        if signer.party != check_authority(authority):
            raise ValueError(f"the outbox of {authority} needs {authority}'s key, not {signer}")
        self.authority = authority
        self._signer = signer
        self._clock = clock

    def enqueue(self, session: Session, message: OutgoingMessage) -> CrossBorderMessage:
        """Number, sign and store `message` in `session`'s transaction; return the envelope.

        It leaves only if that transaction commits. The number is the next of the
        authority -> receiver channel.
        """
        check_authority(message.receiver)
        if message.receiver == self.authority:
            raise ValueError(f"{self.authority} cannot send a cross-border message to itself")
        seq = next_outgoing_seq(session, self.authority, message.receiver)
        envelope = CrossBorderMessage(
            id=message_id(self.authority, message.receiver, seq),
            sender=self.authority,
            receiver=message.receiver,
            type=MessageType(message.type),
            seq=seq,
            created_at=self._clock(),
            payload=dict(message.payload),
        ).sign(self._signer)
        session.add(
            OutboxRow(
                org_id=self.authority,
                message_id=envelope.id,
                receiver=envelope.receiver,
                seq=seq,
                message_type=envelope.type.value,
                body=envelope.to_bytes().decode("utf-8"),
                created_at=envelope.created_at,
                sent_at=None,
            )
        )
        session.flush()
        return envelope


def pending_count(session: Session, authority: str) -> int:
    """How many of `authority`'s messages wait for the relay."""
    rows = session.scalars(
        select(OutboxRow.message_id).where(
            OutboxRow.org_id == authority, OutboxRow.sent_at.is_(None)
        )
    )
    return len(rows.all())


class OutboxRelay:
    """Publishes `authority`'s unsent outbox rows to the broker and marks them sent."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        authority: str,
        broker: Broker,
        *,
        batch: int = 200,
        clock: Clock = utc_now,
    ) -> None:
        self._sessions = sessions
        self.authority = authority
        self.broker = broker
        self._batch = batch
        self._clock = clock

    async def relay_once(self) -> int:
        """Publish up to one batch of unsent messages in channel order; return how many went.

        Rows the broker took are marked sent even when a later publish fails; the failure
        (e.g. BrokerUnavailableError) is raised after that, and the rest stay for next time.
        """
        with unit_of_work(self._sessions) as session:
            rows = session.execute(
                select(OutboxRow.message_id, OutboxRow.receiver, OutboxRow.body)
                .where(OutboxRow.org_id == self.authority, OutboxRow.sent_at.is_(None))
                .order_by(OutboxRow.seq, OutboxRow.receiver)
                .limit(self._batch)
            ).all()
        sent: list[str] = []
        try:
            for ident, receiver, body in rows:
                await self.broker.publish(receiver, ident, body.encode("utf-8"))
                sent.append(ident)
        finally:
            if sent:
                with unit_of_work(self._sessions) as session:
                    session.execute(
                        update(OutboxRow)
                        .where(OutboxRow.org_id == self.authority, OutboxRow.message_id.in_(sent))
                        .values(sent_at=self._clock())
                    )
                log.debug("%s relayed %d message(s)", self.authority, len(sent))
        return len(sent)
