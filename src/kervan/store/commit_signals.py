"""Commit signals across processes on PostgreSQL: a transaction that wrote an authority's outbox
rows says so with NOTIFY, delivered at its commit; a node's relay in another process LISTENs and
publishes at once instead of at its next poll.

The outbox's writer may be another process than the node's (the API server, a `kervan` command
run by an officer). In one process the relay is woken directly; across processes SQLite has no
such signal, so there the relay's poll remains the way rows are found.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Final

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

OUTBOX_CHANNEL: Final = "kervan_outbox"
"""The PostgreSQL notification channel; the payload is the writer's schema and the sending
authority's code, separated by a space."""

_MAX_BACKOFF: Final = 30.0


def signals_commits(session: Session) -> bool:
    """Whether `session`'s database carries commit signals to other processes."""
    return session.get_bind().dialect.name == "postgresql"


def signal_outbox_commit(session: Session, authority: str) -> None:
    """Have `authority`'s relays in other processes told when `session`'s transaction commits
    (PostgreSQL delivers a NOTIFY only then, and not at all if it rolls back)."""
    session.execute(
        text("SELECT pg_notify(:channel, current_schema() || ' ' || :authority)"),
        {"channel": OUTBOX_CHANNEL, "authority": authority},
    )


def listen_conninfo(engine: Engine) -> str | None:
    """The libpq connection string a listener opens to `engine`'s PostgreSQL database (None
    for a database without commit signals)."""
    if engine.dialect.name != "postgresql":
        return None
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


async def listen_for_outbox_commits(
    conninfo: str, on_commit: Callable[[str], None], *, retry: float = 0.5
) -> None:
    """Call `on_commit(authority)` for each outbox commit signalled on the database, until
    cancelled; a lost connection is opened again, backing off up to 30 s (the relay's poll
    finds the rows meanwhile)."""
    import psycopg  # noqa: PLC0415

    backoff = retry
    while True:
        try:
            connection = await psycopg.AsyncConnection.connect(conninfo, autocommit=True)
            async with connection:
                cursor = await connection.execute("SELECT current_schema()")
                row = await cursor.fetchone()
                schema = str(row[0]) if row is not None else ""
                await connection.execute(f"LISTEN {OUTBOX_CHANNEL}")
                backoff = retry
                async for notification in connection.notifies():
                    # Several nodes may share a database, each in a schema of its own.
                    where, _, authority = notification.payload.partition(" ")
                    if where == schema:
                        on_commit(authority)
        except psycopg.Error as exc:
            log.warning("listening for outbox commits failed (%s); again in %.1f s", exc, backoff)
            await asyncio.sleep(backoff)
            backoff = min(2 * backoff, _MAX_BACKOFF)
