"""Who is calling and what they may do: clients, API keys, people, access tokens and scopes.

Machine clients trade their client id and secret (OAuth2 client credentials) for a short-lived
signed JWT access token with scopes; an API key works directly; a person logs in with a password
(argon2) for the web interface and gets the same kind of token. Scopes a credential may hold are
bounded by what its organisation's kind may do, when it is made and again on every use. Every
token's subject is looked up on every use: revoking a client or a key, disabling a person or
logging out stops its tokens at the next request. Wrong logins are throttled per account and per
source address (`services.throttle`).
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
from kervan.services import throttle
from kervan.services.node import NodeUnitOfWork
from kervan.store.repositories.credentials import StoredCredential
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
    #: Manage the organisation's own credentials (revoke its clients and keys, disable its
    #: people); any kind may hold it, but only when a client or key is made with it explicitly.
    CREDENTIALS = "credentials"


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
#: Scopes any organisation's credential may be given explicitly, beyond its kind's.
ANY_KIND_SCOPES: frozenset[Scope] = frozenset({_S.CREDENTIALS})
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
    #: The address the request came from: wrong credentials are throttled per address.
    source: str | None = None


#: Who calls a use case: a Caller already known (the command line, a page that identified its
#: person, tests), or the credentials of a request, checked inside the use case's transaction.
Who = Caller | Credentials


def node_operator(org_id: str, country: str) -> Caller:
    """The node's operator, as the administrator's command line acts (every admin scope)."""
    kind = OrganisationKind.ADMINISTRATOR
    return Caller(org_id, kind, country, KIND_SCOPES[kind], f"operator:{org_id}")


def allowed_scopes(kind: OrganisationKind, requested: list[str] | None) -> frozenset[Scope]:
    """The scopes to grant: all the kind allows, or the requested subset of those and of
    ANY_KIND_SCOPES (others refused)."""
    if not requested:
        return KIND_SCOPES[kind]
    allowed = KIND_SCOPES[kind] | ANY_KIND_SCOPES
    unknown = [s for s in requested if s not in {x.value for x in Scope}]
    if unknown:
        raise InvalidRequestError(f"unknown scopes: {', '.join(unknown)}")
    chosen = frozenset(Scope(s) for s in requested)
    if not chosen <= allowed:
        extra = ", ".join(sorted(s.value for s in chosen - allowed))
        raise InvalidRequestError(f"a {kind.value} may not hold: {extra}")
    return chosen


@dataclass(frozen=True, slots=True)
class ClientToken:
    """OAuth2 client credentials, and the scopes asked for (None: all the client holds)."""

    client_id: str
    client_secret: str
    scopes: tuple[str, ...] | None = None
    source: str | None = None


@dataclass(frozen=True, slots=True)
class Login:
    """A person's username and password, and the address they came from (throttled too)."""

    username: str
    password: str
    source: str | None = None


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


def organisation_of(uow: UnitOfWork, org_id: str) -> Organisation:
    """The organisation `org_id` (NotFoundError when the node has none)."""
    found = uow.organisations.find(org_id)
    if found is None:
        raise NotFoundError("organisation", org_id)
    return found


def scope_text(scopes: frozenset[Scope]) -> str:
    return " ".join(sorted(s.value for s in scopes))


def _token(
    secret_key: str, subject: str, org_id: str, scopes: frozenset[Scope], at: datetime
) -> str:
    claims = {
        "iss": ISSUER,
        "sub": subject,
        "org": org_id,
        "scope": scope_text(scopes),
        "iat": int(at.timestamp()),
        "exp": int((at + TOKEN_LIFETIME).timestamp()),
        "jti": secrets.token_hex(8),
    }
    return jwt.encode({"alg": "HS256"}, claims, OctKey.import_key(secret_key))


def client_credentials_token(uow: NodeUnitOfWork, command: ClientToken) -> IssuedToken:
    """Trade a client's credentials for an access token (public: the credentials are the
    proof); AuthenticationError for an unknown client, a wrong secret or a revoked client,
    TooManyAttemptsError after too many of those (see `services.throttle`)."""
    keys = throttle.login_keys("client", command.client_id, command.source)
    with uow:
        throttle.refuse_when_throttled(uow, keys)
        found = uow.credentials.client(command.client_id)
        if (
            found is None
            or found.revoked_at is not None
            or not _password_ok(found.secret_hash, command.client_secret)
        ):
            throttle.record_wrong_login(uow, keys)
            found = None
        else:
            throttle.record_right_login(uow, keys)
            issued = _client_token(uow, found, command)
    if found is None:  # raised once the wrong attempt is committed
        raise AuthenticationError("unknown client, wrong secret or revoked client")
    return issued


def _client_token(
    uow: NodeUnitOfWork, found: StoredCredential, command: ClientToken
) -> IssuedToken:
    held = frozenset(Scope(s) for s in found.scopes.split())
    asked = command.scopes
    granted = held if not asked else frozenset(Scope(s) for s in asked if s in held)
    if asked and len(granted) != len(set(asked)):
        raise ScopeError("the client does not hold every requested scope")
    org = organisation_of(uow, found.org_id)
    subject = f"client:{command.client_id}"
    secret_key = uow.node.settings.secret_key_value()
    token = _token(secret_key, subject, org.id, granted, uow.clock())
    return IssuedToken(token, granted, Caller(org.id, org.kind, org.country, granted, subject))


