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
from kervan.network.model import CargoUnit, Mode, Network, Passage
from kervan.network.places import PlaceIndex
from kervan.routing.graph import (
    FIRST_MILE,
    CompiledNetwork,
    DwellPolicy,
    EdgeKind,
    compile_network,
)
from kervan.routing.objective import Objective as Objective  # noqa: PLC0414 (re-exported)
from kervan.routing.plan import Plan, build_plan
from kervan.routing.search import EdgeGraph, pareto_paths, shortest_path, shortest_path_limited
from kervan.routing.sketch import Sketch, sketch
from kervan.routing.sound import (
    Route,
    Rules,
    criteria,
    distinct,
    dominates,
    no_detour,
    road_km,
    thin_front,
    unsound,
)

BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class PlanRequest:
    """What a shipper asks: from where to where, for which cargo, under which constraints.

    `weights` (time, cost, CO2) apply to the mix objective; each criterion is scaled by its own
    optimum so the weights compare like with like. `year` (or `on_date`) decides which planned
    links are open; by default the network's reference year. A container or bulk goes by road
    only to and from its terminals, within its unit's first/last-mile bound, unless `road_haul`
    (the shipper books trucking). `allow_reentry` lets a plan enter a country twice;
    `closed_passages` shuts sea passages (the Red Sea and Suez, the Bosphorus) to the plan.
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
    road_haul: bool = False
    allow_reentry: bool = False
    closed_passages: frozenset[Passage] = frozenset()


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
    _places: dict[str, tuple[float, float]] = field(init=False, repr=False)
    _suez_countries: frozenset[str] = field(init=False, repr=False)
    _compiled: dict[tuple[CargoUnit, int, DwellPolicy, bool], CompiledNetwork] = field(
        default_factory=dict, init=False
    )
    _answer: Callable[[str, PlanRequest, float], tuple[Plan, ...]] = field(init=False)

    def __post_init__(self) -> None:
        self.places = PlaceIndex(self.network)
        self._places = {n.id: (n.lat, n.lon) for n in self.network.nodes.values()}
        self._suez_countries = frozenset(
            c
            for link in self.network.links.values()
            if Passage.RED_SEA in link.passages
            for c in link.via_countries
        )
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
        weight, scales = self._weight(request, compiled, graph, mask, source, target)
        rules = self._rules(request)
        kept: list[Sketch] = []
        paths: list[list[int]] = []
        rejected: list[str] = []
        penalty = np.ones(len(weight))
        links_of = _edges_by_link(compiled)
        for _ in range(max(request.alternatives, 1) * 5):
            path = self._search(request, compiled, graph, weight * penalty, mask, source, target)
            if path is None:
                break
            candidate = sketch(compiled, path)
            why = unsound(candidate, rules)
            if why is not None:
                rejected.append(why)
            elif not kept or (
                all(distinct(candidate, other) for other in kept)
                and no_detour(
                    candidate,
                    kept[0],
                    _score(request, candidate, scales),
                    _score(request, kept[0], scales),
                )
            ):
                kept.append(candidate)
                paths.append(path)
            if len(kept) >= request.alternatives:
                break
            for link_id in dict.fromkeys(compiled.ref[e] for e in path if compiled.kind[e] == 0):
                penalty[links_of[link_id]] *= 1.6  # push the next search off this route's links
        if not kept:
            raise NoRouteError(
                request.origin, request.destination, self._why_not(request, rejected)
            )
        plans = [build_plan(compiled, p, request.truck_flag) for p in paths]
        return sorted(plans, key=lambda p: _score(request, p, scales))

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
        rules = self._rules(request)
        sketched = [(sketch(compiled, p), p) for p in paths]
        rejected = [why for s, _ in sketched if (why := unsound(s, rules)) is not None]
        sound = [(s, p) for s, p in sketched if unsound(s, rules) is None]
        plans: list[Plan]
        if sound:
            path_of = {id(s): p for s, p in sound}
            front = [
                s for s, _ in sound if not any(dominates(q, s) for q, _ in sound if q is not s)
            ]
            plans = [
                build_plan(compiled, path_of[id(s)], request.truck_flag) for s in thin_front(front)
            ]
        else:
            # The front's plans are all unsound: the best sound plans by each criterion instead.
            plans = [
                plan
                for objective in (Objective.TIME, Objective.COST, Objective.CO2)
                for plan in self._plan_or_none(replace(request, objective=objective))
            ]
        if not plans:
            raise NoRouteError(
                request.origin, request.destination, self._why_not(request, rejected)
            )
        # Full plans count driving rest exactly (the search approximates it): judge again.
        front_plans = [p for p in plans if not any(dominates(q, p) for q in plans if q is not p)]
        return thin_front(front_plans)

    def _plan_or_none(self, request: PlanRequest) -> list[Plan]:
        try:
            return self._plan(replace(request, alternatives=1))
        except NoRouteError:
            return []

    def _rules(self, request: PlanRequest) -> Rules:
        bound = self.network.cargo_units[request.unit].road_km_bound
        return Rules(
            allow_reentry=request.allow_reentry,
            road_km_bound=None if request.road_haul else bound,
            places=self._places,
        )

    def compiled(
        self, unit: CargoUnit, year: int, policy: DwellPolicy, road_phases: bool = False
    ) -> CompiledNetwork:
        """The search graph for a unit, year and dwell policy (built once, then reused)."""
        key = (unit, year, policy, road_phases)
        if key not in self._compiled:
            self._compiled[key] = compile_network(self.network, unit, year, policy, road_phases)
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
        bound = self._rules(request).road_km_bound
        year = self._year(request)
        compiled = self.compiled(request.unit, year, policy, road_phases=bound is not None)
        graph = EdgeGraph(compiled.vertex_count, compiled.src, compiled.dst)
        mask = self._passages_mask(request, compiled)
        if bound is not None:
            mask &= _road_reach_mask(compiled, request.unit, year, origin.id, destination.id, bound)
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
    ) -> tuple[npt.NDArray[np.float64], tuple[float, float, float]]:
        """The edge weight the objective minimises, and the mix objective's scales."""
        per_criterion = (compiled.time_h, compiled.cost_usd, compiled.co2_kg)
        if request.objective is Objective.TIME:
            return compiled.time_h, (1.0, 1.0, 1.0)
        if request.objective is Objective.COST:
            return compiled.cost_usd, (1.0, 1.0, 1.0)
        if request.objective is Objective.CO2:
            return compiled.co2_kg, (1.0, 1.0, 1.0)
        mixed = np.zeros(len(compiled.ref))
        scales = [1.0, 1.0, 1.0]
        for k, (w, values) in enumerate(zip(request.weights, per_criterion, strict=True)):
            if w == 0:
                continue
            path = self._search(request, compiled, graph, values, mask, source, target)
            scale = float(values[path].sum()) if path else 1.0
            scales[k] = scale if scale > 0 else 1.0
            mixed += w * values / scales[k]
        return mixed, (scales[0], scales[1], scales[2])

    def _passages_mask(self, request: PlanRequest, compiled: CompiledNetwork) -> BoolArray:
        """Edges open under the request's closed passages; the Cape only when Suez is shut.

        Suez is shut to a plan when the request closes it or avoids a country it passes (Egypt).
        """
        suez_countries = self._suez_countries
        closed = set(request.closed_passages)
        if Passage.RED_SEA not in closed and suez_countries & request.avoid_countries:
            closed.add(Passage.RED_SEA)
        if Passage.RED_SEA not in closed:
            closed.add(Passage.CAPE)
        key = ("passages", frozenset(closed))
        if key not in compiled.memo:
            mask = np.ones(len(compiled.ref), dtype=np.bool_)
            links = self.network.links
            for e, kind in enumerate(compiled.kind.tolist()):
                if kind == EdgeKind.LINK and closed.intersection(links[compiled.ref[e]].passages):
                    mask[e] = False
            compiled.memo[key] = mask
        cached = compiled.memo[key]
        assert isinstance(cached, np.ndarray)
        return cached.copy()

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

    def _terminal_within(self, request: PlanRequest, node_id: str, bound: float) -> bool:
        """Whether a rail, sea or ferry link for the unit starts within `bound` road km."""
        year = self._year(request)
        reach = road_km(self.network, request.unit, year, node_id)
        for link in self.network.links.values():
            if link.mode is Mode.ROAD or request.unit not in link.cost_usd:
                continue
            if not link.open_in(year) or link.mode in request.avoid_modes:
                continue
            if min(reach.get(link.from_node, np.inf), reach.get(link.to_node, np.inf)) <= bound:
                return True
        return False

    def _why_not(self, request: PlanRequest, rejected: list[str] | None = None) -> list[str]:
        """Which constraints block every route: each one lifted alone, does a route appear?"""
        reasons: list[str] = []
        bound = self._rules(request).road_km_bound
        if bound is not None:
            for name in (request.origin, request.destination):
                node = self.places.resolve(name)
                if not self._terminal_within(request, node.id, bound):
                    reasons.append(
                        f"No rail, sea or ferry terminal is within {bound:,.0f} km by road of "
                        f"{node.name}: book a truck (unit truck) or ask for trucking (road haul)."
                    )
        if rejected:
            reasons.append(
                "Every route found was one a forwarder would reject: "
                + "; ".join(dict.fromkeys(rejected))
                + "."
            )
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


