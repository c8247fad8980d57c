"""What every page shares: templates, the language, the person logged in, CSRF, messages.

A person's session is their access token (services.access.password_token) in an HttpOnly,
SameSite=Strict cookie (Secure over https); every page turns it back into the person and the
Caller they act as (services.access.signed_in_person, the token checked exactly as the API
checks a Bearer header) and calls its use case with that Caller, so a page shows only what the
API would. POST forms carry a CSRF token: an HMAC of a random per-session cookie
under the node's secret key (signed double-submit), renewed at login and logout.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.responses import RedirectResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from kervan.errors import AuthenticationError
from kervan.services.access import (
    TOKEN_LIFETIME,
    Caller,
    Credentials,
    Scope,
    signed_in_person,
)
from kervan.services.node import NodeContext, NodeUnitOfWork
from kervan.web.i18n import COOKIE, LANGUAGES, Locale, choose_language, locale

SESSION_COOKIE = "kervan_session"
CSRF_COOKIE = "kervan_csrf"
FLASH_COOKIE = "kervan_flash"
CSRF_FIELD = "csrf"

templates = Jinja2Templates(
    env=Environment(
        loader=PackageLoader("kervan.web", "templates"),
        autoescape=select_autoescape(["html", "svg"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
)

# Pages load nothing from elsewhere; the browser is told so and refuses anything that tries.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# Printable documents carry their own inline style and inline SVG, nothing else.
PRINT_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)


class LoginRequiredError(Exception):
    """The page needs a person logged in (none is, or the session ran out)."""

    def __init__(self, expired: bool = False) -> None:
        super().__init__("login required")
        self.expired = expired


class CsrfRefusedError(Exception):
    """A POST form came without this session's CSRF token."""


@dataclass(frozen=True)
class WebUser:
    """The person behind the session cookie and the organisation they act for."""

    username: str
    display_name: str
    org_name: str
    caller: Caller

    def may(self, scope: str) -> bool:
        return Scope(scope) in self.caller.scopes


def node_of(request: Request) -> NodeContext:
    ctx: NodeContext = request.app.state.node
    return ctx


def uow_of(request: Request) -> NodeUnitOfWork:
    """A unit of work for the page's use case (not entered: the use case opens it)."""
    return node_of(request).unit_of_work()


def language_of(request: Request) -> Locale:
    return locale(
        choose_language(request.cookies.get(COOKIE), request.headers.get("accept-language"))
    )


def local_path(url: str) -> bool:
    """Only paths on this server: "/x" but not "//host" or "/\\host" (no open redirect)."""
    return url.startswith("/") and not url.startswith(("//", "/\\"))


def here_of(request: Request) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def secure_headers(response: Response, policy: str = CONTENT_SECURITY_POLICY) -> Response:
    response.headers["Content-Security-Policy"] = policy
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Vary"] = "Cookie, Accept-Language"
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _https(request: Request) -> bool:
    return request.url.scheme == "https"


def _secret(request: Request) -> bytes:
    return node_of(request).settings.secret_key_value().encode()


# CSRF ------------------------------------------------------------------------------------------


def _csrf_seed(request: Request) -> str:
    """This browser session's random CSRF seed (made now if the browser has none yet)."""
    seed = getattr(request.state, "csrf_seed", None) or request.cookies.get(CSRF_COOKIE)
    if not seed or len(seed) > 100:
        seed = secrets.token_urlsafe(32)
        request.state.new_csrf_seed = seed
    request.state.csrf_seed = seed
    return str(seed)


def csrf_token(request: Request) -> str:
    """The token a POST form of this session must carry."""
    seed = _csrf_seed(request)
    return hmac.new(_secret(request), f"csrf:{seed}".encode(), hashlib.sha256).hexdigest()


def check_csrf(request: Request, token: str | None) -> None:
    """Raise CsrfRefusedError unless `token` is this session's CSRF token."""
    seed = request.cookies.get(CSRF_COOKIE)
    if not seed or not token:
        raise CsrfRefusedError
    expected = hmac.new(_secret(request), f"csrf:{seed}".encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, token):
        raise CsrfRefusedError


def renew_csrf(request: Request, response: Response) -> None:
    """A fresh CSRF seed (at login and logout, so a session never inherits another's)."""
    seed = secrets.token_urlsafe(32)
    request.state.csrf_seed = seed
    _set_cookie(request, response, CSRF_COOKIE, seed, None)


def _set_cookie(
    request: Request, response: Response, name: str, value: str, max_age: int | None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="strict",
        secure=_https(request),
    )


# Session ---------------------------------------------------------------------------------------


def start_session(request: Request, response: Response, token: str) -> None:
    _set_cookie(request, response, SESSION_COOKIE, token, int(TOKEN_LIFETIME.total_seconds()))
    renew_csrf(request, response)


def end_session(request: Request, response: Response) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="strict", secure=_https(request)
    )
    renew_csrf(request, response)


def _session_credentials(request: Request) -> Credentials:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise LoginRequiredError
    source = request.client.host if request.client is not None else None
    return Credentials(authorization=f"Bearer {token}", source=source)


