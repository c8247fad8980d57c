"""Per-request plumbing shared by the routers: the node, the request's credentials, a unit of
work for the one use case a route calls (with the request's Idempotency-Key), and answers."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from fastapi import Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from pydantic_core import to_json, to_jsonable_python

from kervan.errors import InvalidRequestError
from kervan.services.access import Credentials
from kervan.services.node import NodeContext, NodeUnitOfWork
from kervan.store.uow import AnswerOnce, UnitOfWork

MAX_PAGE = 100


def node_of(request: Request) -> NodeContext:
    ctx: NodeContext = request.app.state.node
    return ctx


def credentials(request: Request) -> Credentials:
    """What the request presented to prove its caller (checked by the use case it reaches),
    and the address it came from."""
    headers = request.headers
    return Credentials(headers.get("authorization"), headers.get("x-api-key"), source_of(request))


def source_of(request: Request) -> str | None:
    """The address the request came from (the peer of the connection; behind a proxy, uvicorn's
    --forwarded-allow-ips decides whether X-Forwarded-For replaces it)."""
    return request.client.host if request.client is not None else None


def uow_of(request: Request, body: Any = None, status_code: int = 201) -> NodeUnitOfWork:
    """A unit of work for the request's use case (not entered: the use case opens it).

    With `body`, a request carrying an Idempotency-Key gets its key on the unit of work, so
    the use case answers a repeated key with the first answer (`status_code` is the answer's)
    and remembers a new one in its own transaction. A key reused for a different request is a
    409; a key longer than 255 characters a 400.
    """
    key = request.headers.get("idempotency-key") if body is not None else None
    if key is None:
        return node_of(request).unit_of_work()
    if not 1 <= len(key) <= 255:
        raise InvalidRequestError("Idempotency-Key must be 1-255 characters")
    digest = hashlib.sha256(
        json.dumps(
            {"path": request.url.path, "body": jsonable_encoder(body)}, sort_keys=True
        ).encode()
    ).hexdigest()
    return node_of(request).unit_of_work(AnswerOnce(key, digest, status_code))


def json_answer(content: Any, status_code: int = 200) -> Response:
    """A JSON answer serialised once, straight to bytes (for content that is JSON already or a
    pydantic model: no second pass through FastAPI's encoder)."""
    return Response(to_json(content), status_code, media_type="application/json")


def created(uow: UnitOfWork, answer: Any, status_code: int = 201) -> Response:
    """The answer of a use case that ran with `uow` (from `uow_of`): the remembered one, marked
    as a replay, when the request repeated an Idempotency-Key."""
    once = uow.once
    if once is None:
        # No key, nothing remembered: the answer is serialised once, straight to bytes
        # (bench/api.py, 5463ee8: no model_dump + json.dumps, no digest nothing would store).
        if isinstance(answer, BaseModel):
            return json_answer(answer, status_code)
        return JSONResponse(jsonable_encoder(answer), status_code=status_code)
    if once.replayed is not None:
        return JSONResponse(
            once.replayed.response,
            status_code=once.replayed.status_code,
            headers={"idempotent-replay": "true"},
        )
    return JSONResponse(to_jsonable_python(answer), status_code=status_code)


def page_bounds(offset: int, limit: int) -> tuple[int, int]:
    """Offset and a page size capped at MAX_PAGE."""
    return max(offset, 0), max(1, min(limit, MAX_PAGE))