def password_token(uow: NodeUnitOfWork, command: Login) -> IssuedToken:
    """Log a person in: an access token with every scope their organisation's kind allows
    (public: the password is the proof); AuthenticationError otherwise, TooManyAttemptsError
    after too many wrong logins (see `services.throttle`)."""
    keys = throttle.login_keys("account", command.username, command.source)
    with uow:
        throttle.refuse_when_throttled(uow, keys)
        person = uow.credentials.person_named(command.username)
        if (
            person is None
            or person.disabled_at is not None
            or not _password_ok(person.password_hash, command.password)
        ):
            throttle.record_wrong_login(uow, keys)
            person = None
        else:
            throttle.record_right_login(uow, keys)
            org = organisation_of(uow, person.org_id)
            granted = KIND_SCOPES[org.kind]
            subject = f"user:{command.username}"
            secret_key = uow.node.settings.secret_key_value()
            token = _token(secret_key, subject, org.id, granted, uow.clock())
            caller = Caller(org.id, org.kind, org.country, granted, subject)
    if person is None:  # raised once the wrong attempt is committed
        raise AuthenticationError("unknown user or wrong password")
    return IssuedToken(token, granted, caller)


def hash_secret(secret: str) -> str:
    """The argon2 hash a client secret or a password is stored as."""
    return _hasher.hash(secret)


def _password_ok(stored: str, given: str) -> bool:
    try:
        return _hasher.verify(stored, given)
    except (VerificationError, InvalidHashError):
        return False


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
    otherwise). A token is checked with the node's secret: only a node's unit of work has it.

    On a node, every proven caller's request is counted against its own rate, and every refused
    one against its address's: TooManyAttemptsError when either runs out.
    """
    if isinstance(who, Caller):
        return who
    bucket = uow.node.request_rate if isinstance(uow, NodeUnitOfWork) else None
    try:
        caller = _proven_caller(uow, who)
    except AuthenticationError:
        if who.source is not None:
            throttle.take_request(bucket, f"address:{who.source}")
        raise
    throttle.take_request(bucket, caller.subject)
    return caller


def _proven_caller(uow: UnitOfWork, who: Credentials) -> Caller:
    if who.api_key is not None and who.authorization is not None:
        # Two credentials, one maybe forged: the request proves nothing until it picks one.
        raise AuthenticationError("send one credential: Authorization or X-API-Key, not both")
    if who.api_key:
        return _api_key_caller(uow, who.api_key)
    authorization = who.authorization
    if not authorization or not authorization.startswith("Bearer "):
        raise AuthenticationError("send Authorization: Bearer <token> or X-API-Key")
    if not isinstance(uow, NodeUnitOfWork):
        raise AuthenticationError("an access token is checked on the node that issued it")
    claims = token_claims(uow, authorization[7:].strip())
    subject, org_id, jti = str(claims["sub"]), str(claims.get("org", "")), str(claims["jti"])
    # Every subject is looked up on every use (a token names a client or a person of this node,
    # nothing else), so revoking, disabling and logging out apply at once.
    if subject.startswith("client:"):
        # The client and its organisation in one read: a token of a revoked client is refused.
        found = uow.credentials.client_caller(org_id, subject[7:], jti)
        if found is None or found.revoked_at is not None:
            raise AuthenticationError("the client behind this token is unknown or revoked")
        if found.token_revoked:
            raise AuthenticationError("this token was ended by logging out")
        kind, country = OrganisationKind(found.kind), found.country
    elif subject.startswith("user:"):
        person = uow.credentials.person(org_id, subject[5:])
        org = uow.organisations.find(org_id)
        if person is None or person.disabled_at is not None or org is None:
            raise AuthenticationError("the person behind this token is unknown or disabled")
        if uow.logins.token_revoked(jti):
            raise AuthenticationError("this token was ended by logging out")
        kind, country = org.kind, org.country
    else:
        raise AuthenticationError("the token names no client or person of this node")
    # A token carries at most what its organisation's kind may hold, whatever it claims.
    allowed = KIND_SCOPES[kind] | ANY_KIND_SCOPES
    claimed = str(claims.get("scope", "")).split()
    scopes = frozenset(Scope(s) for s in claimed if s in _SCOPES) & allowed
    return Caller(org_id, kind, country, scopes, subject)


def token_claims(uow: NodeUnitOfWork, token: str) -> dict[str, Any]:
    """The claims of an access token of this node: signed with its secret, issued by it, not
    expired, naming a subject and an id (`jti`); AuthenticationError otherwise."""
    at = uow.clock()
    try:
        claims = dict(_verified_claims(token, uow.node.settings.secret_key_value()))
        jwt.JWTClaimsRegistry(
            now=int(at.timestamp()),
            iss={"essential": True, "value": ISSUER},
            exp={"essential": True},
            sub={"essential": True},
            jti={"essential": True},
        ).validate(claims)
    except (JoseError, ValueError) as exc:
        raise AuthenticationError(f"access token refused: {exc}") from None
    return claims


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
    org = organisation_of(uow, found.org_id)
    allowed = KIND_SCOPES[org.kind] | ANY_KIND_SCOPES
    scopes = frozenset(Scope(s) for s in found.scopes.split() if s in _SCOPES) & allowed
    return Caller(found.org_id, org.kind, org.country, scopes, f"key:{found.identifier}")
