"""The witnessed corridor log: the checkpoints this node's log published with the co-signatures
its witnesses gave, the witnesses it asks, and, as a witness itself, the last checkpoint it
co-signed for each log it watches (so a fork of that log is caught)."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import BigInteger, CheckConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kervan.store.tables.base import HEX64, Base, UtcDateTime

KEY_NAME: Final = 128


class LogCheckpointRow(Base):
    """A checkpoint of this node's log as a signed note, with the co-signatures gathered."""

    __tablename__ = "log_checkpoints"
    __table_args__ = (CheckConstraint("tree_size >= 0", name="tree_size"),)

    origin: Mapped[str] = mapped_column(String(KEY_NAME), primary_key=True)
    tree_size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    note: Mapped[str] = mapped_column(Text)
    cosignatures: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class LogWitnessRow(Base):
    """A witness this node's log asks to co-sign: its verifier key and where it answers."""

    __tablename__ = "log_witnesses"

    name: Mapped[str] = mapped_column(String(KEY_NAME), primary_key=True)
    vkey: Mapped[str] = mapped_column(Text)
    url: Mapped[str] = mapped_column(String(512))


class WitnessedLogRow(Base):
    """A log this node witnesses: its verifier key and the last checkpoint co-signed for it."""

    __tablename__ = "witnessed_logs"
    __table_args__ = (CheckConstraint("tree_size >= 0", name="tree_size"),)

    origin: Mapped[str] = mapped_column(String(KEY_NAME), primary_key=True)
    vkey: Mapped[str] = mapped_column(Text)
    tree_size: Mapped[int] = mapped_column(BigInteger)
    root_hash: Mapped[str] = mapped_column(String(HEX64))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
