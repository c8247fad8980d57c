"""What a replication measured: per-flow transit, resources' use and queues, route choice,
refused demand and offered load, built from the run's tallies."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import simpy
from pydantic import BaseModel, ConfigDict

from kervan.observatory.demand import HOURS_PER_YEAR
from kervan.observatory.kpis import TimeStat, time_stat
from kervan.observatory.model import Cause, CompiledScenario
from kervan.observatory.resources import (
    EPS,
    DailyQuota,
    LocomotivePool,
    SailingLine,
    Usage,
    Window,
)
from kervan.observatory.scenario import ResourceKind, Scenario


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class OdResult(_Out):
    """Transit of one flow's delivered shipments, beside its reference (today's) P50."""

    flow: str
    origin: str
    destination: str
    unit: str
    tonnes_per_year: float
    delivered: int
    p50: float
    p90: float
    mean: float
    reference_p50: float
    corridor_p50: float | None  # P50 of the shipments that took a Trans-Caspian route
    corridor_flow: bool  # the flow's route today crosses the Caspian from a Kazakh port


class ResourceResult(_Out):
    """Utilisation (per day, or per sailing), queue lengths and waits of one resource."""

    id: str
    kind: str
    unit: str
    capacity: float
    basis: str  # "day", "sailing" or "locomotives"
    utilisation_mean: float
    utilisation_peak: float
    queue_mean: float
    queue_max: float
    wait_hours_per_year: float
    served: int
    utilisation: tuple[float, ...]
    sources: dict[str, str]


class RouteShare(_Out):
    """Tonnes a year of a flow that chose one route (`preferred`: the planner's fastest)."""

    flow: str
    route: str
    tonnes_per_year: float
    preferred: bool


class Load(_Out):
    """Demand offered to a capacity (what shipments asked of it, refused ones included) against
    what it can carry, both per year in the capacity's unit."""

    id: str
    unit: str
    offered_per_year: float
    capacity_per_year: float


class ReplicationResult(_Out):
    """Everything one replication measured (per year of the measured window)."""

    scenario: str
    seed: int
    years: float
    created: int
    delivered: int
    in_system: int
    throughput_tonnes_per_year: float
    throughput_teu_per_year: float
    titr_tonnes_per_year: float
    titr_teu_per_year: float
    od: tuple[OdResult, ...]
    border_dwell: tuple[TimeStat, ...]
    hours_by_cause: dict[str, float]  # per delivered shipment
    link_tonnes_per_year: dict[str, float]
    resources: tuple[ResourceResult, ...]
    scale: float
    refused: int
    refused_tonnes_per_year: float
    refused_at: dict[str, float]  # t/year by the place that queued longest
    refused_by_flow: dict[str, float]  # t/year
    routes: tuple[RouteShare, ...]
    diverted_tonnes_per_year: float  # chose another route than the planner's fastest
    ferry_wait_max_hours: float
    port_teu_per_year: dict[str, float]  # containers sailed from or to each port
    loads: tuple[Load, ...]
    openings: dict[str, int] = {}  # the opening year each uncertain opening drew


@dataclass
class Tally:
    window: Window
    created: int = 0
    delivered: int = 0
    tonnes: float = 0.0
    teu: float = 0.0
    titr_tonnes: float = 0.0
    titr_teu: float = 0.0
    transit: dict[int, list[float]] = field(default_factory=dict)
    corridor_transit: dict[int, list[float]] = field(default_factory=dict)
    border: dict[str, list[float]] = field(default_factory=dict)
    causes: np.ndarray = field(default_factory=lambda: np.zeros(len(Cause)))
    causes_n: int = 0
    links: dict[str, float] = field(default_factory=dict)
    refused: int = 0
    refused_at: dict[str, float] = field(default_factory=dict)
    refused_flow: dict[int, float] = field(default_factory=dict)
    chosen: dict[tuple[int, int], float] = field(default_factory=dict)
    offered: dict[str, float] = field(default_factory=dict)
    ferry_wait_max: float = 0.0
    port_teu: dict[str, float] = field(default_factory=dict)


@dataclass
class Runtime:
    env: simpy.Environment
    compiled: CompiledScenario
    quotas: list[DailyQuota]
    lines: list[SailingLine]
    pools: list[LocomotivePool]
    tally: Tally
    # (link, flow id) -> what one shipment of the flow takes up on a sailing of the link
    sailing_amounts: dict[tuple[str, str], float] = field(default_factory=dict)


def build_result(rt: Runtime, scenario: Scenario, seed: int) -> ReplicationResult:
    tally, window, compiled = rt.tally, rt.tally.window, rt.compiled
    years = (window.end - window.start) / HOURS_PER_YEAR
    od: list[OdResult] = []
    for index, route in enumerate(compiled.flows):
        hours = tally.transit.get(index, [])
        stat = time_stat(route.flow.id, hours) if hours else None
        corridor = tally.corridor_transit.get(index, [])
        od.append(
            OdResult(
                flow=route.flow.id,
                origin=route.flow.origin,
                destination=route.flow.destination,
                unit=route.flow.unit.value,
                tonnes_per_year=route.per_year * compiled.scale * route.size.tonnes,
                delivered=len(hours),
                p50=stat.p50 if stat else math.nan,
                p90=stat.p90 if stat else math.nan,
                mean=stat.mean if stat else math.nan,
                reference_p50=route.reference_p50_hours,
                corridor_p50=float(np.median(corridor)) if corridor else None,
                corridor_flow=route.titr,
            )
        )
    resources: list[ResourceResult] = []
    for spec, quota in zip(compiled.quotas, rt.quotas, strict=True):
        basis = "day"
        resources.append(
            _resource(
                spec.id,
                spec.kind,
                spec.unit.value,
                spec.daily_capacity,
                basis,
                quota.usage(window),
                years,
                spec.sources,
            )
        )
    for spec, pool in zip(compiled.pools, rt.pools, strict=True):
        peak = pool.peak_in_use() / pool.count  # at any instant, not only the daily mean
        resources.append(
            _resource(
                spec.id,
                spec.kind,
                "locomotives",
                float(pool.count),
                "locomotives",
                pool.usage(window),
                years,
                spec.sources,
                peak,
            )
        )
    resources.extend(_sailing_results(rt, window, years))
    n = max(tally.causes_n, 1)
    return ReplicationResult(
        scenario=scenario.id,
        seed=seed,
        years=years,
        created=tally.created,
        delivered=tally.delivered,
        in_system=tally.created - tally.delivered - tally.refused,
        throughput_tonnes_per_year=tally.tonnes / years,
        throughput_teu_per_year=tally.teu / years,
        titr_tonnes_per_year=tally.titr_tonnes / years,
        titr_teu_per_year=tally.titr_teu / years,
        od=tuple(od),
        border_dwell=tuple(time_stat(k, v) for k, v in sorted(tally.border.items())),
        hours_by_cause={c.name.lower(): float(tally.causes[c] / n) for c in Cause},
        link_tonnes_per_year={k: v / years for k, v in sorted(tally.links.items())},
        resources=tuple(resources),
        scale=compiled.scale,
        refused=tally.refused,
        refused_tonnes_per_year=sum(tally.refused_at.values()) / years,
        refused_at={k: v / years for k, v in sorted(tally.refused_at.items())},
        refused_by_flow={
            compiled.flows[i].flow.id: v / years for i, v in sorted(tally.refused_flow.items())
        },
        routes=_routes(compiled, tally, years),
        diverted_tonnes_per_year=sum(v for (_, o), v in tally.chosen.items() if o != 0) / years,
        ferry_wait_max_hours=tally.ferry_wait_max,
        port_teu_per_year={k: v / years for k, v in sorted(tally.port_teu.items())},
        loads=_loads(rt, years),
    )


def _routes(compiled: CompiledScenario, tally: Tally, years: float) -> tuple[RouteShare, ...]:
    return tuple(
        RouteShare(
            flow=compiled.flows[f].flow.id,
            route=compiled.flows[f].options[o].label,
            tonnes_per_year=v / years,
            preferred=o == 0,
        )
        for (f, o), v in sorted(tally.chosen.items())
    )


def _loads(rt: Runtime, years: float) -> tuple[Load, ...]:
    """Offered load per daily quota and per direction of a sailing line."""
    out: list[Load] = []
    for i, spec in enumerate(rt.compiled.quotas):
        offered = rt.tally.offered.get(f"quota:{i}")
        if offered is not None:
            out.append(
                Load(
                    id=spec.id,
                    unit=spec.unit.value,
                    offered_per_year=offered / years,
                    capacity_per_year=spec.daily_capacity * 365.0,
                )
            )
    for i, line in enumerate(rt.lines):
        offered = rt.tally.offered.get(f"line:{i}")
        if offered is not None:
            fleets = rt.compiled.fleets[line.link]
            unit = next((f.unit.value for f in fleets if f.capacity_per_sailing), "shipments")
            out.append(
                Load(
                    id=line.id,
                    unit=unit,
                    offered_per_year=offered / years,
                    capacity_per_year=line.capacity_per_hour * HOURS_PER_YEAR,
                )
            )
    return tuple(out)


def _sailing_results(rt: Runtime, window: Window, years: float) -> list[ResourceResult]:
    """One result per fleet specification over both directions; a line's waits are shared
    among its fleets in proportion to the capacity each offers a year."""
    out: list[ResourceResult] = []
    for link, specs in rt.compiled.fleets.items():
        lines = [line for line in rt.lines if line.link == link]
        if not lines:
            continue
        offer = [(s.capacity_per_sailing or math.inf) / (s.headway_hours or 1.0) for s in specs]
        total = sum(offer)
        for i, spec in enumerate(specs):
            share = offer[i] / total if math.isfinite(total) else 1.0 / len(specs)
            util: list[float] = []
            queue: list[float] = []
            wait = 0.0
            served = 0
            for line in lines:
                fleet = next(f for f in line.fleets if f.ident == spec.id)
                usage = line.usage(fleet, window)
                util += usage.utilisation
                queue += usage.queue
                wait += usage.wait_hours * share
                served += round(usage.served * share)
            out.append(
                _resource(
                    spec.id,
                    ResourceKind.SAILINGS,
                    spec.unit.value,
                    spec.capacity_per_sailing or math.inf,
                    "sailing",
                    Usage(util, queue, wait, served),
                    years,
                    spec.sources,
                )
            )
    return out


def _resource(
    ident: str,
    kind: ResourceKind,
    unit: str,
    capacity: float,
    basis: str,
    usage: Usage,
    years: float,
    sources: dict[str, str],
    peak: float | None = None,
) -> ResourceResult:
    util = usage.utilisation
    return ResourceResult(
        id=ident,
        kind=kind.value,
        unit=unit,
        capacity=capacity,
        basis=basis,
        utilisation_mean=float(np.mean(util)) if util else 0.0,
        utilisation_peak=max(float(max(util)) if util else 0.0, peak or 0.0),
        queue_mean=float(np.mean(usage.queue)) if usage.queue else 0.0,
        queue_max=float(max(usage.queue)) if usage.queue else 0.0,
        wait_hours_per_year=usage.wait_hours / years,
        served=usage.served,
        utilisation=tuple(round(u, 4) for u in util),
        sources=sources,
    )


def capacity_respected(result: ReplicationResult) -> list[str]:
    """Resources whose recorded use ever went above their capacity (empty when none did)."""
    return [r.id for r in result.resources if r.utilisation_peak > 1.0 + EPS]
