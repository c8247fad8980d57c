"""A shipment's customs route: the countries it passes, where it enters and leaves each, when.

Derived from a plan: the office of departure opens the first country, every border leg closes
one country at the exit office (where the leg starts) and opens the next at the entry office
(where it ends); the office of destination closes the last. Expected times add the plan's P50
leg and transfer times to the departure time: a country is left when the border leg departs
(after its mean wait) and the next entered when its line haul ends.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from kervan.customs.offices import CustomsOffices
from kervan.errors import CustomsRouteError
from kervan.network.model import Mode
from kervan.routing.plan import Plan


class CountryPassage(BaseModel):
    """One country on the route: entry and exit offices, the crossings, the expected times.

    For the first country the entry office is the office of departure (no entry crossing); for
    the last, the exit office is the office of destination (no exit crossing).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    country: str = Field(pattern=r"^[A-Z]{2}$")
    entry_office: str
    exit_office: str
    entry_crossing: str | None = None
    exit_crossing: str | None = None
    entry_mode: Mode | None = None
    expected_entry: AwareDatetime
    expected_exit: AwareDatetime


class CustomsRoute(BaseModel):
    """The passages of a shipment, in order, with the plan it came from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    plan_key: str
    passages: Annotated[tuple[CountryPassage, ...], Field(min_length=1)]
    countries: tuple[str, ...]  # every country of the plan, including ones only sailed past

    @property
    def departure_office(self) -> str:
        return self.passages[0].entry_office

    @property
    def destination_office(self) -> str:
        return self.passages[-1].exit_office

    def passage(self, country: str) -> CountryPassage:
        """The passage through `country`; CustomsRouteError if the route does not enter it."""
        for p in self.passages:
            if p.country == country:
                return p
        raise CustomsRouteError(
            f"the route {' -> '.join(p.country for p in self.passages)} does not enter {country}"
        )

    def offices(self) -> tuple[str, ...]:
        """Every office the route names, in the order the shipment meets them."""
        return tuple(
            dict.fromkeys(c for p in self.passages for c in (p.entry_office, p.exit_office))
        )


def customs_route(plan: Plan, offices: CustomsOffices, departure_at: datetime) -> CustomsRoute:
    """In: a plan on the offices' network and when the shipment leaves its origin
    (timezone-aware). Out: its customs route with expected entry and exit times."""
    if not plan.legs:
        raise CustomsRouteError("a plan without legs has no customs route")
    if departure_at.tzinfo is None:
        raise CustomsRouteError("the departure time needs a time zone")
    clock = departure_at
    first = offices.at_node(plan.legs[0].from_node)
    opened: dict[str, object] = {
        "country": first.country,
        "entry_office": first.code,
        "expected_entry": departure_at,
    }
    passages: list[CountryPassage] = []
    for leg in plan.legs:
        if leg.border is not None:
            departs = clock + timedelta(hours=leg.wait_hours_mean)
            arrives = departs + timedelta(hours=leg.line_haul_hours_p50)
            exit_office = offices.at_node(leg.from_node)
            entry_office = offices.at_node(leg.to_node)
            passages.append(
                CountryPassage.model_validate(
                    {
                        **opened,
                        "exit_office": exit_office.code,
                        "exit_crossing": leg.border.crossing_id,
                        "expected_exit": departs,
                    }
                )
            )
            opened = {
                "country": entry_office.country,
                "entry_office": entry_office.code,
                "entry_crossing": leg.border.crossing_id,
                "entry_mode": leg.mode,
                "expected_entry": arrives,
            }
        clock += timedelta(hours=leg.hours_p50)
        clock += timedelta(
            hours=sum(t.hours_p50 for t in plan.transfers if t.after_leg == leg.index)
        )
    last = offices.at_node(plan.legs[-1].to_node)
    passages.append(
        CountryPassage.model_validate({**opened, "exit_office": last.code, "expected_exit": clock})
    )
    return CustomsRoute(plan_key=plan.plan_key, passages=tuple(passages), countries=plan.countries)
