"""Compile a scenario onto the network: routes per flow (planned once), steps, and capacities.

Capacities come from the network (links with a yearly capacity become track or sailings, transfers
with a daily capacity become port handling or gauge change) and from the scenario, whose records
replace the network's by id. Everything that could make a run impossible is refused here, before
anything runs: a flow with no route, a shipment larger than a day's or a sailing's capacity on
its route, sailings of one link counted in different units. (A shipment larger than a sailing
sails in parts.)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

from kervan.errors import DatasetError, NoRouteError
from kervan.network.model import Link, Mode, Network, TransferKind
from kervan.observatory import published
from kervan.observatory.demand import Flow, ShipmentSize, shipment_size, shipments_per_year
from kervan.observatory.scenario import CapacityUnit, ResourceKind, ResourceSpec, Scenario
from kervan.routing.plan import Plan
from kervan.routing.planner import Planner, PlanRequest
from kervan.routing.timing import Z90

HOURS_PER_YEAR = 8760.0


class StepKind(IntEnum):
    HAUL = 0
    SAIL = 1
    BORDER = 2
    TRANSFER = 3


class Cause(IntEnum):
    """Where time goes (the same causes as the KPIs)."""

    LINE_HAUL = 0
    BORDER = 1
    TRANSFER = 2
    GAUGE_CHANGE = 3
    FERRY_WAIT = 4


@dataclass(frozen=True)
class Step:
    """One thing a shipment does: haul over a link, sail, cross a border, change mode or gauge.

    `quotas` are (daily quota index, amount) booked in turn before it starts; `draw` indexes the
    shipment's standard-normal draws for its log-normal time (P50 `p50`, shape `sigma`).
    """

    kind: StepKind
    ref: str
    cause: Cause
    p50: float = 0.0
    sigma: float = 0.0
    draw: int = -1
    quotas: tuple[tuple[int, float], ...] = ()
    line: int = -1
    take_pool: int = -1
    give_pool: int = -1
    digital_factor: float = 1.0
    green_factor: float = 1.0
    titr: bool = False


@dataclass(frozen=True)
class FlowRoute:
    """A flow with its planned route compiled into steps."""

    flow: Flow
    size: ShipmentSize
    per_year: float
    plan: Plan
    steps: tuple[Step, ...]
    draws: int
    reference_p50_hours: float
    titr: bool


@dataclass
class CompiledScenario:
    """What a run needs: routes, quota/line/pool specifications, weather and the demand scale."""

    scenario: Scenario
    network: Network
    flows: list[FlowRoute]
    quotas: list[ResourceSpec]
    lines: list[tuple[str, str, str]]  # (link, from node, to node)
    fleets: dict[str, list[ResourceSpec]]
    pools: list[ResourceSpec]
    scale: float


def sigma_of(p50: float, p90: float) -> float:
    """Log-normal shape fitted to a median and a 90th percentile (as routing.timing does)."""
    return math.log(max(p90, p50) / p50) / Z90 if p50 > 0 else 0.0


def network_resources(network: Network) -> list[ResourceSpec]:
    """Capacities the network itself records, as resource specifications."""
    out: dict[str, ResourceSpec] = {}
    for link in network.links.values():
        cap, unit = _yearly(link)
        if link.headway_hours is not None:
            out[f"sailings:{link.id}"] = ResourceSpec(
                id=f"sailings:{link.id}",
                kind=ResourceKind.SAILINGS,
                unit=unit,
                link=link.id,
                headway_hours=link.headway_hours,
                capacity_per_sailing=cap * link.headway_hours / HOURS_PER_YEAR if cap else None,
                sources=_src(
                    link, "headway_hours", "capacity_tonnes_per_year", "capacity_teu_per_year"
                ),
                note="network link: yearly capacity spread over its sailings",
            )
        elif cap is not None:
            out[f"line:{link.id}"] = ResourceSpec(
                id=f"line:{link.id}",
                kind=ResourceKind.TRACK,
                unit=unit,
                links=(link.id,),
                capacity_per_day=cap / 365.0,
                sources=_src(link, "capacity_tonnes_per_year", "capacity_teu_per_year"),
                note="network link: yearly capacity / 365, both directions together",
            )
    for t in network.transfers:
        if t.capacity_teu_per_day is None:
            continue
        if t.kind is TransferKind.GAUGE_CHANGE:
            ident, kind = f"gauge:{t.node}", ResourceKind.GAUGE_CHANGE
            modes: tuple[Mode, ...] = ()
        else:
            water = tuple(m for m in (t.from_mode, t.to_mode) if m in (Mode.FERRY, Mode.SEA))
            ident = f"handling:{t.node}:{'-'.join(m.value for m in water)}"
            kind, modes = ResourceKind.PORT_HANDLING, water
        out.setdefault(
            ident,
            ResourceSpec(
                id=ident,
                kind=kind,
                unit=CapacityUnit.TEU,
                node=t.node,
                modes=modes,
                capacity_per_day=t.capacity_teu_per_day,
                sources={"capacity_per_day": t.source_for("capacity_teu_per_day") or "-"},
                note="network transfer capacity (shared by the transfers that share it)",
            ),
        )
    return list(out.values())


def _yearly(link: Link) -> tuple[float | None, CapacityUnit]:
    if link.capacity_tonnes_per_year is not None:
        return link.capacity_tonnes_per_year, CapacityUnit.TONNES
    if link.capacity_teu_per_year is not None:
        return link.capacity_teu_per_year, CapacityUnit.TEU
    return None, CapacityUnit.SHIPMENTS


def _src(link: Link, *fields: str) -> dict[str, str]:
    out = {}
    for f in fields:
        s = link.source_for(f)
        if s is not None and getattr(link, f) is not None:
            out[f] = s
    return out


def amount(spec: ResourceSpec, size: ShipmentSize) -> float:
    """How much of a resource one shipment takes."""
    if spec.unit is CapacityUnit.TEU:
        return size.teu_equivalent
    if spec.unit is CapacityUnit.TONNES:
        return size.tonnes
    return 1.0


def compile_scenario(
    scenario: Scenario, network: Network, overrides: dict[str, float] | None = None
) -> CompiledScenario:
    """Route every flow once and compile steps and capacities; `overrides` scales resources by
    id (1.1 = 10% more capacity). Raises DatasetError for anything that cannot run."""
    specs = {s.id: s for s in network_resources(network)}
    specs.update({s.id: s for s in scenario.resources})
    for ident, factor in (overrides or {}).items():
        specs[ident] = specs[ident].scaled(factor)
    quotas = [
        s for s in specs.values() if s.kind not in (ResourceKind.SAILINGS, ResourceKind.LOCOMOTIVES)
    ]
    pools = [s for s in specs.values() if s.kind is ResourceKind.LOCOMOTIVES]
    fleets: dict[str, list[ResourceSpec]] = {}
    for s in specs.values():
        if s.kind is ResourceKind.SAILINGS:
            assert s.link is not None
            fleets.setdefault(s.link, []).append(s)
    for link, group in fleets.items():
        units = {s.unit for s in group if s.capacity_per_sailing is not None}
        if len(units) > 1:
            raise DatasetError(
                scenario.files[-1], group[-1].id, "unit", f"sailings on {link} in mixed units"
            )
    # Routes are planned with measured border dwell whatever the scenario's digital share, so a
    # documents reform changes dwell and nothing else.
    planner = Planner(network)
    compiled = CompiledScenario(scenario, network, [], quotas, [], fleets, pools, 1.0)
    line_index: dict[tuple[str, str, str], int] = {}
    for flow in scenario.demand.flows:
        plan = _plan(planner, scenario, flow, scenario.year)
        reference = _plan(planner, scenario, flow, published.REFERENCE_YEAR)
        compiled.flows.append(_route(compiled, flow, plan, reference.totals.hours_p50, line_index))
    target = scenario.demand_target_tonnes_per_year
    if target is not None:
        titr = sum(f.per_year * f.size.tonnes for f in compiled.flows if f.titr)
        if titr <= 0:
            raise DatasetError(
                scenario.files[-1],
                scenario.id,
                "demand_target_tonnes_per_year",
                "no flow of the demand crosses the Caspian from a Kazakh port",
            )
        compiled.scale = target / titr
    return compiled


def _plan(planner: Planner, scenario: Scenario, flow: Flow, year: int) -> Plan:
    request = PlanRequest(
        origin=flow.origin,
        destination=flow.destination,
        unit=flow.unit,
        avoid_modes=frozenset(flow.avoid_modes),
        year=year,
        alternatives=1,
    )
    try:
        return planner.plan(request)[0]
    except NoRouteError as exc:
        raise DatasetError(scenario.demand.file, flow.id, "destination", exc.message) from exc


def _route(
    c: CompiledScenario,
    flow: Flow,
    plan: Plan,
    reference_p50: float,
    line_index: dict[tuple[str, str, str], int],
) -> FlowRoute:
    net, size = c.network, shipment_size(flow, c.network)
    steps: list[Step] = []
    draws = 0
    holding = -1
    titr_route = False
    transfers = {t.after_leg: t for t in plan.transfers}
    for leg in plan.legs:
        link = net.links[leg.link_id]
        pool = next((i for i, p in enumerate(c.pools) if link.id in p.links), -1)
        if holding >= 0 and pool != holding:
            steps[-1] = _with(steps[-1], give_pool=holding)
            holding = -1
        if link.id in c.fleets:
            key = (link.id, leg.from_node, leg.to_node)
            if key not in line_index:
                line_index[key] = len(c.lines)
                c.lines.append(key)
            titr = bool({leg.from_node, leg.to_node} & published.TITR_PORTS)
            titr_route |= titr
            steps.append(
                Step(StepKind.SAIL, link.id, Cause.FERRY_WAIT, line=line_index[key], titr=titr)
            )
        else:
            quotas = _quotas(c, flow, size, _on_track(link.id))
            take = pool if pool >= 0 and holding < 0 else -1
            holding = pool
            steps.append(
                Step(
                    StepKind.HAUL,
                    link.id,
                    Cause.LINE_HAUL,
                    link.hours.p50,
                    sigma_of(link.hours.p50, link.hours.p90),
                    draws,
                    quotas,
                    take_pool=take,
                )
            )
            draws += 1
        crossing = net.crossing_on(link.id)
        if crossing is not None:
            quotas = _quotas(
                c,
                flow,
                size,
                _at_border(crossing.id),
            )
            d = crossing.dwell_hours
            steps.append(
                Step(
                    StepKind.BORDER,
                    crossing.id,
                    Cause.BORDER,
                    d.p50,
                    sigma_of(d.p50, d.p90),
                    draws,
                    quotas,
                    digital_factor=crossing.digital_dwell_factor,
                    green_factor=crossing.green_lane_dwell_factor,
                )
            )
            draws += 1
        step = transfers.get(leg.index)
        if step is not None:
            gauge = step.kind is TransferKind.GAUGE_CHANGE

            matches = _at_transfer(step.node, gauge, frozenset({step.from_mode, step.to_mode}))
            cause = Cause.GAUGE_CHANGE if gauge else Cause.TRANSFER
            steps.append(
                Step(
                    StepKind.TRANSFER,
                    step.node,
                    cause,
                    step.hours_p50,
                    sigma_of(step.hours_p50, step.hours_p90),
                    draws,
                    _quotas(c, flow, size, matches),
                )
            )
            draws += 1
    if holding >= 0:
        steps[-1] = _with(steps[-1], give_pool=holding)
    return FlowRoute(
        flow,
        size,
        shipments_per_year(flow, net),
        plan,
        tuple(steps),
        draws,
        reference_p50,
        titr_route,
    )


def _on_track(link: str) -> Callable[[ResourceSpec], bool]:
    return lambda s: s.kind is ResourceKind.TRACK and link in s.links


def _at_border(crossing: str) -> Callable[[ResourceSpec], bool]:
    return lambda s: s.kind is ResourceKind.BORDER_LANES and s.crossing == crossing


def _at_transfer(node: str, gauge: bool, modes: frozenset[Mode]) -> Callable[[ResourceSpec], bool]:
    """Gauge-change stations at the node, or port handling on a side of the transfer's modes."""

    def matches(s: ResourceSpec) -> bool:
        if s.node != node:
            return False
        if gauge:
            return s.kind is ResourceKind.GAUGE_CHANGE
        return s.kind is ResourceKind.PORT_HANDLING and (not s.modes or bool(modes & set(s.modes)))

    return matches


def _with(step: Step, **update: int) -> Step:
    fields = {**step.__dict__, **update}
    return Step(**fields)


def _quotas(
    c: CompiledScenario, flow: Flow, size: ShipmentSize, pick: Callable[[ResourceSpec], bool]
) -> tuple[tuple[int, float], ...]:
    out: list[tuple[int, float]] = []
    for i, s in enumerate(c.quotas):
        if not pick(s):
            continue
        need = amount(s, size)
        if need <= 0:
            continue
        _fits(c, flow, s, need, s.daily_capacity, "a day")
        out.append((i, need))
    return tuple(out)


def _fits(
    c: CompiledScenario, flow: Flow, spec: ResourceSpec, need: float, cap: float, per: str
) -> None:
    if need > cap:
        raise DatasetError(
            c.scenario.demand.file,
            flow.id,
            "units_per_shipment",
            f"one shipment needs {need:,.0f} {spec.unit.value} of {spec.id}, which handles "
            f"{cap:,.0f} in {per}: it could never pass",
        )
