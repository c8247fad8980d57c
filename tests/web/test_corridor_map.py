"""The corridor map's drawing without a browser: plans drawn side by side where they share a
link, each leg its own path named in words, place names ranked from the route ends through the
hubs to the border posts."""

from __future__ import annotations

import itertools
import math
import re

import pytest

from kervan.network.model import Mode, Network
from kervan.routing.plan import Plan
from kervan.routing.planner import Planner
from kervan.services.planning import RouteQuery, plan_routes
from kervan.web.corridor_map import Label, MapView, map_view, offset_line, project
from kervan.web.i18n import locale


@pytest.fixture(scope="module")
def xian_istanbul(web_network: Network) -> list[Plan]:
    query = RouteQuery(origin="Xi'an", destination="Istanbul")
    plans = plan_routes(Planner(web_network), query)
    assert len(plans) >= 2
    return plans


def draw(network: Network, plans: list[Plan], code: str = "en") -> MapView:
    loc = locale(code)
    return map_view(
        network,
        plans,
        mode_names={m.value: loc.t(f"mode.{m.value}") for m in Mode},
        planned_label=loc.t("map.planned_opens"),
        route_label=loc.t("plan.name"),
        leg_label=loc.t("map.leg"),
        number=loc.number,
    )


def first_point(d: str) -> tuple[float, float]:
    found = re.match(r"M(-?[\d.]+) (-?[\d.]+)", d)
    assert found
    return float(found.group(1)), float(found.group(2))


def test_offset_moves_a_line_to_its_left_and_mitres_corners() -> None:
    # Eastward on the map (y grows downwards): left is up.
    assert offset_line([(0.0, 0.0), (10.0, 0.0)], 2.0) == [(0.0, -2.0), (10.0, -2.0)]
    east_then_south = offset_line([(0.0, 0.0), (10.0, 0.0), (10.0, 10.0)], 1.0)
    corner = east_then_south[1]
    assert corner == pytest.approx((11.0, -1.0))  # the mitre: sqrt(2) from the corner
    assert math.dist(corner, (10.0, 0.0)) == pytest.approx(math.sqrt(2))
    # A hairpin's mitre is bounded (twice the distance), not thrown across the map.
    hairpin = offset_line([(0.0, 0.0), (10.0, 0.0), (0.0, 0.1)], 1.0)
    assert math.dist(hairpin[1], (10.0, 0.0)) <= 2.0 + 1e-9


def test_plans_sharing_xian_urumqi_are_drawn_apart(
    web_network: Network, xian_istanbul: list[Plan]
) -> None:
    view = draw(web_network, xian_istanbul)
    xian = project(web_network.nodes[xian_istanbul[0].legs[0].from_node].lon,
                   web_network.nodes[xian_istanbul[0].legs[0].from_node].lat)  # fmt: skip
    starts = [first_point(route.d) for route in view.routes]
    # All plans leave Xi'an on the same line; each is drawn at its own distance from it.
    spacing = view.view_box.width * 0.0055
    assert len(set(starts)) == len(starts)
    for a, b in itertools.pairwise(starts):
        assert math.dist(a, b) == pytest.approx(spacing, rel=0.05)
    assert min(math.dist(start, xian) for start in starts) < spacing


def test_each_leg_is_named_with_its_mode_distance_and_time(
    web_network: Network, xian_istanbul: list[Plan]
) -> None:
    view = draw(web_network, xian_istanbul)
    plan, route = xian_istanbul[0], view.routes[0]
    assert [leg.index for leg in route.legs] == [leg.index for leg in plan.legs]
    first = route.legs[0]
    leg = plan.legs[0]
    assert first.title == (
        f"Xi'an – {leg.to_name}: Rail, {leg.distance_km:,.0f} km, {leg.hours_p50:,.0f} h"
    )
    assert all(piece.d.startswith("M") for piece in route.legs)
    russian = draw(web_network, xian_istanbul, "ru").routes[0].legs[0].title
    assert russian.startswith(f"Xi'an – {leg.to_name}: Железная дорога, ")
    assert russian.endswith(" ч")
    assert " км, " in russian


def test_place_names_ranked_for_the_zoom(web_network: Network, xian_istanbul: list[Plan]) -> None:
    whole = draw(web_network, [])
    by_name: dict[str, Label] = {label.text: label for label in whole.labels}
    assert len(by_name) == len(web_network.nodes)
    assert by_name["Istanbul"].tier == 1
    assert by_name["Tbilisi"].tier == 1
    assert by_name["Kapikule"].tier == 3  # a border post
    tiers = [label.tier for label in whole.labels]
    assert tiers == sorted(tiers), "the most important first"
    # The whole corridor shows its hubs only; towns wait for the zoom.
    assert by_name["Istanbul"].shown
    assert not by_name["Kapikule"].shown
    planned = draw(web_network, xian_istanbul)
    ends = [label.text for label in planned.labels if label.tier == 0]
    assert sorted(ends) == ["Istanbul", "Xi'an"]
    assert all(label.shown for label in planned.labels if label.tier == 0)
