"""Error pages for people: a browser asking for a page the node cannot answer gets an HTML page
in the site's style and the visitor's language (404, 403, 405, 422, 500); the API keeps its
problem+json answers (paths under /v1/ and any client that does not ask for HTML).

The API's handlers are installed first; these wrap them and hand over every request that is not
a browser's. A 500 page says only that something went wrong: the error itself goes to the log.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from html import escape
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from kervan.errors import KervanError
from kervan.web.common import language_of, render, secure_headers

Handler = Callable[[Request, Exception], Response | Awaitable[Response]]
log = logging.getLogger("kervan.web")

API_PREFIXES = ("/v1/", "/openapi", "/docs", "/metrics", "/health", "/.well-known/")
# What each status says to a person, and what they can do about it.
STATUS_KEYS: dict[int, tuple[str, str]] = {
    403: ("error.forbidden", "error.forbidden_hint"),
    404: ("error.page_missing", "error.page_missing_hint"),
    405: ("error.method", "error.method_hint"),
    422: ("error.unreadable", "error.unreadable_hint"),
    500: ("error.server", "error.server_hint"),
}


def wants_page(request: Request) -> bool:
    """A browser asking for a page: not an API path, and HTML preferred to JSON."""
    if request.url.path.startswith(API_PREFIXES) or request.url.path == "/v1":
        return False
    accept = request.headers.get("accept", "").lower()
    if "text/html" not in accept:
        return False
    json_at = [accept.find(t) for t in ("application/json", "+json") if t in accept]
    return not json_at or accept.find("text/html") < min(json_at)


def error_page(request: Request, status: int) -> Response:
    """The error page for `status`, in the visitor's language; if the page itself cannot be
    drawn (the database is down), a plain one without the visitor's session."""
    title, hint = STATUS_KEYS.get(status, STATUS_KEYS[500] if status >= 500 else STATUS_KEYS[404])
    context = {"status": status, "title_key": title, "hint_key": hint}
    try:
        return render(request, "status.html", context, status_code=status)
    except Exception:  # the page needs the store (the person, CSRF): show the bare page
        log.exception("error page could not be drawn", extra={"path": request.url.path})
        loc = language_of(request)
        body = (
            f'<!doctype html><html lang="{loc.code}"><head><meta charset="utf-8">'
            f"<title>{escape(loc.t(title))}</title>"
            '<link rel="stylesheet" href="/web/static/css/kervan.css"></head><body>'
            f'<main id="main"><h1>{escape(loc.t(title))}</h1><p>{escape(loc.t(hint))}</p>'
            f'<p><a href="/">{escape(loc.t("error.back"))}</a></p></main></body></html>'
        )
        return secure_headers(HTMLResponse(body, status_code=status))


async def _answer(previous: Handler, request: Request, exc: Exception) -> Response:
    result = previous(request, exc)
    if isinstance(result, Response):
        return result
    return await result


def install(app: FastAPI) -> None:
    """Wrap the app's handlers of HTTP errors, request validation and unexpected errors so
    that a browser gets a page (call after the API's handlers are installed)."""
    handlers: dict[Any, Handler] = dict(app.exception_handlers)

    def wrap(kind: type[Exception], status_of: Callable[[Exception], int]) -> None:
        previous = handlers.get(kind)

        async def handle(request: Request, exc: Exception) -> Response:
            status = status_of(exc)
            if wants_page(request) and (status in STATUS_KEYS or status >= 500):
                if status >= 500:
                    log.error("unhandled error", exc_info=exc, extra={"path": request.url.path})
                page = error_page(request, status)
                allow = getattr(exc, "headers", None) or {}
                if "Allow" in allow:
                    page.headers["Allow"] = allow["Allow"]
                return page
            if previous is None:
                raise exc
            return await _answer(previous, request, exc)

        app.add_exception_handler(kind, handle)

    wrap(StarletteHTTPException, lambda exc: getattr(exc, "status_code", 500))
    wrap(KervanError, lambda exc: getattr(exc, "http_status", 500))
    wrap(RequestValidationError, lambda _: 422)
    wrap(Exception, lambda _: 500)


__all__ = ["error_page", "install", "wants_page"]
