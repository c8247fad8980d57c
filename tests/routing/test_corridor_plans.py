"""The planner on the shipped corridor network: the questions shippers actually ask."""

from __future__ import annotations

import pytest

from kervan.documents.kinds import DocumentKind
from kervan.errors import NoRouteError
from kervan.network.model import CargoUnit, Mode, Passage, TransferKind
from kervan.routing.plan import Plan
from kervan.routing.planner import Objective, Planner, PlanRequest
from kervan.routing.requirements import PermitType

NORTH = frozenset({"RU", "BY"})


def assert_consistent(plan: Plan) -> None:
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
    assert t.hours_p90 > t.hours_p50 > 0
    for leg, nxt in zip(plan.legs, plan.legs[1:], strict=False):
        assert leg.to_node == nxt.from_node
    # A rail leg never follows a rail leg of another gauge without a gauge change there.
    changes = {(s.after_leg, s.node) for s in plan.transfers if s.kind is TransferKind.GAUGE_CHANGE}
    for i, (leg, nxt) in enumerate(zip(plan.legs, plan.legs[1:], strict=False)):
        if leg.mode is Mode.RAIL and nxt.mode is Mode.RAIL and leg.gauge_mm != nxt.gauge_mm:
            assert (i, leg.to_node) in changes


def test_xian_to_duisburg_without_russia_takes_the_middle_corridor(
    corridor_planner: Planner,
) -> None:
    plans = corridor_planner.plan(PlanRequest("Xi'an", "Duisburg", avoid_countries=NORTH))
    assert len(plans) == 3
    for plan in plans:
        assert not NORTH & set(plan.countries)
        assert plan.countries[0] == "CN"
        assert plan.countries[-1] == "DE"
        assert {"AZ", "GE"} <= set(plan.countries) or "TM" in plan.countries
        # The Caspian has to be crossed, by rail ferry, Ro-Ro or container feeder.
        assert any(
            leg.mode in (Mode.FERRY, Mode.SEA) and leg.from_country in ("KZ", "TM")
            for leg in plan.legs
        )
        assert_consistent(plan)


def test_northern_route_is_faster_than_the_middle_corridor(corridor_planner: Planner) -> None:
    north = corridor_planner.plan(
        PlanRequest("Xi'an", "Duisburg", avoid_modes=frozenset({Mode.ROAD}), alternatives=1)
    )[0]
    middle = corridor_planner.plan(
        PlanRequest(
            "Xi'an",
            "Duisburg",
            avoid_countries=NORTH,
            avoid_modes=frozenset({Mode.ROAD}),
            alternatives=1,
        )
    )[0]
    assert "RU" in north.countries
    assert middle.totals.hours_p50 > north.totals.hours_p50
    # Brest is where the 1520 mm network meets the 1435 mm one on the northern route.
    gauge_nodes = {s.node_name for s in north.transfers if s.kind is TransferKind.GAUGE_CHANGE}
    assert gauge_nodes & {"Brest", "Malaszewicze", "Dostyk", "Alashankou"}


def test_rail_container_to_halkali_changes_gauge_and_carries_cim_smgs(
    corridor_planner: Planner,
) -> None:
    plan = corridor_planner.plan(
        PlanRequest(
            "Xi'an",
            "Halkali",
            avoid_countries=NORTH,
            avoid_modes=frozenset({Mode.ROAD, Mode.SEA}),
            alternatives=1,
        )
    )[0]
    assert Mode.FERRY in plan.modes
    assert any(s.node_name == "Akhalkalaki" for s in plan.transfers)
    assert plan.totals.gauge_changes >= 2  # into 1520 mm in Kazakhstan, back to 1435 mm by Kars
    kinds = {d.kind for d in plan.documents}
    assert DocumentKind.CIM_SMGS in kinds
    assert DocumentKind.ECMR not in kinds
    note = next(d for d in plan.documents if d.kind is DocumentKind.CIM_SMGS)
    assert note.law_change_at
    assert plan.customs_offices[0].role.value == "departure"
    assert plan.customs_offices[-1].role.value == "destination"
    assert_consistent(plan)


def test_uzbek_truck_to_istanbul_needs_permits_for_every_country_it_enters(
    corridor_planner: Planner,
) -> None:
    plans = corridor_planner.plan(
        PlanRequest("Tashkent", "Istanbul", unit=CargoUnit.TRUCK, truck_flag="UZ", alternatives=2)
    )
    for plan in plans:
        assert set(plan.modes) <= {Mode.ROAD, Mode.FERRY}
        kinds = [d.kind for d in plan.documents]
        assert kinds.count(DocumentKind.ECMR) == 1
        assert kinds.count(DocumentKind.ETIR) == 1
        found = [d for d in plan.documents if d.kind is DocumentKind.EPERMIT]
        assert {d.issuer_country for d in found} == {"UZ"}
        permits = {d.countries[0]: d.permit_type for d in found}
        entered = [c for c in dict.fromkeys(plan.countries) if c != "UZ"]
        assert sorted(permits) == sorted(entered)
        assert permits["TR"] is PermitType.BILATERAL
        assert all(permits[c] is PermitType.TRANSIT for c in entered if c != "TR")
        assert_consistent(plan)


