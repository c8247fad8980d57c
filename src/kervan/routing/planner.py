"""The route planner: best plans, k diverse alternatives and the Pareto set for a request."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from functools import lru_cache
from typing import Final

import numpy as np
import numpy.typing as npt

from kervan.errors import InvalidRequestError, NoRouteError
from kervan.network.model import CargoUnit, Mode, Network
from kervan.network.places import PlaceIndex
from kervan.routing.graph import CompiledNetwork, DwellPolicy, EdgeKind, compile_network
from kervan.routing.objective import Objective as Objective  # noqa: PLC0414 (re-exported)
from kervan.routing.plan import Plan, build_plan
from kervan.routing.search import EdgeGraph, pareto_paths, shortest_path, shortest_path_limited

BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class PlanRequest:
    """What a shipper asks: from where to where, for which cargo, under which constraints.

    `weights` (time, cost, CO2) apply to the mix objective; each criterion is scaled by its own
    optimum so the weights compare like with like. `year` (or `on_date`) decides which planned
    links are open; by default the network's reference year.
    """

    origin: str
    destination: str
    objective: Objective = Objective.TIME
    weights: tuple[float, float, float] = (1.0, 1.0, 1.0)
    unit: CargoUnit = CargoUnit.CONTAINER
    avoid_countries: frozenset[str] = frozenset()
    avoid_modes: frozenset[Mode] = frozenset()
    year: int | None = None
    on_date: date | None = None
    max_transfers: int | None = None
    alternatives: int = 3
    truck_flag: str | None = None
    digital_documents: bool = False
    green_lane: bool = False


#: Answers a planner remembers, the least recently asked forgotten first.
ANSWERS_REMEMBERED: Final = 256


@dataclass
class Planner:
    """Plans routes on one network; compiled graphs are cached per unit, year and dwell policy.

    The network does not change under a planner, so neither do its answers: the latest
    ANSWERS_REMEMBERED are kept (plans are frozen, through and through) and a request asked
    again is answered from them. Booking asks again the question the shipper's plan answered
    moments before (to find the chosen plan), and corridor nodes plan the same few routes all
    day. Errors are not remembered.
    """

    network: Network
    places: PlaceIndex = field(init=False)
    _compiled: dict[tuple[CargoUnit, int, DwellPolicy], CompiledNetwork] = field(
        default_factory=dict, init=False
    )
    _answer: Callable[[str, PlanRequest, float], tuple[Plan, ...]] = field(init=False)

    def __post_init__(self) -> None:
        self.places = PlaceIndex(self.network)
        # bench/api.py seeding: a booking 117 ms -> 8 ms (booking asks again what the plan answered)
        self._answer = lru_cache(maxsize=ANSWERS_REMEMBERED)(self._search_answer)

    # -- public -----------------------------------------------------------------------------

    def plan(self, request: PlanRequest) -> list[Plan]:
        """The best plan for the objective, then up to `alternatives - 1` diverse others.

        Raises UnknownPlaceError for a name that matches no node and NoRouteError (with the
        constraints that block it) when nothing connects the two.
        """
        return list(self._answer("plan", request, 0.0))

    def pareto(self, request: PlanRequest, eps: float = 0.01) -> list[Plan]:
        """Plans no other plan beats on time, cost and CO2 at once, fastest first."""
        return list(self._answer("pareto", request, eps))

    # -- internals --------------------------------------------------------------------------

    def _search_answer(self, kind: str, request: PlanRequest, eps: float) -> tuple[Plan, ...]:
        plans = self._pareto(request, eps) if kind == "pareto" else self._plan(request)
        return tuple(plans)

    def _plan(self, request: PlanRequest) -> list[Plan]:
        compiled, graph, mask, source, target = self._prepare(request)
        weight = self._weight(request, compiled, graph, mask, source, target)
        plans: list[Plan] = []
        penalty = np.ones(len(weight))
        for _ in range(max(request.alternatives, 1) * 4):
            path = self._search(request, compiled, graph, weight * penalty, mask, source, target)
            if path is None:
                break
            plan = build_plan(compiled, path, request.truck_flag)
            if all(_distinct(plan, other) for other in plans):
                plans.append(plan)
            if len(plans) >= request.alternatives:
                break
            links = [e for e in path if compiled.kind[e] == EdgeKind.LINK]
            penalty[links] *= 1.6  # push the next search off this route's links
        if not plans:
            raise NoRouteError(request.origin, request.destination, self._why_not(request))
        return plans

    def _pareto(self, request: PlanRequest, eps: float) -> list[Plan]:
        compiled, graph, mask, source, target = self._prepare(request)
        counted = compiled.kind == EdgeKind.TRANSFER
        paths = pareto_paths(
            graph,
            (compiled.time_h, compiled.cost_usd, compiled.co2_kg),
            counted,
            source,
            target,
            mask=mask,
            max_transfers=request.max_transfers,
            eps=eps,
        )
        if not paths:
            raise NoRouteError(request.origin, request.destination, self._why_not(request))
        plans = [build_plan(compiled, p, request.truck_flag) for p in paths]
        front = [p for p in plans if not any(_dominates(q, p) for q in plans if q is not p)]
        unique = {p.plan_key: p for p in front}
        return sorted(unique.values(), key=lambda p: (p.totals.typical_hours, p.totals.cost_usd))

    def compiled(self, unit: CargoUnit, year: int, policy: DwellPolicy) -> CompiledNetwork:
        key = (unit, year, policy)
        if key not in self._compiled:
            self._compiled[key] = compile_network(self.network, unit, year, policy)
        return self._compiled[key]

    def _year(self, request: PlanRequest) -> int:
        if request.on_date is not None:
            return request.on_date.year
        return request.year if request.year is not None else self.network.reference_year

    def _prepare(
        self, request: PlanRequest
    ) -> tuple[CompiledNetwork, EdgeGraph, BoolArray, int, int]:
        _validate(request, self.network)
        origin = self.places.resolve(request.origin)
        destination = self.places.resolve(request.destination)
        if origin.id == destination.id:
            raise InvalidRequestError(f"{origin.name} is both origin and destination")
        for node in (origin, destination):
            if node.country in request.avoid_countries:
                raise NoRouteError(
                    request.origin,
                    request.destination,
                    [f"{node.name} is in {node.country}, a country the request avoids."],
                )
        policy = DwellPolicy(request.digital_documents, request.green_lane)
        compiled = self.compiled(request.unit, self._year(request), policy)
        graph = EdgeGraph(compiled.vertex_count, compiled.src, compiled.dst)
        mask = np.ones(len(compiled.ref), dtype=np.bool_)
        if request.avoid_countries:
            touching = compiled.edges_touching(frozenset(request.avoid_countries))
            # Start/end edges touch only their own node's country, which is allowed above.
            mask &= ~touching | (compiled.kind >= EdgeKind.START)
        if request.avoid_modes:
            mask &= ~compiled.edges_by_mode(frozenset(request.avoid_modes))
        source = compiled.start_vertex[origin.id]
        target = compiled.end_vertex[destination.id]
        return compiled, graph, mask, source, target

    def _weight(
        self,
        request: PlanRequest,
        compiled: CompiledNetwork,
        graph: EdgeGraph,
        mask: BoolArray,
        source: int,
        target: int,
    ) -> npt.NDArray[np.float64]:
        criteria = (compiled.time_h, compiled.cost_usd, compiled.co2_kg)
        if request.objective is Objective.TIME:
            return compiled.time_h
        if request.objective is Objective.COST:
            return compiled.cost_usd
        if request.objective is Objective.CO2:
            return compiled.co2_kg
        mixed = np.zeros(len(compiled.ref))
        for w, values in zip(request.weights, criteria, strict=True):
            if w == 0:
                continue
            path = self._search(request, compiled, graph, values, mask, source, target)
            scale = float(values[path].sum()) if path else 1.0
            mixed += w * values / (scale if scale > 0 else 1.0)
        return mixed

    @staticmethod
    def _search(
        request: PlanRequest,
        compiled: CompiledNetwork,
        graph: EdgeGraph,
        weight: npt.NDArray[np.float64],
        mask: BoolArray,
        source: int,
        target: int,
    ) -> list[int] | None:
        if request.max_transfers is None:
            return shortest_path(graph, weight, source, target, mask)
        counted = compiled.kind == EdgeKind.TRANSFER
        return shortest_path_limited(
            graph, weight, counted, request.max_transfers, source, target, mask
        )

    def _routable(self, request: PlanRequest) -> bool:
        compiled, graph, mask, source, target = self._prepare(request)
        return (
            self._search(request, compiled, graph, compiled.time_h, mask, source, target)
            is not None
        )

    def _why_not(self, request: PlanRequest) -> list[str]:
        """Which constraints block every route: each one lifted alone, does a route appear?"""
        reasons: list[str] = []
        for country in sorted(request.avoid_countries):
            lifted = replace(request, avoid_countries=request.avoid_countries - {country})
            if self._routable(lifted):
                reasons.append(f"Avoiding {country} blocks every route; allowing it gives one.")
        for mode in sorted(request.avoid_modes):
            lifted = replace(request, avoid_modes=request.avoid_modes - {mode})
            if self._routable(lifted):
                reasons.append(f"Avoiding {mode.value} blocks every route; allowing it gives one.")
        if request.max_transfers is not None and self._routable(
            replace(request, max_transfers=None)
        ):
            reasons.append(
                f"No route makes at most {request.max_transfers} transfer(s); more would give one."
            )
        year = self._year(request)
        later = max((k.opens_year or year for k in self.network.links.values()), default=year)
        if later > year and self._routable(replace(request, year=later, on_date=None)):
            reasons.append(
                f"Links planned to open by {later} would give a route; none does in {year}."
            )
        for unit in CargoUnit:
            if unit is not request.unit and self._routable(replace(request, unit=unit)):
                reasons.append(
                    f"No service carries a {request.unit.value} all the way; "
                    f"a {unit.value} could go."
                )
                break
        if not reasons and (request.avoid_countries or request.avoid_modes):
            reasons.append("The constraints together block every route; lift more than one.")
        return reasons


def _validate(request: PlanRequest, network: Network) -> None:
    if request.alternatives < 1 or request.alternatives > 10:
        raise InvalidRequestError("alternatives must be between 1 and 10")
    if request.max_transfers is not None and not 0 <= request.max_transfers <= 20:
        raise InvalidRequestError("max_transfers must be between 0 and 20")
    if any(w < 0 for w in request.weights) or not any(w > 0 for w in request.weights):
        raise InvalidRequestError("weights must be non-negative and not all zero")
    unknown = sorted(c for c in request.avoid_countries if len(c) != 2 or not c.isupper())
    if unknown:
        raise InvalidRequestError(f"not ISO 3166 alpha-2 country codes: {', '.join(unknown)}")
    if request.truck_flag is not None and len(request.truck_flag) != 2:
        raise InvalidRequestError("truck_flag must be an ISO 3166 alpha-2 country code")
    year = request.on_date.year if request.on_date else request.year
    if year is not None and not 1990 <= year <= 2100:
        raise InvalidRequestError(f"year {year} is outside 1990-2100")
    if request.unit not in network.cargo_units:
        raise InvalidRequestError(f"unknown cargo unit {request.unit}")


def _dominates(a: Plan, b: Plan) -> bool:
    x = (a.totals.typical_hours, a.totals.cost_usd, a.totals.co2_kg)
    y = (b.totals.typical_hours, b.totals.cost_usd, b.totals.co2_kg)
    return all(p <= q for p, q in zip(x, y, strict=True)) and x != y


def _distinct(a: Plan, b: Plan) -> bool:
    """Alternatives must differ: share less than 80% of their links."""
    la, lb = set(a.link_ids), set(b.link_ids)
    if not la or not lb:
        return la != lb
    return len(la & lb) / len(la | lb) < 0.8
