"""e-TIR over HTTP: guarantee (and its cancellation), declaration, acceptance and the TIR
operations per country."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from kervan.api.deps import credentials, uow_of
from kervan.api.params import ObjectId
from kervan.services import tir
from kervan.services.etir_relay import etir_messages
from kervan.services.tir import (
    GuaranteeRequest,
    OperationRequest,
    RegisterGuarantee,
    TirOperation,
    TirRef,
    TirView,
)

router = APIRouter(prefix="/v1/tir", tags=["e-TIR"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such TIR transport among those the caller may act on"}
}


@router.get("/{document_id}", response_model=TirView, responses=NOT_FOUND)
def get_transport(document_id: ObjectId, request: Request) -> TirView:
    """The TIR transport: guarantee, operations per country and what may happen next."""
    return tir.tir_view(uow_of(request), credentials(request), TirRef(document_id))


@router.get("/{document_id}/messages", response_model=dict[str, Any], responses=NOT_FOUND)
def get_messages(document_id: ObjectId, request: Request) -> dict[str, Any]:
    """The transport as the eTIR international system's messages (eTIR specifications v4.3):
    I7 register guarantee, I19 check customs offices, E9 advance TIR data, I15 record
    declaration data, I9/I11/I13 start, terminate and discharge each TIR operation, E7 notify
    guarantee chain; each with its data groups and whether its number is estimated."""
    return etir_messages(uow_of(request), credentials(request), TirRef(document_id))


@router.post("/{document_id}/guarantee", response_model=TirView, responses=NOT_FOUND)
def guarantee(document_id: ObjectId, body: GuaranteeRequest, request: Request) -> TirView:
    """The shipment's guarantee chain registers the guarantee."""
    command = RegisterGuarantee(document_id, body)
    return tir.register_guarantee(uow_of(request), credentials(request), command)


@router.post(
    "/{document_id}/guarantee/cancellation",
    response_model=TirView,
    responses={
        **NOT_FOUND,
        409: {"description": "The guarantee is cancelled already, or the transport has ended"},
    },
)
def guarantee_cancellation(document_id: ObjectId, request: Request) -> TirView:
    """The shipment's guarantee chain cancels the guarantee: at once while no declaration uses
    it, else from the start of the next TIR operation."""
    return tir.cancel_guarantee(uow_of(request), credentials(request), TirRef(document_id))


@router.post("/{document_id}/declaration", response_model=TirView, responses=NOT_FOUND)
def declaration(document_id: ObjectId, request: Request) -> TirView:
    """The holder submits the advance TIR data built from the shipment."""
    return tir.submit_declaration(uow_of(request), credentials(request), TirRef(document_id))


@router.post("/{document_id}/acceptance", response_model=TirView, responses=NOT_FOUND)
def acceptance(document_id: ObjectId, request: Request) -> TirView:
    """Customs of departure accepts the declaration."""
    return tir.accept(uow_of(request), credentials(request), TirRef(document_id))


@router.post("/{document_id}/operations", response_model=TirView, responses=NOT_FOUND)
def operations(document_id: ObjectId, body: OperationRequest, request: Request) -> TirView:
    """The caller's customs starts, terminates or discharges its country's TIR operation."""
    command = TirOperation(document_id, body)
    return tir.operation(uow_of(request), credentials(request), command)
