"""The border over HTTP: a customs officer's work list, recording arrival, and releasing cargo
after its checks.
Each route hands the request's credentials to one use case, which owns its transaction."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from kervan.api.deps import credentials, uow_of
from kervan.api.params import ObjectId
from kervan.documents.limits import CorridorMoment
from kervan.documents.text import LINE_PATTERN
from kervan.services.customs.crossing import RecordArrival, record_arrival
from kervan.services.customs.release import ReleaseCargo, ReleaseRequest, release
from kervan.services.customs.worklist import WorkItem, WorkList, WorkListQuery, work_list

router = APIRouter(prefix="/v1/customs", tags=["customs"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such shipment crossing into the caller's country"}
}


@router.get("/worklist", response_model=WorkList)
def get_work_list(
    request: Request,
    crossing: Annotated[
        str | None, Query(max_length=32, pattern=LINE_PATTERN, description="Entry node id")
    ] = None,
) -> WorkList:
    """Cargo coming to the caller's country (pre-arrival) and at its border, with lanes."""
    return work_list(uow_of(request), credentials(request), WorkListQuery(crossing))


class ArrivalRequest(BaseModel):
    """The cargo reached this country's border on leg `leg_index` at `at`."""

    model_config = ConfigDict(extra="forbid")

    leg_index: int = Field(ge=0, le=500)
    at: CorridorMoment


@router.post(
    "/shipments/{shipment_id}/arrival",
    response_model=WorkItem,
    responses={**NOT_FOUND, 409: {"description": "The arrival is recorded already"}},
)
def post_arrival(shipment_id: ObjectId, body: ArrivalRequest, request: Request) -> WorkItem:
    """Record that the cargo arrived at this border (the trade side's timeline follows)."""
    command = RecordArrival(shipment_id, body.leg_index, body.at)
    return record_arrival(uow_of(request), credentials(request), command)


@router.post(
    "/shipments/{shipment_id}/release",
    response_model=WorkItem,
    responses={**NOT_FOUND, 409: {"description": "The lane requires another check first"}},
)
def post_release(shipment_id: ObjectId, body: ReleaseRequest, request: Request) -> WorkItem:
    """Release the cargo at this border, signing off the control the next country sees."""
    return release(uow_of(request), credentials(request), ReleaseCargo(shipment_id, body))
