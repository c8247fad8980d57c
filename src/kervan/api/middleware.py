"""Request plumbing: request ids and JSON access logs, body size limits, rate limits for
requests without credentials, security headers on every answer.

Written as plain ASGI middleware so streaming bodies are counted as they arrive and nothing is
buffered twice.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any, Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kervan.services.ledger_sequencer import LedgerSequencer, waiting_deferred
from kervan.services.throttle import TokenBucket

access_log = logging.getLogger("kervan.access")


class JsonFormatter(logging.Formatter):
    """One JSON object per log line, with the request id and any `extra` fields."""

    RESERVED = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message"}

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in record.__dict__.items() if k not in self.RESERVED})
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def _send_problem(
    status: int, code: str, detail: str, extra: dict[str, Any] | None = None
) -> list[Message]:
    body = {
        "type": f"https://kervan.dev/problems/{code}",
        "title": detail,
        "status": status,
        "code": code,
        "detail": detail,
    }
    body.update(extra or {})
    raw = json.dumps(body).encode()
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(raw)).encode()),
    ]
    if extra and "retry_after" in extra:
        headers.append((b"retry-after", str(extra["retry_after"]).encode()))
    return [
        {"type": "http.response.start", "status": status, "headers": headers},
        {"type": "http.response.body", "body": raw},
    ]


class RequestContext:
    """Gives every request an id (X-Request-ID, taken from the client if sane) and logs it."""

    def __init__(
        self, app: ASGIApp, observe: Callable[[str, str, int, float], None] | None = None
    ) -> None:
        self.app = app
        self.observe = observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = (
            given
            if 8 <= len(given) <= 64 and given.replace("-", "").isalnum()
            else uuid.uuid4().hex
        )
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = str(getattr(route, "path", scope["path"]))
            if self.observe is not None:
                self.observe(scope["method"], template, status, elapsed)
            access_log.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "ms": round(elapsed * 1000, 2),
                },
            )


class LedgerSettled:
    """Answers a request only once the ledger holds the events its steps committed.

    The request's steps commit on a worker thread without waiting for the ledger's sequencer
    (see `waiting_deferred`); the wait happens here, on the event loop, just before the answer
    starts, so no request thread sits idle while a batch is written.
    """

    def __init__(self, app: ASGIApp, sequencer: LedgerSequencer) -> None:
        self.app = app
        self.sequencer = sequencer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with waiting_deferred() as wait:

            async def send_when_settled(message: Message) -> None:
                if message["type"] == "http.response.start" and wait.owed:
                    wait.owed = False
                    await self.sequencer.caught_up()
                await send(message)

            try:
                await self.app(scope, receive, send_when_settled)
            finally:
                if wait.owed:  # no answer went out (the client left): still carry the events
                    await self.sequencer.caught_up()


class BodySizeLimit:
    """Refuses request bodies over `max_bytes` with 413, by header or as the bytes arrive."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            for message in _send_problem(
                413, "payload_too_large", f"request body over {self.max_bytes} bytes"
            ):
                await send(message)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLargeError
            return message

        try:
            await self.app(scope, counted, send)
        except _BodyTooLargeError:
            for message in _send_problem(
                413, "payload_too_large", f"request body over {self.max_bytes} bytes"
            ):
                await send(message)


class _BodyTooLargeError(Exception):
    """Raised inside the app's receive() once the body passes the limit."""


class RateLimit:
    """429 with Retry-After when an address that presents no credentials goes over its rate.

    A request with credentials passes: the use case it reaches counts it against the caller its
    credentials prove, or against its address when they prove nobody (services.access.identify),
    so a client cannot get a fresh bucket by varying a header.
    """

    def __init__(self, app: ASGIApp, bucket: TokenBucket, exempt: tuple[str, ...] = ()) -> None:
        self.app = app
        self.bucket = bucket
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.exempt):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if headers.get(b"authorization") or headers.get(b"x-api-key"):
            await self.app(scope, receive, send)
            return
        client = scope.get("client") or ("unknown", 0)
        wait = self.bucket.take(f"address:{client[0]}")
        if wait > 0:
            retry = max(1, int(wait + 0.999))
            for message in _send_problem(
                429, "rate_limited", "too many requests", {"retry_after": retry}
            ):
                await send(message)
            return
        await self.app(scope, receive, send)


#: What an API answer (JSON, problems, metrics) may do in a browser: nothing at all.
API_POLICY: Final = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"


class SecurityHeaders:
    """Every answer carries a Content-Security-Policy (the API's refuses everything; pages set
    their own, which is kept), X-Content-Type-Options nosniff, a Referrer-Policy and
    X-Frame-Options DENY (no page of the node is shown inside another site's frame)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                for name, value in _SECURITY_HEADERS:
                    if name not in present:
                        headers.append((name, value))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


_SECURITY_HEADERS: Final = (
    (b"content-security-policy", API_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
)
