"""Planning a route, as a use case: the request a shipper sends, and finding a chosen plan again."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from kervan.documents.limits import CorridorDate
from kervan.documents.text import NonBlankLine
from kervan.errors import InvalidRequestError
from kervan.network.model import CargoUnit, Mode, Passage
from kervan.routing.plan import Plan
from kervan.routing.planner import Objective, Planner, PlanRequest

CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]


class Weights(BaseModel):
    model_config = ConfigDict(extra="forbid")

    time: float = Field(1.0, ge=0, le=1000)
    cost: float = Field(1.0, ge=0, le=1000)
    co2: float = Field(1.0, ge=0, le=1000)


class RouteQuery(BaseModel):
    """What to plan: from where to where, for which cargo, under which constraints."""

    model_config = ConfigDict(extra="forbid")

    origin: NonBlankLine = Field(min_length=1, max_length=100, examples=["Xi'an"])
    destination: NonBlankLine = Field(min_length=1, max_length=100, examples=["Duisburg"])
    objective: Objective = Objective.TIME
    weights: Weights = Field(default_factory=Weights)
    unit: CargoUnit = CargoUnit.CONTAINER
    avoid_countries: list[CountryCode] = Field(default_factory=list, max_length=50)
    avoid_modes: list[Mode] = Field(default_factory=list, max_length=4)
    year: int | None = Field(None, ge=1990, le=2100)
    on_date: CorridorDate | None = Field(None, description="Date of travel (decides planned links)")
    max_transfers: int | None = Field(None, ge=0, le=20)
    alternatives: int = Field(3, ge=1, le=10)
    pareto: bool = False
    truck_flag: CountryCode | None = None
    digital_documents: bool = False
    green_lane: bool = False
    road_haul: bool = Field(
        False, description="Truck a container or bulk as far as it pays (no first/last-mile bound)"
    )
    allow_reentry: bool = Field(False, description="Allow a plan to enter a country it has left")
    closed_passages: list[Passage] = Field(
        default_factory=list, max_length=3, description="Sea passages closed to shipping"
    )

    def to_request(self) -> PlanRequest:
        return PlanRequest(
            origin=self.origin,
            destination=self.destination,
            objective=self.objective,
            weights=(self.weights.time, self.weights.cost, self.weights.co2),
            unit=self.unit,
            avoid_countries=frozenset(self.avoid_countries),
            avoid_modes=frozenset(self.avoid_modes),
            year=self.year,
            on_date=self.on_date,
            max_transfers=self.max_transfers,
            alternatives=self.alternatives,
            truck_flag=self.truck_flag,
            digital_documents=self.digital_documents,
            green_lane=self.green_lane,
            road_haul=self.road_haul,
            allow_reentry=self.allow_reentry,
            closed_passages=frozenset(self.closed_passages),
        )


def plan_routes(planner: Planner, query: RouteQuery) -> list[Plan]:
    """The plans for a query: the best and its alternatives, or the Pareto set."""
    request = query.to_request()
    return planner.pareto(request) if query.pareto else planner.plan(request)


def find_plan(planner: Planner, query: RouteQuery, plan_key: str) -> Plan:
    """The plan with `plan_key` among those the query gives (best, alternatives, Pareto set).

    Raises InvalidRequestError when the query no longer offers it (the network changed).
    """
    request = query.to_request()
    wide = PlanRequest(**{**request.__dict__, "alternatives": 10})
    for plan in [*planner.plan(wide), *planner.pareto(request)]:
        if plan.plan_key == plan_key:
            return plan
    raise InvalidRequestError(
        "the chosen plan is not among the plans for this route any more: plan again and book "
        "one of the plans returned"
    )
