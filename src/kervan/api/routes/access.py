"""Getting an access token: OAuth2 client credentials for machines, a password for people."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from pydantic import BaseModel, ConfigDict, Field

from kervan.api.deps import uow_of
from kervan.documents.text import LINE_PATTERN, Line
from kervan.services import access
from kervan.services.access import TOKEN_LIFETIME, ClientToken, IssuedToken

router = APIRouter(prefix="/v1", tags=["access"])


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
    responses={401: {"description": "Unknown client, wrong secret or revoked client"}},
)
def token(
    request: Request,
    grant_type: Annotated[Literal["client_credentials"], Form()],  # noqa: ARG001 (checked by type)
    client_id: Annotated[str, Form(min_length=1, max_length=64, pattern=LINE_PATTERN)],
    client_secret: Annotated[str, Form(min_length=1, max_length=256, pattern=LINE_PATTERN)],
    scope: Annotated[str | None, Form(max_length=512, pattern=LINE_PATTERN)] = None,
) -> TokenResponse:
    """OAuth2 client credentials (RFC 6749 §4.4): trade a client id and secret for a token."""
    asked = tuple(scope.split()) if scope else None
    issued = access.client_credentials_token(
        uow_of(request), ClientToken(client_id, client_secret, asked)
    )
    return _answer(issued)


@router.post("/auth/login", response_model=TokenResponse, responses={401: {"description": "Wrong"}})
def login(body: Login, request: Request) -> TokenResponse:
    """A person logs in with a username and password (for the web interface)."""
    return _answer(
        access.password_token(uow_of(request), access.Login(body.username, body.password))
    )


def _answer(issued: IssuedToken) -> TokenResponse:
    return TokenResponse(
        access_token=issued.access_token,
        expires_in=int(TOKEN_LIFETIME.total_seconds()),
        scope=" ".join(sorted(s.value for s in issued.scopes)),
    )
