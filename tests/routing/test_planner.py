"""The planner on the mini corridor: objectives, constraints, totals, Pareto, explanations."""

from __future__ import annotations

import pytest

from kervan.documents.kinds import DocumentKind
from kervan.errors import InvalidRequestError, NoRouteError, UnknownPlaceError
from kervan.network.model import CargoUnit, Mode, Network, TransferKind
from kervan.routing.plan import Plan
from kervan.routing.planner import Objective, Planner, PlanRequest


@pytest.fixture
def planner(mini_network: Network) -> Planner:
    return Planner(mini_network)


def assert_totals_add_up(plan: Plan) -> None:
    t = plan.totals
    assert t.distance_km == pytest.approx(sum(leg.distance_km for leg in plan.legs))
    assert t.co2_kg == pytest.approx(sum(leg.co2_kg for leg in plan.legs))
    assert t.cost_usd == pytest.approx(
        sum(leg.cost_usd for leg in plan.legs)
        + sum(s.cost_usd for s in plan.transfers)
        + sum(h.cost_usd for h in plan.handling)
    )
    assert t.typical_hours == pytest.approx(
        sum(leg.typical_hours for leg in plan.legs)
        + sum(s.hours_p50 for s in plan.transfers)
        + sum(h.hours_p50 for h in plan.handling)
    )
    assert t.hours_p90 >= t.hours_p50 > 0
    assert t.transfers == len(plan.transfers)
    for leg, nxt in zip(plan.legs, plan.legs[1:], strict=False):
        assert leg.to_node == nxt.from_node


def test_fastest_plan_and_its_parts(planner: Planner) -> None:
    plans = planner.plan(PlanRequest("Xi'an", "Istanbul", alternatives=1))
    plan = plans[0]
    assert [leg.link_id for leg in plan.legs] == [
        "xian-alashankou",
        "alashankou-dostyk",
        "dostyk-aktau",
        "aktau-alat-ferry",
        "alat-istanbul-road",
    ]
    assert plan.countries == ("CN", "KZ", "AZ", "TR")
    gauge = [s for s in plan.transfers if s.kind is TransferKind.GAUGE_CHANGE]
    assert [(g.node, g.from_gauge_mm, g.to_gauge_mm) for g in gauge] == [("KZDKC", 1435, 1520)]
    # Line haul 20 h + mean wait half of the 96 h headway + KZ-AZ dwell 10 h.
    ferry = plan.legs[3]
    assert ferry.wait_hours_mean == 48
    assert ferry.typical_hours == pytest.approx(20 + 48 + 10)
    # CN-KZ border: CAREC Kazakhstan rail dwell 48.6 h; 1 h line haul.
    assert plan.legs[1].border is not None
    assert plan.legs[1].border.dwell_hours_p50 == pytest.approx(48.6)
    assert_totals_add_up(plan)


def test_each_objective_is_optimal_among_alternatives(planner: Planner) -> None:
    for objective, metric in (
        (Objective.TIME, "typical_hours"),
        (Objective.COST, "cost_usd"),
        (Objective.CO2, "co2_kg"),
    ):
        plans = planner.plan(PlanRequest("xian", "istanbul", objective=objective, alternatives=3))
        values = [getattr(p.totals, metric) for p in plans]
        assert values[0] == min(values)
        for plan in plans:
            assert_totals_add_up(plan)


def test_cost_objective_prefers_rail_over_truck(planner: Planner) -> None:
    cheapest = planner.plan(PlanRequest("xian", "istanbul", objective=Objective.COST))[0]
    assert "alat-istanbul-rail" in cheapest.link_ids
    fastest = planner.plan(PlanRequest("xian", "istanbul", objective=Objective.TIME))[0]
    assert fastest.totals.typical_hours < cheapest.totals.typical_hours
    assert fastest.totals.cost_usd > cheapest.totals.cost_usd


def test_mix_weights_move_between_the_extremes(planner: Planner) -> None:
    time_heavy = planner.plan(
        PlanRequest("xian", "istanbul", objective=Objective.MIX, weights=(10, 1, 0))
    )[0]
    cost_heavy = planner.plan(
        PlanRequest("xian", "istanbul", objective=Objective.MIX, weights=(1, 10, 0))
    )[0]
    assert time_heavy.totals.typical_hours <= cost_heavy.totals.typical_hours
    assert cost_heavy.totals.cost_usd <= time_heavy.totals.cost_usd


