"""Getting an access token: OAuth2 client credentials for machines, a password for people;
logging out; and managing an organisation's credentials (revoking clients and API keys,
disabling people)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from kervan.api.deps import credentials, source_of, uow_of
from kervan.documents.text import LINE_PATTERN, Line
from kervan.services import access
from kervan.services import credentials as managing
from kervan.services.access import TOKEN_LIFETIME, ClientToken, IssuedToken
from kervan.services.credentials import DisablePerson, LogOut, RevokeCredential

router = APIRouter(prefix="/v1", tags=["access"])

_THROTTLED: dict[int | str, dict[str, Any]] = {
    429: {
        "description": "Too many wrong attempts for this account or from this address; the "
        "Retry-After header says when to try again"
    }
}
_MANAGING: dict[int | str, dict[str, Any]] = {
    204: {"description": "Done"},
    401: {"description": "No working credentials"},
    403: {"description": "The credential may not manage this organisation's credentials"},
    404: {"description": "No such organisation, credential or person (or another's)"},
}


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "Bearer"  # noqa: S105 (the OAuth2 token type, not a secret)
    expires_in: int
    scope: str


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: Line = Field(min_length=1, max_length=128)
    password: Line = Field(min_length=1, max_length=256)


@router.post(
    "/oauth/token",
    response_model=TokenResponse,
    responses={
        401: {"description": "Unknown client, wrong secret or revoked client"},
        **_THROTTLED,
    },
)
def token(
    request: Request,
    response: Response,
    grant_type: Annotated[Literal["client_credentials"], Form()],  # noqa: ARG001 (checked by type)
    client_id: Annotated[str, Form(min_length=1, max_length=64, pattern=LINE_PATTERN)],
    client_secret: Annotated[str, Form(min_length=1, max_length=256, pattern=LINE_PATTERN)],
    scope: Annotated[str | None, Form(max_length=512, pattern=LINE_PATTERN)] = None,
) -> TokenResponse:
    """OAuth2 client credentials (RFC 6749 §4.4): trade a client id and secret for a token."""
    asked = tuple(scope.split()) if scope else None
    issued = access.client_credentials_token(
        uow_of(request), ClientToken(client_id, client_secret, asked, source_of(request))
    )
    return _answer(issued, response)


@router.post(
    "/auth/login",
    response_model=TokenResponse,
    responses={401: {"description": "Unknown user or wrong password"}, **_THROTTLED},
)
def login(body: Login, request: Request, response: Response) -> TokenResponse:
    """A person logs in with a username and password (for the web interface)."""
    command = access.Login(body.username, body.password, source_of(request))
    return _answer(access.password_token(uow_of(request), command), response)


@router.post(
    "/auth/logout",
    status_code=204,
    responses={401: {"description": "No working access token"}},
)
def logout(request: Request) -> Response:
    """End the access token this request presents: it is refused from now on."""
    managing.log_out(uow_of(request), credentials(request), LogOut())
    return Response(status_code=204)


@router.post(
    "/organisations/{org_id}/clients/{client_id}/revoke", status_code=204, responses=_MANAGING
)
def revoke_client(
    request: Request,
    org_id: Annotated[str, Path(min_length=1, max_length=64, pattern=LINE_PATTERN)],
    client_id: Annotated[str, Path(min_length=1, max_length=64, pattern=LINE_PATTERN)],
) -> Response:
    """Revoke a client of the organisation: its tokens are refused from their next use (the
    node's administrator, or the organisation's own credential with the `credentials` scope)."""
    command = RevokeCredential(org_id, client_id)
    managing.revoke_client(uow_of(request), credentials(request), command)
    return Response(status_code=204)


@router.post(
    "/organisations/{org_id}/api-keys/{key_id}/revoke", status_code=204, responses=_MANAGING
)
def revoke_api_key(
    request: Request,
    org_id: Annotated[str, Path(min_length=1, max_length=64, pattern=LINE_PATTERN)],
    key_id: Annotated[str, Path(min_length=1, max_length=32, pattern=LINE_PATTERN)],
) -> Response:
    """Revoke an API key of the organisation (its id, the part after `kvn_`): it is refused from
    its next use."""
    command = RevokeCredential(org_id, key_id)
    managing.revoke_api_key(uow_of(request), credentials(request), command)
    return Response(status_code=204)


@router.post(
    "/organisations/{org_id}/users/{username}/disable", status_code=204, responses=_MANAGING
)
def disable_user(
    request: Request,
    org_id: Annotated[str, Path(min_length=1, max_length=64, pattern=LINE_PATTERN)],
    username: Annotated[str, Path(min_length=1, max_length=128, pattern=LINE_PATTERN)],
) -> Response:
    """Disable a person of the organisation: their login is refused and the tokens they hold
    stop working."""
    command = DisablePerson(org_id, username)
    managing.disable_person(uow_of(request), credentials(request), command)
    return Response(status_code=204)


def _answer(issued: IssuedToken, response: Response) -> TokenResponse:
    # A token is a credential: no cache keeps it (RFC 6749 §5.1).
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return TokenResponse(
        access_token=issued.access_token,
        expires_in=int(TOKEN_LIFETIME.total_seconds()),
        scope=" ".join(sorted(s.value for s in issued.scopes)),
    )
