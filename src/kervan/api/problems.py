"""RFC 9457 problem details: every error the API answers, in one shape.

{"type", "title", "status", "detail", "code", "instance", "request_id", ...extensions}, served as
application/problem+json. A KervanError maps by its `http_status` and `code`; request validation
errors list the failing fields; anything unexpected is a 500 with no internals in the body.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from kervan.errors import KervanError, NoRouteError, TooManyAttemptsError, UnknownPlaceError

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("kervan.api")


class ProblemError(Exception):
    """An HTTP error raised inside the API layer with a machine code and a human message."""

    def __init__(self, status: int, code: str, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.extensions = extensions


def problem_response(
    request: Request, status: int, code: str, detail: str, **extensions: Any
) -> JSONResponse:
    """A problem+json response; `code` is the stable machine-readable error name."""
    body: dict[str, Any] = {
        "type": f"https://kervan.dev/problems/{code}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
        "instance": request.url.path,
    }
    request_id = getattr(request.state, "request_id", None)
    if request_id:
        body["request_id"] = request_id
    body.update(extensions)
    headers = (
        {"Retry-After": str(extensions["retry_after"])} if "retry_after" in extensions else None
    )
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _kervan_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, KervanError)
    extra: dict[str, Any] = {}
    if isinstance(exc, UnknownPlaceError):
        extra["suggestions"] = exc.suggestions
    if isinstance(exc, NoRouteError):
        extra["reasons"] = exc.reasons
    if isinstance(exc, TooManyAttemptsError):
        extra["retry_after"] = exc.retry_after
    for name in ("file", "record", "field"):
        if hasattr(exc, name):
            extra[name] = getattr(exc, name)
    return problem_response(request, exc.http_status, exc.code, exc.message, **extra)


def _problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(request, exc.status, exc.code, exc.detail, **exc.extensions)


def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "field": ".".join(str(p) for p in e.get("loc", ())),
            "message": str(e.get("msg", "")),
            "type": str(e.get("type", "")),
        }
        for e in exc.errors()
    ]
    fields = ", ".join(e["field"] for e in errors) or "the request"
    return problem_response(
        request, 422, "validation_failed", f"invalid value in {fields}", errors=errors
    )


def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}.get(
        exc.status_code, "http_error"
    )
    answer = problem_response(request, exc.status_code, code, str(exc.detail))
    if exc.status_code == 405:
        # RFC 9110 §15.5.6: a 405 names the methods the resource has, on every route of the
        # path (Starlette's own header names only the first route's).
        answer.headers["Allow"] = ", ".join(allowed_methods(request))
    return answer


def leaf_routes(routes: Iterable[Any]) -> Iterator[Any]:
    """The routes that answer, inside the routers FastAPI includes (the node includes its
    routers without a prefix of their own: their routes carry their whole paths)."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from leaf_routes(included.routes)
        else:
            yield route


def allowed_methods(request: Request) -> list[str]:
    """The methods some route of the app answers on the request's path: a concrete path's
    routes before templated ones (as OpenAPI matches paths), so `/v1/permits/quotas` names
    its own methods, not those of `/v1/permits/{permit_id}`."""
    concrete: set[str] = set()
    templated: set[str] = set()
    for route in leaf_routes(request.app.router.routes):
        # A route matching the path but not the method matches partly.
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods = set(getattr(route, "methods", None) or ())
            fixed = getattr(route, "path_format", None) == request.url.path
            (concrete if fixed else templated).update(methods)
    return sorted(concrete or templated)


def _database(request: Request, exc: Exception) -> JSONResponse:
    """A lost database connection is the database's outage, not a bug: 503, try again (the
    pool has dropped every connection it held and opens fresh ones)."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        log.warning("database connection lost", extra={"path": request.url.path})
        return problem_response(
            request,
            503,
            "database_unavailable",
            "the connection to the database was lost; try again (a write may or may not have been "
            "stored: repeat it with the same Idempotency-Key)",
            retry_after=1,
        )
    return _unexpected(request, exc)


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error", exc_info=exc, extra={"path": request.url.path})
    return problem_response(request, 500, "internal_error", "an unexpected error occurred")


def install(app: FastAPI) -> None:
    """Register the problem+json handlers on an app."""
    app.add_exception_handler(KervanError, _kervan_error)
    app.add_exception_handler(ProblemError, _problem)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(DBAPIError, _database)
    app.add_exception_handler(Exception, _unexpected)
