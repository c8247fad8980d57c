"""Managing an organisation's credentials: making clients, API keys and people, revoking
clients and keys, disabling people, and logging a session out.

The node's administrator (the `admin` scope: its command line, an administrator organisation)
manages every organisation's credentials; an organisation manages its own with a credential made
with the `credentials` scope; another organisation's answers NotFoundError, as a missing one.
Revoking, disabling and logging out take effect at the next request: every token's subject and
id are looked up on every use (`services.access.identify`).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from kervan.errors import AuthenticationError, InvalidRequestError, NotFoundError
from kervan.services.access import (
    Caller,
    Credentials,
    Scope,
    Who,
    allowed_scopes,
    hash_secret,
    identify,
    organisation_of,
    scope_text,
    token_claims,
)
from kervan.services.node import NodeUnitOfWork
from kervan.store.repositories.credentials import Person
from kervan.store.uow import UnitOfWork


@dataclass(frozen=True)
class IssuedSecret:
    """A credential shown once at creation; only its hash is stored."""

    identifier: str
    secret: str
    scopes: frozenset[Scope]


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


def _administrator(caller: Caller) -> None:
    caller.require(Scope.ADMIN)


def create_client(uow: UnitOfWork, caller: Who, command: NewCredential) -> IssuedSecret:
    """A new OAuth2 client for the command's organisation (the caller administers the node);
    the secret is returned once and stored as argon2."""
    with uow:
        _administrator(identify(uow, caller))
        org = organisation_of(uow, command.org_id)
        granted = allowed_scopes(org.kind, list(command.scopes) if command.scopes else None)
        client_id = f"{org.id[:40]}-{secrets.token_hex(6)}"
        secret = secrets.token_urlsafe(32)
        uow.credentials.add_client(
            org.id, client_id, hash_secret(secret), scope_text(granted), uow.clock()
        )
        return IssuedSecret(client_id, secret, granted)


def create_api_key(uow: UnitOfWork, caller: Who, command: NewCredential) -> IssuedSecret:
    """A new API key `kvn_<id>_<secret>` for the command's organisation (the caller
    administers the node); only SHA-256 of the secret is stored."""
    with uow:
        _administrator(identify(uow, caller))
        org = organisation_of(uow, command.org_id)
        granted = allowed_scopes(org.kind, list(command.scopes) if command.scopes else None)
        key_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        digest = hashlib.sha256(secret.encode()).hexdigest()
        uow.credentials.add_api_key(org.id, key_id, digest, scope_text(granted), uow.clock())
        return IssuedSecret(key_id, f"kvn_{key_id}_{secret}", granted)


def create_user(uow: UnitOfWork, caller: Who, command: NewPerson) -> None:
    """A person who logs in for the command's organisation (the caller administers the node);
    the password is stored as argon2 only."""
    with uow:
        _administrator(identify(uow, caller))
        organisation_of(uow, command.org_id)
        if len(command.password) < 12:
            raise InvalidRequestError("a password needs at least 12 characters")
        if not re.fullmatch(r"[a-z0-9._@-]{3,128}", command.username):
            raise InvalidRequestError("a username is 3-128 of a-z 0-9 . _ @ -")
        if uow.credentials.person_named(command.username) is not None:
            raise InvalidRequestError(f"username {command.username!r} is taken")
        person = Person(
            command.org_id,
            command.username,
            hash_secret(command.password),
            command.display_name,
            None,
        )
        uow.credentials.add_person(person, uow.clock())


def manage_credentials(caller: Caller, org_id: str) -> None:
    """Allow the caller to manage `org_id`'s credentials: the node's administrator may for every
    organisation, a credential with the `credentials` scope for its own; another organisation
    answers NotFoundError (as if it did not exist), a missing scope ScopeError."""
    if Scope.ADMIN in caller.scopes:
        return
    if caller.org_id != org_id:
        raise NotFoundError("organisation", org_id)
    caller.require(Scope.CREDENTIALS)


def revoke_client(uow: UnitOfWork, caller: Who, command: RevokeCredential) -> None:
    """Revoke a client (see `manage_credentials` for who may); its tokens stop working at their
    next use."""
    with uow:
        manage_credentials(identify(uow, caller), command.org_id)
        if not uow.credentials.revoke_client(command.org_id, command.identifier, uow.clock()):
            raise NotFoundError("client", command.identifier)


def revoke_api_key(uow: UnitOfWork, caller: Who, command: RevokeCredential) -> None:
    """Revoke an API key (see `manage_credentials` for who may); it is refused from its next
    use."""
    with uow:
        manage_credentials(identify(uow, caller), command.org_id)
        if not uow.credentials.revoke_api_key(command.org_id, command.identifier, uow.clock()):
            raise NotFoundError("API key", command.identifier)


@dataclass(frozen=True, slots=True)
class DisablePerson:
    """A person of `org_id` who may no longer log in; their tokens stop working."""

    org_id: str
    username: str


def disable_person(uow: UnitOfWork, caller: Who, command: DisablePerson) -> None:
    """Disable a person (see `manage_credentials` for who may): their login is refused and
    every token they hold stops working at its next use."""
    with uow:
        manage_credentials(identify(uow, caller), command.org_id)
        if not uow.credentials.disable_person(command.org_id, command.username, uow.clock()):
            raise NotFoundError("user", command.username)


@dataclass(frozen=True, slots=True)
class LogOut:
    """End the session whose token the request presented (the caller's credentials)."""


def log_out(uow: NodeUnitOfWork, caller: Credentials, command: LogOut) -> None:
    """End the token the caller presented: it is refused from now on (until it would have
    expired anyway); AuthenticationError when it is not a working token of this node."""
    del command  # the token to end is the caller's own
    authorization = caller.authorization or ""
    if not authorization.startswith("Bearer "):
        raise AuthenticationError("log out with the session's Authorization: Bearer <token>")
    with uow:
        identify(uow, caller)
        claims = token_claims(uow, authorization[7:].strip())
        ends = datetime.fromtimestamp(int(claims["exp"]), UTC)
        uow.logins.revoke_token(str(claims["jti"]), ends, uow.clock())
