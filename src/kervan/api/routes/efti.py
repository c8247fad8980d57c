"""eFTI: a note's consignment data set as XML, and the platform's answers to a competent
authority's eDelivery queries (EU Regulation 2020/1056)."""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, Request, Response

from kervan.api.deps import credentials, uow_of
from kervan.api.params import ObjectId
from kervan.errors import InvalidRequestError
from kervan.services.efti import (
    EftiDocument,
    EftiMessage,
    efti_dataset,
    efti_identifier_query,
    efti_uil_query,
)

router = APIRouter(prefix="/v1", tags=["efti"])
XML: Final = "application/xml"
#: An eDelivery query is a few hundred bytes; anything near this is not one.
MAX_QUERY_BYTES: Final = 64 * 1024
_XML_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {XML: {"schema": {"type": "string", "format": "binary"}}},
    }
}
_AUTHORITY_ONLY: dict[int | str, dict[str, Any]] = {
    404: {"description": "The caller is not a competent authority (nothing here for it)"},
    422: {"description": "The body is not a valid eDelivery message of this kind (gate.xsd)"},
}


async def _message(request: Request) -> EftiMessage:
    body = await request.body()
    if len(body) > MAX_QUERY_BYTES:
        raise InvalidRequestError(f"an eDelivery query is at most {MAX_QUERY_BYTES} bytes")
    return EftiMessage(body)


@router.get(
    "/documents/{document_id}/efti",
    response_class=Response,
    responses={
        200: {"content": {XML: {}}, "description": "The eFTI common data set"},
        404: {"description": "No such document among those the caller may see"},
        422: {"description": "The document's kind (e-TIR, e-Permit) has no eFTI data set"},
    },
    summary="The note as the eFTI common data set (XML)",
)
def get_efti(document_id: ObjectId, request: Request) -> Response:
    """An e-CMR or CIM/SMGS note as the eFTI consignment common data set (XML valid against
    consignment-common.xsd of the eFTI reference implementation): parties, places, dates,
    goods, transport means and equipment with seals, the note as transport contract document."""
    dataset = efti_dataset(uow_of(request), credentials(request), EftiDocument(document_id))
    return Response(dataset, media_type=XML)


@router.post(
    "/efti/identifier-query",
    response_class=Response,
    openapi_extra=_XML_BODY,
    responses={200: {"content": {XML: {}}}, **_AUTHORITY_ONLY},
    summary="eFTI platform: the consignments using an identifier",
)
async def identifier_query(request: Request) -> Response:
    """A competent authority's eDelivery identifierQuery (a vehicle, trailer, wagon or
    container id, with optional registration country, mode and dangerous goods filters);
    the answer is the identifierResponse listing each matching consignment with its UIL."""
    message = await _message(request)
    answer = efti_identifier_query(uow_of(request), credentials(request), message)
    return Response(answer, media_type=XML)


@router.post(
    "/efti/uil-query",
    response_class=Response,
    openapi_extra=_XML_BODY,
    responses={200: {"content": {XML: {}}}, **_AUTHORITY_ONLY},
    summary="eFTI platform: the data set behind a UIL",
)
async def uil_query(request: Request) -> Response:
    """A competent authority's eDelivery uilQuery; the answer is the uilResponse holding the
    consignment's common data set, or status 404 (in the message and in HTTP) when this
    platform holds no data set of that UIL."""
    message = await _message(request)
    answer = efti_uil_query(uow_of(request), credentials(request), message)
    return Response(answer.body, status_code=answer.status, media_type=XML)
