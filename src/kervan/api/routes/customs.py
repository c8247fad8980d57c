"""The border over HTTP: a customs officer's work list and releasing cargo after its checks."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from kervan.api.deps import node_of, transaction
from kervan.services.customs import ReleaseRequest, WorkItem, WorkList, release, work_list

router = APIRouter(prefix="/v1/customs", tags=["customs"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such shipment crossing into the caller's country"}
}


@router.get("/worklist", response_model=WorkList)
def get_work_list(
    request: Request,
    crossing: Annotated[str | None, Query(max_length=32, description="Entry node id")] = None,
) -> WorkList:
    """Cargo coming to the caller's country (pre-arrival) and at its border, with lanes."""
    with transaction(request) as (session, caller):
        return work_list(node_of(request), session, caller, crossing)


@router.post(
    "/shipments/{shipment_id}/release",
    response_model=WorkItem,
    responses={**NOT_FOUND, 409: {"description": "The lane requires another check first"}},
)
def post_release(shipment_id: str, body: ReleaseRequest, request: Request) -> WorkItem:
    """Release the cargo at this border, signing off the control the next country sees."""
    with transaction(request) as (session, caller):
        return release(node_of(request), session, caller, shipment_id, body)
