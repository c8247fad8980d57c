"""The declarative base every table of the store is defined on, its naming convention and types.

Every table that holds an organisation's data has `org_id` as the first column of its primary
key, so a later sharding by organisation (Citus) needs no key change. Signed bytes are kept as
text exactly as canonicalised (never JSONB, which would re-serialise them). Constraint names
follow `NAMING_CONVENTION`; the migrations spell the same names. Triggers that refuse UPDATE and
DELETE on insert-only rows live in the migrations (see `store.migrations`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import (
    DateTime,
    Dialect,
    MetaData,
    Table,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from kervan.documents.kinds import ISSUED_KINDS

NAMING_CONVENTION: Final = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(constraint_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ORGANISATION_KINDS: Final = (
    "shipper",
    "forwarder",
    "carrier",
    "consignee",
    "customs_authority",
    "permit_authority",
    "guarantee_chain",
    "analyst",
    "administrator",
)
DOCUMENT_KINDS: Final = tuple(kind.value for kind in ISSUED_KINDS)
KEY_ALGORITHMS: Final = ("EdDSA", "ES256")
ACTIVITY_TYPES: Final = ("ENTRANCE", "EXIT")

ORG_ID = 64
DOC_ID = 128
HEX64 = 64


def one_of(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({quoted})"


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every database (SQLite keeps no zone, so UTC is implied there).

    Refuses naive datetimes: a time without a zone is ambiguous across the corridor's borders.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("store times must be time-zone aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:  # noqa: ARG002
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise ValueError(f"stored time {value!r} is not a datetime")
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base carrying the naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def table_of(row_class: type[Base]) -> Table:
    """The Core table behind a mapped row class, for statements built once and run often
    (they skip the ORM's per-statement work)."""
    mapped = row_class.__table__
    if not isinstance(mapped, Table):
        raise TypeError(f"{row_class.__name__} is not mapped to a table")
    return mapped
