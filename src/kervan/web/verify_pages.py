"""Public verification, no login: a scanned permit QR (services.permits.check_qr), and a
document's evidence bundle checked against this node's trust list (verify_bundle_json).

A document's QR code leads here with the document id, its version digest and a checkpoint of
the node's log co-signed by the witnesses: the page gives a verdict from those alone
(services.qr_verdict), and asks for the evidence bundle to check the signatures themselves.
Nothing about a shipment is shown that the QR or the bundle does not already carry.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request, Response, UploadFile
from fastapi.responses import HTMLResponse

from kervan.errors import KervanError
from kervan.ledger.evidence import verify_bundle_json
from kervan.services.permits import QrScan, check_qr
from kervan.services.qr_verdict import QrClaim, qr_verdict
from kervan.services.witness import verification_material
from kervan.signatures.trustlist import TrustList
from kervan.web.common import CSRF_FIELD, check_csrf, render, uow_of

router = APIRouter(include_in_schema=False)
MAX_BUNDLE_BYTES = 512 * 1024
MAX_QR = 4096


def _permit_check(request: Request, qr: str) -> dict[str, Any]:
    try:
        return {"permit": check_qr(uow_of(request), QrScan(qr)), "permit_error": None}
    except KervanError as exc:
        return {"permit": None, "permit_error": exc.message}


@router.get("/verify", response_class=HTMLResponse)
def verify_page(
    request: Request,
    qr: Annotated[str, Query(max_length=MAX_QR)] = "",
    document: Annotated[str, Query(max_length=128)] = "",
    digest: Annotated[str, Query(max_length=64)] = "",
    checkpoint: Annotated[str, Query(max_length=MAX_QR)] = "",
) -> Response:
    """Check a permit QR given in the URL (or pasted), or upload a document's evidence; a
    document QR naming its version digest and a witnessed checkpoint gets a verdict as it is."""
    context: dict[str, Any] = {
        "qr": qr.strip(),
        "document": document.strip(),
        "permit": None,
        "permit_error": None,
        "report": None,
        "qr_verdict": None,
    }
    if qr.strip():
        context.update(_permit_check(request, qr.strip()))
    elif document.strip() and digest.strip() and checkpoint.strip():
        claim = QrClaim(document.strip(), digest.strip(), checkpoint.strip())
        context["qr_verdict"] = qr_verdict(uow_of(request), claim)
    return render(request, "verify.html", context)


@router.post("/verify/evidence", response_class=HTMLResponse)
async def verify_evidence(
    request: Request,
    csrf: Annotated[str, Form(alias=CSRF_FIELD, max_length=128)] = "",
    document: Annotated[str, Form(max_length=128)] = "",
    bundle: Annotated[str, Form(max_length=MAX_BUNDLE_BYTES)] = "",
    bundle_file: UploadFile | None = None,
) -> Response:
    """Verify an evidence bundle (uploaded file or pasted JSON) against the trust list."""
    check_csrf(request, csrf)
    data: bytes = bundle.encode("utf-8")
    if bundle_file is not None and bundle_file.filename:
        data = await bundle_file.read(MAX_BUNDLE_BYTES + 1)
    context: dict[str, Any] = {
        "qr": "",
        "document": document.strip(),
        "permit": None,
        "permit_error": None,
        "report": None,
        "qr_verdict": None,
        "too_big": len(data) > MAX_BUNDLE_BYTES,
        "empty": not data.strip(),
    }
    if not context["too_big"] and not context["empty"]:
        material = verification_material(uow_of(request))
        trust = TrustList.from_jwks(material.trust_list)
        report = verify_bundle_json(data, trust, log_keys=material.log_keys)
        context["report"] = report
        context["matches_document"] = (
            not document.strip() or f"'{document.strip()}'" in report.subject
        )
    status = 200 if context["report"] is not None and context["report"].ok else 422
    return render(request, "verify.html", context, status_code=status)


__all__ = ["router"]