@pytest.mark.parametrize("flag", ["KZ", "kz", "TR"])
def test_a_truck_almaty_to_istanbul_needs_permits_from_its_own_authority_never_for_its_country(
    corridor_planner: Planner, flag: str
) -> None:
    plans = corridor_planner.plan(
        PlanRequest("Almaty", "Istanbul", unit=CargoUnit.TRUCK, truck_flag=flag, alternatives=2)
    )
    own = flag.upper()
    for plan in plans:
        found = [d for d in plan.documents if d.kind is DocumentKind.EPERMIT]
        assert {d.issuer_country for d in found} == {own}
        entered = [c for c in dict.fromkeys(plan.countries) if c != own]
        assert sorted(d.countries[0] for d in found) == sorted(entered)
        assert all(d.countries != (own,) for d in found)
        # The country at the other end of the trip is bilateral, the ones between transit.
        other_end = "TR" if own == "KZ" else "KZ"
        kinds = {d.countries[0]: d.permit_type for d in found}
        assert kinds[other_end] is PermitType.BILATERAL
        assert all(kinds[c] is PermitType.TRANSIT for c in entered if c != other_end)
        assert_consistent(plan)


def test_china_kyrgyzstan_uzbekistan_railway_is_used_once_open(corridor_planner: Planner) -> None:
    rail_only = frozenset({Mode.ROAD})
    before = corridor_planner.plan(
        PlanRequest("Kashgar", "Tashkent", avoid_modes=rail_only, year=2026, alternatives=3)
    )
    after = corridor_planner.plan(
        PlanRequest("Kashgar", "Tashkent", avoid_modes=rail_only, year=2031, alternatives=1)
    )[0]
    assert not any(link.startswith("CKU") for p in before for link in p.link_ids)
    assert any(link.startswith("CKU") for link in after.link_ids)
    assert after.totals.hours_p50 < before[0].totals.hours_p50
    assert any(s.node_name == "Makmal" for s in after.transfers)


def test_sea_is_cheapest_and_slowest_to_rotterdam(corridor_planner: Planner) -> None:
    front = corridor_planner.pareto(PlanRequest("Lianyungang", "Rotterdam"))
    assert len(front) >= 2
    cheapest = min(front, key=lambda p: p.totals.cost_usd)
    fastest = min(front, key=lambda p: p.totals.typical_hours)
    assert Mode.SEA in cheapest.modes
    assert cheapest.totals.hours_p50 > fastest.totals.hours_p50
    vectors = [(p.totals.typical_hours, p.totals.cost_usd, p.totals.co2_kg) for p in front]
    for a in vectors:
        for b in vectors:
            assert a == b or not all(x <= y for x, y in zip(a, b, strict=True))


def test_avoiding_egypt_sends_sea_freight_round_the_cape(corridor_planner: Planner) -> None:
    suez = corridor_planner.plan(
        PlanRequest("Lianyungang", "Rotterdam", objective=Objective.COST, alternatives=1)
    )[0]
    cape = corridor_planner.plan(
        PlanRequest(
            "Lianyungang",
            "Rotterdam",
            objective=Objective.COST,
            avoid_countries=frozenset({"EG", "RU"}),
            avoid_modes=frozenset({Mode.ROAD, Mode.RAIL}),
            alternatives=1,
        )
    )[0]
    assert "EG" in suez.countries
    assert "EG" not in cape.countries
    assert cape.totals.hours_p50 > suez.totals.hours_p50 + 24 * 5


@pytest.mark.parametrize(
    ("origin", "destination", "avoid"),
    [
        ("Urumqi", "Poti", frozenset({"RU"})),
        ("Almaty", "Budapest", NORTH),
        ("Lianyungang", "Constanta", frozenset({"RU"})),
        ("Aktau", "Batumi", frozenset()),
    ],
)
def test_no_avoided_country_appears_on_any_alternative(
    corridor_planner: Planner, origin: str, destination: str, avoid: frozenset[str]
) -> None:
    for objective in (Objective.TIME, Objective.COST, Objective.CO2):
        for plan in corridor_planner.plan(
            PlanRequest(origin, destination, objective, avoid_countries=avoid)
        ):
            assert not avoid & set(plan.countries)
            assert_consistent(plan)


def test_digital_documents_and_green_lane_shorten_the_corridor(corridor_planner: Planner) -> None:
    base = PlanRequest("Xi'an", "Istanbul", avoid_countries=NORTH, alternatives=1)
    paper = corridor_planner.plan(base)[0]
    digital = corridor_planner.plan(
        PlanRequest(
            "Xi'an",
            "Istanbul",
            avoid_countries=NORTH,
            alternatives=1,
            digital_documents=True,
            green_lane=True,
        )
    )[0]
    assert digital.totals.typical_hours < paper.totals.typical_hours


