"""Registering a member of the corridor on a node: an organisation, its address and its keys.

The node's administrator registers each organisation once (`kervan org create`, the demo
seed); the organisation gets fresh signing keys whose private halves stay in the node's key
files, and its public keys join the node's trust list. The administrator rotates an
organisation's document-signing key (`kervan org rotate-key`): what the old key signed before
stays valid, everything after is signed with the new one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from kervan.errors import NotFoundError
from kervan.services.access import Scope, Who, identify
from kervan.services.node import register_organisation
from kervan.store.repositories.organisations import Organisation, OrganisationAddress
from kervan.store.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class NewMember:
    """An organisation to register (its id, name, country, kind and registration time) and
    where it is."""

    organisation: Organisation
    address: OrganisationAddress


def register_member(uow: UnitOfWork, caller: Who, command: NewMember) -> Organisation:
    """Register the organisation with its address and fresh signing keys (the caller
    administers the node); ImmutableRecordError (409) when the id is taken."""
    with uow:
        identify(uow, caller).require(Scope.ADMIN)
        organisation = command.organisation
        stored = register_organisation(uow.session, uow.keys, organisation, organisation.created_at)
        uow.organisations.add_address(stored.id, command.address)
        return stored


@dataclass(frozen=True, slots=True)
class RotateSigningKey:
    """Give organisation `org_id` a new Ed25519 document-signing key."""

    org_id: str


@dataclass(frozen=True, slots=True)
class RotatedKey:
    """The new key, the keys it replaces, and from when each holds (whole seconds, as the
    trust list keeps validity)."""

    kid: str
    valid_from: datetime
    previous_kids: tuple[str, ...]
    previous_until: datetime


def rotate_signing_key(uow: UnitOfWork, caller: Who, command: RotateSigningKey) -> RotatedKey:
    """Give the organisation a fresh Ed25519 key (private half in the node's key files only),
    valid from the current second; its current Ed25519 keys stop signing at the next second,
    so what they signed before stays valid and every later step is signed with the new key.
    The caller administers the node; NotFoundError (404) for an organisation the node does not
    know or that holds no current key."""
    with uow:
        identify(uow, caller).require(Scope.ADMIN)
        org_id = command.org_id
        if uow.organisations.find(org_id) is None:
            raise NotFoundError("organisation", org_id)
        previous = uow.signing_keys.current_kids(org_id, "EdDSA")
        if not previous:
            raise NotFoundError("current signing key of organisation", org_id)
        clock = uow.clock().astimezone(UTC)
        now = clock.replace(microsecond=0)
        signer = uow.keys.generate(org_id, f"{org_id}-ed-{clock:%Y%m%d%H%M%S%f}")
        uow.signing_keys.add_signer(signer, not_before=now)
        until = now + timedelta(seconds=1)
        for kid in previous:
            uow.signing_keys.supersede(kid, at=until, org_ids=[org_id])
        return RotatedKey(signer.kid, now, tuple(previous), until)
