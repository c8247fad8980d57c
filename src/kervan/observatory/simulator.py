"""The corridor simulator: one SimPy replication of a scenario, `run(scenario, seed)`.

Shipments of each flow arrive as a Poisson process and follow their flow's planned route step by
step: they book daily quotas (track, border lanes, port handling, gauge change), take a
locomotive where a pool hauls them, queue for sailings, and spend log-normal times fitted to the
network's P50/P90 on line haul, border dwell and transfers. Border dwell is scaled by the
crossing's digital and green-lane factors for shipments on digital documents or in the green lane.

Deterministic for a seed: arrivals, each shipment's draws and each fleet's sailings have their
own random streams (seeded by (seed, purpose, index)), so two scenarios that share a route share
its line-haul draws (common random numbers) and differ only where the scenario differs.
Measured after `warmup_days`, over `years`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import simpy
from pydantic import BaseModel, ConfigDict
from simpy.resources.resource import Request

from kervan.network.dataset import load_network
from kervan.network.model import Network
from kervan.observatory.demand import HOURS_PER_YEAR, arrival_times
from kervan.observatory.kpis import TimeStat, time_stat
from kervan.observatory.model import (
    Cause,
    CompiledScenario,
    FlowRoute,
    StepKind,
    amount,
    compile_scenario,
    sigma_of,
)
from kervan.observatory.resources import (
    EPS,
    DailyQuota,
    Fleet,
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


@dataclass
class _Tally:
    window: Window
    created: int = 0
    delivered: int = 0
    tonnes: float = 0.0
    teu: float = 0.0
    titr_tonnes: float = 0.0
    titr_teu: float = 0.0
    transit: dict[int, list[float]] = field(default_factory=dict)
    border: dict[str, list[float]] = field(default_factory=dict)
    causes: np.ndarray = field(default_factory=lambda: np.zeros(len(Cause)))
    causes_n: int = 0
    links: dict[str, float] = field(default_factory=dict)


@dataclass
class _Runtime:
    env: simpy.Environment
    compiled: CompiledScenario
    quotas: list[DailyQuota]
    lines: list[SailingLine]
    pools: list[LocomotivePool]
    tally: _Tally


@lru_cache(maxsize=1)
def _network() -> Network:
    return load_network()


@lru_cache(maxsize=8)
def _compiled(scenario_json: str, overrides: tuple[tuple[str, float], ...]) -> CompiledScenario:
    scenario = Scenario.model_validate_json(scenario_json)
    return compile_scenario(scenario, _network(), dict(overrides))


def compiled_for(scenario: Scenario, overrides: dict[str, float] | None = None) -> CompiledScenario:
    """The compiled scenario (routes planned once per process and cached)."""
    return _compiled(scenario.model_dump_json(), tuple(sorted((overrides or {}).items())))


def run(
    scenario: Scenario, seed: int, overrides: dict[str, float] | None = None
) -> ReplicationResult:
    """Simulate one replication of `scenario` with `seed`; the same inputs give the same result.

    `overrides` scales named resources' capacity (bottleneck reruns). Top-level and picklable so
    process pools and Ray can call it.
    """
    compiled = compiled_for(scenario, overrides)
    env = simpy.Environment()
    start = scenario.warmup_days * 24.0
    window = Window(start, start + scenario.years * HOURS_PER_YEAR)
    rt = _Runtime(
        env=env,
        compiled=compiled,
        quotas=[DailyQuota(s.id, s.daily_capacity) for s in compiled.quotas],
        lines=[SailingLine(f"{k[0]}:{k[1]}>{k[2]}", *k) for k in compiled.lines],
        pools=[
            LocomotivePool(env, s.id, s.count or 1, s.turnaround_hours or 0.0)
            for s in compiled.pools
        ],
        tally=_Tally(window),
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
    return _result(rt, scenario, seed)


def _lognormal(mu: float, sigma: float) -> Callable[[np.random.Generator], float]:
    def draw(rng: np.random.Generator) -> float:
        return float(math.exp(mu + sigma * rng.standard_normal()))

    return draw


def _arrivals(
    rt: _Runtime,
    index: int,
    route: FlowRoute,
    times: np.ndarray,
    uniforms: np.ndarray,
    normals: np.ndarray,
) -> simpy.events.ProcessGenerator:
    env, scenario = rt.env, rt.compiled.scenario
    for k, t in enumerate(times):
        if t > env.now:
            yield env.timeout(float(t) - env.now)
        digital = bool(uniforms[k, 0] < scenario.digital_documents_share)
        green = bool(uniforms[k, 1] < scenario.green_lane_share)
        rt.tally.created += 1
        env.process(_journey(rt, index, route, digital, green, normals[k]))


def _journey(
    rt: _Runtime, index: int, route: FlowRoute, digital: bool, green: bool, z: np.ndarray
) -> simpy.events.ProcessGenerator:
    env, tally, window = rt.env, rt.tally, rt.tally.window
    size = route.size
    created = env.now
    causes = np.zeros(len(Cause))
    held: dict[int, Request] = {}
    for step in route.steps:
        t0 = env.now
        if step.kind is StepKind.SAIL:
            line = rt.lines[step.line]
            fleet_unit = _sailing_amount(rt, line.link, route)
            hours = yield line.board(env, fleet_unit)
            causes[Cause.FERRY_WAIT] += env.now - t0
            if env.now in window:
                tally.links[step.ref] = tally.links.get(step.ref, 0.0) + size.tonnes
                if step.titr:
                    tally.titr_tonnes += size.tonnes
                    tally.titr_teu += size.teu
            yield env.timeout(hours)
            causes[Cause.LINE_HAUL] += hours
            continue
        start = env.now
        for quota, need in step.quotas:
            start = rt.quotas[quota].book(env.now, need)
            if start > env.now:
                yield env.timeout(start - env.now)
        if step.take_pool >= 0:
            pool = rt.pools[step.take_pool]
            asked = env.now
            request = pool.resource.request()
            yield request
            pool.taken(env, asked)
            held[step.take_pool] = request
        wait = env.now - t0
        hours = step.p50 * math.exp(step.sigma * z[step.draw])
        if step.kind is StepKind.BORDER:
            hours *= (step.digital_factor if digital else 1.0) * (
                step.green_factor if green else 1.0
            )
        if step.kind is StepKind.HAUL and t0 in window:
            tally.links[step.ref] = tally.links.get(step.ref, 0.0) + size.tonnes
        yield env.timeout(hours)
        causes[step.cause] += wait + hours
        if step.kind is StepKind.BORDER and env.now in window:
            tally.border.setdefault(step.ref, []).append(wait + hours)
        if step.give_pool >= 0 and step.give_pool in held:
            _give_back_later(env, rt.pools[step.give_pool], held.pop(step.give_pool))
    tally.delivered += 1
    if env.now in window:
        tally.tonnes += size.tonnes
        tally.teu += size.teu
        tally.transit.setdefault(index, []).append(env.now - created)
        tally.causes += causes
        tally.causes_n += 1


def _give_back_later(env: simpy.Environment, pool: LocomotivePool, request: Request) -> None:
    """The locomotive runs back light (the turnaround) before another train can take it."""
    back = env.timeout(pool.turnaround)
    back.callbacks.append(lambda _event: pool.give_back(env, request))


def _sailing_amount(rt: _Runtime, link: str, route: FlowRoute) -> float:
    fleets = [s for s in rt.compiled.fleets[link] if s.capacity_per_sailing is not None]
    return amount(fleets[0], route.size) if fleets else 0.0


def _result(rt: _Runtime, scenario: Scenario, seed: int) -> ReplicationResult:
    tally, window, compiled = rt.tally, rt.tally.window, rt.compiled
    years = (window.end - window.start) / HOURS_PER_YEAR
    od: list[OdResult] = []
    for index, route in enumerate(compiled.flows):
        hours = tally.transit.get(index, [])
        stat = time_stat(route.flow.id, hours) if hours else None
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
        in_system=tally.created - tally.delivered,
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
    )


def _sailing_results(rt: _Runtime, window: Window, years: float) -> list[ResourceResult]:
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
