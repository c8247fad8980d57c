"""When a border office may expect the cargo: its border is the next one the cargo crosses, and
the time the plan expects it there is near.

An officer records an arrival when the truck or train is at the border. The office knows the
declared route (the pre-arrival declaration's passages, in order) and the controls the customs
of earlier countries signed off at their release (sent to every country still ahead). The cargo
still has an earlier border to cross while a country entered before this one, whose customs is
on the corridor, has not released it; and it is not due while the planned arrival is more than
`DUE_WITHIN` away.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from kervan.customs.declaration import DeclarationContent

# How long before the planned arrival an office may record it: a day covers a road leg run
# faster than the plan's median and a train waiting less at the previous border.
DUE_WITHIN = timedelta(hours=24)


@dataclass(frozen=True)
class ArrivalOutlook:
    """Whether the arrival may be recorded now; if not, the border still ahead of this one
    (`earlier_border`, a country code) or the moment it becomes due (`due_from`)."""

    open: bool
    earlier_border: str | None = None
    due_from: datetime | None = None


def earlier_border(
    content: DeclarationContent,
    country: str,
    released_by: Collection[str],
    on_corridor: Collection[str],
) -> str | None:
    """The first country entered before `country` on the declared route whose customs is on
    the corridor (`on_corridor`) and has not released the cargo (`released_by`); None when
    `country`'s border is the next the cargo crosses."""
    for passage in content.route.passages[1:]:  # the first is the country of departure
        if passage.country == country:
            return None
        if passage.country in on_corridor and passage.country not in released_by:
            return passage.country
    return None


def arrival_outlook(
    content: DeclarationContent,
    country: str,
    expected_at: datetime | None,
    released_by: Collection[str],
    on_corridor: Collection[str],
    now: datetime,
) -> ArrivalOutlook:
    """In: the declaration, the office's country, the planned arrival, the countries whose
    control the office holds, the countries with customs on the corridor, the time now.
    Out: whether the office may record the arrival now, and if not, why."""
    ahead = earlier_border(content, country, released_by, on_corridor)
    if ahead is not None:
        return ArrivalOutlook(open=False, earlier_border=ahead)
    if expected_at is not None and expected_at - DUE_WITHIN > now:
        return ArrivalOutlook(open=False, due_from=expected_at - DUE_WITHIN)
    return ArrivalOutlook(open=True)


__all__ = ["DUE_WITHIN", "ArrivalOutlook", "arrival_outlook", "earlier_border"]
