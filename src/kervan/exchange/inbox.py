"""The inbox: verify a received message, then apply it exactly once in effect.

For each message, in the receiving node's transaction:
1. parse the envelope; bytes that are not even a JSON object are dead-lettered (a poison
   message: nothing to attribute, judge or ask for again); check it is addressed to this
   authority;
2. verify the signature against the trust list in force when the message is received (known
   sender, the sender's own key, valid when the message was made, and not revoked by now
   whatever time it claims) - unsigned, forged, unknown-sender and revoked-key messages are
   refused;
3. lock the sender->receiver channel head; the very message already in the inbox (a broker's
   redelivery) is a DUPLICATE: acknowledged and counted, no refusal; a different message under
   the same number, or a number at or below the head that was never received, is refused;
4. a message whose sequence number leaves a gap is HELD: stored verified but not applied, and
   applied as soon as the messages before it arrive (nothing is lost because a broker
   redelivered out of order; nothing is applied out of order). A gap that stays open is asked
   for again from the stream and, failing that, shown to the operator, who may skip it
   (`Inbox.skip_gap`);
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

from sqlalchemy import select
from sqlalchemy.orm import Session

from kervan.errors import InvalidRequestError, KervanError, MessageRejectedError, NotFoundError
from kervan.exchange.channels import Clock, lock_incoming_head, utc_now
from kervan.exchange.envelope import NOT_AN_ENVELOPE, CrossBorderMessage, check_authority
from kervan.signatures.trustlist import TrustList
from kervan.store.tables.exchange import ChannelRow, DeadLetterRow, InboxRow, RejectedMessageRow

log = logging.getLogger(__name__)

Handler: TypeAlias = Callable[[Session, CrossBorderMessage], None]
"""Applies a message's effect in the given session (the inbox's transaction); raises a
KervanError to refuse it."""

Outcome: TypeAlias = Literal["applied", "held", "rejected", "duplicate", "dead_lettered"]
_MAX_STORED_BODY = 65_536


def storable(data: bytes) -> str:
    """`data` as text any database keeps: invalid UTF-8 and NUL (which PostgreSQL's text
    refuses) escaped, cut at 64 KiB."""
    text = data[:_MAX_STORED_BODY].decode("utf-8", errors="backslashreplace")
    return text.replace("\x00", "\\x00")


@dataclasses.dataclass(frozen=True, slots=True)
class Receipt:
    """What became of one received message, and which messages were applied because of it
    (itself and any held successors), in order."""

    outcome: Outcome
    message_id: str | None
    reason: str | None = None
    applied: tuple[str, ...] = ()


class Inbox:
    """The inbox of one authority (see the module docstring). `trust` may be replaced while
    the node runs (a new trust list applies to the messages received from then on)."""

    def __init__(
        self, authority: str, trust: TrustList, handler: Handler, *, clock: Clock = utc_now
    ) -> None:
        self.authority = check_authority(authority)
        self.trust = trust
        self._handler = handler
        self._clock = clock

    def receive(self, session: Session, data: bytes) -> Receipt:
        """Judge and apply the message `data` in `session`'s transaction; return the receipt.

        Refusals and dead letters are recorded (and logged), not raised; the caller commits
        either way and then acknowledges the message to the broker.
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
            message.verify(self.trust, received_at=self._clock())
            return self._place(session, message, data)
        except MessageRejectedError as exc:
            if exc.reason == NOT_AN_ENVELOPE:
                self.dead_letter(session, data, NOT_AN_ENVELOPE, exc.message, deliveries=1)
                return Receipt("dead_lettered", None, exc.reason)
            self._reject(session, exc, message, data)
            return Receipt("rejected", exc.message_id, exc.reason)

    def dead_letter(
        self,
        session: Session,
        data: bytes,
        reason: str,
        detail: str,
        *,
        deliveries: int,
        message: CrossBorderMessage | None = None,
    ) -> None:
        """Record `data` as given up on (it is acknowledged, not asked for again)."""
        if message is None:
            try:
                message = CrossBorderMessage.from_bytes(data)
            except MessageRejectedError:
                message = None
        log.error("%s dead-lettered a message (%s): %s", self.authority, reason, detail)
        session.add(
            DeadLetterRow(
                org_id=self.authority,
                dead_letter_id=uuid.uuid4().hex,
                message_id=message.id if message else None,
                sender=message.sender if message else None,
                seq=message.seq if message else None,
                reason=reason,
                detail=detail[:4000],
                body=storable(data),
                deliveries=deliveries,
                dead_at=self._clock(),
                resolved=None,
            )
        )
        session.flush()

    def skip_gap(self, session: Session, sender: str) -> list[str]:
        """Give up on the messages missing before `sender`'s first held message: record each
        as a dead letter ("gap_skipped"), move the head past them and apply the held messages
        that now follow in order. Returns the ids applied; InvalidRequestError without a gap."""
        head = lock_incoming_head(session, self.authority, sender)
        first = session.scalars(
            select(InboxRow)
            .where(
                InboxRow.org_id == self.authority,
                InboxRow.sender == sender,
                InboxRow.outcome == "held",
            )
            .order_by(InboxRow.seq)
            .limit(1)
        ).one_or_none()
        if first is None:
            raise InvalidRequestError(f"{self.authority} holds no message from {sender}")
        for seq in range(head.last_seq + 1, first.seq):
            session.add(
                DeadLetterRow(
                    org_id=self.authority,
                    dead_letter_id=uuid.uuid4().hex,
                    message_id=f"{sender}:{self.authority}:{seq}",
                    sender=sender,
                    seq=seq,
                    reason="gap_skipped",
                    detail=f"never received; skipped by the operator so {first.message_id} "
                    "and its successors could be applied",
                    body="",
                    deliveries=0,
                    dead_at=self._clock(),
                    resolved="skipped",
                )
            )
        log.warning(
            "%s skips %s's messages %d..%d",
            self.authority,
            sender,
            head.last_seq + 1,
            first.seq - 1,
        )
        return self._apply_from(session, head, first)

    def replay(self, session: Session, dead_letter_id: str) -> Receipt:
        """Receive a dead-lettered message again (after the fault was mended) and mark it
        replayed; NotFoundError for an unknown id, InvalidRequestError for a settled one."""
        row = session.get(DeadLetterRow, (self.authority, dead_letter_id))
        if row is None:
            raise NotFoundError("dead letter", dead_letter_id)
        if row.resolved is not None or not row.body:
            raise InvalidRequestError(f"dead letter {dead_letter_id} is already {row.resolved}")
        row.resolved = "replayed"
        return self.receive(session, row.body.encode("utf-8"))

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
            # The broker brought it again (an acknowledgement lost or late): not a refusal.
            log.info("%s: %s again (already %s)", self.authority, message.id, existing.outcome)
            return Receipt("duplicate", message.id, existing.outcome)
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
        return Receipt("applied", message.id, None, tuple(self._apply_from(session, head, row)))

    def _apply_from(self, session: Session, head: ChannelRow, row: InboxRow) -> list[str]:
        applied: list[str] = []
        current: InboxRow | None = row
        while current is not None:
            self._apply(session, current)
            applied.append(current.message_id)
            head.last_seq = current.seq
            current = session.scalars(
                select(InboxRow).where(
                    InboxRow.org_id == self.authority,
                    InboxRow.sender == row.sender,
                    InboxRow.seq == current.seq + 1,
                    InboxRow.outcome == "held",
                )
            ).one_or_none()
        session.flush()
        return applied

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
                body=storable(data),
                rejected_at=self._clock(),
            )
        )
        session.flush()
