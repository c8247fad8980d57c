"""Transit time distributions: closed-form legs and the correlated Monte Carlo of a whole trip."""

from __future__ import annotations

import pytest

from kervan.network.model import Network
from kervan.routing.planner import Planner, PlanRequest
from kervan.routing.timing import (
    DelayKind,
    TimePart,
    sum_quantiles,
    trip_quantiles,
)


def test_single_part_keeps_its_own_quantiles() -> None:
    p50, p90 = sum_quantiles([TimePart(10.0, 20.0)])
    assert p50 == pytest.approx(10.0, rel=1e-6)
    assert p90 == pytest.approx(20.0, rel=1e-6)


def test_headway_wait_is_uniform() -> None:
    mc50, mc90 = trip_quantiles([TimePart(headway=96.0)], n=100_000)
    assert mc50 == pytest.approx(48.0, rel=0.02)
    assert mc90 == pytest.approx(86.4, rel=0.02)


def test_correlated_delays_spread_a_long_chain_wider_than_independent_ones() -> None:
    chain = [TimePart(20.0, 40.0, kind=DelayKind.BORDER) for _ in range(8)]
    chain += [TimePart(18.0, 30.0, 96.0, DelayKind.VESSEL) for _ in range(2)]
    independent50, independent90 = sum_quantiles(chain)
    p50, p90 = trip_quantiles(chain)
    assert p50 == pytest.approx(independent50, rel=0.05)
    assert p90 / p50 > independent90 / independent50 + 0.03


def test_trip_quantiles_are_the_same_every_time() -> None:
    chain = [TimePart(20.0, 40.0, kind=DelayKind.BORDER), TimePart(5.0, 9.0, 24.0)]
    assert trip_quantiles(chain) == trip_quantiles(chain)
    assert trip_quantiles([TimePart(7.0, 7.0, kind=DelayKind.REST)]) == pytest.approx((7.0, 7.0))


@pytest.mark.parametrize(
    ("origin", "destination"),
    [("Xi'an", "Duisburg"), ("Tashkent", "Istanbul"), ("Lianyungang", "Rotterdam")],
)
def test_corridor_plans_get_the_same_p50_p90_every_time_and_a_p90_above_p50(
    corridor: Network, origin: str, destination: str
) -> None:
    first = Planner(corridor).plan(PlanRequest(origin, destination, alternatives=1))[0]
    again = Planner(corridor).plan(PlanRequest(origin, destination, alternatives=1))[0]
    assert (first.totals.hours_p50, first.totals.hours_p90) == (
        again.totals.hours_p50,
        again.totals.hours_p90,
    )
    assert first.totals.hours_p90 > first.totals.hours_p50 > 0.5 * first.totals.typical_hours
