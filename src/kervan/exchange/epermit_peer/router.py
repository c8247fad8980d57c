"""The e-Permit peer protocol's public HTTP API as a FastAPI router.

GET / (code, name, version, keys), POST /events/{quota-created, permit-created, permit-used,
permit-revoked, key-created, key-revoked} with "Authorization: Bearer <detached proof>", and
GET /verify/{qr}. Refusals answer with the standard's body {"status", "timestamp", "error_id",
"error_message", "details": {"errorCode"}} (HTTP 422, 401 for a proof, 400 with "fields" for an
invalid event).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from kervan.errors import EpermitPeerError
from kervan.exchange.epermit_peer.peer import Accepted, EpermitPeer
from kervan.signatures.encoding import rfc3339
from kervan.store.db import unit_of_work

log = logging.getLogger(__name__)


def error_body(error: EpermitPeerError, at: Any) -> dict[str, Any]:
    """The standard's error body for `error`, stamped `at` (an aware datetime)."""
    details: dict[str, Any] = {"errorCode": error.error_code}
    if error.fields:
        details["fields"] = error.fields
    return {
        "status": error.http_status,
        "timestamp": rfc3339(at),
        "error_id": str(uuid.uuid4()),
        "error_message": error.message,
        "details": details,
    }


def epermit_router(peer: EpermitPeer, sessions: sessionmaker[Session]) -> APIRouter:
    """The public API of `peer`, storing into `sessions`' database."""
    router = APIRouter(tags=["e-Permit peer"])

    def refused(error: EpermitPeerError) -> JSONResponse:
        log.warning("%s refused an e-Permit event: %s", peer.code, error.message)
        return JSONResponse(error_body(error, peer.now()), status_code=error.http_status)

    @router.get("/")
    def describe() -> dict[str, Any]:
        return peer.describe()

    def receive(path: str, data: bytes, authorization: str | None) -> Accepted:
        with unit_of_work(sessions) as session:
            accepted = peer.receive(session, path, data, authorization)
        if accepted.after_commit is not None:
            accepted.after_commit()
        return accepted

    @router.post("/events/{event_path}", response_model=None)
    async def post_event(event_path: str, request: Request) -> JSONResponse:
        data = await request.body()
        try:
            accepted = await run_in_threadpool(
                receive, event_path, data, request.headers.get("authorization")
            )
        except EpermitPeerError as exc:
            return refused(exc)
        return JSONResponse({"event_id": accepted.event_id, "status": "accepted"})

    def verify(qr: str) -> dict[str, Any]:
        with unit_of_work(sessions) as session:
            return peer.verify_qr(session, qr)

    @router.get("/verify/{qr}", response_model=None)
    async def verify_qr(qr: str) -> JSONResponse:
        try:
            return JSONResponse(await run_in_threadpool(verify, qr))
        except EpermitPeerError as exc:
            return refused(exc)

    return router
