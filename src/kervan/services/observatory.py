"""The corridor observatory as a use case: KPIs from the shipments this node has recorded.

Each shipment's recorded events (taken over, border arrival and release, delivered) become
corridor events on its plan's network places: departure at the origin, border queue and release
at each crossing, delivery at the destination, with the load from the cargo and the plan's P90 as
the on-time promise. An analyst sees every shipment's figures but no shipment itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from kervan.documents.kinds import ISSUED_KINDS
from kervan.observatory.events import CorridorEvent
from kervan.observatory.events import EventType as CorridorEventType
from kervan.observatory.kpis import (
    BaselineRow as Baseline,
)
from kervan.observatory.kpis import (
    CorridorKpis,
    compare_with_published,
    compute_kpis,
    kpis_to_csv,
)
from kervan.routing.plan import Plan
from kervan.services.access import Scope, Who, identify
from kervan.shipments.booking import Cargo
from kervan.shipments.events import EventType

if TYPE_CHECKING:
    from kervan.services.node import NodeUnitOfWork
    from kervan.store.uow import UnitOfWork

DIGITAL = frozenset(ISSUED_KINDS)


@dataclass(frozen=True, slots=True)
class KpiRequest:
    """Which figures to give: the KPIs and baselines as JSON, or as CSV."""

    format: Literal["json", "csv"] = "json"


def corridor_events(uow: UnitOfWork) -> Iterator[CorridorEvent]:
    """Every recorded shipment event of the node as a corridor event (in an open unit of
    work)."""
    for row in uow.shipments.every():
        plan = Plan.model_validate_json(row.plan)
        cargo = Cargo.model_validate_json(row.cargo)
        tonnes = float(sum(g.gross_weight_kg for g in cargo.goods)) / 1000.0
        teu = 2.0 * len(cargo.containers)
        kinds = {kind for kind, _ in uow.shipments.documents(row)}
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
        for event in uow.shipments.events(row):
            kind = event.type
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
    uow: NodeUnitOfWork, caller: Who, _: None = None
) -> tuple[CorridorKpis, list[Baseline]]:
    """The corridor's KPIs from this node's records, beside the published baselines.
    Read-only."""
    with uow.for_reading():
        identify(uow, caller).require(Scope.OBSERVATORY)
        events = list(corridor_events(uow))
    network = uow.node.network
    kpis = compute_kpis(events, network)
    return kpis, compare_with_published(kpis, network)


def kpis_report(uow: NodeUnitOfWork, caller: Who, command: KpiRequest) -> str | dict[str, object]:
    """The KPIs and the baseline comparison as CSV text (one figure a row) or as one JSON
    object."""
    kpis, baseline = corridor_kpis(uow, caller)
    if command.format == "csv":
        return kpis_to_csv(kpis, baseline)
    return {
        "kpis": json.loads(kpis.model_dump_json()),
        "baseline": [json.loads(row.model_dump_json()) for row in baseline],
    }
