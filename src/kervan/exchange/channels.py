"""Channel heads: the last sequence number applied (inbox) per peer, and the exchange's clock.

The head is one row in `exchange_channels`; the inbox locks it (SELECT ... FOR UPDATE on
PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers) before it judges a message's
place in the channel. The outbox's numbers are the store's (`OutboxRepository.next_seq`).
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
