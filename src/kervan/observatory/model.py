"""Compile a scenario onto the network: routes per flow (planned once), steps, and capacities.

Capacities come from the network (links with a yearly capacity become track or sailings, transfers
with a daily capacity become port handling or gauge change) and from the scenario, whose records
replace the network's by id. Everything that could make a run impossible is refused here, before
anything runs: a flow with no route, a shipment larger than a day's or a sailing's capacity on
its route, sailings of one link counted in different units. (A shipment larger than a sailing
sails in parts.)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

from kervan.errors import DatasetError, NoRouteError
from kervan.network.model import CargoUnit, Link, Mode, Network, TransferKind
from kervan.observatory import published
from kervan.observatory.choice import Offer, generalised_cost
from kervan.observatory.demand import Flow, ShipmentSize, shipment_size, shipments_per_year
from kervan.observatory.links import extended, reentry_allowed
from kervan.observatory.scenario import CapacityUnit, ResourceKind, ResourceSpec, Scenario
from kervan.routing.plan import Plan
from kervan.routing.planner import Objective, Planner, PlanRequest
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
    offset: float = 0.0  # P50 hours from the shipment's start to this step


@dataclass(frozen=True)
class RouteOption:
    """One of the planner's alternatives for a flow, compiled into steps, with what a shipper
    weighs: money per shipment and the P50/P90 of the uncongested route."""

    plan: Plan
    steps: tuple[Step, ...]
    draws: int
    titr: bool
    label: str
    cost_usd: float
    hours_p50: float
    hours_p90: float
    # calibrated constant (US$ a shipment) for leaving the route used today: see choice.py
    constant_usd: float = 0.0


@dataclass(frozen=True)
class FlowRoute:
    """A flow with the routes its shippers choose among (the planner's best first)."""

    flow: Flow
    size: ShipmentSize
    per_year: float
    options: tuple[RouteOption, ...]
    reference_p50_hours: float

    @property
    def plan(self) -> Plan:
        return self.options[0].plan

    @property
    def steps(self) -> tuple[Step, ...]:
        return self.options[0].steps

    @property
    def titr(self) -> bool:
        return self.options[0].titr

    @property
    def draws(self) -> int:
        """Standard-normal draws a shipment needs on whichever option it takes."""
        return max(o.draws for o in self.options)


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
    scenario: Scenario,
    network: Network,
    overrides: dict[str, float] | None = None,
    openings: dict[str, int] | None = None,
) -> CompiledScenario:
    """Route every flow once and compile steps and capacities; `overrides` scales resources by
    id (1.1 = 10% more capacity), `openings` gives the year each uncertain opening opens (drawn
    per replication). Raises DatasetError for anything that cannot run."""
    network = extended(network, scenario.additions, openings or {}, scenario.sources)
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
        plans = _plans(planner, scenario, flow, scenario.year)
        reference = _reference(flow, _plans(planner, scenario, flow, published.REFERENCE_YEAR))
        compiled.flows.append(_route(compiled, flow, plans, reference.totals.hours_p50, line_index))
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


#: Alternatives asked of the planner per objective (fastest, cheapest), and kept per flow.
ALTERNATIVES_ASKED = 4
OPTIONS_KEPT = 6


def _plans(planner: Planner, scenario: Scenario, flow: Flow, year: int) -> list[Plan]:
    """The planner's fastest plans, then its cheapest: the routes a shipper of the flow weighs
    (the fastest first; the same route once). Where the scenario opens links through an exclave
    (an opening with `reentry`), routes entering a country twice over those links join them."""
    exclave = any(o.reentry for o in scenario.additions.openings)
    plans: dict[str, Plan] = {}
    for objective in (Objective.TIME, Objective.COST):
        for reentry in (False, True) if exclave else (False,):
            request = PlanRequest(
                origin=flow.origin,
                destination=flow.destination,
                objective=objective,
                unit=flow.unit,
                avoid_modes=frozenset(flow.avoid_modes),
                year=year,
                alternatives=ALTERNATIVES_ASKED,
                allow_reentry=reentry,
            )
            try:
                found = planner.plan(request)
            except NoRouteError as exc:
                if reentry:
                    continue
                raise DatasetError(
                    scenario.demand.file, flow.id, "destination", exc.message
                ) from exc
            for plan in found:
                if reentry_allowed(scenario.additions, plan.entered_countries, plan.link_ids):
                    plans.setdefault(plan.plan_key, plan)
    return list(plans.values())[:OPTIONS_KEPT]


