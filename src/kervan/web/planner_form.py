"""The planner page's form: read leniently from a query string, turned into a PlanRequest.

A page must not answer a wrong field with a JSON error, so every field falls back to its default
and says what it did not understand (shown next to the form).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import TypeVar

from kervan.network.model import CargoUnit, Mode, Passage
from kervan.routing.planner import Objective, PlanRequest

MAX_PLACE_LENGTH = 100
_E = TypeVar("_E", bound=StrEnum)
_D = TypeVar("_D", bound=StrEnum | None)


@dataclass(frozen=True)
class PlannerForm:
    """What the planner form holds; `problems` names the fields that were ignored."""

    origin: str = ""
    destination: str = ""
    unit: CargoUnit = CargoUnit.CONTAINER
    objective: Objective = Objective.TIME
    year: int | None = None
    departure: date | None = None
    avoid_countries: tuple[str, ...] = ()
    avoid_modes: tuple[Mode, ...] = ()
    digital_documents: bool = False
    green_lane: bool = False
    trucking: bool = False
    red_sea_closed: bool = False
    problems: tuple[str, ...] = field(default=())

    @property
    def ready(self) -> bool:
        """Whether there is something to plan (both ends filled in)."""
        return bool(self.origin and self.destination)

    def to_request(self) -> PlanRequest:
        return PlanRequest(
            origin=self.origin,
            destination=self.destination,
            objective=self.objective,
            unit=self.unit,
            avoid_countries=frozenset(self.avoid_countries),
            avoid_modes=frozenset(self.avoid_modes),
            year=None if self.departure else self.year,
            on_date=self.departure,
            digital_documents=self.digital_documents,
            green_lane=self.green_lane,
            road_haul=self.trucking,
            closed_passages=frozenset({Passage.RED_SEA} if self.red_sea_closed else ()),
        )


class _Lists:
    """Multi-valued query access that works for Starlette's QueryParams and plain dicts."""

    def __init__(self, params: Mapping[str, str], lists: Mapping[str, Sequence[str]]) -> None:
        self.params = params
        self.lists = lists

    def one(self, name: str) -> str:
        return self.params.get(name, "").strip()

    def many(self, name: str) -> list[str]:
        return [v.strip() for v in self.lists.get(name, ()) if v.strip()]


def parse_form(
    params: Mapping[str, str],
    lists: Mapping[str, Sequence[str]],
    *,
    known_countries: frozenset[str],
    years: range,
) -> PlannerForm:
    """The form as the query string gives it; unknown values are dropped and named in problems."""
    q = _Lists(params, lists)
    problems: list[str] = []
    origin = q.one("origin")[:MAX_PLACE_LENGTH]
    destination = q.one("destination")[:MAX_PLACE_LENGTH]
    unit = _choice(CargoUnit, q.one("unit"), CargoUnit.CONTAINER, "unit", problems)
    objective = _choice(Objective, q.one("objective"), Objective.TIME, "objective", problems)
    year: int | None = None
    if q.one("year"):
        if q.one("year").isdigit() and int(q.one("year")) in years:
            year = int(q.one("year"))
        else:
            problems.append("year")
    departure: date | None = None
    if q.one("departure"):
        try:
            departure = date.fromisoformat(q.one("departure"))
        except ValueError:
            problems.append("departure")
        else:
            if departure.year not in years:
                departure = None
                problems.append("departure")
    countries = [c.upper() for c in q.many("avoid_country")]
    if any(c not in known_countries for c in countries):
        problems.append("avoid_country")
    modes: list[Mode] = []
    for value in q.many("avoid_mode"):
        mode = _choice(Mode, value, None, "avoid_mode", problems)
        if mode is not None:
            modes.append(mode)
    return PlannerForm(
        origin=origin,
        destination=destination,
        unit=unit,
        objective=objective,
        year=year,
        departure=departure,
        avoid_countries=tuple(dict.fromkeys(c for c in countries if c in known_countries)),
        avoid_modes=tuple(dict.fromkeys(modes)),
        digital_documents=q.one("digital") == "1",
        green_lane=q.one("green") == "1",
        trucking=q.one("trucking") == "1",
        red_sea_closed=q.one("red_sea") == "closed",
        problems=tuple(dict.fromkeys(problems)),
    )


def _choice(enum: type[_E], value: str, default: _D, name: str, problems: list[str]) -> _E | _D:
    if not value:
        return default
    try:
        return enum(value)
    except ValueError:
        problems.append(name)
        return default
