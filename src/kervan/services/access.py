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
from typing import TYPE_CHECKING, Any, Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

from kervan.errors import AuthenticationError, InvalidRequestError, NotFoundError, ScopeError
from kervan.services.node import NodeUnitOfWork
from kervan.store.repositories.credentials import Person
from kervan.store.repositories.organisations import Organisation, OrganisationKind

if TYPE_CHECKING:
    from kervan.store.uow import UnitOfWork


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


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a request presented: an `Authorization` header and/or an `X-API-Key`. A use case
    given credentials authenticates them in its own unit of work (`identify`)."""

    authorization: str | None = None
    api_key: str | None = None


#: Who calls a use case: a Caller already known (the command line, a page that identified its
#: person, tests), or the credentials of a request, checked inside the use case's transaction.
Who = Caller | Credentials


def node_operator(org_id: str, country: str) -> Caller:
    """The node's operator, as the administrator's command line acts (every admin scope)."""
    kind = OrganisationKind.ADMINISTRATOR
    return Caller(org_id, kind, country, KIND_SCOPES[kind], f"operator:{org_id}")


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


@dataclass(frozen=True, slots=True)
class NewCredential:
    """A client or an API key to create for `org_id`, with these scopes (None: every scope
    its kind allows)."""

    org_id: str
    scopes: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class NewPerson:
    """A person to register for `org_id`, who logs in with `username` and `password`."""

    org_id: str
    username: str
    password: str
    display_name: str


@dataclass(frozen=True, slots=True)
class RevokeCredential:
    """A client (by client id) or an API key (by key id) of `org_id` to revoke."""

    org_id: str
    identifier: str


@dataclass(frozen=True, slots=True)
class ClientToken:
    """OAuth2 client credentials, and the scopes asked for (None: all the client holds)."""

    client_id: str
    client_secret: str
    scopes: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class Login:
    username: str
    password: str


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """An access token, the scopes it carries and the caller it stands for."""

    access_token: str
    scopes: frozenset[Scope]
    caller: Caller


@dataclass(frozen=True, slots=True)
class SignedInPerson:
    """A person behind a web session: their names and the caller they act as."""

    username: str
    display_name: str
    org_name: str
    caller: Caller


def _organisation(uow: UnitOfWork, org_id: str) -> Organisation:
    found = uow.organisations.find(org_id)
    if found is None:
        raise NotFoundError("organisation", org_id)
    return found


def _administrator(caller: Caller) -> None:
    caller.require(Scope.ADMIN)


def create_client(uow: UnitOfWork, caller: Who, command: NewCredential) -> IssuedSecret:
    """A new OAuth2 client for the command's organisation (the caller administers the node);
    the secret is returned once and stored as argon2."""
    with uow:
        _administrator(identify(uow, caller))
        org = _organisation(uow, command.org_id)
        granted = allowed_scopes(org.kind, list(command.scopes) if command.scopes else None)
        client_id = f"{org.id[:40]}-{secrets.token_hex(6)}"
        secret = secrets.token_urlsafe(32)
        uow.credentials.add_client(
            org.id, client_id, _hasher.hash(secret), _scope_text(granted), uow.clock()
        )
        return IssuedSecret(client_id, secret, granted)


def create_api_key(uow: UnitOfWork, caller: Who, command: NewCredential) -> IssuedSecret:
    """A new API key `kvn_<id>_<secret>` for the command's organisation (the caller
    administers the node); only SHA-256 of the secret is stored."""
    with uow:
        _administrator(identify(uow, caller))
        org = _organisation(uow, command.org_id)
        granted = allowed_scopes(org.kind, list(command.scopes) if command.scopes else None)
        key_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        digest = hashlib.sha256(secret.encode()).hexdigest()
        uow.credentials.add_api_key(org.id, key_id, digest, _scope_text(granted), uow.clock())
        return IssuedSecret(key_id, f"kvn_{key_id}_{secret}", granted)


def create_user(uow: UnitOfWork, caller: Who, command: NewPerson) -> None:
    """A person who logs in for the command's organisation (the caller administers the node);
    the password is stored as argon2 only."""
    with uow:
        _administrator(identify(uow, caller))
        _organisation(uow, command.org_id)
        if len(command.password) < 12:
            raise InvalidRequestError("a password needs at least 12 characters")
        if not re.fullmatch(r"[a-z0-9._@-]{3,128}", command.username):
            raise InvalidRequestError("a username is 3-128 of a-z 0-9 . _ @ -")
        if uow.credentials.person_named(command.username) is not None:
            raise InvalidRequestError(f"username {command.username!r} is taken")
        person = Person(
            command.org_id,
            command.username,
            _hasher.hash(command.password),
            command.display_name,
            None,
        )
        uow.credentials.add_person(person, uow.clock())


def revoke_client(uow: UnitOfWork, caller: Who, command: RevokeCredential) -> None:
    """Revoke a client (the caller administers the node); its tokens stop working at their
    next use."""
    with uow:
        _administrator(identify(uow, caller))
        if not uow.credentials.revoke_client(command.org_id, command.identifier, uow.clock()):
            raise NotFoundError("client", command.identifier)


def revoke_api_key(uow: UnitOfWork, caller: Who, command: RevokeCredential) -> None:
    """Revoke an API key (the caller administers the node)."""
    with uow:
        _administrator(identify(uow, caller))
        if not uow.credentials.revoke_api_key(command.org_id, command.identifier, uow.clock()):
            raise NotFoundError("API key", command.identifier)


def _scope_text(scopes: frozenset[Scope]) -> str:
    return " ".join(sorted(s.value for s in scopes))


def _token(
    secret_key: str, subject: str, org_id: str, scopes: frozenset[Scope], at: datetime
) -> str:
    claims = {
        "iss": ISSUER,
        "sub": subject,
        "org": org_id,
        "scope": _scope_text(scopes),
        "iat": int(at.timestamp()),
        "exp": int((at + TOKEN_LIFETIME).timestamp()),
        "jti": secrets.token_hex(8),
    }
    return jwt.encode({"alg": "HS256"}, claims, OctKey.import_key(secret_key))


def client_credentials_token(uow: NodeUnitOfWork, command: ClientToken) -> IssuedToken:
    """Trade a client's credentials for an access token (public: the credentials are the
    proof); AuthenticationError for an unknown client, a wrong secret or a revoked client."""
    with uow.for_reading():
        found = uow.credentials.client(command.client_id)
        if (
            found is None
            or found.revoked_at is not None
            or not _password_ok(found.secret_hash, command.client_secret)
        ):
            raise AuthenticationError("unknown client, wrong secret or revoked client")
        held = frozenset(Scope(s) for s in found.scopes.split())
        asked = command.scopes
        granted = held if not asked else frozenset(Scope(s) for s in asked if s in held)
        if asked and len(granted) != len(set(asked)):
            raise ScopeError("the client does not hold every requested scope")
        org = _organisation(uow, found.org_id)
        subject = f"client:{command.client_id}"
        secret_key = uow.node.settings.secret_key_value()
        token = _token(secret_key, subject, org.id, granted, uow.clock())
        return IssuedToken(token, granted, Caller(org.id, org.kind, org.country, granted, subject))


def password_token(uow: NodeUnitOfWork, command: Login) -> IssuedToken:
    """Log a person in: an access token with every scope their organisation's kind allows
    (public: the password is the proof); AuthenticationError otherwise."""
    with uow.for_reading():
        person = uow.credentials.person_named(command.username)
        if (
            person is None
            or person.disabled_at is not None
            or not _password_ok(person.password_hash, command.password)
        ):
            raise AuthenticationError("unknown user or wrong password")
        org = _organisation(uow, person.org_id)
        granted = KIND_SCOPES[org.kind]
        subject = f"user:{command.username}"
        secret_key = uow.node.settings.secret_key_value()
        token = _token(secret_key, subject, org.id, granted, uow.clock())
        return IssuedToken(token, granted, Caller(org.id, org.kind, org.country, granted, subject))


def _password_ok(stored: str, given: str) -> bool:
    try:
        return _hasher.verify(stored, given)
    except (VerificationError, InvalidHashError):
        return False


def authenticate(uow: UnitOfWork, credentials: Credentials) -> Caller:
    """The caller behind a request's credentials, in a read-only unit of its own (use cases
    given Credentials do this inside their own transaction instead); AuthenticationError
    otherwise."""
    with uow.for_reading():
        return identify(uow, credentials)


def signed_in_person(uow: UnitOfWork, credentials: Credentials) -> SignedInPerson:
    """The person behind a web session's token, their names and the caller they act as;
    AuthenticationError when the token is refused."""
    with uow.for_reading():
        caller = identify(uow, credentials)
        username = caller.subject.removeprefix("user:")
        person = uow.credentials.person(caller.org_id, username)
        org = uow.organisations.find(caller.org_id)
        return SignedInPerson(
            username,
            person.display_name if person is not None else username,
            org.name if org is not None else caller.org_id,
            caller,
        )


def identify(uow: UnitOfWork, who: Who) -> Caller:
    """The caller of a use case, in its open unit of work: `who` itself when it is a Caller,
    else the caller its credentials prove (a Bearer token or an API key; AuthenticationError
    otherwise). A token is checked with the node's secret: only a node's unit of work has it."""
    if isinstance(who, Caller):
        return who
    if who.api_key:
        return _api_key_caller(uow, who.api_key)
    authorization = who.authorization
    if not authorization or not authorization.startswith("Bearer "):
        raise AuthenticationError("send Authorization: Bearer <token> or X-API-Key")
    if not isinstance(uow, NodeUnitOfWork):
        raise AuthenticationError("an access token is checked on the node that issued it")
    at = uow.clock()
    try:
        claims = dict(
            _verified_claims(authorization[7:].strip(), uow.node.settings.secret_key_value())
        )
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
        found = uow.credentials.client_caller(org_id, subject[7:])
        if found is None or found.revoked_at is not None:
            raise AuthenticationError("the client behind this token is revoked")
        kind, country = OrganisationKind(found.kind), found.country
    else:
        if subject.startswith("user:"):
            person = uow.credentials.person(org_id, subject[5:])
            if person is None or person.disabled_at is not None:
                raise AuthenticationError("the user behind this token is disabled")
        org = _organisation(uow, org_id)
        kind, country = org.kind, org.country
    scopes = frozenset(Scope(s) for s in str(claims.get("scope", "")).split() if s in _SCOPES)
    return Caller(org_id, kind, country, scopes, subject)


_SCOPES: Final = frozenset(s.value for s in Scope)


# bench/api.py: part of the signing work of 9c9a3dd (no separate figure was measured for it).
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


def _api_key_caller(uow: UnitOfWork, api_key: str) -> Caller:
    match = _API_KEY.match(api_key)
    if match is None:
        raise AuthenticationError("malformed API key")
    found = uow.credentials.api_key(match.group(1))
    digest = hashlib.sha256(match.group(2).encode()).hexdigest()
    if (
        found is None
        or found.revoked_at is not None
        or not hmac.compare_digest(found.secret_hash, digest)
    ):
        raise AuthenticationError("unknown or revoked API key")
    org = _organisation(uow, found.org_id)
    scopes = frozenset(Scope(s) for s in found.scopes.split())
    return Caller(found.org_id, org.kind, org.country, scopes, f"key:{found.identifier}")
