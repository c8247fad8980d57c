"""The corridor observatory as a use case: KPIs from the shipments this node has recorded.

Each shipment's recorded events (taken over, border arrival and release, delivered) become
corridor events on its plan's network places: departure at the origin, border queue and release
at each crossing, delivery at the destination, with the load from the cargo and the plan's P90 as
the on-time promise. An analyst sees every shipment's figures but no shipment itself.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from kervan.documents.kinds import ISSUED_KINDS
from kervan.errors import InvalidRequestError
from kervan.network.model import CargoUnit
from kervan.observatory.cpmm import CpmmIndicators, cpmm_csv_rows, cpmm_indicators
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
from kervan.observatory.montecarlo import Backend
from kervan.observatory.scenario import load_scenario
from kervan.observatory.targets import ScenarioTargets, assess_scenario
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
        units = (
            tonnes
            if plan.unit is CargoUnit.BULK
            else max(len(cargo.containers), 1)
            if plan.unit is CargoUnit.CONTAINER
            else 1.0
        )
        common = {
            "route_km": plan.totals.distance_km,
            "route_cost_usd": plan.totals.cost_usd * units,
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
) -> tuple[CorridorKpis, list[Baseline], CpmmIndicators]:
    """The corridor's KPIs from this node's records, beside the published baselines, and the
    CAREC CPMM indicators. Read-only."""
    with uow.for_reading():
        identify(uow, caller).require(Scope.OBSERVATORY)
        events = list(corridor_events(uow))
    network = uow.node.network
    kpis = compute_kpis(events, network)
    return kpis, compare_with_published(kpis, network), cpmm_indicators(events, network)


def kpis_report(uow: NodeUnitOfWork, caller: Who, command: KpiRequest) -> str | dict[str, object]:
    """The KPIs and the baseline comparison as CSV text (one figure a row) or as one JSON
    object."""
    kpis, baseline, cpmm = corridor_kpis(uow, caller)
    if command.format == "csv":
        return kpis_to_csv(kpis, baseline) + cpmm_csv_rows(cpmm)
    return {
        "kpis": json.loads(kpis.model_dump_json()),
        "baseline": [json.loads(row.model_dump_json()) for row in baseline],
        "cpmm": json.loads(cpmm.model_dump_json()),
    }


@dataclass(frozen=True, slots=True)
class TargetsRequest:
    """Which scenarios to assess against the 2030 targets, how many replications of how long.

    The defaults are what the web page shows: enough replications for an interval, short enough
    to answer in seconds on a laptop (said on the page)."""

    scenarios: tuple[str, ...] = ("baseline-2024", "corridor-2030")
    replications: int = 3
    years: float = 0.25
    seed: int = 0


_targets_lock = threading.Lock()
_targets_cache: dict[tuple[int, TargetsRequest], list[ScenarioTargets]] = {}


def targets_report(
    uow: NodeUnitOfWork, caller: Who, command: TargetsRequest
) -> list[ScenarioTargets]:
    """Each scenario against the 2030 freight targets (simulated once per process and request,
    then kept: the scenarios are shipped data and the network does not change under a node)."""
    if not 2 <= command.replications <= 20 or not 0 < command.years <= 2:
        raise InvalidRequestError("replications must be 2-20 and years above 0 and at most 2")
    with uow.for_reading():
        identify(uow, caller).require(Scope.OBSERVATORY)
    network = uow.node.network
    key = (id(network), command)
    with _targets_lock:
        cached = _targets_cache.get(key)
        if cached is None:
            cached = [
                assess_scenario(
                    load_scenario(name, network).with_years(command.years),
                    command.replications,
                    command.seed,
                    Backend.SEQUENTIAL,
                )
                for name in command.scenarios
            ]
            _targets_cache[key] = cached
        return cached
