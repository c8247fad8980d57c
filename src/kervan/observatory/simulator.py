"""The corridor simulator: one SimPy replication of a scenario, `run(scenario, seed)`.

Shipments of each flow arrive as a Poisson process, choose one of the planner's alternatives
by generalised cost given the queues they see (or are refused when every route queues longer
than a shipper accepts: `choice`), and follow it step by step: they book daily quotas (track,
border lanes, port handling, gauge change), take a locomotive where a pool hauls them, queue for
sailings, and spend log-normal times fitted
to the network's P50/P90 on line haul, border dwell and transfers. Border dwell is scaled by the
crossing's digital and green-lane factors for shipments on digital documents or in the green lane.

Deterministic for a seed: arrivals, each shipment's draws and each fleet's sailings have their
own random streams (seeded by (seed, purpose, index)), so two scenarios that share a route share
its line-haul draws (common random numbers) and differ only where the scenario differs.
Measured after `warmup_days`, over `years`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from functools import lru_cache

import numpy as np
import simpy
from simpy.resources.resource import Request

from kervan.network.dataset import load_network
from kervan.network.model import CargoUnit, Network
from kervan.observatory.choice import (
    MAX_EXPECTED_WAIT_HOURS,
    Choice,
    Offer,
    cheapest_switch,
    choose,
    stays_without_looking,
)
from kervan.observatory.demand import HOURS_PER_YEAR, arrival_times
from kervan.observatory.links import draw_openings
from kervan.observatory.model import (
    Cause,
    CompiledScenario,
    FlowRoute,
    RouteOption,
    Step,
    StepKind,
    amount,
    compile_scenario,
    sigma_of,
)
from kervan.observatory.resources import (
    DailyQuota,
    Fleet,
    LocomotivePool,
    SailingLine,
    Window,
)
from kervan.observatory.results import (
    ReplicationResult as ReplicationResult,  # noqa: PLC0414 (re-exported)
)
from kervan.observatory.results import (
    Runtime,
    Tally,
    build_result,
)
from kervan.observatory.results import (
    capacity_respected as capacity_respected,  # noqa: PLC0414 (re-exported)
)
from kervan.observatory.scenario import Scenario


@lru_cache(maxsize=1)
def _network() -> Network:
    return load_network()


@lru_cache(maxsize=16)
def _compiled(
    scenario_json: str,
    overrides: tuple[tuple[str, float], ...],
    openings: tuple[tuple[str, int], ...],
) -> CompiledScenario:
    scenario = Scenario.model_validate_json(scenario_json)
    return compile_scenario(scenario, _network(), dict(overrides), dict(openings))


def compiled_for(
    scenario: Scenario,
    overrides: dict[str, float] | None = None,
    openings: tuple[tuple[str, int], ...] = (),
) -> CompiledScenario:
    """The compiled scenario (routes planned once per process and cached)."""
    return _compiled(scenario.model_dump_json(), tuple(sorted((overrides or {}).items())), openings)


def run(
    scenario: Scenario, seed: int, overrides: dict[str, float] | None = None
) -> ReplicationResult:
    """Simulate one replication of `scenario` with `seed`; the same inputs give the same result.

    `overrides` scales named resources' capacity (bottleneck reruns). Top-level and picklable so
    process pools and Ray can call it.
    """
    openings = draw_openings(scenario.additions, seed)
    compiled = compiled_for(scenario, overrides, openings)
    env = simpy.Environment()
    start = scenario.warmup_days * 24.0
    window = Window(start, start + scenario.years * HOURS_PER_YEAR)
    rt = Runtime(
        env=env,
        compiled=compiled,
        quotas=[DailyQuota(s.id, s.daily_capacity) for s in compiled.quotas],
        lines=[SailingLine(f"{k[0]}:{k[1]}>{k[2]}", *k) for k in compiled.lines],
        pools=[
            LocomotivePool(env, s.id, s.count or 1, s.turnaround_hours or 0.0)
            for s in compiled.pools
        ],
        tally=Tally(window),
    )
    weather = {link: w for w in scenario.weather for link in w.links}
    net = compiled.network
    for li, line in enumerate(rt.lines):
        link = net.links[line.link]
        mu, sigma = math.log(link.hours.p50), sigma_of(link.hours.p50, link.hours.p90)
        w = weather.get(line.link)
        for fi, spec in enumerate(compiled.fleets[line.link]):
            fleet = Fleet(
                ident=spec.id,
                headway_hours=spec.headway_hours or 1.0,
                capacity=spec.capacity_per_sailing,
                sailing_hours=_lognormal(mu, sigma),
                delay_probability=w.probability if w else 0.0,
                delay_mean_hours=w.mean_hours if w else 0.0,
            )
            line.fleets.append(fleet)
            env.process(line.sail(env, fleet, np.random.default_rng([seed, 2, li, fi])))
    for index, route in enumerate(compiled.flows):
        per_year = route.per_year * compiled.scale
        times = arrival_times(per_year, window.end, np.random.default_rng([seed, 0, index]))
        draws = np.random.default_rng([seed, 1, index])
        uniforms = draws.random((len(times), 2))
        normals = draws.standard_normal((len(times), max(route.draws, 1)))
        env.process(_arrivals(rt, index, route, times, uniforms, normals))
    env.run(until=window.end)
    return build_result(rt, scenario, seed).model_copy(update={"openings": dict(openings)})


def _lognormal(mu: float, sigma: float) -> Callable[[np.random.Generator], float]:
    def draw(rng: np.random.Generator) -> float:
        return float(math.exp(mu + sigma * rng.standard_normal()))

    return draw


def _arrivals(
    rt: Runtime,
    index: int,
    route: FlowRoute,
    times: np.ndarray,
    uniforms: np.ndarray,
    normals: np.ndarray,
) -> simpy.events.ProcessGenerator:
    env, scenario, tally = rt.env, rt.compiled.scenario, rt.tally
    # the other routes on an empty corridor: the least they can cost
    empty = [
        Offer(o.cost_usd + o.constant_usd, o.hours_p50, o.hours_p90, 0.0, "")
        for o in route.options[1:]
    ]
    cheapest = cheapest_switch(empty, route.flow.unit, route.flow.units_per_shipment)
    # plain floats: indexing numpy arrays one element at a time costs more than the draws
    at, u, z = times.tolist(), uniforms.tolist(), normals.tolist()
    for k, t in enumerate(at):
        if t > env.now:
            yield env.timeout(t - env.now)
        digital = u[k][0] < scenario.digital_documents_share
        green = u[k][1] < scenario.green_lane_share
        tally.created += 1
        first = _offer(rt, route, route.options[0])
        unit, units = route.flow.unit, route.flow.units_per_shipment
        if stays_without_looking(first[0], cheapest, unit, units, MAX_EXPECTED_WAIT_HOURS):
            offers, choice = [first], Choice(0)
        else:
            offers = [first, *(_offer(rt, route, option) for option in route.options[1:])]
            choice = choose([o for o, _ in offers], unit, units)
        taken = choice.option if choice.option is not None else choice.preferred
        measured = env.now in tally.window
        if measured:
            for key, need in offers[taken][1]:
                tally.offered[key] = tally.offered.get(key, 0.0) + need
        if choice.option is None:
            tally.refused += 1
            if measured:
                tonnes = route.size.tonnes
                place = choice.refused_at
                tally.refused_at[place] = tally.refused_at.get(place, 0.0) + tonnes
                tally.refused_flow[index] = tally.refused_flow.get(index, 0.0) + tonnes
            continue
        option = route.options[choice.option]
        for step in option.steps:
            if step.kind is StepKind.SAIL:
                rt.lines[step.line].committed += _sailing_amount(rt, step.ref, route)
        if measured:
            key2 = (index, choice.option)
            tally.chosen[key2] = tally.chosen.get(key2, 0.0) + route.size.tonnes
        env.process(_journey(rt, index, route, option, digital, green, z[k]))


def _offer(
    rt: Runtime, route: FlowRoute, option: RouteOption
) -> tuple[Offer, list[tuple[str, float]]]:
    """The route as the shipper sees it now (expected queueing, where it would queue longest)
    and what it would ask of each capacity (for the offered load)."""
    now = rt.env.now
    waits: dict[str, float] = {}
    asks: list[tuple[str, float]] = []
    for step in option.steps:
        if step.kind is StepKind.SAIL:
            line = rt.lines[step.line]
            need = _sailing_amount(rt, step.ref, route)
            waits[line.id] = waits.get(line.id, 0.0) + line.expected_wait(step.offset, need)
            asks.append((f"line:{step.line}", need))
            continue
        for quota, need in step.quotas:
            q = rt.quotas[quota]
            wait = q.expected_wait(now + step.offset, need, MAX_EXPECTED_WAIT_HOURS)
            waits[q.id] = waits.get(q.id, 0.0) + wait
            asks.append((f"quota:{quota}", need))
        if step.take_pool >= 0:
            pool = rt.pools[step.take_pool]
            # a locomotive is held for the haul and the run back: about a day plus the turnaround
            wait = pool.expected_wait(pool.turnaround + 24.0)
            waits[pool.id] = waits.get(pool.id, 0.0) + wait
    worst = max(waits, key=lambda k: waits[k]) if waits else ""
    total = sum(waits.values())
    cost = option.cost_usd + option.constant_usd
    offer = Offer(cost, option.hours_p50, option.hours_p90, total, worst)
    return offer, asks


def _journey(
    rt: Runtime,
    index: int,
    route: FlowRoute,
    option: RouteOption,
    digital: bool,
    green: bool,
    z: list[float],
) -> simpy.events.ProcessGenerator:
    """Follow `option` step by step. Hauls, dwells and transfers touch nothing shared, so the
    shipment keeps its own clock through them and hands the simulation one timeout only where it
    next meets a shared capacity (a daily quota, a locomotive pool, a sailing) and at the end:
    every booking and boarding still happens at the simulated time it would step by step, with
    a fraction of the events."""
    env, tally, window = rt.env, rt.tally, rt.tally.window
    size = route.size
    created = clock = env.now
    causes = [0.0] * len(Cause)
    held: dict[int, Request] = {}
    for step in option.steps:
        if step.kind is StepKind.SAIL:
            if clock > env.now:
                yield env.timeout(clock - env.now)
            hours = yield from _sail(rt, route, step, causes)
            clock = env.now + hours  # after boarding: env.now is read once the sailing leaves
            continue
        t0 = clock
        for quota, need in step.quotas:
            if clock > env.now:
                yield env.timeout(clock - env.now)
                clock = env.now
            clock = rt.quotas[quota].book(clock, need)
        if step.take_pool >= 0:
            if clock > env.now:
                yield env.timeout(clock - env.now)
            pool = rt.pools[step.take_pool]
            asked = env.now
            request = pool.resource.request()
            yield request
            pool.taken(env, asked)
            held[step.take_pool] = request
            clock = env.now
        wait = clock - t0
        hours = step.p50 * math.exp(step.sigma * z[step.draw])
        if step.kind is StepKind.BORDER:
            hours *= (step.digital_factor if digital else 1.0) * (
                step.green_factor if green else 1.0
            )
        if step.kind is StepKind.HAUL and t0 in window:
            tally.links[step.ref] = tally.links.get(step.ref, 0.0) + size.tonnes
        clock += hours
        causes[step.cause] += wait + hours
        if step.kind is StepKind.BORDER and clock in window:
            tally.border.setdefault(step.ref, []).append(wait + hours)
        if step.give_pool >= 0 and step.give_pool in held:
            _give_back_later(env, rt.pools[step.give_pool], held.pop(step.give_pool), clock)
    if clock > env.now:
        yield env.timeout(clock - env.now)
    tally.delivered += 1
    if env.now in window:
        tally.tonnes += size.tonnes
        tally.teu += size.teu
        tally.transit.setdefault(index, []).append(env.now - created)
        if option.titr:
            tally.corridor_transit.setdefault(index, []).append(env.now - created)
        tally.causes += causes
        tally.causes_n += 1


def _sail(
    rt: Runtime, route: FlowRoute, step: Step, causes: list[float]
) -> Generator[simpy.Event, float, float]:
    """Queue for a sailing and board it; the sailing's hours (the caller's clock runs them)."""
    env, tally, size = rt.env, rt.tally, route.size
    t0 = env.now
    line = rt.lines[step.line]
    fleet_unit = _sailing_amount(rt, line.link, route)
    hours = yield line.board(env, fleet_unit)
    line.committed -= fleet_unit
    causes[Cause.FERRY_WAIT] += env.now - t0
    if env.now in tally.window:
        tally.links[step.ref] = tally.links.get(step.ref, 0.0) + size.tonnes
        tally.ferry_wait_max = max(tally.ferry_wait_max, env.now - t0)
        if step.titr:
            tally.titr_tonnes += size.tonnes
            tally.titr_teu += size.teu
        if route.flow.unit is CargoUnit.CONTAINER:
            for port in {line.from_node, line.to_node}:
                tally.port_teu[port] = tally.port_teu.get(port, 0.0) + size.teu
    causes[Cause.LINE_HAUL] += hours
    return hours


def _give_back_later(
    env: simpy.Environment, pool: LocomotivePool, request: Request, at: float
) -> None:
    """The locomotive runs back light (the turnaround, from `at`) before another train can
    take it."""
    back = env.timeout(at - env.now + pool.turnaround)
    back.callbacks.append(lambda _event: pool.give_back(env, request))


def _sailing_amount(rt: Runtime, link: str, route: FlowRoute) -> float:
    """What a shipment of `route` takes up on a sailing of `link` (in the fleet's unit)."""
    key = (link, route.flow.id)
    cached = rt.sailing_amounts.get(key)
    if cached is None:
        fleets = [s for s in rt.compiled.fleets[link] if s.capacity_per_sailing is not None]
        cached = rt.sailing_amounts[key] = amount(fleets[0], route.size) if fleets else 0.0
    return cached
