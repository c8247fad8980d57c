"""The exchange's tables: outbox, channel heads, inbox, rejected and dead-lettered messages,
e-Permit peer events.

Every table leads its primary key with `org_id`, the authority the node acts for (the sender
for the outbox, the receiver for the inbox), so several authorities share one store in the
all-in-one mode and a later sharding by organisation needs no key change. The authority is named
by its code (e.g. "KZ-customs"), which need not be registered as an organisation of this store:
a node relays for authorities whose records live elsewhere, hence no foreign key to
organisations. Bodies are kept as the exact bytes that were signed (text, never JSONB).
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import BigInteger, CheckConstraint, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kervan.store.tables.base import ORG_ID, Base, UtcDateTime, one_of

MESSAGE_ID: Final = 200
OUTCOMES: Final = ("applied", "held", "refused")
DIRECTIONS: Final = ("in", "out")
EPERMIT_EVENT_TYPES: Final = (
    "QUOTA_CREATED",
    "PERMIT_CREATED",
    "PERMIT_USED",
    "PERMIT_REVOKED",
    "KEY_CREATED",
    "KEY_REVOKED",
)


class OutboxRow(Base):
    """A signed cross-border message written in the sender's transaction, until relayed."""

    __tablename__ = "exchange_outbox"
    __table_args__ = (
        UniqueConstraint("org_id", "receiver", "seq", name="channel_seq"),
        Index(None, "org_id", "sent_at"),
        CheckConstraint("seq >= 1", name="seq"),
    )

    org_id: Mapped[str] = mapped_column(String(ORG_ID), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(MESSAGE_ID), primary_key=True)
    receiver: Mapped[str] = mapped_column(String(ORG_ID))
    seq: Mapped[int] = mapped_column(BigInteger)
    message_type: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class ChannelRow(Base):
    """The head of one sender->receiver channel as this authority sees it.

    direction "out": the last sequence number given to a message for `peer`; direction "in": the
    last sequence number from `peer` that was applied (messages after a gap wait as "held").
    """

    __tablename__ = "exchange_channels"
    __table_args__ = (
        CheckConstraint(one_of("direction", DIRECTIONS), name="direction"),
        CheckConstraint("last_seq >= 0", name="last_seq"),
    )

    org_id: Mapped[str] = mapped_column(String(ORG_ID), primary_key=True)
    direction: Mapped[str] = mapped_column(String(8), primary_key=True)
    peer: Mapped[str] = mapped_column(String(ORG_ID), primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger)


class InboxRow(Base):
    """A verified message this authority received: applied, held for a gap, or refused.

    The row, the handler's effect and the channel head commit together, so a message id is
    applied at most once whatever the broker redelivers.
    """

    __tablename__ = "exchange_inbox"
    __table_args__ = (
        UniqueConstraint("org_id", "sender", "seq", name="channel_seq"),
        CheckConstraint(one_of("outcome", OUTCOMES), name="outcome"),
        CheckConstraint("seq >= 1", name="seq"),
    )

    org_id: Mapped[str] = mapped_column(String(ORG_ID), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(MESSAGE_ID), primary_key=True)
    sender: Mapped[str] = mapped_column(String(ORG_ID))
    seq: Mapped[int] = mapped_column(BigInteger)
    message_type: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    applied_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class RejectedMessageRow(Base):
    """A message refused on receipt (unsigned, forged, unknown sender, replayed, ...) and why."""

    __tablename__ = "exchange_rejected"
    __table_args__ = (Index(None, "org_id", "message_id"),)

    org_id: Mapped[str] = mapped_column(String(ORG_ID), primary_key=True)
    rejection_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    message_id: Mapped[str | None] = mapped_column(String(MESSAGE_ID))
    sender: Mapped[str | None] = mapped_column(String(ORG_ID))
    reason: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    rejected_at: Mapped[datetime] = mapped_column(UtcDateTime())


