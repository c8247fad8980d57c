"""Route choice: a shipper takes the planner's alternative with the lowest generalised cost given
the congestion it sees, or does not ship at all when every route would queue too long.

Generalised cost of a route for one shipment, in US$:

    money + value_of_time x (P50 hours + expected queueing) + reliability x value_of_time x
    (P90 - P50 hours)

The expected queueing is what the corridor shows when the shipment is booked: the ferry lines'
cargo already committed ahead of it, the days booked at ports, border lanes and gauge-change
stations when it would reach them, and the trains waiting for locomotives. A route whose expected
queueing exceeds `MAX_EXPECTED_WAIT_HOURS` is out; when every route is out the shipment is refused
and counted at the place that queues longest on the route it would have preferred. That bound
is what keeps queues finite when demand exceeds capacity: cargo diverts, and what cannot divert
is refused, instead of waiting for ever.

Each route other than the one a flow uses today also carries a constant, calibrated so that on
an empty corridor the route used today is the choice (the 2024 demand data records that its
shippers chose it: alternative-specific constants of discrete choice, fitted to the base year);
the switching margin comes on top. So cargo leaves its route for queues, not for the network's
paper costs.

The values of time and the reliability ratio are Kervan estimates (no corridor-specific stated
preference survey is published); each states its method below.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from kervan.network.model import CargoUnit

#: Value of time per cargo unit and hour, US$. Estimates:
#: - container (FEU): cargo of about US$200,000 a box on China-Europe rail (high-value goods
#:   choose rail over sea) held at about 30 % a year (capital, obsolescence, stock) = US$6.8/h,
#:   rounded up to 8 for the schedule cost of a late box;
#: - truck: the truck and driver at about US$600 a day plus its load's holding cost = US$30/h;
#: - bulk (tonne): ore or grain at about US$250/t held at 15 % a year = US$0.004/h per tonne.
VALUE_OF_TIME_USD_PER_HOUR: dict[CargoUnit, float] = {
    CargoUnit.CONTAINER: 8.0,
    CargoUnit.TRUCK: 30.0,
    CargoUnit.BULK: 0.004,
}

#: Weight of an hour of spread (P90 - P50) against an hour of median time. Estimate: freight
#: reliability ratios in the transport-economics literature lie around 0.5-1.5; the middle used.
RELIABILITY_RATIO = 0.8

#: How much better in generalised cost another route must be before a shipper leaves the route
#: its flow uses today (the planner's fastest, which the demand data was estimated on). Estimate,
#: calibrated: 15 %, for re-contracting, new documents and a forwarder's untried partners; the
#: smallest round margin that keeps every 2024 flow on its route while queues are short (bulk
#: Shymkent-Baku via Turkmenbashi is 9.5 % cheaper on paper, yet the 2024 volume sails from Aktau).
SWITCHING_MARGIN = 0.15

#: Longest queueing a shipper accepts on a route, in hours (two weeks). Estimate: beyond a
#: fortnight's wait for a ferry or a port slot, forwarders book another route or do not ship;
#: the ferry wait of the 2024 baseline is about three days a shipment.
MAX_EXPECTED_WAIT_HOURS = 14 * 24.0


@dataclass(frozen=True)
class Offer:
    """One route as a shipper sees it at booking time."""

    cost_usd: float  # money for the whole shipment
    hours_p50: float
    hours_p90: float
    queue_hours: float  # expected queueing, all places together
    worst_place: str  # where it would queue longest ("" when nowhere)


def generalised_cost(offer: Offer, unit: CargoUnit, units: float) -> float:
    """US$ a shipper weighs for a route: money plus time and unreliability at its value of time."""
    vot = VALUE_OF_TIME_USD_PER_HOUR[unit] * units
    spread = max(offer.hours_p90 - offer.hours_p50, 0.0)
    return offer.cost_usd + vot * (offer.hours_p50 + offer.queue_hours + RELIABILITY_RATIO * spread)


def cheapest_switch(others: Sequence[Offer], unit: CargoUnit, units: float) -> float:
    """The least generalised cost, switching margin included, of the other routes on an empty
    corridor (queueing only adds to a route's cost): fixed for a flow, so computed once."""
    return min(
        (generalised_cost(o, unit, units) * (1.0 + SWITCHING_MARGIN) for o in others),
        default=math.inf,
    )


def stays_without_looking(
    today: Offer, cheapest: float, unit: CargoUnit, units: float, bound: float
) -> bool:
    """Whether the flow's route today wins however little the others queue: within the bound
    and no dearer than `cheapest` (`cheapest_switch` of the other routes). Saves looking at
    the others' queues."""
    if today.queue_hours > bound:
        return False
    return generalised_cost(today, unit, units) <= cheapest


@dataclass(frozen=True)
class Choice:
    """The route taken (its index), or None and where the shipment was refused."""

    option: int | None
    refused_at: str = ""
    preferred: int = 0  # the flow's route today (the planner's fastest)


def choose(
    offers: Sequence[Offer],
    unit: CargoUnit,
    units: float,
    bound: float = MAX_EXPECTED_WAIT_HOURS,
) -> Choice:
    """The cheapest route in generalised cost among those that queue less than `bound`; the
    first offer is the flow's route today, the others carry the switching margin."""
    costs = [
        generalised_cost(o, unit, units) * (1.0 if i == 0 else 1.0 + SWITCHING_MARGIN)
        for i, o in enumerate(offers)
    ]
    preferred = 0
    best, best_cost = None, math.inf
    for i, offer in enumerate(offers):
        if offer.queue_hours <= bound and costs[i] < best_cost:
            best, best_cost = i, costs[i]
    if best is None:
        return Choice(None, offers[preferred].worst_place or "-", preferred)
    return Choice(best, "", preferred)
