"""Registering a member of the corridor on a node: an organisation, its address and its keys.

The node's administrator registers each organisation once (`kervan org create`, the demo
seed); the organisation gets fresh signing keys whose private halves stay in the node's key
files, and its public keys join the node's trust list.
"""

from __future__ import annotations

from dataclasses import dataclass

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
