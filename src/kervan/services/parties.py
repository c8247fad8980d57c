"""An organisation as a party to the documents it signs or appears in (name, country, address)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kervan.documents.parties import Address, Party
from kervan.errors import InvalidRequestError

if TYPE_CHECKING:
    from kervan.store.uow import UnitOfWork


def party_of(uow: UnitOfWork, org_id: str) -> Party:
    """An organisation as a document party (name, country, address)."""
    org = uow.organisations.find(org_id)
    address = uow.organisations.address(org_id)
    if org is None or address is None:
        raise InvalidRequestError(
            f"organisation {org_id!r} is not registered on this node with an address"
        )
    return Party(
        id=org.id,
        name=org.name,
        country=org.country,
        address=Address(street=address.street, city=address.city, postcode=address.postcode),
    )
