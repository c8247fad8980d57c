"""Control authorities' rules on permit usage: the e-Permit core leaves the limit to them.

Each rule is a value with `check(permit, previous, usage)` that raises PermitUsageRefusedError
with the reason; pass the one the controlling authority applies to `PermitRecord.record_usage`.
"""

from __future__ import annotations

from dataclasses import dataclass

from kervan.documents.epermit import ActivityType, Permit, PermitUsage
from kervan.errors import PermitUsageRefusedError


def _refuse(permit: Permit, usage: PermitUsage, why: str) -> PermitUsageRefusedError:
    return PermitUsageRefusedError(
        f"permit {permit.permit_id}: {usage.activity_type.value} at "
        f"{usage.control_authority} refused: {why}"
    )


def _in_time_order(permit: Permit, previous: tuple[PermitUsage, ...], usage: PermitUsage) -> None:
    if previous and usage.activity_timestamp < previous[-1].activity_timestamp:
        raise _refuse(permit, usage, "it is earlier than the last recorded usage")


@dataclass(frozen=True)
class MaxEntriesPerCountry:
    """At most `max_entries` ENTRANCE records per control authority (a TRACECA-like permit
    allows two entries into each country); an EXIT needs an open entry at that authority."""

    max_entries: int = 2

    def check(self, permit: Permit, previous: tuple[PermitUsage, ...], usage: PermitUsage) -> None:
        """Raise PermitUsageRefusedError when the usage breaks the rule; else return None."""
        _in_time_order(permit, previous, usage)
        here = [u for u in previous if u.control_authority == usage.control_authority]
        entries = sum(1 for u in here if u.activity_type is ActivityType.ENTRANCE)
        exits = len(here) - entries
        if usage.activity_type is ActivityType.ENTRANCE:
            if entries > exits:
                raise _refuse(permit, usage, "the vehicle has not exited since its last entry")
            if entries >= self.max_entries:
                raise _refuse(
                    permit, usage, f"{entries} of {self.max_entries} entries already used"
                )
        elif entries <= exits:
            raise _refuse(permit, usage, "no entry is recorded to exit from")


@dataclass(frozen=True)
class OneRoundTrip:
    """One ENTRANCE into the controlling country and one EXIT from it, then the permit is spent
    (a bilateral permit's single round trip)."""

    def check(self, permit: Permit, previous: tuple[PermitUsage, ...], usage: PermitUsage) -> None:
        """Raise PermitUsageRefusedError when the usage breaks the rule; else return None."""
        _in_time_order(permit, previous, usage)
        done = [u.activity_type for u in previous]
        if done == [] and usage.activity_type is ActivityType.ENTRANCE:
            return
        if done == [ActivityType.ENTRANCE] and usage.activity_type is ActivityType.EXIT:
            if usage.control_authority != previous[0].control_authority:
                raise _refuse(permit, usage, "the exit must be from the country entered")
            return
        if len(done) >= 2:
            raise _refuse(permit, usage, "the single round trip is already used")
        raise _refuse(permit, usage, "a round trip is one entrance, then one exit")
