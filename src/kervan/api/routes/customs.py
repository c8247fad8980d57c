"""The border over HTTP: a customs officer's work list and releasing cargo after its checks.
Each route authenticates the caller and calls one use case, which owns its transaction."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from kervan.api.deps import node_of, reading
from kervan.services.access import Caller
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
