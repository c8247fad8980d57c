"""Who is calling and what they may do: clients, API keys, people, access tokens and scopes.

Machine clients trade their client id and secret (OAuth2 client credentials) for a short-lived
signed JWT access token with scopes; an API key works directly; a person logs in with a password
(argon2) for the web interface and gets the same kind of token. Scopes a credential may hold are
bounded by what its organisation's kind may do. Revoking a client or a key stops its tokens at
the next request.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from kervan.errors import AuthenticationError, InvalidRequestError, NotFoundError, ScopeError
from kervan.store.direct import DirectStatement
from kervan.store.repositories.organisations import OrganisationKind
from kervan.store.tables import ApiClientRow, ApiKeyRow, OrganisationRow, UserRow, table_of


class Scope(StrEnum):
    SHIPMENTS_READ = "shipments:read"
    SHIPMENTS_WRITE = "shipments:write"
    DOCUMENTS_SIGN = "documents:sign"
    CUSTOMS = "customs"
    PERMITS = "permits"
    GUARANTEES = "guarantees"
    OBSERVATORY = "observatory"
    ADMIN = "admin"


_S = Scope
KIND_SCOPES: dict[OrganisationKind, frozenset[Scope]] = {
    OrganisationKind.SHIPPER: frozenset({_S.SHIPMENTS_READ, _S.SHIPMENTS_WRITE, _S.DOCUMENTS_SIGN}),
    OrganisationKind.FORWARDER: frozenset(
        {_S.SHIPMENTS_READ, _S.SHIPMENTS_WRITE, _S.DOCUMENTS_SIGN}
    ),
    OrganisationKind.CARRIER: frozenset({_S.SHIPMENTS_READ, _S.SHIPMENTS_WRITE, _S.DOCUMENTS_SIGN}),
    OrganisationKind.CONSIGNEE: frozenset({_S.SHIPMENTS_READ, _S.DOCUMENTS_SIGN}),
    OrganisationKind.CUSTOMS_AUTHORITY: frozenset(
        {_S.SHIPMENTS_READ, _S.CUSTOMS, _S.DOCUMENTS_SIGN}
    ),
    OrganisationKind.PERMIT_AUTHORITY: frozenset({_S.PERMITS, _S.DOCUMENTS_SIGN}),
    OrganisationKind.GUARANTEE_CHAIN: frozenset({_S.GUARANTEES, _S.DOCUMENTS_SIGN}),
    OrganisationKind.ANALYST: frozenset({_S.OBSERVATORY}),
    OrganisationKind.ADMINISTRATOR: frozenset({_S.ADMIN, _S.OBSERVATORY}),
}
TOKEN_LIFETIME = timedelta(minutes=15)
ISSUER = "kervan"
_hasher = PasswordHasher()
_API_KEY = re.compile(r"^kvn_([a-z0-9]{16})_([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True)
class Caller:
    """The organisation behind a request, its kind and country, and the scopes it holds."""

    org_id: str
    kind: OrganisationKind
    country: str
    scopes: frozenset[Scope]
    subject: str

    def require(self, scope: Scope) -> None:
        """Raise ScopeError unless the caller holds `scope`."""
        if scope not in self.scopes:
            raise ScopeError(f"this action needs the {scope.value!r} scope")


@dataclass(frozen=True)
class IssuedSecret:
    """A credential shown once at creation; only its hash is stored."""

    identifier: str
    secret: str
    scopes: frozenset[Scope]


def allowed_scopes(kind: OrganisationKind, requested: list[str] | None) -> frozenset[Scope]:
    """The scopes to grant: all the kind allows, or the requested subset (others refused)."""
    allowed = KIND_SCOPES[kind]
    if not requested:
        return allowed
    unknown = [s for s in requested if s not in {x.value for x in Scope}]
    if unknown:
        raise InvalidRequestError(f"unknown scopes: {', '.join(unknown)}")
    chosen = frozenset(Scope(s) for s in requested)
    if not chosen <= allowed:
        extra = ", ".join(sorted(s.value for s in chosen - allowed))
        raise InvalidRequestError(f"a {kind.value} may not hold: {extra}")
    return chosen


def _organisation(session: Session, org_id: str) -> OrganisationRow:
    row = session.get(OrganisationRow, org_id)
    if row is None:
        raise NotFoundError("organisation", org_id)
    return row


def create_client(
    session: Session, org_id: str, at: datetime, scopes: list[str] | None = None
) -> IssuedSecret:
    """A new OAuth2 client for `org_id`; the secret is returned once and stored as argon2."""
    org = _organisation(session, org_id)
    granted = allowed_scopes(OrganisationKind(org.kind), scopes)
    client_id = f"{org_id[:40]}-{secrets.token_hex(6)}"
    secret = secrets.token_urlsafe(32)
    session.add(
        ApiClientRow(
            org_id=org_id,
            client_id=client_id,
            secret_hash=_hasher.hash(secret),
            scopes=" ".join(sorted(s.value for s in granted)),
            created_at=at,
        )
    )
    session.flush()
    return IssuedSecret(client_id, secret, granted)


def create_api_key(
    session: Session, org_id: str, at: datetime, scopes: list[str] | None = None
) -> IssuedSecret:
    """A new API key `kvn_<id>_<secret>` for `org_id`; only SHA-256 of the secret is stored."""
    org = _organisation(session, org_id)
    granted = allowed_scopes(OrganisationKind(org.kind), scopes)
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    session.add(
        ApiKeyRow(
            org_id=org_id,
            key_id=key_id,
            key_hash=hashlib.sha256(secret.encode()).hexdigest(),
            scopes=" ".join(sorted(s.value for s in granted)),
            created_at=at,
        )
    )
    session.flush()
    return IssuedSecret(key_id, f"kvn_{key_id}_{secret}", granted)


def create_user(
    session: Session, org_id: str, username: str, password: str, display_name: str, at: datetime
) -> None:
    """A person who logs in for `org_id`; the password is stored as argon2 only."""
    _organisation(session, org_id)
    if len(password) < 12:
        raise InvalidRequestError("a password needs at least 12 characters")
    if not re.fullmatch(r"[a-z0-9._@-]{3,128}", username):
        raise InvalidRequestError("a username is 3-128 of a-z 0-9 . _ @ -")
    if session.scalar(select(UserRow).where(UserRow.username == username)) is not None:
        raise InvalidRequestError(f"username {username!r} is taken")
    session.add(
        UserRow(
            org_id=org_id,
            username=username,
            password_hash=_hasher.hash(password),
            display_name=display_name,
            created_at=at,
        )
    )
    session.flush()


def revoke_client(session: Session, org_id: str, client_id: str, at: datetime) -> None:
    """Revoke a client of `org_id`; its tokens stop working at their next use."""
    row = session.get(ApiClientRow, (org_id, client_id))
    if row is None:
        raise NotFoundError("client", client_id)
    row.revoked_at = at
    session.flush()


def revoke_api_key(session: Session, org_id: str, key_id: str, at: datetime) -> None:
    """Revoke an API key of `org_id`."""
    row = session.get(ApiKeyRow, (org_id, key_id))
    if row is None:
        raise NotFoundError("API key", key_id)
    row.revoked_at = at
    session.flush()


def _token(
    secret_key: str, subject: str, org_id: str, scopes: frozenset[Scope], at: datetime
) -> str:
    claims = {
        "iss": ISSUER,
        "sub": subject,
        "org": org_id,
        "scope": " ".join(sorted(s.value for s in scopes)),
        "iat": int(at.timestamp()),
        "exp": int((at + TOKEN_LIFETIME).timestamp()),
        "jti": secrets.token_hex(8),
    }
    return jwt.encode({"alg": "HS256"}, claims, OctKey.import_key(secret_key))


def client_credentials_token(
    session: Session,
    client_id: str,
    client_secret: str,
    secret_key: str,
    at: datetime,
    scopes: list[str] | None = None,
) -> tuple[str, frozenset[Scope]]:
    """Trade a client's credentials for an access token (and the scopes it carries)."""
    row = session.scalar(select(ApiClientRow).where(ApiClientRow.client_id == client_id))
    if (
        row is None
        or row.revoked_at is not None
        or not _password_ok(row.secret_hash, client_secret)
    ):
        raise AuthenticationError("unknown client, wrong secret or revoked client")
    held = frozenset(Scope(s) for s in row.scopes.split())
    granted = held if not scopes else frozenset(Scope(s) for s in scopes if s in held)
    if scopes and len(granted) != len(set(scopes)):
        raise ScopeError("the client does not hold every requested scope")
    return _token(secret_key, f"client:{client_id}", row.org_id, granted, at), granted


