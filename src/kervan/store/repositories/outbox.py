"""The outbox's storage: channel numbers and the signed messages waiting for the relay.

A use case builds and signs a cross-border message (`kervan.exchange.envelope`) and hands it to
this repository in its own unit of work, so the message is committed with the change it reports
or not at all. The next number of a sender -> receiver channel is taken with one upsert
``... ON CONFLICT DO UPDATE SET last_seq = last_seq + 1 RETURNING last_seq``: concurrent senders
can neither share a number nor skip one.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from kervan.store.tables.exchange import ChannelRow, OutboxRow


@dataclass(frozen=True, slots=True)
class WaitingMessage:
    """A message in the outbox not yet handed to its receiver: its id, sender, receiver, body."""

    message_id: str
    sender: str
    receiver: str
    body: str


def _next_seq_statement(insert: Any) -> Executable:
    channels = ChannelRow.__table__
    statement: Executable = (
        insert(channels)
        .values(org_id=bindparam("sender"), direction="out", peer=bindparam("receiver"), last_seq=1)
        .on_conflict_do_update(
            index_elements=["org_id", "direction", "peer"],
            set_={"last_seq": channels.c.last_seq + 1},
        )
        .returning(channels.c.last_seq)
    )
    return statement


# Built once, on the table rather than the mapped class: the ORM's insert path cost 0.30-0.44
# ms of CPU per number, this 0.03 ms (500 numbers in one SQLite transaction; the exchange
# benchmark's sender spent 19 % of its samples here before).
_NEXT_SEQ: Final = {
    "postgresql": _next_seq_statement(postgresql.insert),
    "sqlite": _next_seq_statement(sqlite.insert),
}


class OutboxRepository:
    """Every authority's outbox in this store (rows are keyed by the sending authority)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    @property
    def session(self) -> Session:
        """The session (unit of work) the outbox writes into."""
        return self._session

    def next_seq(self, sender: str, receiver: str) -> int:
        """Take and return the next sequence number of the `sender` -> `receiver` channel."""
        statement = _NEXT_SEQ[self._session.get_bind().dialect.name]
        # Without autoflush: the upsert reads only the channel numbers, and flushing before it
        # would insert the previous message's row on its own, so a transaction of many
        # messages inserted its rows one by one (exchange benchmark, 3000 messages: 1.02 -> 0.61
        # ms of CPU per message end to end, 970 -> 1,640 messages/s).
        with self._session.no_autoflush:
            return int(
                self._session.execute(
                    statement, {"sender": sender, "receiver": receiver}
                ).scalar_one()
            )

    def add(
        self,
        *,
        sender: str,
        message_id: str,
        receiver: str,
        seq: int,
        message_type: str,
        body: str,
        created_at: datetime,
    ) -> None:
        """Store a signed message (`body`, the exact bytes signed) until it is relayed."""
        self._session.add(
            OutboxRow(
                org_id=sender,
                message_id=message_id,
                receiver=receiver,
                seq=seq,
                message_type=message_type,
                body=body,
                created_at=created_at,
                sent_at=None,
            )
        )
        # No flush per message: the unit of work inserts the transaction's rows together
        # (0.045 instead of 0.19-0.25 ms of CPU per row, 500 rows in one SQLite transaction).

    def pending_count(self, sender: str) -> int:
        """How many of `sender`'s messages wait for the relay."""
        return int(
            self._session.scalar(
                select(func.count())
                .select_from(OutboxRow)
                .where(OutboxRow.org_id == sender, OutboxRow.sent_at.is_(None))
            )
            or 0
        )

    def waiting_from(self, sender: str, limit: int) -> list[WaitingMessage]:
        """Up to `limit` of `sender`'s unsent messages, in channel order."""
        rows = self._session.execute(
            select(OutboxRow.message_id, OutboxRow.org_id, OutboxRow.receiver, OutboxRow.body)
            .where(OutboxRow.org_id == sender, OutboxRow.sent_at.is_(None))
            .order_by(OutboxRow.seq, OutboxRow.receiver)
            .limit(limit)
        ).all()
        return [WaitingMessage(*row) for row in rows]

    def waiting_for(self, receivers: Collection[str], limit: int) -> list[WaitingMessage]:
        """Up to `limit` unsent messages to any of `receivers` (from any sender), each channel
        in order."""
        rows = self._session.execute(
            select(OutboxRow.message_id, OutboxRow.org_id, OutboxRow.receiver, OutboxRow.body)
            .where(OutboxRow.receiver.in_(sorted(receivers)), OutboxRow.sent_at.is_(None))
            .order_by(OutboxRow.created_at, OutboxRow.seq, OutboxRow.org_id)
            .limit(limit)
        ).all()
        return [WaitingMessage(*row) for row in rows]

    def mark_sent(self, sender: str, message_ids: Sequence[str], at: datetime) -> int:
        """Mark `sender`'s messages sent at `at` (those not marked yet); return how many were."""
        if not message_ids:
            return 0
        result = self._session.execute(
            update(OutboxRow)
            .where(
                OutboxRow.org_id == sender,
                OutboxRow.message_id.in_(list(message_ids)),
                OutboxRow.sent_at.is_(None),
            )
            .values(sent_at=at)
        )
        return int(getattr(result, "rowcount", 0) or 0)