def _score(request: PlanRequest, plan: Route, scales: tuple[float, float, float]) -> float:
    """The objective's value for a whole plan (what the plans are ranked by)."""
    values = criteria(plan)
    if request.objective is Objective.TIME:
        return values[0]
    if request.objective is Objective.COST:
        return values[1]
    if request.objective is Objective.CO2:
        return values[2]
    return sum(w * v / s for w, v, s in zip(request.weights, values, scales, strict=True))


def _edges_by_link(compiled: CompiledNetwork) -> dict[str, list[int]]:
    """Edge indices of each link (both directions, both road phases); computed once."""
    cached = compiled.memo.get("edges_by_link")
    if isinstance(cached, dict):
        return cached
    out: dict[str, list[int]] = {}
    for e, kind in enumerate(compiled.kind.tolist()):
        if kind == EdgeKind.LINK:
            out.setdefault(compiled.ref[e], []).append(e)
    compiled.memo["edges_by_link"] = out
    return out


def _road_reach_mask(
    compiled: CompiledNetwork,
    unit: CargoUnit,
    year: int,
    origin: str,
    destination: str,
    bound: float,
) -> BoolArray:
    """First-mile road edges only towards nodes within `bound` road km of the origin, last-mile
    ones only from nodes within `bound` of the destination."""
    ends = compiled.memo.get("road_ends")
    if not isinstance(ends, tuple):
        phase = compiled.road_phase()
        road = np.flatnonzero(phase)
        near = [
            compiled.port_at(int(compiled.dst[e] if phase[e] == FIRST_MILE else compiled.src[e]))[0]
            for e in road.tolist()
        ]
        ends = (road, phase[road] == FIRST_MILE, near)
        compiled.memo["road_ends"] = ends
    road, first_mile, near = ends
    reach: dict[str, dict[str, float]] = {}
    for node in (origin, destination):
        key = ("road_km", node)
        if key not in compiled.memo:
            compiled.memo[key] = road_km(compiled.network, unit, year, node)
        cached = compiled.memo[key]
        assert isinstance(cached, dict)
        reach[node] = cached
    km = np.array(
        [
            reach[origin if first else destination].get(node, np.inf)
            for first, node in zip(first_mile.tolist(), near, strict=True)
        ]
    )
    mask = np.ones(len(compiled.ref), dtype=np.bool_)
    mask[road] = km <= bound
    return mask
