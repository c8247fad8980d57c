"""What an authority's node can tell its operators: applied, held, refused and dead-lettered
messages, channel heads and the outbox's lag, read from the node's own store.

The node's `/metrics`, `/ready` and the `kervan messages` commands read these; each call reads
in the session it is given.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kervan.store.tables.exchange import (
    ChannelRow,
    DeadLetterRow,
    GapAskRow,
    InboxRow,
    OutboxRow,
    RejectedMessageRow,
)


@dataclasses.dataclass(frozen=True, slots=True)
class HeldGap:
    """Messages from `sender` held behind a gap: the head (last applied), the first held
    number, how many are held, and when the oldest of them arrived."""

    sender: str
    head: int
    first_held: int
    held: int
    since: datetime

    @property
    def missing(self) -> range:
        """The sequence numbers the gap waits for."""
        return range(self.head + 1, self.first_held)


@dataclasses.dataclass(frozen=True, slots=True)
class OutboxLag:
    """The outbox's unsent messages and when the oldest of them was written (None: empty)."""

    waiting: int
    oldest: datetime | None


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


def refusals_by_reason(session: Session, authority: str) -> dict[str, int]:
    """How many messages `authority` refused, by reason."""
    rows = session.execute(
        select(RejectedMessageRow.reason, func.count())
        .where(RejectedMessageRow.org_id == authority)
        .group_by(RejectedMessageRow.reason)
    ).all()
    return {reason: int(count) for reason, count in rows}


def dead_letters(
    session: Session, authority: str, *, unresolved_only: bool = False
) -> list[DeadLetterRow]:
    """`authority`'s dead letters, oldest first (only those waiting for an operator, if asked)."""
    query = select(DeadLetterRow).where(DeadLetterRow.org_id == authority)
    if unresolved_only:
        query = query.where(DeadLetterRow.resolved.is_(None))
    return list(
        session.scalars(query.order_by(DeadLetterRow.dead_at, DeadLetterRow.dead_letter_id))
    )


def dead_letter_counts(session: Session, authority: str) -> dict[str, int]:
    """How many messages `authority` dead-lettered, by reason."""
    rows = session.execute(
        select(DeadLetterRow.reason, func.count())
        .where(DeadLetterRow.org_id == authority)
        .group_by(DeadLetterRow.reason)
    ).all()
    return {reason: int(count) for reason, count in rows}


def held_gaps(session: Session, authority: str) -> list[HeldGap]:
    """Every sender whose messages `authority` holds behind a sequence gap."""
    rows = session.execute(
        select(
            InboxRow.sender,
            func.min(InboxRow.seq),
            func.count(),
            func.min(InboxRow.received_at),
        )
        .where(InboxRow.org_id == authority, InboxRow.outcome == "held")
        .group_by(InboxRow.sender)
        .order_by(InboxRow.sender)
    ).all()
    heads = channel_heads(session, authority)
    return [
        HeldGap(sender, heads.get(sender, 0), int(first), int(count), since)
        for sender, first, count, since in rows
    ]


ASK_AGAIN_AT_MOST: Final = timedelta(hours=1)
"""The longest a node waits between two asks for the same open gap."""


def gap_asks(session: Session, authority: str) -> dict[str, GapAskRow]:
    """How the stream was asked again for each of `authority`'s open gaps, by sender (a gap
    never asked for has no entry)."""
    open_gaps = {gap.sender: gap.first_held for gap in held_gaps(session, authority)}
    rows = session.scalars(select(GapAskRow).where(GapAskRow.org_id == authority))
    return {row.sender: row for row in rows if open_gaps.get(row.sender) == row.first_held}


def gaps_due(
    session: Session, authority: str, now: datetime, *, first_after: float
) -> list[HeldGap]:
    """`authority`'s held gaps to ask the stream for again now: one an operator asked for
    since the node last asked; else one at least `first_after` seconds old, not asked for yet
    or asked for n times and not since `first_after` * 2**(n-1) seconds (at most
    ASK_AGAIN_AT_MOST; an operator's ask counts). Entries of gaps no longer open are dropped."""
    asks = {row.sender: row for row in session.scalars(
        select(GapAskRow).where(GapAskRow.org_id == authority)
    )}  # fmt: skip
    due: list[HeldGap] = []
    gaps = held_gaps(session, authority)
    for gap in gaps:
        ask = asks.get(gap.sender)
        if ask is not None and ask.first_held != gap.first_held:
            session.delete(ask)  # a gap that closed; this one is new
            session.flush()
            ask = None
        if (
            ask is not None
            and ask.operator_asked_at is not None
            and (ask.last_asked_at is None or ask.operator_asked_at > ask.last_asked_at)
        ):
            due.append(gap)
            continue
        if (now - gap.since).total_seconds() < first_after:
            continue
        if ask is None or ask.last_asked_at is None:
            due.append(gap)
            continue
        wait = min(timedelta(seconds=first_after) * 2 ** (ask.asks - 1), ASK_AGAIN_AT_MOST)
        if now - ask.last_asked_at >= wait:
            due.append(gap)
    open_senders = {gap.sender for gap in gaps}
    for sender, ask in asks.items():
        if sender not in open_senders:
            session.delete(ask)
    return due


def _ask_of(session: Session, authority: str, gap: HeldGap) -> GapAskRow:
    """The record of asks for `gap`, new when none was kept or the one kept was for an earlier
    gap of the same sender."""
    ask = session.get(GapAskRow, (authority, gap.sender))
    if ask is not None and ask.first_held == gap.first_held:
        return ask
    if ask is not None:
        session.delete(ask)
        session.flush()
    ask = GapAskRow(org_id=authority, sender=gap.sender, first_held=gap.first_held, asks=0)
    session.add(ask)
    return ask


def note_node_ask(session: Session, authority: str, gap: HeldGap, at: datetime, found: int) -> None:
    """Record that the node asked the stream again for `gap` at `at`, bringing back `found`."""
    ask = _ask_of(session, authority, gap)
    ask.asks += 1
    ask.last_asked_at = at
    ask.last_found = found


def note_operator_ask(
    session: Session, authority: str, sender: str, operator: str, at: datetime
) -> HeldGap | None:
    """Record that `operator` asked at `at` for the stream to be asked again for the gap before
    `sender`'s held messages; return that gap (None when none is open)."""
    gap = next((g for g in held_gaps(session, authority) if g.sender == sender), None)
    if gap is None:
        return None
    ask = _ask_of(session, authority, gap)
    ask.operator_asked_at = at
    ask.operator = operator
    return gap


def held_messages(session: Session, authority: str) -> list[InboxRow]:
    """`authority`'s held messages, by sender and number."""
    return list(
        session.scalars(
            select(InboxRow)
            .where(InboxRow.org_id == authority, InboxRow.outcome == "held")
            .order_by(InboxRow.sender, InboxRow.seq)
        )
    )


def channel_heads(session: Session, authority: str) -> dict[str, int]:
    """The last sequence number `authority` applied from each sender."""
    rows = session.execute(
        select(ChannelRow.peer, ChannelRow.last_seq).where(
            ChannelRow.org_id == authority, ChannelRow.direction == "in"
        )
    ).all()
    return {peer: int(seq) for peer, seq in rows}


def outbox_lag(session: Session, authority: str) -> OutboxLag:
    """`authority`'s messages waiting for the relay, and the oldest one's time."""
    count, oldest = session.execute(
        select(func.count(), func.min(OutboxRow.created_at)).where(
            OutboxRow.org_id == authority, OutboxRow.sent_at.is_(None)
        )
    ).one()
    return OutboxLag(int(count or 0), oldest)
