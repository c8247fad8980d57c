"""The border over HTTP: a customs officer's work list, recording arrival, and releasing cargo
after its checks.
Each route authenticates the caller and calls one use case, which owns its transaction."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from kervan.api.deps import node_of, reading
from kervan.services.access import Caller
from kervan.services.customs.crossing import RecordArrival, record_arrival
from kervan.services.customs.release import ReleaseRequest, release
from kervan.services.customs.worklist import WorkItem, WorkList, WorkListQuery, work_list
from kervan.store.uow import UnitOfWork

router = APIRouter(prefix="/v1/customs", tags=["customs"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such shipment crossing into the caller's country"}
}


def _caller(request: Request) -> Caller:
    """The authenticated caller (401 otherwise), read before the use case's transaction."""
    with reading(request) as (_, caller):
        return caller


@router.get("/worklist", response_model=WorkList)
def get_work_list(
    request: Request,
    crossing: Annotated[str | None, Query(max_length=32, description="Entry node id")] = None,
) -> WorkList:
    """Cargo coming to the caller's country (pre-arrival) and at its border, with lanes."""
    node = node_of(request)
    caller = _caller(request)
    uow = UnitOfWork(node.sessions, reading=True)
    return work_list(uow, caller, WorkListQuery(crossing), node=node)


class ArrivalRequest(BaseModel):
    """The cargo reached this country's border on leg `leg_index` at `at`."""

    model_config = ConfigDict(extra="forbid")

    leg_index: int = Field(ge=0, le=500)
    at: AwareDatetime


@router.post(
    "/shipments/{shipment_id}/arrival",
    response_model=WorkItem,
    responses={**NOT_FOUND, 409: {"description": "The arrival is recorded already"}},
)
def post_arrival(shipment_id: str, body: ArrivalRequest, request: Request) -> WorkItem:
    """Record that the cargo arrived at this border (the trade side's timeline follows)."""
    node = node_of(request)
    caller = _caller(request)
    command = RecordArrival(shipment_id, body.leg_index, body.at)
    return record_arrival(UnitOfWork(node.sessions), caller, command, node=node)


@router.post(
    "/shipments/{shipment_id}/release",
    response_model=WorkItem,
    responses={**NOT_FOUND, 409: {"description": "The lane requires another check first"}},
)
def post_release(shipment_id: str, body: ReleaseRequest, request: Request) -> WorkItem:
    """Release the cargo at this border, signing off the control the next country sees."""
    node = node_of(request)
    caller = _caller(request)
    return release(UnitOfWork(node.sessions), caller, shipment_id, body, node=node)
