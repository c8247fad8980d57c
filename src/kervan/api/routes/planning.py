"""Route planning, place search and the network map: public reference data, no login needed."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from kervan.documents.text import LINE_PATTERN
from kervan.network.model import CargoUnit, NodeKind
from kervan.routing.plan import Plan
from kervan.routing.planner import Objective, Planner
from kervan.services.planning import RouteQuery, plan_routes

router = APIRouter(prefix="/v1", tags=["planning"])


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


@router.post(
    "/routes/plan",
    response_model=PlanResponse,
    responses={404: {"description": "No place of that name on the network (with suggestions)"}},
)
def plan_route(body: RouteQuery, request: Request) -> PlanResponse:
    """Best plans (or the Pareto set) with legs, borders, P50/P90 times, cost, CO2, documents."""
    plans = plan_routes(planner_of(request), body)
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
    q: Annotated[
        str, Query(min_length=1, max_length=100, pattern=LINE_PATTERN, description="Part of a name")
    ],
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