def test_pareto_set_has_no_dominated_plan(planner: Planner) -> None:
    front = planner.pareto(PlanRequest("xian", "istanbul"))
    assert len(front) >= 2
    vectors = [(p.totals.typical_hours, p.totals.cost_usd, p.totals.co2_kg) for p in front]
    for a in vectors:
        for b in vectors:
            if a != b:
                assert not all(x <= y for x, y in zip(a, b, strict=True))


def test_avoided_country_never_appears(planner: Planner) -> None:
    with pytest.raises(NoRouteError) as caught:
        planner.plan(PlanRequest("xian", "istanbul", avoid_countries=frozenset({"AZ"})))
    assert any("Avoiding AZ" in r for r in caught.value.reasons)
    # In 2031 the northern link opens, so avoiding AZ leaves the route through Russia.
    plans = planner.plan(
        PlanRequest("xian", "istanbul", avoid_countries=frozenset({"AZ"}), year=2031)
    )
    for plan in plans:
        assert "AZ" not in plan.countries
        assert "RU" in plan.countries


def test_planned_link_opens_in_its_year(planner: Planner) -> None:
    before = planner.plan(PlanRequest("xian", "istanbul", year=2030, alternatives=5))
    after = planner.plan(PlanRequest("xian", "istanbul", year=2031, alternatives=5))
    assert not any("moscow-istanbul" in p.link_ids for p in before)
    assert any("moscow-istanbul" in p.link_ids for p in after)


def test_avoided_mode_never_appears(planner: Planner) -> None:
    for plan in planner.plan(PlanRequest("xian", "istanbul", avoid_modes=frozenset({Mode.ROAD}))):
        assert Mode.ROAD not in plan.modes
    with pytest.raises(NoRouteError) as caught:
        planner.plan(PlanRequest("xian", "istanbul", avoid_modes=frozenset({Mode.FERRY})))
    assert any("Avoiding ferry" in r for r in caught.value.reasons)


def test_max_transfers_is_respected_and_explained(planner: Planner) -> None:
    with pytest.raises(NoRouteError) as caught:
        planner.plan(PlanRequest("xian", "istanbul", max_transfers=2))
    assert any("at most 2 transfer" in r for r in caught.value.reasons)
    plans = planner.plan(PlanRequest("xian", "istanbul", max_transfers=3))
    assert all(p.totals.transfers <= 3 for p in plans)


def test_trucks_only_take_road_and_ro_ro(planner: Planner) -> None:
    plans = planner.plan(PlanRequest("alat", "istanbul", unit=CargoUnit.TRUCK, truck_flag="AZ"))
    assert plans[0].modes == (Mode.ROAD,)
    with pytest.raises(NoRouteError) as caught:
        planner.plan(PlanRequest("xian", "istanbul", unit=CargoUnit.TRUCK))
    assert any("container could go" in r for r in caught.value.reasons)


def test_alternatives_are_distinct(planner: Planner) -> None:
    plans = planner.plan(PlanRequest("xian", "istanbul", alternatives=3))
    keys = [p.link_ids for p in plans]
    assert len(set(keys)) == len(keys)


def test_names_forgive_case_accents_and_punctuation(planner: Planner) -> None:
    for name in ("İstanbul", "ISTANBUL", "istanbul", "TRIST", " trist "):
        assert planner.places.resolve(name).id == "TRIST"
    for name in ("Xi'an", "xian", "XI AN", "Xi An"):
        assert planner.places.resolve(name).id == "CNXIY"
    assert planner.places.resolve("druzhba").id == "KZDKC"


def test_unknown_place_gets_suggestions(planner: Planner) -> None:
    with pytest.raises(UnknownPlaceError) as caught:
        planner.plan(PlanRequest("Dostik", "Istanbul"))
    assert caught.value.suggestions[0] == "Dostyk"