def _route(
    c: CompiledScenario,
    flow: Flow,
    plans: list[Plan],
    reference_p50: float,
    line_index: dict[tuple[str, str, str], int],
) -> FlowRoute:
    """The flow with every alternative that can carry its shipments (a shipment too large for a
    day's or a sailing's capacity on a route cannot take it; on none of them is an error)."""
    size = shipment_size(flow, c.network)
    options: list[RouteOption] = []
    first_error: DatasetError | None = None
    for plan in plans:
        try:
            options.append(_option(c, flow, size, plan, line_index))
        except DatasetError as exc:
            first_error = first_error or exc
    if not options:
        assert first_error is not None
        raise first_error
    if flow.route_today == "trans-caspian":
        today = next((o for o in options if o.titr), None)
        if today is None:
            raise DatasetError(
                c.scenario.demand.file,
                flow.id,
                "route_today",
                "no route the planner offers crosses the Caspian from a Kazakh port",
            )
        options = [today, *(o for o in options if o is not today)]
    options = with_constants(options, flow.unit, flow.units_per_shipment)
    return FlowRoute(flow, size, shipments_per_year(flow, c.network), tuple(options), reference_p50)


def with_constants(options: list[RouteOption], unit: CargoUnit, units: float) -> list[RouteOption]:
    """Every other route carries the constant that makes the route used today (the first) the
    choice on an empty corridor: what the demand data records shippers chose in 2024 reveals that
    they value it at least as much as the others (alternative-specific constants, calibrated to
    the base year). Zero where the route today is already the cheapest."""

    def cost(o: RouteOption) -> float:
        return generalised_cost(Offer(o.cost_usd, o.hours_p50, o.hours_p90, 0.0, ""), unit, units)

    today = cost(options[0])
    return [options[0]] + [
        dataclasses.replace(o, constant_usd=max(0.0, today - cost(o))) for o in options[1:]
    ]


def _reference(flow: Flow, plans: list[Plan]) -> Plan:
    """The flow's route today in the reference year (its time is what the target halves)."""
    if flow.route_today == "trans-caspian":
        for plan in plans:
            if _crosses_from_kazakhstan(plan):
                return plan
    return plans[0]


def _crosses_from_kazakhstan(plan: Plan) -> bool:
    return any(
        leg.mode in (Mode.FERRY, Mode.SEA)
        and bool({leg.from_node, leg.to_node} & published.TITR_PORTS)
        for leg in plan.legs
    )


def route_label(plan: Plan) -> str:
    """What tells a route apart for a reader: its water crossings, the CKU, the Northern route."""
    parts = [leg.link_id for leg in plan.legs if leg.mode in (Mode.FERRY, Mode.SEA)]
    if any(leg.link_id.startswith("CKU-") for leg in plan.legs):
        parts.insert(0, "CKU")
    if any("BREST" in leg.link_id for leg in plan.legs):
        parts.insert(0, "Northern (Brest)")
    return " + ".join(parts) if parts else "overland"


def _option(
    c: CompiledScenario,
    flow: Flow,
    size: ShipmentSize,
    plan: Plan,
    line_index: dict[tuple[str, str, str], int],
) -> RouteOption:
    net = c.network
    steps: list[Step] = []
    draws = 0
    holding = -1
    titr_route = False
    transfers = {t.after_leg: t for t in plan.transfers}
    elapsed = 0.0
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
                Step(
                    StepKind.SAIL,
                    link.id,
                    Cause.FERRY_WAIT,
                    line=line_index[key],
                    titr=titr,
                    offset=elapsed,
                )
            )
            elapsed += link.hours.p50
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
                    offset=elapsed,
                )
            )
            elapsed += link.hours.p50
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
                    offset=elapsed,
                )
            )
            elapsed += d.p50
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
                    offset=elapsed,
                )
            )
            elapsed += step.hours_p50
            draws += 1
    if holding >= 0:
        steps[-1] = _with(steps[-1], give_pool=holding)
    units = flow.units_per_shipment
    return RouteOption(
        plan,
        tuple(steps),
        draws,
        titr_route,
        route_label(plan),
        plan.totals.cost_usd * units,
        plan.totals.hours_p50,
        plan.totals.hours_p90,
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
