"""What happens to the cargo, in order, and the timeline planned against actual.

A shipment is booked, then taken over at its origin; at each border on its route it arrives and
is released; it is delivered at its destination. Events must come in that order and at legs
the plan actually has, and time never runs backwards; anything else is refused with a typed
error saying what was expected.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict

from kervan.errors import IllegalTransitionError, InvalidRequestError
from kervan.routing.plan import Plan


class EventType(StrEnum):
    TAKEN_OVER = "taken_over"
    BORDER_ARRIVAL = "border_arrival"
    BORDER_RELEASE = "border_release"
    DELIVERED = "delivered"


class ShipmentStatus(StrEnum):
    BOOKED = "booked"
    IN_TRANSIT = "in_transit"
    AT_BORDER = "at_border"
    DELIVERED = "delivered"


class ShipmentEvent(BaseModel):
    """One recorded event: what, when, on which leg (border events), by whom."""

    model_config = ConfigDict(frozen=True)

    seq: int
    type: EventType
    at: AwareDatetime
    leg_index: int | None = None
    node: str | None = None
    recorded_by: str
    details: dict[str, str] = {}


def status_after(events: list[ShipmentEvent]) -> ShipmentStatus:
    """Where the shipment stands after `events`."""
    if not events:
        return ShipmentStatus.BOOKED
    last = events[-1].type
    if last is EventType.DELIVERED:
        return ShipmentStatus.DELIVERED
    if last is EventType.BORDER_ARRIVAL:
        return ShipmentStatus.AT_BORDER
    return ShipmentStatus.IN_TRANSIT


def border_legs(plan: Plan) -> list[int]:
    """The legs of the plan that cross a border, in order."""
    return [leg.index for leg in plan.legs if leg.border is not None]


def expected_next(plan: Plan, events: list[ShipmentEvent]) -> tuple[EventType, int | None]:
    """The one event that may come next, and its leg for border events."""
    if not events:
        return EventType.TAKEN_OVER, None
    crossings = border_legs(plan)
    arrivals = [e.leg_index for e in events if e.type is EventType.BORDER_ARRIVAL]
    releases = [e.leg_index for e in events if e.type is EventType.BORDER_RELEASE]
    if len(arrivals) > len(releases):
        return EventType.BORDER_RELEASE, arrivals[-1]
    if len(releases) < len(crossings):
        return EventType.BORDER_ARRIVAL, crossings[len(releases)]
    return EventType.DELIVERED, None


def check_next(
    plan: Plan,
    events: list[ShipmentEvent],
    event_type: EventType,
    leg_index: int | None,
    at: datetime,
) -> int | None:
    """Check an event may be recorded now; return its leg. Raises a typed error if not."""
    if events and events[-1].type is EventType.DELIVERED:
        raise IllegalTransitionError("shipment", f"record {event_type.value}", "delivered", [])
    expected, leg = expected_next(plan, events)
    if event_type is not expected:
        raise IllegalTransitionError(
            "shipment", f"record {event_type.value}", status_after(events).value, [expected.value]
        )
    if leg is not None and leg_index is not None and leg_index != leg:
        raise InvalidRequestError(
            f"the next border on this route is on leg {leg} "
            f"({plan.legs[leg].from_name} -> {plan.legs[leg].to_name}), not leg {leg_index}"
        )
    if events and at < events[-1].at:
        raise InvalidRequestError(
            f"events come in time order: {at.isoformat()} is before the last event "
            f"({events[-1].at.isoformat()})"
        )
    return leg


class TimelineEntry(BaseModel):
    """One step of the journey: planned (from the plan's P50 times) against actual."""

    model_config = ConfigDict(frozen=True)

    step: str
    event: EventType  # the event that completes this step
    leg_index: int | None
    node: str
    planned_at: datetime | None
    actual_at: datetime | None
    delay_hours: float | None


def timeline(plan: Plan, events: list[ShipmentEvent]) -> list[TimelineEntry]:
    """Planned against actual: planned times run from the taking over by the legs' P50 hours."""
    start = next((e.at for e in events if e.type is EventType.TAKEN_OVER), None)
    actual = {(e.type, e.leg_index): e.at for e in events}
    entries = [
        _entry("taken over", EventType.TAKEN_OVER, None, plan.legs[0].from_name, start, start)
    ]
    elapsed = 0.0
    transfers = {t.after_leg: t.hours_p50 for t in plan.transfers}
    for leg in plan.legs:
        haul = leg.hours_p50 - (leg.border.dwell_hours_p50 if leg.border else 0.0)
        if leg.border is not None:
            arrive = elapsed + haul
            release = arrive + leg.border.dwell_hours_p50
            for step, hours, kind in (
                ("border arrival", arrive, EventType.BORDER_ARRIVAL),
                ("border release", release, EventType.BORDER_RELEASE),
            ):
                planned = start + timedelta(hours=hours) if start else None
                entries.append(
                    _entry(
                        f"{step} {'-'.join(leg.border.countries)}",
                        kind,
                        leg.index,
                        leg.to_name,
                        planned,
                        actual.get((kind, leg.index)),
                    )
                )
        elapsed += leg.hours_p50 + transfers.get(leg.index, 0.0)
    planned_end = start + timedelta(hours=elapsed) if start else None
    entries.append(
        _entry(
            "delivered",
            EventType.DELIVERED,
            None,
            plan.legs[-1].to_name,
            planned_end,
            actual.get((EventType.DELIVERED, None)),
        )
    )
    return entries


def _entry(
    step: str,
    event: EventType,
    leg: int | None,
    node: str,
    planned: datetime | None,
    actual: datetime | None,
) -> TimelineEntry:
    delay = (actual - planned).total_seconds() / 3600.0 if planned and actual else None
    return TimelineEntry(
        step=step,
        event=event,
        leg_index=leg,
        node=node,
        planned_at=planned,
        actual_at=actual,
        delay_hours=delay,
    )