@pytest.mark.parametrize(
    "request_",
    [
        PlanRequest("xian", "xian"),
        PlanRequest("xian", "istanbul", alternatives=0),
        PlanRequest("xian", "istanbul", weights=(0, 0, 0), objective=Objective.MIX),
        PlanRequest("xian", "istanbul", avoid_countries=frozenset({"russia"})),
        PlanRequest("xian", "istanbul", max_transfers=-1),
        PlanRequest("xian", "istanbul", year=1800),
    ],
)
def test_bad_requests_are_refused(planner: Planner, request_: PlanRequest) -> None:
    with pytest.raises(InvalidRequestError):
        planner.plan(request_)


def test_origin_in_avoided_country_is_explained(planner: Planner) -> None:
    with pytest.raises(NoRouteError) as caught:
        planner.plan(PlanRequest("xian", "istanbul", avoid_countries=frozenset({"CN"})))
    assert "Xi'an is in CN" in caught.value.reasons[0]


def test_digital_documents_cut_border_time_only(planner: Planner) -> None:
    paper = planner.plan(PlanRequest("xian", "istanbul", alternatives=1))[0]
    digital = planner.plan(PlanRequest("xian", "istanbul", alternatives=1, digital_documents=True))[
        0
    ]
    assert digital.link_ids == paper.link_ids
    assert digital.totals.typical_hours < paper.totals.typical_hours
    assert digital.totals.cost_usd == paper.totals.cost_usd
    saved = sum(
        (p.border.dwell_hours_p50 - d.border.dwell_hours_p50)
        for p, d in zip(paper.legs, digital.legs, strict=True)
        if p.border and d.border
    )
    assert paper.totals.typical_hours - digital.totals.typical_hours == pytest.approx(saved)


def test_plan_documents_on_the_caspian_route(planner: Planner) -> None:
    plan = planner.plan(PlanRequest("xian", "istanbul", alternatives=1, truck_flag="AZ"))[0]
    kinds = [d.kind for d in plan.documents]
    assert kinds == [
        DocumentKind.CIM_SMGS,
        DocumentKind.BILL_OF_LADING,
        DocumentKind.ECMR,
        DocumentKind.EPERMIT,
    ]
    permit = plan.documents[-1]
    assert permit.countries == ("TR",)
    assert permit.issuer_country == "AZ"  # the Azerbaijani truck's own authority issues it
    assert permit.permit_type is not None
    assert permit.permit_type.value == "bilateral"
    roles = [(o.role.value, o.country) for o in plan.customs_offices]
    assert roles[0] == ("departure", "CN")
    assert roles[-1] == ("destination", "TR")
    assert ("transit", "KZ") in roles


def test_a_question_asked_again_gets_the_same_answer_without_a_search(
    planner: Planner, monkeypatch: pytest.MonkeyPatch
) -> None:
    request = PlanRequest("Xi'an", "Istanbul", alternatives=2)
    first = planner.plan(request)
    first.clear()  # what a caller does with its list is its own affair
    searches: list[object] = []
    monkeypatch.setattr(planner, "_search", lambda *args: searches.append(args))
    again = planner.plan(PlanRequest("Xi'an", "Istanbul", alternatives=2))
    assert [p.plan_key for p in again] == [p.plan_key for p in planner.plan(request)]
    assert len(again) == 2
    assert searches == []
    # Another question is searched for: the stub finds nothing, so no route.
    with pytest.raises(NoRouteError):
        planner.plan(PlanRequest("Xi'an", "Istanbul", alternatives=3))
    assert searches


def test_the_planner_remembers_a_bounded_number_of_answers(
    mini_network: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("kervan.routing.planner.ANSWERS_REMEMBERED", 2)
    planner = Planner(mini_network)
    oldest = PlanRequest("Xi'an", "Istanbul", alternatives=1)
    planner.plan(oldest)
    planner.pareto(PlanRequest("Xi'an", "Istanbul"))
    planner.plan(PlanRequest("Xi'an", "Istanbul", objective=Objective.COST, alternatives=1))
    monkeypatch.setattr(planner, "_search", lambda *args: None)
    with pytest.raises(NoRouteError):  # forgotten, so searched for again
        planner.plan(oldest)
