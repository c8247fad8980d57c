"""A battery of corridor queries a forwarder would ask, each answer checked for nonsense.

Every ordered pair of 20 places is asked once, rotating through the cargo units, the objectives
and an avoided-country set, so each pair, unit, objective and avoidance appears (380 queries).
Each answer must pass no place twice, enter no country twice, truck a container or bulk only as
first/last mile within its unit's bound, sail no sea leg much longer than the sea network's
shortest path between its ports, and offer alternatives that differ from each other.
"""

from __future__ import annotations

import itertools

import pytest

from kervan.errors import NoRouteError
from kervan.network.model import CargoUnit, Mode, Network, Passage
from kervan.routing.plan import Plan
from kervan.routing.planner import Objective, Planner, PlanRequest
from kervan.routing.sea import SeaNetwork
from kervan.routing.sound import road_ends_km

PLACES = (
    "Xi'an",
    "Chongqing",
    "Lianyungang",
    "Shanghai",
    "Urumqi",
    "Kashgar",
    "Almaty",
    "Kars",
    "Bishkek",
    "Tashkent",
    "Aktau",
    "Turkmenbashi",
    "Baku",
    "Tbilisi",
    "Poti",
    "Istanbul",
    "Mersin",
    "Constanta",
    "Budapest",
    "Duisburg",
)
UNITS = tuple(CargoUnit)
OBJECTIVES = tuple(Objective)
NORTH = frozenset({"RU", "BY"})


def queries(network: Network, planner: Planner) -> list[PlanRequest]:
    out = []
    for i, (origin, destination) in enumerate(itertools.permutations(PLACES, 2)):
        ends = {planner.places.resolve(p).country for p in (origin, destination)}
        avoid = frozenset() if i % 2 == 0 else (NORTH if not ends & NORTH else frozenset({"UZ"}))
        out.append(
            PlanRequest(
                origin,
                destination,
                OBJECTIVES[(i // 2) % len(OBJECTIVES)],
                unit=UNITS[i % len(UNITS)] if i % 7 else UNITS[(i // 7) % len(UNITS)],
                avoid_countries=avoid - ends,
                alternatives=3,
            )
        )
    assert network.reference_year
    return out


def assert_sound(plan: Plan, request: PlanRequest, network: Network, sea: SeaNetwork) -> None:
    nodes = plan.node_ids
    assert len(set(nodes)) == len(nodes), f"{plan.plan_key} passes a place twice"
    entered = plan.entered_countries
    assert len(set(entered)) == len(entered), f"{plan.plan_key} enters a country twice"
    assert not request.avoid_countries & set(plan.countries)
    bound = network.cargo_units[plan.unit].road_km_bound
    if bound is not None:
        first, last, between = road_ends_km(plan)
        assert not between, f"{plan.plan_key} trucks a {plan.unit} between two carried legs"
        assert first <= bound + 1e-6, f"{plan.plan_key} trucks {first:.0f} km at the start"
        assert last <= bound + 1e-6, f"{plan.plan_key} trucks {last:.0f} km at the end"
    for leg in plan.legs:
        if leg.mode is Mode.SEA:
            closed = set(request.closed_passages)
            if Passage.CAPE in network.links[leg.link_id].passages:
                closed.add(Passage.RED_SEA)  # round the Cape because the Red Sea is shut to it
            a, b = network.nodes[leg.from_node], network.nodes[leg.to_node]
            shortest = sea.distance_km(a, b, closed)
            assert shortest is not None, f"{leg.link_id}: the sea network joins no such ports"
            assert leg.distance_km <= 1.3 * shortest, f"{leg.link_id} sails the long way"


def test_battery_of_corridor_queries_gives_no_nonsense(corridor: Network) -> None:
    planner = Planner(corridor)
    sea = SeaNetwork.shipped()
    asked = answered = 0
    unanswered: list[tuple[PlanRequest, list[str]]] = []
    for request in queries(corridor, planner):
        asked += 1
        try:
            plans = planner.plan(request)
        except NoRouteError as no_route:
            unanswered.append((request, no_route.reasons))
            continue
        answered += 1
        for plan in plans:
            assert_sound(plan, request, corridor, sea)
        for a, b in itertools.combinations(plans, 2):
            assert a.signature != b.signature, f"{request.origin}-{request.destination} twins"
    assert asked >= 200
    assert answered >= 0.9 * asked
    for request, reasons in unanswered:
        assert reasons, f"{request.origin}-{request.destination}: no route and no reason"


@pytest.mark.parametrize(
    ("origin", "destination", "unit"),
    [
        ("Xi'an", "Istanbul", CargoUnit.CONTAINER),
        ("Almaty", "Istanbul", CargoUnit.TRUCK),
        ("Lianyungang", "Duisburg", CargoUnit.BULK),
    ],
)
def test_pareto_fronts_are_few_distinct_sound_plans(
    corridor: Network, origin: str, destination: str, unit: CargoUnit
) -> None:
    planner = Planner(corridor)
    sea = SeaNetwork.shipped()
    request = PlanRequest(origin, destination, unit=unit)
    front = planner.pareto(request)
    assert 2 <= len(front) <= 8
    for plan in front:
        assert_sound(plan, request, corridor, sea)
    for a, b in itertools.combinations(front, 2):
        assert a.signature != b.signature
