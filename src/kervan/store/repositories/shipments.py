"""Booked shipments: the chosen plan, the parties and their roles, and what happened to the cargo.

A shipment is owned by the organisation that booked it; the parties (consignee, carriers,
guarantee chain) are rows beside it. Who may see a shipment is the services' decision: these
reads find a shipment by its id and say which roles an organisation holds in it; `visible`
filters in SQL by party and, for a customs authority, by the countries the route touches.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import ColumnElement, exists, or_, select
from sqlalchemy.orm import Session

from kervan.shipments.events import EventType, ShipmentEvent, ShipmentStatus
from kervan.store.tables import (
    ShipmentDocumentRow,
    ShipmentEventRow,
    ShipmentPartyRow,
    ShipmentRow,
)


@dataclasses.dataclass(frozen=True, slots=True)
class Shipment:
    """A booked shipment as stored: plan and cargo as JSON text, `countries` as " KZ AZ GE "
    (spaces around each code, so a country is found by " XX ")."""

    org_id: str
    id: str
    reference: str
    unit: str
    origin: str
    destination: str
    countries: str
    plan_key: str
    plan: str
    cargo: str
    status: str
    created_at: datetime
    updated_at: datetime


def _shipment(row: ShipmentRow) -> Shipment:
    return Shipment(
        org_id=row.org_id,
        id=row.id,
        reference=row.reference,
        unit=row.unit,
        origin=row.origin,
        destination=row.destination,
        countries=row.countries,
        plan_key=row.plan_key,
        plan=row.plan,
        cargo=row.cargo,
        status=row.status,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _event(row: ShipmentEventRow) -> ShipmentEvent:
    return ShipmentEvent(
        seq=row.seq,
        type=EventType(row.event_type),
        at=row.at,
        leg_index=row.leg_index,
        node=row.node,
        recorded_by=row.recorded_by,
        details=json.loads(row.details),
    )


class ShipmentRepository:
    """Shipments, their parties and their events."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, shipment: Shipment, parties: Iterable[tuple[str, str]]) -> None:
        """Store a new shipment and its parties as (organisation id, role)."""
        self._session.add(ShipmentRow(**dataclasses.asdict(shipment)))
        self._session.flush()
        for party_org_id, role in parties:
            self._session.add(
                ShipmentPartyRow(
                    org_id=shipment.org_id,
                    shipment_id=shipment.id,
                    party_org_id=party_org_id,
                    role=role,
                )
            )
        self._session.flush()

    def find(self, shipment_id: str) -> Shipment | None:
        """The shipment `shipment_id`, whoever booked it (None when there is none)."""
        row = self._session.scalars(
            select(ShipmentRow).where(ShipmentRow.id == shipment_id)
        ).one_or_none()
        return None if row is None else _shipment(row)

    def get(self, org_id: str, shipment_id: str) -> Shipment | None:
        """The shipment `shipment_id` booked by `org_id` (None when there is none)."""
        row = self._session.get(ShipmentRow, (org_id, shipment_id))
        return None if row is None else _shipment(row)

    def roles(self, shipment: Shipment, party_org_id: str) -> frozenset[str]:
        """The roles `party_org_id` holds in the shipment (empty when it is not a party)."""
        return frozenset(
            self._session.scalars(
                select(ShipmentPartyRow.role).where(
                    ShipmentPartyRow.org_id == shipment.org_id,
                    ShipmentPartyRow.shipment_id == shipment.id,
                    ShipmentPartyRow.party_org_id == party_org_id,
                )
            )
        )

    def parties(self, shipment: Shipment) -> list[tuple[str, str]]:
        """Every party of the shipment as (organisation id, role)."""
        rows = self._session.scalars(
            select(ShipmentPartyRow).where(
                ShipmentPartyRow.org_id == shipment.org_id,
                ShipmentPartyRow.shipment_id == shipment.id,
            )
        )
        return [(row.party_org_id, row.role) for row in rows]

    def role_holder(self, org_id: str, shipment_id: str, role: str) -> str | None:
        """The organisation holding `role` in shipment (`org_id`, `shipment_id`), if any."""
        return self._session.scalars(
            select(ShipmentPartyRow.party_org_id).where(
                ShipmentPartyRow.org_id == org_id,
                ShipmentPartyRow.shipment_id == shipment_id,
                ShipmentPartyRow.role == role,
            )
        ).first()

    def party_ids(self, org_id: str, shipment_id: str) -> set[str]:
        """Every organisation taking part in shipment (`org_id`, `shipment_id`)."""
        return set(
            self._session.scalars(
                select(ShipmentPartyRow.party_org_id).where(
                    ShipmentPartyRow.org_id == org_id,
                    ShipmentPartyRow.shipment_id == shipment_id,
                )
            )
        )

    def events(self, shipment: Shipment) -> list[ShipmentEvent]:
        """What happened to the cargo, in the order it was recorded."""
        rows = self._session.scalars(
            select(ShipmentEventRow)
            .where(
                ShipmentEventRow.org_id == shipment.org_id,
                ShipmentEventRow.shipment_id == shipment.id,
            )
            .order_by(ShipmentEventRow.seq)
        )
        return [_event(row) for row in rows]

    def add_event(
        self, shipment: Shipment, event: ShipmentEvent, status: ShipmentStatus, at: datetime
    ) -> None:
        """Store `event` and the shipment's new `status` (updated `at`)."""
        self._session.add(
            ShipmentEventRow(
                org_id=shipment.org_id,
                shipment_id=shipment.id,
                seq=event.seq,
                event_type=event.type.value,
                at=event.at,
                node=event.node,
                leg_index=event.leg_index,
                recorded_by=event.recorded_by,
                details=json.dumps(event.details, sort_keys=True),
            )
        )
        row = self._session.get(ShipmentRow, (shipment.org_id, shipment.id))
        assert row is not None  # read in this unit of work: the identity map holds it
        row.status = status.value
        row.updated_at = at
        self._session.flush()

    def visible(
        self, party_org_id: str, customs_country: str | None, offset: int, limit: int
    ) -> tuple[list[Shipment], int]:
        """Shipments `party_org_id` takes part in, and (for a customs authority of
        `customs_country`) those under way whose route touches that country: newest first, one
        page of them, and how many in all."""
        party = exists().where(
            ShipmentPartyRow.org_id == ShipmentRow.org_id,
            ShipmentPartyRow.shipment_id == ShipmentRow.id,
            ShipmentPartyRow.party_org_id == party_org_id,
        )
        shown: list[ColumnElement[bool]] = [party]
        if customs_country is not None:
            shown.append(
                ShipmentRow.countries.contains(f" {customs_country} ")
                & (ShipmentRow.status != ShipmentStatus.BOOKED.value)
            )
        query = select(ShipmentRow).where(or_(*shown))
        rows = list(
            self._session.scalars(
                query.order_by(ShipmentRow.created_at.desc(), ShipmentRow.id)
                .offset(offset)
                .limit(limit)
            )
        )
        total = len(list(self._session.scalars(query.with_only_columns(ShipmentRow.id))))
        return [_shipment(row) for row in rows], total

    def every(self) -> list[Shipment]:
        """Every shipment of the node, oldest first (the observatory's figures)."""
        rows = self._session.scalars(select(ShipmentRow).order_by(ShipmentRow.created_at))
        return [_shipment(row) for row in rows]

    def documents(self, shipment: Shipment) -> list[tuple[str, str]]:
        """The shipment's documents as (kind, document id), in id order."""
        rows = self._session.execute(
            select(ShipmentDocumentRow.kind, ShipmentDocumentRow.document_id)
            .where(
                ShipmentDocumentRow.org_id == shipment.org_id,
                ShipmentDocumentRow.shipment_id == shipment.id,
            )
            .order_by(ShipmentDocumentRow.document_id)
        ).all()
        return [(kind, document_id) for kind, document_id in rows]
