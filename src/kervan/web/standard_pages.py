"""Downloads in the standards the EU leg reads: a note's eFTI common data set (XML), from the
shipment page's document cards (the UN/CEFACT download sits with the shipment pages)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from kervan.errors import InvalidRequestError, NotFoundError
from kervan.services.efti import EftiDocument, efti_dataset
from kervan.web.common import person, render, secure_headers, uow_of

router = APIRouter(include_in_schema=False)


@router.get("/documents/{document_id}/efti.xml")
def download_efti(request: Request, document_id: str) -> Response:
    """The e-CMR or CIM/SMGS note as the eFTI consignment common data set, as an XML file."""
    caller = person(request).caller
    try:
        dataset = efti_dataset(uow_of(request), caller, EftiDocument(document_id))
    except NotFoundError:
        context = {"message_key": "error.not_found", "detail": document_id}
        return render(request, "error.html", context, status_code=404)
    except InvalidRequestError as exc:
        context = {"message_key": "document.efti_none", "detail": exc.message}
        return render(request, "error.html", context, status_code=exc.http_status)
    filename = f"{document_id}-efti.xml".replace(":", "_")
    response = Response(
        dataset,
        media_type="application/xml",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
    return secure_headers(response)
