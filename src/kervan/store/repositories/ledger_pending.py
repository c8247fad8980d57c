"""Document events committed with their step and waiting for the ledger's sequencer.

A step inserts its event (the digest of its payload, never the payload) in its own transaction,
without the node's append lock. The sequencer reads every pending event under the append lock,
appends them to the ledger in `id` order and deletes them, all in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import bindparam, delete, func, insert, select
from sqlalchemy.orm import Session

from kervan.store.direct import DirectStatement
from kervan.store.tables import LedgerPendingRow, table_of

_PENDING: Final = table_of(LedgerPendingRow)
#: The insert of one pending event, its values bound by name (`event_params`), so a step can
#: fold it into the statement that stores its own changes.
INSERT_EVENT: Final = insert(_PENDING).values(
    org_id=bindparam("event_org"),
    document_id=bindparam("event_document"),
    event_type=bindparam("event_type"),
    payload_digest=bindparam("event_digest"),
    recorded_at=bindparam("event_at"),
)
_OLDEST: Final = (
    select(_PENDING.c.id).order_by(_PENDING.c.id).limit(bindparam("limit")).scalar_subquery()
)
_TAKE: Final = DirectStatement(
    delete(_PENDING)
    .where(_PENDING.c.id.in_(_OLDEST))
    .returning(
        _PENDING.c.id,
        _PENDING.c.org_id,
        _PENDING.c.document_id,
        _PENDING.c.event_type,
        _PENDING.c.payload_digest,
        _PENDING.c.recorded_at,
    )
)
_COUNT: Final = select(func.count()).select_from(_PENDING)


@dataclass(frozen=True, slots=True)
class PendingEvent:
    """One event waiting to be sequenced into the ledger."""

    id: int
    org_id: str
    document_id: str
    event_type: str
    payload_digest: str
    recorded_at: datetime


def event_params(
    org_id: str, document_id: str, event_type: str, payload_digest: str, recorded_at: datetime
) -> dict[str, Any]:
    """The bound values of `INSERT_EVENT` for one event of `org_id`'s document."""
    return {
        "event_org": org_id,
        "event_document": document_id,
        "event_type": event_type,
        "event_digest": payload_digest,
        "event_at": recorded_at,
    }


class PendingLedgerEvents:
    """The ledger_pending table in one unit of work."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def take(self, limit: int) -> list[PendingEvent]:
        """Remove the oldest `limit` committed events and return them, oldest first (they are
        gone only if this unit of work commits: call it under the append lock, and append
        them in the same unit of work)."""
        rows = _TAKE.rows(self._session, {"limit": limit})
        return sorted((PendingEvent(*row) for row in rows), key=lambda event: event.id)

    def count(self) -> int:
        """How many events are waiting."""
        return self._session.scalar(_COUNT) or 0
