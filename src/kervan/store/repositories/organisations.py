"""Organisations using the node: who they are and what kind of party they act as."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from kervan.documents.parties import check_country_code
from kervan.errors import ImmutableRecordError, InvalidRequestError, NotFoundError
from kervan.store.repositories._common import visible
from kervan.store.tables import OrganisationAddressRow, OrganisationRow


class OrganisationKind(StrEnum):
    """What an organisation does on the corridor; decides which steps it may take."""

    SHIPPER = "shipper"
    FORWARDER = "forwarder"
    CARRIER = "carrier"
    CONSIGNEE = "consignee"
    CUSTOMS_AUTHORITY = "customs_authority"
    PERMIT_AUTHORITY = "permit_authority"
    GUARANTEE_CHAIN = "guarantee_chain"
    ANALYST = "analyst"
    ADMINISTRATOR = "administrator"


@dataclasses.dataclass(frozen=True, slots=True)
class Organisation:
    """An organisation: id (also its party id in signatures), name, ISO country, kind."""

    id: str
    name: str
    country: str
    kind: OrganisationKind
    created_at: datetime


@dataclasses.dataclass(frozen=True, slots=True)
class OrganisationAddress:
    """Where an organisation is (for the documents it is a party to)."""

    street: str
    city: str
    postcode: str | None


def _record(row: OrganisationRow) -> Organisation:
    return Organisation(row.id, row.name, row.country, OrganisationKind(row.kind), row.created_at)


class OrganisationRepository:
    """Reads and writes organisations; reads see only the caller's organisations."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, organisation: Organisation) -> Organisation:
        """Store a new organisation; raise ImmutableRecordError if the id is taken."""
        if not organisation.id or not organisation.name:
            raise InvalidRequestError("an organisation needs an id and a name")
        try:
            country = check_country_code(organisation.country)
        except ValueError as exc:
            raise InvalidRequestError(str(exc)) from exc
        if self._session.get(OrganisationRow, organisation.id) is not None:
            raise ImmutableRecordError(f"organisation {organisation.id!r} already exists")
        row = OrganisationRow(
            id=organisation.id,
            name=organisation.name,
            country=country,
            kind=OrganisationKind(organisation.kind).value,
            created_at=organisation.created_at,
        )
        self._session.add(row)
        self._session.flush()
        return _record(row)

    def add_address(self, org_id: str, address: OrganisationAddress) -> None:
        """Store where organisation `org_id` is (once, when it is registered)."""
        self._session.add(
            OrganisationAddressRow(
                org_id=org_id, street=address.street, city=address.city, postcode=address.postcode
            )
        )
        self._session.flush()

    def get(self, org_id: str, *, org_ids: Collection[str]) -> Organisation:
        """Return organisation `org_id` if it is one of the caller's; else NotFoundError."""
        row = self._session.scalars(
            select(OrganisationRow).where(
                OrganisationRow.id == org_id, OrganisationRow.id.in_(visible(org_ids))
            )
        ).one_or_none()
        if row is None:
            raise NotFoundError("organisation", org_id)
        return _record(row)

    def find(self, org_id: str) -> Organisation | None:
        """Organisation `org_id` as the node knows it (for the node's own decisions: who a
        party is, what kind of party; callers' reads go through `get`)."""
        row = self._session.get(OrganisationRow, org_id)
        return None if row is None else _record(row)

    def address(self, org_id: str) -> OrganisationAddress | None:
        row = self._session.get(OrganisationAddressRow, org_id)
        return None if row is None else OrganisationAddress(row.street, row.city, row.postcode)

    def of_kinds(self, kinds: Collection[OrganisationKind]) -> list[Organisation]:
        """Every organisation of `kinds`, by name (the node's directory of parties)."""
        rows = self._session.scalars(
            select(OrganisationRow)
            .where(OrganisationRow.kind.in_([OrganisationKind(k).value for k in kinds]))
            .order_by(OrganisationRow.name)
        )
        return [_record(row) for row in rows]

    def names(self, org_ids: Collection[str]) -> dict[str, str]:
        """The names of organisations `org_ids`, by id (unknown ids are left out)."""
        rows = self._session.execute(
            select(OrganisationRow.id, OrganisationRow.name).where(
                OrganisationRow.id.in_(sorted(org_ids))
            )
        )
        return {row.id: row.name for row in rows}

    def first_of_kind_in(self, kind: OrganisationKind, country: str) -> str | None:
        """The id of an organisation of `kind` in `country` (a country's customs authority)."""
        return self._session.scalars(
            select(OrganisationRow.id).where(
                OrganisationRow.country == country, OrganisationRow.kind == kind.value
            )
        ).first()