def password_token(
    session: Session, username: str, password: str, secret_key: str, at: datetime
) -> tuple[str, frozenset[Scope]]:
    """Log a person in: an access token with every scope their organisation's kind allows."""
    row = session.scalar(select(UserRow).where(UserRow.username == username))
    if row is None or row.disabled_at is not None or not _password_ok(row.password_hash, password):
        raise AuthenticationError("unknown user or wrong password")
    org = _organisation(session, row.org_id)
    granted = KIND_SCOPES[OrganisationKind(org.kind)]
    return _token(secret_key, f"user:{username}", row.org_id, granted, at), granted


def _password_ok(stored: str, given: str) -> bool:
    try:
        return _hasher.verify(stored, given)
    except (VerificationError, InvalidHashError):
        return False


def authenticate(
    session: Session, authorization: str | None, api_key: str | None, secret_key: str, at: datetime
) -> Caller:
    """The caller behind a Bearer token or an API key; raises AuthenticationError otherwise."""
    if api_key:
        return _api_key_caller(session, api_key)
    if not authorization or not authorization.startswith("Bearer "):
        raise AuthenticationError("send Authorization: Bearer <token> or X-API-Key")
    try:
        claims = dict(_verified_claims(authorization[7:].strip(), secret_key))
        jwt.JWTClaimsRegistry(
            now=int(at.timestamp()),
            iss={"essential": True, "value": ISSUER},
            exp={"essential": True},
            sub={"essential": True},
        ).validate(claims)
    except (JoseError, ValueError) as exc:
        raise AuthenticationError(f"access token refused: {exc}") from None
    subject, org_id = str(claims["sub"]), str(claims.get("org", ""))
    if subject.startswith("client:"):
        # The client and its organisation in one read: a token of a revoked client is refused.
        found = _CLIENT_CALLER.one_or_none(session, {"org_id": org_id, "client_id": subject[7:]})
        if found is None or found.revoked_at is not None:
            raise AuthenticationError("the client behind this token is revoked")
        kind, country = found.kind, found.country
    else:
        if subject.startswith("user:"):
            user = session.get(UserRow, (org_id, subject[5:]))
            if user is None or user.disabled_at is not None:
                raise AuthenticationError("the user behind this token is disabled")
        org = _organisation(session, org_id)
        kind, country = org.kind, org.country
    scopes = frozenset(Scope(s) for s in str(claims.get("scope", "")).split() if s in _SCOPES)
    return Caller(org_id, OrganisationKind(kind), country, scopes, subject)