class DeadLetterRow(Base):
    """A message this authority gave up on: bytes that are no envelope at all, a message that
    failed `deliveries` times, or one of a sequence gap an operator skipped. `resolved` is how
    an operator settled it (replayed, skipped), None while it waits."""

    __tablename__ = "exchange_dead_letters"
    __table_args__ = (Index(None, "org_id", "resolved"),)

    org_id: Mapped[str] = mapped_column(String(ORG_ID), primary_key=True)
    dead_letter_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    message_id: Mapped[str | None] = mapped_column(String(MESSAGE_ID))
    sender: Mapped[str | None] = mapped_column(String(ORG_ID))
    seq: Mapped[int | None] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    deliveries: Mapped[int] = mapped_column(BigInteger)
    dead_at: Mapped[datetime] = mapped_column(UtcDateTime())
    resolved: Mapped[str | None] = mapped_column(String(16))


class GapAskRow(Base):
    """How the stream was asked again for the messages missing before `sender`'s held ones at
    this authority: for the gap that starts held at `first_held`, the node's asks so far, when
    it last asked and how many messages that brought back; `operator_asked_at` and `operator`
    when a person asked for it from the authority's messages page (the node asks at its next
    check)."""

    __tablename__ = "exchange_gap_asks"

    org_id: Mapped[str] = mapped_column(String(ORG_ID), primary_key=True)
    sender: Mapped[str] = mapped_column(String(ORG_ID), primary_key=True)
    first_held: Mapped[int] = mapped_column(BigInteger)
    asks: Mapped[int] = mapped_column(Integer)
    last_asked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_found: Mapped[int | None] = mapped_column(Integer)
    operator_asked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    operator: Mapped[str | None] = mapped_column(String(200))


class EpermitPeerEventRow(Base):
    """An e-Permit peer event received from ("in") or produced for ("out") a partner authority.

    `body` is the exact serialisation the detached `proof` signs; `sent_at` marks an outgoing
    event the partner accepted (or already had). An outgoing event the partner could not be
    reached for waits until `next_attempt_at` (`attempts` so far, the last `error_code` and
    `error_message`); one the partner refused is a dead letter from `dead_at` on.
    """

    __tablename__ = "epermit_peer_events"
    __table_args__ = (
        CheckConstraint(one_of("direction", DIRECTIONS), name="direction"),
        CheckConstraint(one_of("event_type", EPERMIT_EVENT_TYPES), name="event_type"),
        Index(None, "org_id", "direction", "sent_at"),
    )

    org_id: Mapped[str] = mapped_column(String(ORG_ID), primary_key=True)
    event_producer: Mapped[str] = mapped_column(String(16), primary_key=True)
    event_consumer: Mapped[str] = mapped_column(String(16), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    direction: Mapped[str] = mapped_column(String(8))
    event_type: Mapped[str] = mapped_column(String(32))
    previous_event_id: Mapped[str] = mapped_column(String(100))
    event_timestamp: Mapped[int] = mapped_column(BigInteger)
    body: Mapped[str] = mapped_column(Text)
    proof: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    dead_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class EpermitPeerChainRow(Base):
    """The last event of one producer->consumer chain (the next event's previous_event_id), and
    for this authority's own chains the last event the partner accepted (`accepted_event_id`):
    an event produced after one the partner refused is chained anew onto that one."""

    __tablename__ = "epermit_peer_chains"

    org_id: Mapped[str] = mapped_column(String(ORG_ID), primary_key=True)
    event_producer: Mapped[str] = mapped_column(String(16), primary_key=True)
    event_consumer: Mapped[str] = mapped_column(String(16), primary_key=True)
    last_event_id: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    accepted_event_id: Mapped[str | None] = mapped_column(String(100))


class EpermitPartnerRow(Base):
    """A partner e-Permit authority of the organisation `org_id`: its code (e.g. "UZ"), the base
    URL of its public API, and the public keys (JWKs, JSON list) its events are checked with."""

    __tablename__ = "epermit_partners"

    org_id: Mapped[str] = mapped_column(String(ORG_ID), primary_key=True)
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(500))
    keys: Mapped[str] = mapped_column(Text)
    added_at: Mapped[datetime] = mapped_column(UtcDateTime())
