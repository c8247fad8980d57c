"""Transit-time quantiles: the closed-form sum against Monte Carlo on real corridor plans."""

from __future__ import annotations

import pytest

from kervan.routing.planner import Planner, PlanRequest
from kervan.routing.timing import TimePart, p50_p90, sample_parts, sum_quantiles


def test_single_part_keeps_its_own_quantiles() -> None:
    p50, p90 = sum_quantiles([TimePart(48.6, 67.4)])
    assert p50 == pytest.approx(48.6, rel=0.02)
    assert p90 == pytest.approx(67.4, rel=0.02)


def test_headway_wait_is_uniform() -> None:
    # A ferry every 96 h and nothing else: median wait 48 h, P90 86.4 h (log-normal fit is rough).
    p50, p90 = sum_quantiles([TimePart(headway=96)])
    assert 40 < p50 < 52
    assert 75 < p90 < 100


@pytest.mark.parametrize(
    ("origin", "destination", "avoid"),
    [
        ("Xi'an", "Duisburg", frozenset({"RU", "BY"})),
        ("Tashkent", "Istanbul", frozenset()),
        ("Lianyungang", "Rotterdam", frozenset()),
    ],
)
def test_closed_form_matches_monte_carlo_on_corridor_plans(
    corridor_planner: Planner, origin: str, destination: str, avoid: frozenset[str]
) -> None:
    plan = corridor_planner.plan(PlanRequest(origin, destination, avoid_countries=avoid))[0]
    net = corridor_planner.network
    parts: list[TimePart] = []
    for leg in plan.legs:
        link = net.links[leg.link_id]
        parts.append(TimePart(link.hours.p50, link.hours.p90, link.headway_hours or 0.0))
        if leg.border:
            parts.append(TimePart(leg.border.dwell_hours_p50, leg.border.dwell_hours_p90))
    parts += [TimePart(s.hours_p50, s.hours_p90) for s in plan.transfers]
    mc50, mc90 = p50_p90(sample_parts(parts, "check", n=200_000).sum(axis=0))
    assert plan.totals.hours_p50 == pytest.approx(mc50, rel=0.03)
    # Fenton-Wilkinson overstates P90 when one long uniform ferry wait dominates (up to ~10%).
    assert plan.totals.hours_p90 == pytest.approx(mc90, rel=0.10)
