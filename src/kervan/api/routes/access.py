"""Getting an access token: OAuth2 client credentials for machines, a password for people."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from pydantic import BaseModel, Field

from kervan.api.deps import node_of
from kervan.errors import InvalidRequestError
from kervan.services.access import TOKEN_LIFETIME, client_credentials_token, password_token
from kervan.store.db import unit_of_work

router = APIRouter(prefix="/v1", tags=["access"])


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "Bearer"  # noqa: S105 (the OAuth2 token type, not a secret)
    expires_in: int
    scope: str


class Login(BaseModel):
    username: str = Field(min_length=1, max_length=128)
    password: str = Field(min_length=1, max_length=256)


@router.post(
    "/oauth/token",
    response_model=TokenResponse,
    responses={401: {"description": "Unknown client, wrong secret or revoked client"}},
)
def token(
    request: Request,
    grant_type: Annotated[str, Form(max_length=64)],
    client_id: Annotated[str, Form(min_length=1, max_length=64)],
    client_secret: Annotated[str, Form(min_length=1, max_length=256)],
    scope: Annotated[str | None, Form(max_length=512)] = None,
) -> TokenResponse:
    """OAuth2 client credentials (RFC 6749 §4.4): trade a client id and secret for a token."""
    if grant_type != "client_credentials":
        raise InvalidRequestError("grant_type must be client_credentials")
    ctx = node_of(request)
    with unit_of_work(ctx.sessions) as session:
        access_token, scopes = client_credentials_token(
            session,
            client_id,
            client_secret,
            ctx.settings.secret_key_value(),
            ctx.clock(),
            scope.split() if scope else None,
        )
    return TokenResponse(
        access_token=access_token,
        expires_in=int(TOKEN_LIFETIME.total_seconds()),
        scope=" ".join(sorted(s.value for s in scopes)),
    )


@router.post("/auth/login", response_model=TokenResponse, responses={401: {"description": "Wrong"}})
def login(body: Login, request: Request) -> TokenResponse:
    """A person logs in with a username and password (for the web interface)."""
    ctx = node_of(request)
    with unit_of_work(ctx.sessions) as session:
        access_token, scopes = password_token(
            session, body.username, body.password, ctx.settings.secret_key_value(), ctx.clock()
        )
    return TokenResponse(
        access_token=access_token,
        expires_in=int(TOKEN_LIFETIME.total_seconds()),
        scope=" ".join(sorted(s.value for s in scopes)),
    )
