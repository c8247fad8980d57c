"""The transactional outbox: a cross-border message is written in the same transaction as the
change it reports, and a relay publishes it to the broker afterwards, at least once.

A message committed with its change is never lost (the relay retries until the broker takes
it); a message whose change rolled back never leaves. The relay marks rows sent only after the
broker acknowledged them, so a crash in between publishes them again: the broker's de-duplication
(JetStream `Nats-Msg-Id` = message id) and the receiver's inbox make that harmless.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from kervan.exchange.bus import Broker
from kervan.exchange.channels import Clock, utc_now
from kervan.exchange.envelope import CrossBorderMessage, MessageType, check_authority, message_id
from kervan.exchange.worker import Worker
from kervan.signatures.canonical import JsonValue
from kervan.signatures.keys import Signer
from kervan.store.db import unit_of_work
from kervan.store.repositories.outbox import OutboxRepository, WaitingMessage

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """What a use case hands the outbox: to whom, what kind, and the JSON payload."""

    receiver: str
    type: MessageType
    payload: Mapping[str, JsonValue]


def enqueue(
    outbox: OutboxRepository, signer: Signer, message: OutgoingMessage, at: datetime
) -> CrossBorderMessage:
    """Number, sign (as `signer.party`, made at `at`) and store `message` in the outbox of the
    unit of work `outbox` belongs to; return the envelope.

    It leaves only if that unit of work commits. The number is the next of the
    sender -> receiver channel.
    """
    sender = check_authority(signer.party)
    check_authority(message.receiver)
    if message.receiver == sender:
        raise ValueError(f"{sender} cannot send a cross-border message to itself")
    seq = outbox.next_seq(sender, message.receiver)
    envelope = CrossBorderMessage(
        id=message_id(sender, message.receiver, seq),
        sender=sender,
        receiver=message.receiver,
        type=MessageType(message.type),
        seq=seq,
        created_at=at,
        payload=dict(message.payload),
    ).sign(signer)
    outbox.add(
        sender=sender,
        message_id=envelope.id,
        receiver=envelope.receiver,
        seq=seq,
        message_type=envelope.type.value,
        body=envelope.to_bytes().decode("utf-8"),
        created_at=envelope.created_at,
    )
    return envelope


class Outbox:
    """Writes `authority`'s signed messages into the caller's transaction."""

    def __init__(self, authority: str, signer: Signer, *, clock: Clock = utc_now) -> None:
        if signer.party != check_authority(authority):
            raise ValueError(f"the outbox of {authority} needs {authority}'s key, not {signer}")
        self.authority = authority
        self._signer = signer
        self._clock = clock

    def enqueue(self, session: Session, message: OutgoingMessage) -> CrossBorderMessage:
        """Number, sign and store `message` in `session`'s transaction; return the envelope."""
        return enqueue(OutboxRepository(session), self._signer, message, self._clock())


def pending_count(session: Session, authority: str) -> int:
    """How many of `authority`'s messages wait for the relay."""
    return OutboxRepository(session).pending_count(authority)


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
        self._worker = Worker(f"{authority}-relay")

    async def settle(self) -> None:
        """Wait for the relay's database work under way (a stopping node calls this)."""
        await self._worker.settle()

    async def relay_once(self) -> int:
        """Publish up to one batch of unsent messages in channel order; return how many went.

        The batch is pipelined: every publish is on the wire before the first acknowledgement
        is awaited (one round trip per batch, not per message). JetStream keeps them in the
        order they were sent; should one fail and go again later, the receiver's inbox holds
        what follows it until it arrives. Rows the broker took are marked sent even when
        another publish failed; the failure (e.g. BrokerUnavailableError) is raised after
        that, and the rest stay for next time. The database work runs in a worker thread.
        """
        waiting = await self._worker.run(self._waiting)
        if not waiting:
            return 0
        outcomes = await asyncio.gather(
            *(
                self.broker.publish(m.receiver, m.message_id, m.body.encode("utf-8"))
                for m in waiting
            ),
            return_exceptions=True,
        )
        sent = [
            m.message_id for m, outcome in zip(waiting, outcomes, strict=True) if outcome is None
        ]
        if sent:
            await self._worker.run(self._mark_sent, sent)
            log.debug("%s relayed %d message(s)", self.authority, len(sent))
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        return len(sent)

    def _waiting(self) -> list[WaitingMessage]:
        with unit_of_work(self._sessions) as session:
            return OutboxRepository(session).waiting_from(self.authority, self._batch)

    def _mark_sent(self, sent: list[str]) -> None:
        with unit_of_work(self._sessions) as session:
            OutboxRepository(session).mark_sent(self.authority, sent, self._clock())