_SCOPES: Final = frozenset(s.value for s in Scope)
_CLIENTS: Final = table_of(ApiClientRow)
_ORGANISATIONS: Final = table_of(OrganisationRow)
_CLIENT_CALLER: Final = DirectStatement(
    select(_CLIENTS.c.revoked_at, _ORGANISATIONS.c.kind, _ORGANISATIONS.c.country)
    .join(_ORGANISATIONS, _ORGANISATIONS.c.id == _CLIENTS.c.org_id)
    .where(
        _CLIENTS.c.org_id == bindparam("org_id"),
        _CLIENTS.c.client_id == bindparam("client_id"),
    )
)


@lru_cache(maxsize=4096)
def _verified_claims(token: str, secret_key: str) -> Mapping[str, Any]:
    """The claims of `token` once its HS256 signature checks out with the node's secret
    (JoseError or ValueError when it does not).

    A client sends one token for up to its lifetime, so the signature is checked once per token
    and secret, not per request; what changes with time is checked on every use: the expiry and
    issuer (by the caller) and the client's revocation (in the database).
    """
    return MappingProxyType(jwt.decode(token, _signing_key(secret_key), ["HS256"]).claims)


@lru_cache(maxsize=4)
def _signing_key(secret_key: str) -> OctKey:
    """The HS256 key of the node's secret (imported once per secret)."""
    return OctKey.import_key(secret_key)


def _api_key_caller(session: Session, api_key: str) -> Caller:
    match = _API_KEY.match(api_key)
    if match is None:
        raise AuthenticationError("malformed API key")
    row = session.scalar(select(ApiKeyRow).where(ApiKeyRow.key_id == match.group(1)))
    digest = hashlib.sha256(match.group(2).encode()).hexdigest()
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.key_hash, digest):
        raise AuthenticationError("unknown or revoked API key")
    org = _organisation(session, row.org_id)
    scopes = frozenset(Scope(s) for s in row.scopes.split())
    return Caller(row.org_id, OrganisationKind(org.kind), org.country, scopes, f"key:{row.key_id}")
