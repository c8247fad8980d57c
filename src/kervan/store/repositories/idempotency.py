"""Idempotency keys: the first answer to a request, replayed when a client retries it.

A key is scoped to an organisation. Reusing a key for a different request (another body hash)
is refused rather than answered with the first request's response.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from kervan.errors import IdempotencyConflictError, InvalidRequestError
from kervan.signatures.canonical import JsonValue
from kervan.store.db import is_sqlite
from kervan.store.repositories._common import canonical_text, visible
from kervan.store.tables import IdempotencyKeyRow


@dataclasses.dataclass(frozen=True, slots=True)
class StoredResponse:
    """The response remembered for an idempotency key."""

    org_id: str
    key: str
    request_hash: str
    status_code: int
    response: JsonValue
    created_at: datetime


def _stored(row: IdempotencyKeyRow) -> StoredResponse:
    return StoredResponse(row.org_id, row.key, row.request_hash, row.status_code,
                          json.loads(row.response), row.created_at)  # fmt: skip


class IdempotencyRepository:
    """Remembered responses of the caller's organisations."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def lookup(
        self, org_id: str, key: str, request_hash: str, *, org_ids: Collection[str]
    ) -> StoredResponse | None:
        """Return the remembered response for (`org_id`, `key`), or None if there is none.

        Raises IdempotencyConflictError when the key answered a request with another hash.
        """
        row = self._session.scalars(
            select(IdempotencyKeyRow).where(
                IdempotencyKeyRow.org_id == org_id,
                IdempotencyKeyRow.org_id.in_(visible(org_ids)),
                IdempotencyKeyRow.key == key,
            )
        ).one_or_none()
        if row is None:
            return None
        _same_request(row, request_hash)
        return _stored(row)

    def remember(
        self,
        org_id: str,
        key: str,
        request_hash: str,
        *,
        status_code: int,
        response: JsonValue,
        at: datetime,
        org_ids: Collection[str],
    ) -> StoredResponse:
        """Store the response for a key, or return the one stored first if a concurrent
        request won; raise IdempotencyConflictError if that one was for another request."""
        if org_id not in visible(org_ids):
            raise InvalidRequestError(f"organisation {org_id!r} is not one of the caller's")
        dialect = sqlite if is_sqlite(self._session) else postgresql
        statement = (
            dialect.insert(IdempotencyKeyRow)
            .values(
                org_id=org_id,
                key=key,
                request_hash=request_hash,
                status_code=status_code,
                response=canonical_text(response),
                created_at=at,
            )
            .on_conflict_do_nothing(index_elements=["org_id", "key"])
        )
        self._session.execute(statement)
        row = self._session.scalars(
            select(IdempotencyKeyRow)
            .where(IdempotencyKeyRow.org_id == org_id, IdempotencyKeyRow.key == key)
            .execution_options(populate_existing=True)
        ).one()
        _same_request(row, request_hash)
        return _stored(row)


def _same_request(row: IdempotencyKeyRow, request_hash: str) -> None:
    if row.request_hash != request_hash:
        raise IdempotencyConflictError(
            f"idempotency key {row.key!r} was already used for a different request; "
            f"use a new key for a new request"
        )
