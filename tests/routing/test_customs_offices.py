"""The customs offices a plan lists: each in the country it clears cargo into, named as that
country's own office (never the other side's export office of a joint border or port pair),
and none at a border inside a customs union where nobody clears the cargo."""

from __future__ import annotations

from kervan.network.model import CargoUnit
from kervan.routing.planner import Planner, PlanRequest
from kervan.routing.requirements import OfficeRole


def test_a_ship_from_shanghai_enters_turkiye_at_a_turkish_office(
    corridor_planner: Planner,
) -> None:
    plans = corridor_planner.plan(PlanRequest("Shanghai", "Istanbul", alternatives=3))
    by_sea = [p for p in plans if any(o.node == "TRMER" for o in p.customs_offices)]
    assert by_sea, "a plan by sea to Mersin, then by land to Istanbul"
    offices = by_sea[0].customs_offices
    assert [(o.role, o.country) for o in offices] == [
        (OfficeRole.DEPARTURE, "CN"),
        (OfficeRole.TRANSIT, "TR"),
        (OfficeRole.DESTINATION, "TR"),
    ]
    assert offices[1].name == "Mersin customs directorate"
    for plan in plans:
        for office in plan.customs_offices:
            if office.role is OfficeRole.TRANSIT:
                assert "(export)" not in office.name, office
                assert "Shanghai" not in office.name, office


def test_no_transit_office_where_the_union_state_keeps_no_customs(
    corridor_planner: Planner,
) -> None:
    plans = corridor_planner.plan(
        PlanRequest("Xi'an", "Duisburg", alternatives=3, unit=CargoUnit.CONTAINER)
    )
    through_belarus = [p for p in plans if "BY" in p.countries]
    assert through_belarus
    for plan in through_belarus:
        transit = {o.country: o.name for o in plan.customs_offices if o.role is OfficeRole.TRANSIT}
        assert "BY" not in transit  # Russia -> Belarus: no customs control
        assert transit["KZ"] == "Dostyk customs post" or "Altynkol" in transit["KZ"]
        assert all(not name.lower().startswith("none") for name in transit.values())
