"""Logging people in and out of the web pages, and what a page does when nobody is logged in."""

from __future__ import annotations

from contextlib import suppress
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from kervan.errors import AuthenticationError, TooManyAttemptsError
from kervan.services.access import Credentials, Login, password_token
from kervan.services.credentials import LogOut, log_out
from kervan.store.repositories.organisations import OrganisationKind
from kervan.web.common import (
    CSRF_FIELD,
    SESSION_COOKIE,
    LoginRequiredError,
    check_csrf,
    end_session,
    local_path,
    login_redirect,
    render,
    start_session,
    uow_of,
)

router = APIRouter(include_in_schema=False)

LANDING: dict[OrganisationKind, str] = {
    OrganisationKind.SHIPPER: "/shipments",
    OrganisationKind.FORWARDER: "/shipments",
    OrganisationKind.CARRIER: "/shipments",
    OrganisationKind.CONSIGNEE: "/shipments",
    OrganisationKind.CUSTOMS_AUTHORITY: "/console",
    OrganisationKind.PERMIT_AUTHORITY: "/permits",
    OrganisationKind.ANALYST: "/observatory",
    OrganisationKind.ADMINISTRATOR: "/observatory",
}


def _login_page(
    request: Request,
    next_url: str,
    *,
    failed: bool,
    expired: bool,
    username: str = "",
    retry_after: int = 0,
) -> Response:
    context = {
        "next_url": next_url if local_path(next_url) else "",
        "failed": failed,
        "expired": expired,
        "username": username,
        "retry_after": retry_after,
    }
    status = 429 if retry_after else 401 if failed else 200
    response = render(request, "login.html", context, status_code=status)
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


@router.get("/login", response_class=HTMLResponse)
def login_page(
    request: Request,
    next_url: Annotated[str, Query(alias="next", max_length=2000)] = "",
    expired: Annotated[str, Query(max_length=1)] = "",
) -> Response:
    """The login form (username and password of a person registered for an organisation)."""
    return _login_page(request, next_url, failed=False, expired=expired == "1")


@router.post("/login")
def login(
    request: Request,
    username: Annotated[str, Form(max_length=128)],
    password: Annotated[str, Form(max_length=256)],
    csrf: Annotated[str, Form(alias=CSRF_FIELD, max_length=128)] = "",
    next_url: Annotated[str, Form(alias="next", max_length=2000)] = "",
) -> Response:
    """Check the password; keep the access token in the session cookie and go on."""
    check_csrf(request, csrf)
    name = username.strip()
    source = request.client.host if request.client is not None else None
    try:
        issued = password_token(uow_of(request), Login(name, password, source))
    except AuthenticationError:
        return _login_page(request, next_url, failed=True, expired=False, username=name)
    except TooManyAttemptsError as exc:
        return _login_page(
            request,
            next_url,
            failed=False,
            expired=False,
            username=name,
            retry_after=exc.retry_after,
        )
    target = next_url if local_path(next_url) else LANDING.get(issued.caller.kind, "/")
    response = RedirectResponse(target, status_code=303)
    start_session(request, response, issued.access_token)
    return response


@router.post("/logout")
def logout(
    request: Request, csrf: Annotated[str, Form(alias=CSRF_FIELD, max_length=128)] = ""
) -> Response:
    """End the session: its token is revoked on the node (refused from now on, wherever it was
    copied to), the cookie is cleared and a new CSRF seed is made."""
    check_csrf(request, csrf)
    token = request.cookies.get(SESSION_COOKIE)
    # A token that had stopped working already leaves nothing to end.
    if token:
        with suppress(AuthenticationError):
            log_out(uow_of(request), Credentials(authorization=f"Bearer {token}"), LogOut())
    response = RedirectResponse("/", status_code=303)
    end_session(request, response)
    return response


async def login_required(request: Request, exc: Exception) -> Response:
    """A page that needs a person logged in sends the visitor to the login form."""
    expired = isinstance(exc, LoginRequiredError) and exc.expired
    return login_redirect(request, expired)


async def csrf_refused(request: Request, _: Exception) -> Response:
    """A form without this session's token is refused (and says how to go on)."""
    return render(request, "error.html", {"message_key": "error.csrf"}, status_code=403)


__all__ = ["LANDING", "csrf_refused", "login_required", "router"]
