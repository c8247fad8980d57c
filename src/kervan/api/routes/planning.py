"""Route planning, place search and the network map: public reference data, no login needed."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from kervan.network.model import CargoUnit, Mode, NodeKind
from kervan.routing.plan import Plan
from kervan.routing.planner import Objective, Planner, PlanRequest

router = APIRouter(prefix="/v1", tags=["planning"])

CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]


class Weights(BaseModel):
    model_config = ConfigDict(extra="forbid")

    time: float = Field(1.0, ge=0, le=1000)
    cost: float = Field(1.0, ge=0, le=1000)
    co2: float = Field(1.0, ge=0, le=1000)


class PlanBody(BaseModel):
    """What to plan: from where to where, for which cargo, under which constraints."""

    model_config = ConfigDict(extra="forbid")

    origin: str = Field(min_length=1, max_length=100, examples=["Xi'an"])
    destination: str = Field(min_length=1, max_length=100, examples=["Duisburg"])
    objective: Objective = Objective.TIME
    weights: Weights = Field(default_factory=Weights)
    unit: CargoUnit = CargoUnit.CONTAINER
    avoid_countries: list[CountryCode] = Field(default_factory=list, max_length=50)
    avoid_modes: list[Mode] = Field(default_factory=list, max_length=4)
    year: int | None = Field(None, ge=1990, le=2100)
    on_date: date | None = Field(
        None, description="Date of travel (decides which planned links are open)"
    )
    max_transfers: int | None = Field(None, ge=0, le=20)
    alternatives: int = Field(3, ge=1, le=10)
    pareto: bool = False
    truck_flag: CountryCode | None = None
    digital_documents: bool = False
    green_lane: bool = False

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
        )


class PlanResponse(BaseModel):
    origin: str
    destination: str
    objective: Objective
    unit: CargoUnit
    year: int
    plans: list[Plan]


class Place(BaseModel):
    id: str
    name: str
    country: str
    lat: float
    lon: float
    kinds: list[NodeKind]


def planner_of(request: Request) -> Planner:
    planner: Planner = request.app.state.planner
    return planner


@router.post("/routes/plan", response_model=PlanResponse)
def plan_route(body: PlanBody, request: Request) -> PlanResponse:
    """Best plans (or the Pareto set) with legs, borders, P50/P90 times, cost, CO2, documents."""
    planner = planner_of(request)
    plan_request = body.to_request()
    plans = planner.pareto(plan_request) if body.pareto else planner.plan(plan_request)
    request.app.state.metrics.plans.labels(body.objective.value).inc()
    return PlanResponse(
        origin=plans[0].origin,
        destination=plans[0].destination,
        objective=body.objective,
        unit=body.unit,
        year=plans[0].year,
        plans=plans,
    )


@router.get("/places", response_model=list[Place])
def search_places(
    request: Request,
    q: Annotated[str, Query(min_length=1, max_length=100, description="Part of a name")],
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> list[Place]:
    """Places whose name, alias or id matches what was typed so far."""
    return [
        Place(id=n.id, name=n.name, country=n.country, lat=n.lat, lon=n.lon, kinds=list(n.kinds))
        for n in planner_of(request).places.search(q, limit)
    ]


@router.get("/network")
def network_geojson(request: Request) -> dict[str, Any]:
    """The corridor network as GeoJSON: nodes as points, links as lines, with mode and status."""
    network = planner_of(request).network
    features: list[dict[str, Any]] = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [n.lon, n.lat]},
            "properties": {
                "id": n.id,
                "name": n.name,
                "country": n.country,
                "kinds": [k.value for k in n.kinds],
            },
        }
        for n in network.nodes.values()
    ]
    for link in network.links.values():
        a, z = network.nodes[link.from_node], network.nodes[link.to_node]
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": [[a.lon, a.lat], [z.lon, z.lat]]},
                "properties": {
                    "id": link.id,
                    "mode": link.mode.value,
                    "status": link.status.value,
                    "opens_year": link.opens_year,
                    "border": network.crossing_on(link.id) is not None,
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}
