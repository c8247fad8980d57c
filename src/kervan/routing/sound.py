"""What makes a plan one a forwarder would not reject on sight, and how alternatives differ.

A plan is sound when it passes no place twice, enters no country twice (unless the shipper
allows it; a ship passing a strait or canal enters no country), trucks a container or bulk no
further than its first/last-mile bound at each end and never between two rail, sea or ferry
legs. Alternatives differ from each other by the places they pass and the modes between them,
and none is a detour far worse than the best plan. A Pareto front is thinned to a few plans
spread over time, cost and CO2.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from kervan.network.model import CargoUnit, Mode, Network
from kervan.routing.sea import great_circle_km

#: An alternative may be at most this much worse than the best plan on the objective...
DETOUR_OBJECTIVE_FACTOR = 1.6
#: ... and at most this much longer (with a little slack for short trips).
DETOUR_DISTANCE_FACTOR = 1.3
DETOUR_DISTANCE_SLACK_KM = 300.0
#: A Pareto front is thinned to at most this many plans.
PARETO_PLANS = 8
#: A plan may pass a place at most this far off the way: km beyond the straight line from origin
#: to destination via that place, up to this share of the line or the allowance, whichever is
#: more. A container from Shanghai to Almaty does not go by way of Poti, nor one from Xi'an to
#: Istanbul by way of Duisburg; from Kashgar to Bishkek it may go round by Urumqi where no line
#: crosses the mountains.
WANDER_SHARE = 0.4
WANDER_ALLOWANCE_KM = 2000.0
#: Alternatives sharing this share of their links or more are the same route for a forwarder.
SAME_ROUTE_LINK_SHARE = 0.8


class _Leg(Protocol):
    @property
    def mode(self) -> Mode: ...
    @property
    def distance_km(self) -> float: ...


class _Totals(Protocol):
    @property
    def typical_hours(self) -> float: ...
    @property
    def cost_usd(self) -> float: ...
    @property
    def co2_kg(self) -> float: ...
    @property
    def distance_km(self) -> float: ...


class Route(Protocol):
    """What judging a route needs: a full Plan or a Sketch of a search path."""

    @property
    def unit(self) -> CargoUnit: ...
    @property
    def legs(self) -> Sequence[_Leg]: ...
    @property
    def totals(self) -> _Totals: ...
    @property
    def link_ids(self) -> tuple[str, ...]: ...
    @property
    def node_ids(self) -> tuple[str, ...]: ...
    @property
    def entered_countries(self) -> tuple[str, ...]: ...
    @property
    def signature(self) -> tuple[tuple[str, Mode], ...]: ...


R = TypeVar("R", bound=Route)


@dataclass(frozen=True)
class Rules:
    """What a request allows: re-entering a country, and the road bound at each end (km).

    `places` gives each node's (lat, lon), for the check that a plan does not wander.
    """

    allow_reentry: bool = False
    road_km_bound: float | None = None
    places: Mapping[str, tuple[float, float]] = field(default_factory=dict)


def road_km(network: Network, unit: CargoUnit, year: int, start: str) -> dict[str, float]:
    """Road kilometres from `start` to every node the unit can reach by road (links both ways)."""
    adjacency: dict[str, list[tuple[str, float]]] = {}
    for link in network.links.values():
        if link.mode is not Mode.ROAD or unit not in link.cost_usd or not link.open_in(year):
            continue
        adjacency.setdefault(link.from_node, []).append((link.to_node, link.distance_km))
        if link.bidirectional:
            adjacency.setdefault(link.to_node, []).append((link.from_node, link.distance_km))
    dist = {start: 0.0}
    heap = [(0.0, start)]
    while heap:
        d, node = heapq.heappop(heap)
        if d > dist[node]:
            continue
        for nxt, km in adjacency.get(node, []):
            if d + km < dist.get(nxt, math.inf):
                dist[nxt] = d + km
                heapq.heappush(heap, (d + km, nxt))
    return dist


def road_ends_km(plan: Route) -> tuple[float, float, bool]:
    """Road km before the first and after the last non-road leg, and whether road runs between.

    A plan wholly by road counts all of it as the first mile.
    """
    modes = [leg.mode for leg in plan.legs]
    carried = [i for i, m in enumerate(modes) if m is not Mode.ROAD]
    if not carried:
        return sum(leg.distance_km for leg in plan.legs), 0.0, False
    first = sum(leg.distance_km for leg in plan.legs[: carried[0]])
    last = sum(leg.distance_km for leg in plan.legs[carried[-1] + 1 :])
    between = any(m is Mode.ROAD for m in modes[carried[0] : carried[-1] + 1])
    return first, last, between


def unsound(plan: Route, rules: Rules) -> str | None:
    """Why a forwarder would reject the plan, or None when it is sound."""
    nodes = plan.node_ids
    if len(set(nodes)) != len(nodes):
        again = next(n for i, n in enumerate(nodes) if n in nodes[:i])
        return f"it passes {again} twice"
    entered = plan.entered_countries
    if not rules.allow_reentry and len(set(entered)) != len(entered):
        again = next(c for i, c in enumerate(entered) if c in entered[:i])
        return f"it enters {again} twice"
    wander = wandering(plan, rules.places)
    if wander is not None:
        return wander
    if rules.road_km_bound is not None:
        first, last, between = road_ends_km(plan)
        if between:
            return f"it trucks the {plan.unit.value} between two rail, sea or ferry legs"
        if max(first, last) > rules.road_km_bound + 1e-6:
            return (
                f"it trucks the {plan.unit.value} {max(first, last):,.0f} km at one end, beyond "
                f"the {rules.road_km_bound:,.0f} km first/last mile"
            )
    return None


def wandering(plan: Route, places: Mapping[str, tuple[float, float]]) -> str | None:
    """Why the plan wanders far off the way between its ends, or None."""
    nodes = plan.node_ids
    if not places or not nodes:
        return None
    a, b = places[nodes[0]], places[nodes[-1]]
    line = great_circle_km(a, b)
    allowed = max(WANDER_SHARE * line, WANDER_ALLOWANCE_KM)
    for node in nodes[1:-1]:
        p = places[node]
        off = great_circle_km(a, p) + great_circle_km(p, b) - line
        if off > allowed:
            return f"it goes {off:,.0f} km out of its way to pass {node}"
    return None


def distinct(a: Route, b: Route) -> bool:
    """Two plans are different routes: other places or modes, and not mostly the same links."""
    if a.signature == b.signature:
        return False
    la, lb = set(a.link_ids), set(b.link_ids)
    if not la or not lb:
        return la != lb
    return len(la & lb) / len(la | lb) < SAME_ROUTE_LINK_SHARE


def no_detour(plan: Route, best: Route, score_plan: float, score_best: float) -> bool:
    """Whether an alternative stays within the detour caps against the best plan."""
    if score_plan > DETOUR_OBJECTIVE_FACTOR * score_best + 1e-9:
        return False
    limit = DETOUR_DISTANCE_FACTOR * best.totals.distance_km + DETOUR_DISTANCE_SLACK_KM
    return plan.totals.distance_km <= limit


def criteria(plan: Route) -> tuple[float, float, float]:
    """Time (typical hours), cost (US$) and CO2 (kg) of a plan."""
    t = plan.totals
    return t.typical_hours, t.cost_usd, t.co2_kg


def dominates(a: Route, b: Route) -> bool:
    """Whether `a` is at least as good as `b` on all three criteria and better on one."""
    x, y = criteria(a), criteria(b)
    return all(p <= q for p, q in zip(x, y, strict=True)) and x != y


def thin_front(plans: Sequence[R], keep: int = PARETO_PLANS) -> list[R]:
    """At most `keep` distinct plans from a front: the best on each criterion, then the plans
    farthest (in log time, cost and CO2) from those already chosen; fastest first."""
    unique: list[R] = []
    for plan in sorted(plans, key=criteria):
        if all(distinct(plan, other) for other in unique):
            unique.append(plan)
    if len(unique) <= keep:
        return sorted(unique, key=lambda p: (p.totals.typical_hours, p.totals.cost_usd))

    def point(p: R) -> tuple[float, ...]:
        return tuple(math.log1p(v) for v in criteria(p))

    chosen: list[R] = []
    for k in range(3):
        best = min(unique, key=lambda p: criteria(p)[k])
        if best not in chosen:
            chosen.append(best)
    while len(chosen) < keep:
        rest = [p for p in unique if p not in chosen]
        far = max(rest, key=lambda p: min(math.dist(point(p), point(c)) for c in chosen))
        chosen.append(far)
    return sorted(chosen, key=lambda p: (p.totals.typical_hours, p.totals.cost_usd))
