"""Customs offices derived from the shipped network, and customs routes from real plans."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kervan.customs.offices import CustomsOffices, OfficeRole
from kervan.customs.route import customs_route
from kervan.errors import CustomsRouteError
from kervan.network.model import Network
from kervan.routing.plan import Plan
from tests.customs.shipments import T0


def test_offices_have_stable_codes_roles_and_crossings(offices: CustomsOffices) -> None:
    dostyk = offices.get("KZ-DOSTYK")
    assert (dostyk.country, dostyk.node, dostyk.name) == ("KZ", "KZ-DOSTYK", "Dostyk customs post")
    assert dostyk.roles == {OfficeRole.DEPARTURE, OfficeRole.DESTINATION, OfficeRole.EN_ROUTE}
    assert "X-CNKZ-AKL-DOSTYK-1435" in dostyk.crossings
    assert offices.at_node("KZAAU").code == "KZ-AKTAU"
    assert offices.at_node("AZ-ALAT").code == "AZ-ALAT"
    assert offices.at_node("GE-KARTSAKHI").roles == {OfficeRole.EN_ROUTE}
    assert offices.get("GE-KARTSAKHI").name == "Kartsakhi (BTK border) customs post"
    codes = [o.code for o in offices]
    assert len(codes) == len(set(codes))


def test_every_crossing_has_an_office_on_each_side(
    corridor: Network, offices: CustomsOffices
) -> None:
    for crossing in corridor.crossings.values():
        link = corridor.links[crossing.link]
        ends = [offices.at_node(link.from_node), offices.at_node(link.to_node)]
        assert {o.country for o in ends} == set(crossing.countries)
        assert all(crossing.id in o.crossings for o in ends)


def test_unknown_office_names_the_country_offices(offices: CustomsOffices) -> None:
    with pytest.raises(CustomsRouteError, match="KZ-DOSTYK"):
        offices.get("KZ-DOSTIK")
    with pytest.raises(CustomsRouteError, match="KZ-AKTOGAY"):
        offices.at_node("KZ-AKTOGAY")


def test_container_route_follows_dostyk_caspian_and_btk(
    xian_istanbul: Plan, offices: CustomsOffices
) -> None:
    assert {"CNKZ-AKL-DOSTYK-1435", "CASP-AAU-ALAT", "BTK-TR-KARTSAKHI-KSY"} <= set(
        xian_istanbul.link_ids
    )
    route = customs_route(xian_istanbul, offices, T0)
    hops = [(p.country, p.entry_office, p.exit_office) for p in route.passages]
    assert hops == [
        ("CN", "CN-XIAN", "CN-ALASHANKOU"),
        ("KZ", "KZ-DOSTYK", "KZ-AKTAU"),
        ("AZ", "AZ-ALAT", "AZ-BOYUK-KESIK"),
        ("GE", "GE-GARDABANI", "GE-KARTSAKHI"),
        ("TR", "TR-KARS", "TR-ISTANBUL"),
    ]
    assert route.departure_office == "CN-XIAN"
    assert route.destination_office == "TR-ISTANBUL"
    times = [t for p in route.passages for t in (p.expected_entry, p.expected_exit)]
    assert times == sorted(times)
    # the whole trip takes the plan's legs and transfers, and at least the CAREC rail dwell
    total = route.passages[-1].expected_exit - T0
    assert total > timedelta(days=15)
    kz = route.passage("KZ")
    assert kz.entry_crossing == "X-CNKZ-AKL-DOSTYK-1435"
    assert kz.exit_crossing == "X-CASP-AAU-ALAT"
    assert route.passage("AZ").exit_office == "AZ-BOYUK-KESIK"
    with pytest.raises(CustomsRouteError, match="does not enter UZ"):
        route.passage("UZ")


def test_truck_route_through_the_ots_states(
    tashkent_istanbul: Plan, offices: CustomsOffices
) -> None:
    route = customs_route(tashkent_istanbul, offices, T0)
    assert [p.country for p in route.passages] == ["UZ", "KZ", "AZ", "GE", "TR"]
    assert route.passage("KZ").entry_office == "KZ-SARYAGASH"
    assert route.passage("TR").entry_office == "TR-HOPA"


def test_route_needs_an_aware_departure(xian_istanbul: Plan, offices: CustomsOffices) -> None:
    with pytest.raises(CustomsRouteError, match="time zone"):
        customs_route(xian_istanbul, offices, T0.replace(tzinfo=None))
