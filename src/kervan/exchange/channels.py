"""Channel heads: the last sequence number given out (outbox) or applied (inbox) per peer.

Both are one row in `exchange_channels`, moved by the database: the outbox takes its next number
with one upsert ``... ON CONFLICT DO UPDATE SET last_seq = last_seq + 1 RETURNING last_seq``, so
concurrent senders can neither share a number nor skip one; the inbox locks the row (SELECT ...
FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers) before it judges a
message's place in the channel.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal, TypeAlias

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from kervan.store.tables.exchange import ChannelRow

Clock: TypeAlias = Callable[[], datetime]
Direction: TypeAlias = Literal["in", "out"]


def utc_now() -> datetime:
    """The current UTC time (the default clock)."""
    return datetime.now(UTC)


def _insert(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def next_outgoing_seq(session: Session, authority: str, receiver: str) -> int:
    """Take and return the next sequence number of the `authority` -> `receiver` channel."""
    statement = (
        _insert(session)(ChannelRow)
        .values(org_id=authority, direction="out", peer=receiver, last_seq=1)
        .on_conflict_do_update(
            index_elements=["org_id", "direction", "peer"],
            set_={"last_seq": ChannelRow.last_seq + 1},
        )
        .returning(ChannelRow.last_seq)
    )
    return int(session.execute(statement).scalar_one())


def lock_incoming_head(session: Session, authority: str, sender: str) -> ChannelRow:
    """Return the `sender` -> `authority` channel head (created at 0), locked for this
    transaction."""
    session.execute(
        _insert(session)(ChannelRow)
        .values(org_id=authority, direction="in", peer=sender, last_seq=0)
        .on_conflict_do_nothing(index_elements=["org_id", "direction", "peer"])
    )
    return session.scalars(
        select(ChannelRow)
        .where(
            ChannelRow.org_id == authority,
            ChannelRow.direction == "in",
            ChannelRow.peer == sender,
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
