"""The inbox: verify a received message, then apply it exactly once in effect.

For each message, in the receiving node's transaction:
1. parse the envelope; check it is addressed to this authority;
2. verify the signature against the trust list (known sender, the sender's own key, valid when
   the message was made) - unsigned, forged, unknown-sender and revoked-key messages are refused;
3. lock the sender->receiver channel head; a message id already in the inbox, or a sequence
   number at or below the head, is a replay and is refused;
4. a message whose sequence number leaves a gap is HELD: stored verified but not applied, and
   applied as soon as the messages before it arrive (nothing is lost because a broker
   redelivered out of order; nothing is applied out of order);
5. the next message in sequence is applied by the handler in a savepoint of the same
   transaction that records its id and moves the head, then held successors are applied.
A handler that refuses a message (raises a KervanError) leaves no effect; the refusal is recorded
and the channel moves on. Every refusal is logged and kept in `exchange_rejected`. Any other
error rolls the whole transaction back: the broker redelivers and nothing was recorded.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Callable
from typing import Literal, TypeAlias

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kervan.errors import KervanError, MessageRejectedError
from kervan.exchange.channels import Clock, lock_incoming_head, utc_now
from kervan.exchange.envelope import CrossBorderMessage, check_authority
from kervan.signatures.trustlist import TrustList
from kervan.store.tables.exchange import InboxRow, RejectedMessageRow

log = logging.getLogger(__name__)

Handler: TypeAlias = Callable[[Session, CrossBorderMessage], None]
"""Applies a message's effect in the given session (the inbox's transaction); raises a
KervanError to refuse it."""

Outcome: TypeAlias = Literal["applied", "held", "rejected"]
_MAX_REJECTED_BODY = 65_536


@dataclasses.dataclass(frozen=True, slots=True)
class Receipt:
    """What became of one received message, and which messages were applied because of it
    (itself and any held successors), in order."""

    outcome: Outcome
    message_id: str | None
    reason: str | None = None
    applied: tuple[str, ...] = ()


class Inbox:
    """The inbox of one authority (see the module docstring)."""

    def __init__(
        self, authority: str, trust: TrustList, handler: Handler, *, clock: Clock = utc_now
    ) -> None:
        self.authority = check_authority(authority)
        self.trust = trust
        self._handler = handler
        self._clock = clock

    def receive(self, session: Session, data: bytes) -> Receipt:
        """Judge and apply the message `data` in `session`'s transaction; return the receipt.

        Refusals are recorded (and logged), not raised; the caller commits either way and
        then acknowledges the message to the broker.
        """
        message: CrossBorderMessage | None = None
        try:
            message = CrossBorderMessage.from_bytes(data)
            if message.receiver != self.authority:
                raise MessageRejectedError(
                    "wrong_receiver",
                    f"addressed to {message.receiver}, this is {self.authority}",
                    message_id=message.id,
                )
            message.verify(self.trust)
            return self._place(session, message, data)
        except MessageRejectedError as exc:
            self._reject(session, exc, message, data)
            return Receipt("rejected", exc.message_id, exc.reason)

    def _place(self, session: Session, message: CrossBorderMessage, data: bytes) -> Receipt:
        head = lock_incoming_head(session, self.authority, message.sender)
        existing = session.get(InboxRow, (self.authority, message.id))
        if existing is not None:
            if existing.body.encode("utf-8") != data:
                raise MessageRejectedError(
                    "sequence_conflict",
                    f"{message.sender} signed two different messages numbered {message.seq}",
                    message_id=message.id,
                )
            raise MessageRejectedError(
                "replayed", f"already {existing.outcome}", message_id=message.id
            )
        if message.seq <= head.last_seq:
            raise MessageRejectedError(
                "replayed",
                f"sequence {message.seq} is at or below the channel head {head.last_seq}",
                message_id=message.id,
            )
        row = InboxRow(
            org_id=self.authority,
            message_id=message.id,
            sender=message.sender,
            seq=message.seq,
            message_type=message.type.value,
            body=data.decode("utf-8"),
            outcome="held",
            received_at=self._clock(),
            applied_at=None,
        )
        session.add(row)
        session.flush()
        if message.seq > head.last_seq + 1:
            log.warning(
                "%s holds %s: sequence gap (waiting for %d)",
                self.authority,
                message.id,
                head.last_seq + 1,
            )
            return Receipt("held", message.id, "sequence_gap")
        applied: list[str] = []
        current: InboxRow | None = row
        while current is not None:
            self._apply(session, current)
            applied.append(current.message_id)
            head.last_seq = current.seq
            current = session.scalars(
                select(InboxRow).where(
                    InboxRow.org_id == self.authority,
                    InboxRow.sender == message.sender,
                    InboxRow.seq == head.last_seq + 1,
                    InboxRow.outcome == "held",
                )
            ).one_or_none()
        session.flush()
        return Receipt("applied", message.id, None, tuple(applied))

    def _apply(self, session: Session, row: InboxRow) -> None:
        message = CrossBorderMessage.from_bytes(row.body.encode("utf-8"))
        try:
            with session.begin_nested():
                self._handler(session, message)
        except KervanError as exc:
            row.outcome = "refused"
            self._reject(
                session,
                MessageRejectedError("refused_by_handler", exc.message, message_id=message.id),
                message,
                row.body.encode("utf-8"),
            )
            return
        row.outcome = "applied"
        row.applied_at = self._clock()

    def _reject(
        self,
        session: Session,
        error: MessageRejectedError,
        message: CrossBorderMessage | None,
        data: bytes,
    ) -> None:
        log.warning("%s rejected a message: %s", self.authority, error.message)
        session.add(
            RejectedMessageRow(
                org_id=self.authority,
                rejection_id=uuid.uuid4().hex,
                message_id=error.message_id,
                sender=message.sender if message is not None else None,
                reason=error.reason,
                detail=error.detail,
                body=data[:_MAX_REJECTED_BODY].decode("utf-8", errors="replace"),
                rejected_at=self._clock(),
            )
        )
        session.flush()


def applied_count(session: Session, authority: str) -> int:
    """How many messages `authority`'s inbox has applied."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(InboxRow)
            .where(InboxRow.org_id == authority, InboxRow.outcome == "applied")
        )
        or 0
    )


def rejections(session: Session, authority: str) -> list[RejectedMessageRow]:
    """`authority`'s refused messages, oldest first."""
    return list(
        session.scalars(
            select(RejectedMessageRow)
            .where(RejectedMessageRow.org_id == authority)
            .order_by(RejectedMessageRow.rejected_at, RejectedMessageRow.rejection_id)
        )
    )
