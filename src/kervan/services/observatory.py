"""The corridor observatory as a use case: KPIs from the shipments this node has recorded.

Each shipment's recorded events (taken over, border arrival and release, delivered) become
corridor events on its plan's network places: departure at the origin, border queue and release
at each crossing, delivery at the destination, with the load from the cargo and the plan's P90 as
the on-time promise. An analyst sees every shipment's figures but no shipment itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from kervan.documents.kinds import ISSUED_KINDS
from kervan.observatory.events import CorridorEvent
from kervan.observatory.events import EventType as CorridorEventType
from kervan.observatory.kpis import (
    BaselineRow,
    CorridorKpis,
    compare_with_published,
    compute_kpis,
    kpis_to_csv,
)
from kervan.routing.plan import Plan
from kervan.services.access import Caller, Scope
from kervan.services.node import NodeContext
from kervan.shipments.booking import Cargo
from kervan.shipments.events import EventType
from kervan.store.tables import ShipmentDocumentRow, ShipmentEventRow, ShipmentRow

DIGITAL = frozenset(ISSUED_KINDS)


def corridor_events(session: Session) -> Iterator[CorridorEvent]:
    """Every recorded shipment event of the node as a corridor event."""
    for row in session.scalars(select(ShipmentRow).order_by(ShipmentRow.created_at)):
        plan = Plan.model_validate_json(row.plan)
        cargo = Cargo.model_validate_json(row.cargo)
        tonnes = float(sum(g.gross_weight_kg for g in cargo.goods)) / 1000.0
        teu = 2.0 * len(cargo.containers)
        kinds = set(
            session.scalars(
                select(ShipmentDocumentRow.kind).where(
                    ShipmentDocumentRow.org_id == row.org_id,
                    ShipmentDocumentRow.shipment_id == row.id,
                )
            )
        )
        common = {
            "shipment_id": row.id,
            "origin": row.origin,
            "destination": row.destination,
            "unit": plan.unit,
            "teu": teu,
            "tonnes": tonnes,
            "planned_p90_hours": plan.totals.hours_p90,
            "digital_documents": bool(kinds & DIGITAL),
        }
        events = session.scalars(
            select(ShipmentEventRow)
            .where(ShipmentEventRow.org_id == row.org_id, ShipmentEventRow.shipment_id == row.id)
            .order_by(ShipmentEventRow.seq)
        )
        for event in events:
            kind = EventType(event.event_type)
            if kind is EventType.TAKEN_OVER:
                first = plan.legs[0]
                yield CorridorEvent(
                    **common,
                    event=CorridorEventType.DEPARTED,
                    at=event.at,
                    node=first.from_node,
                    link=first.link_id,
                    mode=first.mode,
                )
            elif kind is EventType.DELIVERED:
                yield CorridorEvent(
                    **common, event=CorridorEventType.DELIVERED, at=event.at, node=plan.destination
                )
            elif event.leg_index is not None:
                leg = plan.legs[event.leg_index]
                assert leg.border is not None
                yield CorridorEvent(
                    **common,
                    event=CorridorEventType(kind.value),
                    at=event.at,
                    node=leg.to_node,
                    crossing=leg.border.crossing_id,
                    mode=leg.mode,
                )


def corridor_kpis(
    ctx: NodeContext, session: Session, caller: Caller
) -> tuple[CorridorKpis, list[BaselineRow]]:
    """The corridor's KPIs from this node's records, beside the published baselines."""
    caller.require(Scope.OBSERVATORY)
    events = list(corridor_events(session))
    kpis = compute_kpis(events, ctx.network)
    return kpis, compare_with_published(kpis, ctx.network)


def kpis_csv(ctx: NodeContext, session: Session, caller: Caller) -> str:
    """The KPIs and the baseline comparison as CSV (one figure a row)."""
    kpis, baseline = corridor_kpis(ctx, session, caller)
    return kpis_to_csv(kpis, baseline)


def kpis_json(ctx: NodeContext, session: Session, caller: Caller) -> dict[str, object]:
    """The KPIs and the baseline comparison as one JSON object."""
    kpis, baseline = corridor_kpis(ctx, session, caller)
    return {
        "kpis": json.loads(kpis.model_dump_json()),
        "baseline": [json.loads(row.model_dump_json()) for row in baseline],
    }
