"""Shipments: book from a plan, list and read what you may see, record events, the timeline,
the consignment record."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from kervan.api.deps import created, credentials, page_bounds, uow_of
from kervan.api.params import ObjectId
from kervan.services import documents, shipments
from kervan.services.booking import book_shipment
from kervan.services.consignment import ConsignmentRecord, consignment_record
from kervan.services.documents import DocumentView
from kervan.services.shipments import (
    BookingRequest,
    EventRequest,
    PageRequest,
    RecordEvent,
    ShipmentPage,
    ShipmentRef,
    ShipmentView,
    record_event,
    shipment_timeline,
    shipment_view,
)
from kervan.shipments.events import ShipmentEvent, TimelineEntry

router = APIRouter(prefix="/v1/shipments", tags=["shipments"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such shipment among those the caller may see"}
}


@router.post(
    "",
    status_code=201,
    response_model=ShipmentView,
    responses={409: {"description": "Idempotency-Key reused"}},
)
def book(body: BookingRequest, request: Request) -> Response:
    """Book a shipment from a chosen plan: its legs, parties and document drafts are created."""
    uow = uow_of(request, body)
    return created(uow, book_shipment(uow, credentials(request), body))


@router.get("", response_model=ShipmentPage)
def list_shipments(
    request: Request,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> ShipmentPage:
    """Shipments the caller takes part in (customs: those coming through its country)."""
    offset, limit = page_bounds(offset, limit)
    return shipments.list_shipments(
        uow_of(request), credentials(request), PageRequest(offset, limit)
    )


@router.get("/{shipment_id}", response_model=ShipmentView, responses=NOT_FOUND)
def get_shipment(shipment_id: ObjectId, request: Request) -> ShipmentView:
    """One shipment: plan, parties, cargo, events (customs see no prices)."""
    return shipment_view(uow_of(request), credentials(request), ShipmentRef(shipment_id))


@router.get("/{shipment_id}/documents", response_model=list[DocumentView], responses=NOT_FOUND)
def shipment_documents(shipment_id: ObjectId, request: Request) -> list[DocumentView]:
    """The shipment's documents, their state, versions and who signed what."""
    return documents.shipment_documents(
        uow_of(request), credentials(request), ShipmentRef(shipment_id)
    )


@router.get("/{shipment_id}/consignment", response_model=ConsignmentRecord, responses=NOT_FOUND)
def get_consignment(shipment_id: ObjectId, request: Request) -> ConsignmentRecord:
    """One consignment record: every identifier the regimes gave the shipment's consignment
    (e-CMR and CIM/SMGS numbers, eTIR reference and guarantee, permit ids, eFTI UILs,
    containers, plates, wagons) and where each document stands."""
    return consignment_record(uow_of(request), credentials(request), ShipmentRef(shipment_id))


@router.post(
    "/{shipment_id}/events", status_code=201, response_model=ShipmentEvent, responses=NOT_FOUND
)
def post_event(shipment_id: ObjectId, body: EventRequest, request: Request) -> Response:
    """Record what happened: taken over, border arrival and release, delivered."""
    uow = uow_of(request, body)
    return created(uow, record_event(uow, credentials(request), RecordEvent(shipment_id, body)))


@router.get("/{shipment_id}/timeline", response_model=list[TimelineEntry], responses=NOT_FOUND)
def get_timeline(shipment_id: ObjectId, request: Request) -> list[TimelineEntry]:
    """Planned (from the plan's P50 times) against actual, step by step."""
    return shipment_timeline(uow_of(request), credentials(request), ShipmentRef(shipment_id))
