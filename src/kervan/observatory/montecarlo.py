"""Monte Carlo: replications of `run(scenario, seed)` in parallel, with confidence intervals,
the bottleneck ranking and whether the 2030 targets are met.

Replications run sequentially, on a process pool over local cores (default), or on Ray when it
is installed and asked for; every backend calls the same top-level `simulator.run`.

Bottleneck ranking (queue-wait attribution): each resource is charged the shipment-hours spent
waiting in its own queue for lack of capacity per year: a daily quota from arrival to the day
with room, a locomotive pool from asking to getting one, a sailing from the first departure after
arrival to the one that takes the shipment (waiting for the headway is the schedule's, not the
capacity's, and is not charged). Capacity added where most hours are
queued buys the most first, because the wait of a queue falls fastest where it is longest. The
ranking can be checked by rerunning with +10% capacity at each of the top resources in turn
(`marginal_gains`, tonnes a year delivered in addition), with the same seeds so the differences
are the capacity's, not the dice's. (Queueing hours are not the yardstick for the rerun: on an
overloaded corridor more capacity lets more of the long-waiting backlog through, which raises
the hours counted while it cuts the wait of everyone behind.)
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from importlib.util import find_spec
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict
from scipy import stats

from kervan.errors import InvalidRequestError
from kervan.observatory import published
from kervan.observatory.backend import RAY_LOCAL, Runner
from kervan.observatory.backend import Backend as Backend  # noqa: PLC0414 (re-exported)
from kervan.observatory.scenario import Scenario
from kervan.observatory.simulator import ReplicationResult, capacity_respected, run

Progress = Callable[[int], None]


class Estimate(BaseModel):
    """A mean over replications with its 95% confidence interval (Student t)."""

    model_config = ConfigDict(frozen=True)

    mean: float
    low: float
    high: float
    n: int


def estimate(values: Sequence[float]) -> Estimate:
    """Mean and 95% confidence interval of replication values (NaNs dropped)."""
    x = np.asarray([v for v in values if not math.isnan(v)], dtype=np.float64)
    if len(x) == 0:
        return Estimate(mean=math.nan, low=math.nan, high=math.nan, n=0)
    mean = float(x.mean())
    if len(x) < 2:
        return Estimate(mean=mean, low=mean, high=mean, n=1)
    half = float(stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)))
    return Estimate(mean=mean, low=mean - half, high=mean + half, n=len(x))


class OdSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    flow: str
    origin: str
    destination: str
    unit: str
    tonnes_per_year: float
    p50: Estimate
    p90: Estimate
    reference_p50: float


class ResourceSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    kind: str
    unit: str
    capacity: float
    basis: str
    utilisation_mean: Estimate
    utilisation_peak: float
    queue_mean: Estimate
    wait_hours_per_year: Estimate
    utilisation: tuple[float, ...]  # first replication's series
    sources: dict[str, str]


class TargetCheck(BaseModel):
    model_config = ConfigDict(frozen=True)

    volume_tonnes_per_year: Estimate
    volume_target: float
    volume_met: bool
    time_ratio: Estimate  # tonnes-weighted P50 transit on the corridor / the reference P50
    time_target_ratio: float
    time_met: bool
    sources: dict[str, str]


class RouteShareSummary(BaseModel):
    """Tonnes a year of a flow on one route (`preferred`: the route the flow uses today)."""

    model_config = ConfigDict(frozen=True)

    flow: str
    route: str
    preferred: bool
    tonnes_per_year: Estimate


class Stability(BaseModel):
    """A capacity's offered load (refused demand included) against what it carries a year; at
    or above 1 its queue grows without bound unless cargo diverts or is refused, and
    `capacity_needed` (offered / UTILISATION_TARGET) is what would keep it stable."""

    model_config = ConfigDict(frozen=True)

    id: str
    unit: str
    offered_per_year: Estimate
    capacity_per_year: float
    load_factor: float
    unstable: bool
    capacity_needed_per_year: float


#: Utilisation a capacity can run at with short queues (estimate: random arrivals queue
#: sharply above about 85 %).
UTILISATION_TARGET = 0.85


class ScenarioSummary(BaseModel):
    """Replications of one scenario summarised for a report."""

    model_config = ConfigDict(frozen=True)

    scenario: str
    title: str
    description: str
    year: int
    years: float
    seeds: tuple[int, ...]
    created: Estimate
    delivered: Estimate
    in_system: Estimate
    throughput_tonnes_per_year: Estimate
    throughput_teu_per_year: Estimate
    titr_tonnes_per_year: Estimate
    titr_teu_per_year: Estimate
    od: tuple[OdSummary, ...]
    border_dwell: dict[str, Estimate]
    border_dwell_p90: dict[str, Estimate]
    hours_by_cause: dict[str, Estimate]
    resources: tuple[ResourceSummary, ...]
    bottlenecks: tuple[str, ...]
    targets: TargetCheck
    capacity_exceeded: tuple[str, ...]
    conserved: bool
    refused_tonnes_per_year: Estimate
    refused_at: dict[str, Estimate]
    diverted_tonnes_per_year: Estimate
    ferry_wait_max_hours: float
    routes: tuple[RouteShareSummary, ...]
    stability: tuple[Stability, ...]
    cku_tonnes_per_year: Estimate
    aktau_teu_per_year: Estimate
    marginal_gains: dict[str, float] = {}


def replicate(
    scenario: Scenario,
    replications: int,
    seed: int = 0,
    *,
    backend: Backend | Runner = Backend.PROCESS,
    workers: int | None = None,
    progress: Progress | None = None,
    overrides: dict[str, float] | None = None,
) -> list[ReplicationResult]:
    """Run `replications` replications with seeds seed, seed+1, ...; results in seed order, the
    same whichever backend runs them. `backend` is a Backend (with `workers`) or a Runner."""
    if replications < 1:
        raise InvalidRequestError("replications must be at least 1")
    runner = backend if isinstance(backend, Runner) else Runner(backend, workers)
    if runner.workers is not None and runner.workers < 1:
        raise InvalidRequestError("workers must be at least 1")
    seeds = [seed + i for i in range(replications)]
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done)

    results: list[ReplicationResult] = []
    kind = runner.backend
    if kind is Backend.PROCESS and (replications == 1 or runner.workers == 1):
        kind = Backend.SEQUENTIAL  # a pool of one only adds the cost of starting it
    if kind is Backend.SEQUENTIAL:
        for s in seeds:
            results.append(run(scenario, s, overrides))
            tick()
    elif kind is Backend.PROCESS:
        size = min(runner.workers or os.cpu_count() or 1, replications)
        with ProcessPoolExecutor(max_workers=size) as pool:
            futures = [pool.submit(run, scenario, s, overrides) for s in seeds]
            for future in as_completed(futures):
                results.append(future.result())
                tick()
    else:
        results = _ray(scenario, seeds, overrides, tick, runner)
    return sorted(results, key=lambda r: r.seed)


def _ray(
    scenario: Scenario,
    seeds: list[int],
    overrides: dict[str, float] | None,
    tick: Callable[[], None],
    runner: Runner,
) -> list[ReplicationResult]:
    """The same `run` as Ray tasks, one a seed; Ray is an optional extra (`kervan[ray]`),
    imported only here. Joins a Ray instance already started in this process, else starts a
    local one (`workers` CPUs) or connects to the cluster at `ray_address`."""
    if find_spec("ray") is None:
        raise InvalidRequestError(
            "the ray backend needs Ray installed (pip install 'kervan[ray]'); use --backend process"
        )
    import ray  # noqa: PLC0415 (optional extra, heavy)

    if not ray.is_initialized():
        try:
            if runner.ray_address == RAY_LOCAL:
                ray.init(num_cpus=runner.workers, include_dashboard=False, log_to_driver=False)
            else:
                ray.init(address=runner.ray_address, log_to_driver=False)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            raise InvalidRequestError(
                f"cannot reach the Ray cluster at {runner.ray_address!r}: {exc}"
            ) from None
    remote: Any = ray.remote(run)
    shared = ray.put(scenario)  # sent to the cluster once, not once a task
    pending = [remote.remote(shared, s, overrides) for s in seeds]
    results: list[ReplicationResult] = []
    while pending:
        ready, pending = ray.wait(pending, num_returns=1)
        results.append(ray.get(ready[0]))
        tick()
    return results


def summarise(scenario: Scenario, results: Sequence[ReplicationResult]) -> ScenarioSummary:
    """Means and confidence intervals over replications, bottlenecks and the 2030 targets."""
    first = results[0]
    od = tuple(
        OdSummary(
            flow=o.flow,
            origin=o.origin,
            destination=o.destination,
            unit=o.unit,
            tonnes_per_year=o.tonnes_per_year,
            p50=estimate([r.od[i].p50 for r in results]),
            p90=estimate([r.od[i].p90 for r in results]),
            reference_p50=o.reference_p50,
        )
        for i, o in enumerate(first.od)
    )
    crossings = sorted({b.key for r in results for b in r.border_dwell})
    resources = tuple(
        ResourceSummary(
            id=res.id,
            kind=res.kind,
            unit=res.unit,
            capacity=res.capacity,
            basis=res.basis,
            utilisation_mean=estimate([r.resources[i].utilisation_mean for r in results]),
            utilisation_peak=max(r.resources[i].utilisation_peak for r in results),
            queue_mean=estimate([r.resources[i].queue_mean for r in results]),
            wait_hours_per_year=estimate([r.resources[i].wait_hours_per_year for r in results]),
            utilisation=res.utilisation,
            sources=res.sources,
        )
        for i, res in enumerate(first.resources)
    )
    ranked = sorted(
        (r for r in resources if r.wait_hours_per_year.mean > 0),
        key=lambda r: -r.wait_hours_per_year.mean,
    )
    return ScenarioSummary(
        scenario=scenario.id,
        title=scenario.title,
        description=scenario.description,
        year=scenario.year,
        years=scenario.years,
        seeds=tuple(r.seed for r in results),
        created=estimate([r.created for r in results]),
        delivered=estimate([r.delivered for r in results]),
        in_system=estimate([r.in_system for r in results]),
        throughput_tonnes_per_year=estimate([r.throughput_tonnes_per_year for r in results]),
        throughput_teu_per_year=estimate([r.throughput_teu_per_year for r in results]),
        titr_tonnes_per_year=estimate([r.titr_tonnes_per_year for r in results]),
        titr_teu_per_year=estimate([r.titr_teu_per_year for r in results]),
        od=od,
        border_dwell={c: estimate([_dwell(r, c, "p50") for r in results]) for c in crossings},
        border_dwell_p90={c: estimate([_dwell(r, c, "p90") for r in results]) for c in crossings},
        hours_by_cause={
            k: estimate([r.hours_by_cause[k] for r in results]) for k in first.hours_by_cause
        },
        resources=resources,
        bottlenecks=tuple(r.id for r in ranked),
        targets=_targets(results),
        capacity_exceeded=tuple(sorted({i for r in results for i in capacity_respected(r)})),
        conserved=all(r.created == r.delivered + r.in_system + r.refused for r in results),
        refused_tonnes_per_year=estimate([r.refused_tonnes_per_year for r in results]),
        refused_at={
            p: estimate([r.refused_at.get(p, 0.0) for r in results])
            for p in sorted({p for r in results for p in r.refused_at})
        },
        diverted_tonnes_per_year=estimate([r.diverted_tonnes_per_year for r in results]),
        ferry_wait_max_hours=max(r.ferry_wait_max_hours for r in results),
        routes=_routes(results),
        stability=_stability(results),
        cku_tonnes_per_year=estimate([cku_tonnes(r) for r in results]),
        aktau_teu_per_year=estimate([r.port_teu_per_year.get(AKTAU, 0.0) for r in results]),
    )


#: The Aktau sea port (its container hub is the 300,000-container target).
AKTAU = "KZAAU"


def cku_tonnes(result: ReplicationResult) -> float:
    """Tonnes a year over the China-Kyrgyzstan-Uzbekistan railway (its busiest section)."""
    on = [v for k, v in result.link_tonnes_per_year.items() if k.startswith("CKU-")]
    return max(on, default=0.0)


def _routes(results: Sequence[ReplicationResult]) -> tuple[RouteShareSummary, ...]:
    keys = sorted({(s.flow, s.route, s.preferred) for r in results for s in r.routes})
    out = []
    for flow, route, preferred in keys:
        values = [
            sum(
                s.tonnes_per_year
                for s in r.routes
                if (s.flow, s.route, s.preferred) == (flow, route, preferred)
            )
            for r in results
        ]
        out.append(
            RouteShareSummary(
                flow=flow, route=route, preferred=preferred, tonnes_per_year=estimate(values)
            )
        )
    return tuple(out)


def _stability(results: Sequence[ReplicationResult]) -> tuple[Stability, ...]:
    ids = sorted({(x.id, x.unit, x.capacity_per_year) for r in results for x in r.loads})
    out = []
    for ident, unit, capacity in ids:
        offered = estimate(
            [sum(x.offered_per_year for x in r.loads if x.id == ident) for r in results]
        )
        factor = offered.mean / capacity if capacity > 0 and math.isfinite(capacity) else 0.0
        out.append(
            Stability(
                id=ident,
                unit=unit,
                offered_per_year=offered,
                capacity_per_year=capacity,
                load_factor=factor,
                unstable=factor >= 1.0,
                capacity_needed_per_year=offered.mean / UTILISATION_TARGET,
            )
        )
    return tuple(sorted(out, key=lambda s: -s.load_factor))


def _dwell(result: ReplicationResult, crossing: str, q: str) -> float:
    for b in result.border_dwell:
        if b.key == crossing:
            return float(getattr(b, q))
    return math.nan


def time_ratio(result: ReplicationResult) -> float:
    """Tonnes-weighted simulated P50 transit of the Trans-Caspian flows' shipments that took a
    Trans-Caspian route, over the reference P50 (today's network, as the planner computes it)
    of the same flows: 0.5 meets the halve-travel-time target. Cargo that diverted to the sea
    or the Northern route does not count: the target is the Middle Corridor's own time."""
    num = den = 0.0
    for o in result.od:
        if not o.corridor_flow or o.corridor_p50 is None:
            continue
        num += o.tonnes_per_year * o.corridor_p50
        den += o.tonnes_per_year * o.reference_p50
    return num / den if den > 0 else math.nan


def _targets(results: Sequence[ReplicationResult]) -> TargetCheck:
    volume = estimate([r.titr_tonnes_per_year for r in results])
    ratio = estimate([time_ratio(r) for r in results])
    vol_target = published.TARGET_VOLUME_2030
    time_target = published.TARGET_TIME_FACTOR_2030
    return TargetCheck(
        volume_tonnes_per_year=volume,
        volume_target=vol_target.value,
        volume_met=volume.mean >= vol_target.value,
        time_ratio=ratio,
        time_target_ratio=time_target.value,
        time_met=ratio.mean <= time_target.value,
        sources={"volume": vol_target.source, "time": time_target.source},
    )


def marginal_gains(
    scenario: Scenario,
    summary: ScenarioSummary,
    *,
    top: int = 3,
    uplift: float = 0.10,
    replications: int = 2,
    seed: int = 0,
    backend: Backend | Runner = Backend.PROCESS,
) -> dict[str, float]:
    """Tonnes a year delivered in addition with +`uplift` capacity at each of the `top`
    bottlenecks, rerun with the same seeds as the summary's first replications."""
    base = replicate(scenario, replications, seed, backend=backend)
    base_tonnes = float(np.mean([r.throughput_tonnes_per_year for r in base]))
    gains: dict[str, float] = {}
    for ident in summary.bottlenecks[:top]:
        more = replicate(
            scenario, replications, seed, backend=backend, overrides={ident: 1.0 + uplift}
        )
        gains[ident] = float(np.mean([r.throughput_tonnes_per_year for r in more])) - base_tonnes
    return gains