def test_red_sea_closure_sends_asia_europe_ships_round_the_cape(corridor_planner: Planner) -> None:
    by_sea = frozenset({Mode.RAIL, Mode.ROAD})
    open_ = corridor_planner.plan(PlanRequest("Shanghai", "Rotterdam", avoid_modes=by_sea))[0]
    closed = corridor_planner.plan(
        PlanRequest(
            "Shanghai",
            "Rotterdam",
            avoid_modes=by_sea,
            closed_passages=frozenset({Passage.RED_SEA}),
        )
    )[0]
    assert "EG" in open_.countries
    assert "EG" not in closed.countries
    assert "ZA" in closed.countries
    assert closed.totals.distance_km > open_.totals.distance_km + 4000


def test_ships_sail_straight_between_ports_and_pay_for_every_port_call(
    corridor_planner: Planner,
) -> None:
    not_overland = frozenset({Mode.RAIL, Mode.ROAD})
    crossing = corridor_planner.plan(
        PlanRequest("Istanbul", "Constanta", avoid_modes=not_overland, alternatives=1)
    )[0]
    assert crossing.totals.distance_km < 1000
    assert [leg.to_node for leg in crossing.legs] == ["ROCND"]
    asia = corridor_planner.plan(
        PlanRequest("Shanghai", "Rotterdam", avoid_modes=not_overland, alternatives=1)
    )[0]
    assert [leg.to_node for leg in asia.legs] == ["NLRTM"]
    with pytest.raises(NoRouteError):
        corridor_planner.plan(
            PlanRequest(
                "Shanghai",
                "Constanta",
                avoid_modes=not_overland,
                closed_passages=frozenset({Passage.BOSPHORUS}),
            )
        )


def test_containers_go_by_rail_and_are_trucked_only_at_the_ends(
    corridor_planner: Planner,
) -> None:
    for plan in corridor_planner.plan(PlanRequest("Xi'an", "Istanbul")):
        road = sum(leg.distance_km for leg in plan.legs if leg.mode is Mode.ROAD)
        assert road <= 2 * 400
        assert plan.handling[0].where == "origin"
    trucked = corridor_planner.plan(PlanRequest("Xi'an", "Istanbul", road_haul=True))
    assert any(leg.mode is Mode.ROAD and leg.distance_km > 400 for p in trucked for leg in p.legs)


def test_trucks_rest_by_the_aetr_rules(corridor_planner: Planner) -> None:
    plan = corridor_planner.plan(
        PlanRequest("Almaty", "Istanbul", unit=CargoUnit.TRUCK, alternatives=1)
    )[0]
    driving = sum(leg.line_haul_hours_p50 for leg in plan.legs if leg.mode is Mode.ROAD)
    rest = sum(leg.rest_hours for leg in plan.legs)
    assert driving > 40
    # At least an 11 h daily rest for every 9 h of driving beyond the first day's.
    assert rest >= 11 * (
        driving // 9 - len([leg for leg in plan.legs if leg.mode is Mode.FERRY]) - 1
    )


def test_eaeu_internal_borders_hold_no_customs_dwell(corridor_planner: Planner) -> None:
    plan = corridor_planner.plan(PlanRequest("Almaty", "Bishkek", alternatives=1))[0]
    borders = [leg.border for leg in plan.legs if leg.border is not None]
    assert borders
    assert all(b.dwell_hours_p50 <= 1.0 for b in borders)


def test_ferries_call_at_alat_not_the_old_baku_city_port(corridor_planner: Planner) -> None:
    for plan in corridor_planner.plan(PlanRequest("Aktau", "Tbilisi")):
        for leg in plan.legs:
            if leg.mode is Mode.FERRY:
                assert "AZBAK" not in (leg.from_node, leg.to_node)


def test_through_tariff_and_emissions_add_up_per_segment(corridor_planner: Planner) -> None:
    plan = corridor_planner.plan(PlanRequest("Xi'an", "Istanbul", alternatives=1))[0]
    assert sum(c.amount for c in plan.charges) == pytest.approx(plan.totals.cost_usd)
    segments = {c.segment for c in plan.charges}
    assert {"handling", "line_haul:rail"} <= segments
    assert all(c.currency == "USD" and c.tariff_year and c.source for c in plan.charges)
    t = plan.totals
    assert 0 < t.co2_ttw_kg < t.co2_kg < t.co2_wtw_kg
    assert t.co2_hub_kg > 0
    assert t.emissions_quality == "default"
    assert t.tariff_years == tuple(sorted(t.tariff_years))


def test_a_truck_on_a_ro_ro_ferry_keeps_its_road_documents(corridor_planner: Planner) -> None:
    plan = corridor_planner.plan(
        PlanRequest("Turkmenbashi", "Baku", unit=CargoUnit.TRUCK, alternatives=1)
    )[0]
    ferry = next(leg for leg in plan.legs if leg.mode is Mode.FERRY)
    assert DocumentKind.ECMR in ferry.documents
    assert DocumentKind.BILL_OF_LADING not in ferry.documents
