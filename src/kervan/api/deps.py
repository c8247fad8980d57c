"""Per-request plumbing shared by the routers: one transaction, the caller, idempotency."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from fastapi import Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from pydantic_core import to_json
from sqlalchemy.orm import Session

from kervan.errors import InvalidRequestError
from kervan.services.access import Caller, authenticate
from kervan.services.node import NodeContext
from kervan.store.db import read_only, unit_of_work
from kervan.store.repositories.idempotency import IdempotencyRepository

T = TypeVar("T")
MAX_PAGE = 100


def node_of(request: Request) -> NodeContext:
    ctx: NodeContext = request.app.state.node
    return ctx


@contextmanager
def transaction(request: Request) -> Iterator[tuple[Session, Caller]]:
    """One unit of work for the request, with the authenticated caller (401 otherwise)."""
    with unit_of_work(node_of(request).sessions) as session:
        yield session, _caller(request, session)


@contextmanager
def reading(request: Request) -> Iterator[tuple[Session, Caller]]:
    """A read-only unit of work for the request (one snapshot, no write lock), with the
    authenticated caller (401 otherwise)."""
    with read_only(node_of(request).sessions) as session:
        yield session, _caller(request, session)


def _caller(request: Request, session: Session) -> Caller:
    """The caller behind the request's credentials (AuthenticationError, a 401, otherwise)."""
    ctx = node_of(request)
    return authenticate(
        session,
        request.headers.get("authorization"),
        request.headers.get("x-api-key"),
        ctx.settings.secret_key_value(),
        ctx.clock(),
    )


def json_answer(content: Any, status_code: int = 200) -> Response:
    """A JSON answer serialised once, straight to bytes (for content that is JSON already or a
    pydantic model: no second pass through FastAPI's encoder)."""
    return Response(to_json(content), status_code, media_type="application/json")


def idempotent(
    request: Request,
    session: Session,
    caller: Caller,
    body: Any,
    create: Callable[[], T],
    status_code: int = 201,
) -> Response:
    """Run `create` once per Idempotency-Key: a repeated key replays the first answer.

    Without the header the request simply runs. A key reused for a different request is a 409.
    """
    key = request.headers.get("idempotency-key")
    if key is None:
        # No key, nothing to remember: the answer is serialised once, straight to bytes.
        created = create()
        if isinstance(created, BaseModel):
            return json_answer(created, status_code)
        return JSONResponse(jsonable_encoder(created), status_code=status_code)
    if not 1 <= len(key) <= 255:
        raise InvalidRequestError("Idempotency-Key must be 1-255 characters")
    digest = hashlib.sha256(
        json.dumps(
            {"path": request.url.path, "body": jsonable_encoder(body)}, sort_keys=True
        ).encode()
    ).hexdigest()
    repository = IdempotencyRepository(session)
    owner = [caller.org_id]
    stored = repository.lookup(caller.org_id, key, digest, org_ids=owner)
    if stored is not None:
        return JSONResponse(
            stored.response,
            status_code=stored.status_code,
            headers={"idempotent-replay": "true"},
        )
    created = create()
    result = (
        created.model_dump(mode="json")
        if isinstance(created, BaseModel)
        else jsonable_encoder(created)
    )
    repository.remember(
        caller.org_id,
        key,
        digest,
        status_code=status_code,
        response=result,
        at=node_of(request).clock(),
        org_ids=owner,
    )
    return JSONResponse(result, status_code=status_code)


def page_bounds(offset: int, limit: int) -> tuple[int, int]:
    """Offset and a page size capped at MAX_PAGE."""
    return max(offset, 0), max(1, min(limit, MAX_PAGE))
