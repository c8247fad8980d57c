"""The e-Permit peer protocol's public HTTP API as a FastAPI router.

GET / (code, name, version, keys), POST /events/{quota-created, permit-created, permit-used,
permit-revoked, key-created, key-revoked} with "Authorization: Bearer <detached proof>", and
GET /verify/{qr}. Refusals answer with the standard's body {"status", "timestamp", "error_id",
"error_message", "details": {"errorCode"}} (HTTP 422, 401 for a proof, 400 with "fields" for an
invalid event).
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from kervan.errors import EpermitPeerError
from kervan.exchange.epermit_peer.peer import Accepted
from kervan.signatures.encoding import rfc3339

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


@dataclasses.dataclass(frozen=True, slots=True)
class PeerFace:
    """What the public API calls: the authority's GET / answer, receiving a POSTed event
    (path, body, Authorization header), the permit a QR names, and the clock for errors."""

    describe: Callable[[], dict[str, Any]]
    receive: Callable[[str, bytes, str | None], Accepted]
    verify: Callable[[str], dict[str, Any]]
    now: Callable[[], datetime]
    code: str


def epermit_router(face: PeerFace) -> APIRouter:
    """The public e-Permit API of one authority."""
    router = APIRouter(tags=["e-Permit peer"])

    def refused(error: EpermitPeerError) -> JSONResponse:
        log.warning("%s refused an e-Permit request: %s", face.code, error.message)
        return JSONResponse(error_body(error, face.now()), status_code=error.http_status)

    @router.get("/", response_model=None)
    async def describe() -> JSONResponse:
        try:
            return JSONResponse(await run_in_threadpool(face.describe))
        except EpermitPeerError as exc:
            return refused(exc)

    @router.post("/events/{event_path}", response_model=None)
    async def post_event(event_path: str, request: Request) -> JSONResponse:
        data = await request.body()
        try:
            accepted = await run_in_threadpool(
                face.receive, event_path, data, request.headers.get("authorization")
            )
        except EpermitPeerError as exc:
            return refused(exc)
        return JSONResponse({"event_id": accepted.event_id, "status": "accepted"})

    @router.get("/verify/{qr}", response_model=None)
    async def verify_qr(qr: str) -> JSONResponse:
        try:
            return JSONResponse(await run_in_threadpool(face.verify, qr))
        except EpermitPeerError as exc:
            return refused(exc)

    return router