def person(request: Request) -> WebUser:
    """The person behind the session cookie (LoginRequiredError when nobody is logged in or
    the session ran out); the page then calls its use case with `person(request).caller`."""
    cached = getattr(request.state, "web_user", None)
    if isinstance(cached, WebUser):
        return cached
    credentials = _session_credentials(request)
    try:
        found = signed_in_person(uow_of(request), credentials)
    except AuthenticationError:
        raise LoginRequiredError(expired=True) from None
    user = WebUser(found.username, found.display_name, found.org_name, found.caller)
    request.state.web_user = user
    return user


def current_user(request: Request) -> WebUser | None:
    """The person logged in, if any (the pages that need no login still show who it is)."""
    cached = getattr(request.state, "web_user", None)
    if isinstance(cached, WebUser):
        return cached
    if not request.cookies.get(SESSION_COOKIE):
        return None
    try:
        return person(request)
    except LoginRequiredError:
        return None


def login_redirect(request: Request, expired: bool) -> RedirectResponse:
    """To the login page, coming back here afterwards (GET pages) or to the referring page."""
    target = here_of(request) if request.method == "GET" else "/"
    if request.method != "GET":
        referer = request.headers.get("referer", "")
        base = str(request.base_url).rstrip("/")
        if referer.startswith(base + "/"):
            target = referer[len(base) :]
    query = f"?next={quote(target, safe='')}" + ("&expired=1" if expired else "")
    return RedirectResponse(f"/login{query}", status_code=303)


# Messages after a redirect ----------------------------------------------------------------------


@dataclass(frozen=True)
class Flash:
    """A message shown once on the next page: `key` in the catalogue, `detail` as the service
    said it (English), `ok` whether it reports success, `next` the catalogue key of what comes
    next (empty: nothing to add)."""

    ok: bool
    key: str
    detail: str = ""
    next: str = ""


def redirect_with(request: Request, url: str, flash: Flash) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    raw = json.dumps(
        {"ok": flash.ok, "key": flash.key, "detail": flash.detail[:600], "next": flash.next[:80]}
    )
    value = base64.urlsafe_b64encode(raw.encode()).decode()
    _set_cookie(request, response, FLASH_COOKIE, value, 120)
    return response


def _take_flash(request: Request) -> Flash | None:
    value = request.cookies.get(FLASH_COOKIE)
    if not value:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(value.encode()))
        return Flash(
            bool(data["ok"]),
            str(data["key"])[:80],
            str(data.get("detail", ""))[:600],
            str(data.get("next", ""))[:80],
        )
    except (ValueError, KeyError, TypeError):
        return None


# Rendering -------------------------------------------------------------------------------------

NAV: tuple[tuple[str, str, str | None], ...] = (
    ("/", "nav.planner", None),
    ("/shipments", "nav.shipments", Scope.SHIPMENTS_READ.value),
    ("/console", "nav.console", Scope.CUSTOMS.value),
    ("/exchange/messages", "nav.messages", Scope.CUSTOMS.value),
    ("/permits", "nav.permits", Scope.PERMITS.value),
    ("/permits/network", "nav.permit_network", Scope.PERMITS.value),
    ("/observatory", "nav.observatory", Scope.OBSERVATORY.value),
    ("/verify", "nav.verify", None),
)


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any],
    *,
    status_code: int = 200,
    user: WebUser | None = None,
) -> Response:
    """A page in the visitor's language, with the navigation their scopes open, the CSRF token
    for its forms and the message left by the previous action."""
    loc = language_of(request)
    user = user or current_user(request)
    flash = _take_flash(request)
    path = request.url.path
    links = [
        (href, key)
        for href, key, scope in NAV
        if scope is None or (user is not None and user.may(scope))
    ]
    # The most specific link is the current one (/permits/network, not /permits as well).
    matching = [h for h, _ in links if h == path or (h != "/" and path.startswith(h + "/"))]
    current = max(matching, key=len, default=None)
    nav = [(href, loc.t(key), href == current) for href, key in links]
    full: dict[str, Any] = {
        "loc": loc,
        "languages": [(code, locale(code).name) for code in LANGUAGES],
        "here": here_of(request),
        "csrf": csrf_token(request),
        "user": user,
        "nav": nav,
        "flash": flash,
        "network_year": node_of(request).network.reference_year,
        "fmt_time": lambda at: format_time(loc, at),
        **context,
    }
    response = templates.TemplateResponse(request, template, full, status_code=status_code)
    new_seed = getattr(request.state, "new_csrf_seed", None)
    if new_seed:
        _set_cookie(request, response, CSRF_COOKIE, str(new_seed), None)
    if flash is not None:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return secure_headers(response)


def format_time(loc: Locale, at: datetime | None) -> str:
    """A moment as the page's language writes the date, and the time in UTC ("14:05 UTC")."""
    if at is None:
        return "–"
    at = at.astimezone(UTC) if at.tzinfo else at
    return f"{loc.date(at.date())}, {at:%H:%M} UTC"


__all__ = [
    "CSRF_FIELD",
    "CsrfRefusedError",
    "Flash",
    "LoginRequiredError",
    "WebUser",
    "check_csrf",
    "csrf_token",
    "current_user",
    "end_session",
    "format_time",
    "here_of",
    "language_of",
    "local_path",
    "login_redirect",
    "node_of",
    "person",
    "redirect_with",
    "render",
    "secure_headers",
    "start_session",
    "templates",
    "uow_of",
]
