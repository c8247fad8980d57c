"""The witnessed log's records: this node's checkpoints with their co-signatures, the witnesses
its log asks, and the logs it witnesses with the last checkpoint it co-signed for each."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kervan.store.tables.witness import LogCheckpointRow, LogWitnessRow, WitnessedLogRow


@dataclasses.dataclass(frozen=True, slots=True)
class LogWitness:
    """A witness of this node's log: its key name, verifier key and base URL."""

    name: str
    vkey: str
    url: str


@dataclasses.dataclass(frozen=True, slots=True)
class WitnessedLog:
    """A log this node witnesses and the last checkpoint it co-signed (size 0: none yet)."""

    origin: str
    vkey: str
    tree_size: int
    root_hash: str


class WitnessRepository:
    """Reads and writes of the witnessed log's three tables."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def checkpoint(self, origin: str, tree_size: int) -> str | None:
        """The stored signed note of this node's checkpoint at `tree_size`, if any."""
        row = self._session.get(LogCheckpointRow, (origin, tree_size))
        return row.note if row is not None else None

    def latest_cosigned(self, origin: str, minimum: int) -> tuple[int, str] | None:
        """The largest checkpoint of `origin` with at least `minimum` co-signatures."""
        row = self._session.scalars(
            select(LogCheckpointRow)
            .where(LogCheckpointRow.origin == origin, LogCheckpointRow.cosignatures >= minimum)
            .order_by(LogCheckpointRow.tree_size.desc())
            .limit(1)
        ).first()
        return (row.tree_size, row.note) if row is not None else None

    def save_checkpoint(
        self, origin: str, tree_size: int, note: str, cosignatures: int, at: datetime
    ) -> None:
        """Store (or replace, with more co-signatures) the note of a checkpoint."""
        row = self._session.get(LogCheckpointRow, (origin, tree_size))
        if row is None:
            self._session.add(LogCheckpointRow(
                origin=origin, tree_size=tree_size, note=note, cosignatures=cosignatures,
                created_at=at,
            ))  # fmt: skip
        elif cosignatures >= row.cosignatures:
            row.note, row.cosignatures = note, cosignatures
        self._session.flush()

    def witnesses(self) -> list[LogWitness]:
        """The witnesses this node's log asks, by name."""
        rows = self._session.scalars(select(LogWitnessRow).order_by(LogWitnessRow.name))
        return [LogWitness(r.name, r.vkey, r.url) for r in rows]

    def add_witness(self, witness: LogWitness) -> None:
        """Add a witness, or change its key or URL."""
        row = self._session.get(LogWitnessRow, witness.name)
        if row is None:
            self._session.add(LogWitnessRow(name=witness.name, vkey=witness.vkey, url=witness.url))
        else:
            row.vkey, row.url = witness.vkey, witness.url
        self._session.flush()

    def watched(self, origin: str, *, lock: bool = False) -> WitnessedLog | None:
        """A log this node witnesses (locked for the co-signing transaction when `lock`)."""
        query = select(WitnessedLogRow).where(WitnessedLogRow.origin == origin)
        row = self._session.scalars(query.with_for_update() if lock else query).first()
        if row is None:
            return None
        return WitnessedLog(row.origin, row.vkey, row.tree_size, row.root_hash)

    def watch(self, origin: str, vkey: str, empty_root: str, at: datetime) -> None:
        """Start witnessing a log (its key may change; what was co-signed stays)."""
        row = self._session.get(WitnessedLogRow, origin)
        if row is None:
            self._session.add(WitnessedLogRow(
                origin=origin, vkey=vkey, tree_size=0, root_hash=empty_root, updated_at=at
            ))  # fmt: skip
        else:
            row.vkey = vkey
        self._session.flush()

    def advance(self, origin: str, tree_size: int, root_hash: str, at: datetime) -> None:
        """Remember the checkpoint just co-signed for `origin`."""
        row = self._session.get(WitnessedLogRow, origin)
        assert row is not None  # watched() found it in this transaction
        row.tree_size, row.root_hash, row.updated_at = tree_size, root_hash, at
        self._session.flush()
