"""What the customs corridor reads and keeps: the shipment as customs needs it, the pre-arrival
declarations and control results each customs authority received, and the crossings the trade
side records on its shipment's timeline.

Declarations and controls are keyed by the authority that holds them (`org_id`): several
authorities share one store on one node, and a national node keeps only its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kervan.customs.declaration import DeclarationVersion, PreArrivalDeclaration
from kervan.customs.recognition import ControlResult
from kervan.store.repositories.organisations import OrganisationKind
from kervan.store.tables import (
    BorderControlRow,
    BorderDeclarationRow,
    CustomsCrossingRow,
    OrganisationRow,
)


@dataclass(frozen=True, slots=True)
class Crossing:
    """A crossing into a customs authority's country, as that customs records it."""

    shipment: str
    leg_index: int
    country: str
    reference: str
    entry_node: str
    entry_name: str
    expected_at: datetime | None
    arrived_at: datetime | None = None
    released_at: datetime | None = None


class CustomsRepository:
    """The customs corridor's reads and writes in one unit of work."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def customs_country(self, org_id: str) -> str | None:
        """The country of `org_id` if it is a customs authority registered here, else None."""
        org = self._session.get(OrganisationRow, org_id)
        if org is None or org.kind != OrganisationKind.CUSTOMS_AUTHORITY.value:
            return None
        return org.country

    def customs_authority(self, country: str) -> str | None:
        """The customs authority of `country` registered in this store, or None."""
        return self._session.scalars(
            select(OrganisationRow.id)
            .where(
                OrganisationRow.kind == OrganisationKind.CUSTOMS_AUTHORITY.value,
                OrganisationRow.country == country,
            )
            .order_by(OrganisationRow.created_at, OrganisationRow.id)
        ).first()

    # -- what a customs authority received ---------------------------------------------------

    def declaration(self, org_id: str, shipment_id: str) -> PreArrivalDeclaration | None:
        """Every version of the shipment's declaration `org_id` holds, or None."""
        rows = self._session.scalars(
            select(BorderDeclarationRow.body)
            .where(
                BorderDeclarationRow.org_id == org_id,
                BorderDeclarationRow.shipment_id == shipment_id,
            )
            .order_by(BorderDeclarationRow.version)
        ).all()
        if not rows:
            return None
        versions = tuple(DeclarationVersion.model_validate_json(body) for body in rows)
        return PreArrivalDeclaration(versions=versions)

    def declarations(
        self, org_id: str, shipment_ids: Sequence[str]
    ) -> dict[str, PreArrivalDeclaration]:
        """The declarations `org_id` holds of these shipments, by shipment (one query)."""
        if not shipment_ids:
            return {}
        rows = self._session.execute(
            select(BorderDeclarationRow.shipment_id, BorderDeclarationRow.body)
            .where(
                BorderDeclarationRow.org_id == org_id,
                BorderDeclarationRow.shipment_id.in_(sorted(set(shipment_ids))),
            )
            .order_by(BorderDeclarationRow.shipment_id, BorderDeclarationRow.version)
        ).all()
        versions: dict[str, list[DeclarationVersion]] = {}
        for shipment_id, body in rows:
            versions.setdefault(shipment_id, []).append(
                DeclarationVersion.model_validate_json(body)
            )
        return {s: PreArrivalDeclaration(versions=tuple(v)) for s, v in versions.items()}

    def add_declaration(
        self, org_id: str, version: DeclarationVersion, lodged_by: str, at: datetime
    ) -> None:
        """Keep a version of a declaration `org_id` received from `lodged_by` at `at`."""
        self._session.add(
            BorderDeclarationRow(
                org_id=org_id,
                shipment_id=version.content.shipment,
                version=version.number,
                lodged_by=lodged_by,
                body=version.model_dump_json(),
                lodged_at=version.lodged_at,
                received_at=at,
            )
        )
        self._session.flush()

    def control(self, org_id: str, shipment_id: str, country: str) -> ControlResult | None:
        """`country`'s control of the shipment as `org_id` holds it, or None."""
        row = self._session.get(BorderControlRow, (org_id, shipment_id, country))
        return None if row is None else ControlResult.model_validate_json(row.body)

    def controls(self, org_id: str, shipment_id: str) -> list[ControlResult]:
        """The control results `org_id` holds for the shipment, oldest first."""
        rows = self._session.scalars(
            select(BorderControlRow.body)
            .where(BorderControlRow.org_id == org_id, BorderControlRow.shipment_id == shipment_id)
            .order_by(BorderControlRow.controlled_at)
        )
        return [ControlResult.model_validate_json(body) for body in rows]

    def controls_of(
        self, org_id: str, shipment_ids: Sequence[str]
    ) -> dict[str, list[ControlResult]]:
        """The control results `org_id` holds for these shipments, oldest first (one query)."""
        if not shipment_ids:
            return {}
        rows = self._session.execute(
            select(BorderControlRow.shipment_id, BorderControlRow.body)
            .where(
                BorderControlRow.org_id == org_id,
                BorderControlRow.shipment_id.in_(sorted(set(shipment_ids))),
            )
            .order_by(BorderControlRow.controlled_at)
        ).all()
        out: dict[str, list[ControlResult]] = {}
        for shipment_id, body in rows:
            out.setdefault(shipment_id, []).append(ControlResult.model_validate_json(body))
        return out

    def add_control(self, org_id: str, control: ControlResult, sent_by: str, at: datetime) -> None:
        """Keep a control result (one per country and shipment) `org_id` received or signed."""
        self._session.add(
            BorderControlRow(
                org_id=org_id,
                shipment_id=control.shipment,
                country=control.country,
                sent_by=sent_by,
                body=control.model_dump_json(),
                controlled_at=control.at,
                received_at=at,
            )
        )
        self._session.flush()

    def lodged_by(self, org_id: str, shipment_id: str) -> str | None:
        """Who lodged the shipment's declaration `org_id` holds (the trade side), or None."""
        return self._session.scalars(
            select(BorderDeclarationRow.lodged_by)
            .where(
                BorderDeclarationRow.org_id == org_id,
                BorderDeclarationRow.shipment_id == shipment_id,
            )
            .order_by(BorderDeclarationRow.version)
        ).first()

    # -- the crossings a customs authority records --------------------------------------------

    def add_crossing(self, org_id: str, crossing: Crossing) -> None:
        """Keep a crossing `org_id` expects (from a pre-arrival declaration)."""
        self._session.add(
            CustomsCrossingRow(
                org_id=org_id,
                shipment_id=crossing.shipment,
                leg_index=crossing.leg_index,
                country=crossing.country,
                reference=crossing.reference,
                entry_node=crossing.entry_node,
                entry_name=crossing.entry_name,
                expected_at=crossing.expected_at,
                arrived_at=crossing.arrived_at,
                released_at=crossing.released_at,
            )
        )
        self._session.flush()

    def crossing(self, org_id: str, shipment_id: str, leg_index: int) -> Crossing | None:
        """The crossing on `leg_index` of the shipment as `org_id` records it, or None."""
        row = self._session.get(CustomsCrossingRow, (org_id, shipment_id, leg_index))
        return None if row is None else _crossing(row)

    def open_crossings(self, org_id: str, limit: int) -> list[Crossing]:
        """`org_id`'s crossings not released yet, the earliest expected first."""
        rows = self._session.scalars(
            select(CustomsCrossingRow)
            .where(CustomsCrossingRow.org_id == org_id, CustomsCrossingRow.released_at.is_(None))
            .order_by(
                CustomsCrossingRow.expected_at,
                CustomsCrossingRow.shipment_id,
                CustomsCrossingRow.leg_index,
            )
            .limit(limit)
        )
        return [_crossing(row) for row in rows]

    def mark_crossing(
        self,
        org_id: str,
        shipment_id: str,
        leg_index: int,
        *,
        arrived_at: datetime | None = None,
        released_at: datetime | None = None,
    ) -> None:
        """Record the arrival or the release of a crossing `org_id` holds."""
        row = self._session.get(CustomsCrossingRow, (org_id, shipment_id, leg_index))
        if row is None:
            return
        if arrived_at is not None:
            row.arrived_at = arrived_at
        if released_at is not None:
            row.released_at = released_at
        self._session.flush()


def _crossing(row: CustomsCrossingRow) -> Crossing:
    return Crossing(
        shipment=row.shipment_id,
        leg_index=row.leg_index,
        country=row.country,
        reference=row.reference,
        entry_node=row.entry_node,
        entry_name=row.entry_name,
        expected_at=row.expected_at,
        arrived_at=row.arrived_at,
        released_at=row.released_at,
    )
