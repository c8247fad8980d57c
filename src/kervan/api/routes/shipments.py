"""Shipments: book from a plan, list and read what you may see, record events, the timeline."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from kervan.api.deps import idempotent, node_of, page_bounds, reading, transaction
from kervan.services.documents import DocumentView, documents_of_shipment, open_drafts
from kervan.services.shipments import (
    BookingRequest,
    EventRequest,
    ShipmentView,
    access,
    create_shipment,
    list_visible,
    record_event,
    shipment_timeline,
    view,
)
from kervan.shipments.events import ShipmentEvent, TimelineEntry

router = APIRouter(prefix="/v1/shipments", tags=["shipments"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such shipment among those the caller may see"}
}


class ShipmentPage(BaseModel):
    items: list[ShipmentView]
    total: int
    offset: int
    limit: int


@router.post(
    "",
    status_code=201,
    response_model=ShipmentView,
    responses={409: {"description": "Idempotency-Key reused"}},
)
def book(body: BookingRequest, request: Request) -> Response:
    """Book a shipment from a chosen plan: its legs, parties and document drafts are created."""
    ctx = node_of(request)
    with transaction(request) as (session, caller):

        def create() -> ShipmentView:
            row, plan, parties = create_shipment(ctx, session, caller, body)
            open_drafts(ctx, session, row, plan, body.cargo, parties)
            return view(session, access(session, caller, row.id))

        return idempotent(request, session, caller, body, create)


@router.get("", response_model=ShipmentPage)
def list_shipments(
    request: Request,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> ShipmentPage:
    """Shipments the caller takes part in (customs: those coming through its country)."""
    offset, limit = page_bounds(offset, limit)
    with reading(request) as (session, caller):
        rows, total = list_visible(session, caller, offset, limit)
        items = [view(session, access(session, caller, row.id)) for row in rows]
    return ShipmentPage(items=items, total=total, offset=offset, limit=limit)


@router.get("/{shipment_id}", response_model=ShipmentView, responses=NOT_FOUND)
def get_shipment(shipment_id: str, request: Request) -> ShipmentView:
    """One shipment: plan, parties, cargo, events (customs see no prices)."""
    with reading(request) as (session, caller):
        return view(session, access(session, caller, shipment_id))


@router.get("/{shipment_id}/documents", response_model=list[DocumentView], responses=NOT_FOUND)
def shipment_documents(shipment_id: str, request: Request) -> list[DocumentView]:
    """The shipment's documents, their state, versions and who signed what."""
    with reading(request) as (session, caller):
        return documents_of_shipment(session, caller, shipment_id)


@router.post(
    "/{shipment_id}/events", status_code=201, response_model=ShipmentEvent, responses=NOT_FOUND
)
def post_event(shipment_id: str, body: EventRequest, request: Request) -> Response:
    """Record what happened: taken over, border arrival and release, delivered."""
    ctx = node_of(request)
    with transaction(request) as (session, caller):
        return idempotent(
            request,
            session,
            caller,
            body,
            lambda: record_event(ctx, session, caller, shipment_id, body),
        )


@router.get("/{shipment_id}/timeline", response_model=list[TimelineEntry], responses=NOT_FOUND)
def get_timeline(shipment_id: str, request: Request) -> list[TimelineEntry]:
    """Planned (from the plan's P50 times) against actual, step by step."""
    with reading(request) as (session, caller):
        return shipment_timeline(session, caller, shipment_id)
