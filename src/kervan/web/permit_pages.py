"""The permit desk of a permit authority: its quotas per partner country and their use, the
e-Permit requests shipments sent to its country, issuing them, revoking an unused permit with a
reason, and the printable permit with its QR code (each a use case of services.permits).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from kervan.documents.epermit import PermitType
from kervan.documents.render import render_permit
from kervan.errors import KervanError, NotFoundError
from kervan.services.access import Caller, Scope
from kervan.services.permits import (
    IssuedPermitLine,
    IssueRequest,
    PermitRef,
    QuotaRequest,
    RevokePermit,
    RevokeRequest,
    add_quota,
    issue_for_shipment,
    issued_permit,
    permit_desk,
    revoke_permit,
)
from kervan.store.repositories.organisations import OrganisationKind
from kervan.web.common import (
    CSRF_FIELD,
    PRINT_POLICY,
    Flash,
    check_csrf,
    node_of,
    person,
    redirect_with,
    render,
    secure_headers,
    uow_of,
)

router = APIRouter(include_in_schema=False)
PERMIT_TYPE_NUMBER = {"bilateral": 1, "transit": 2, "third-country": 3}


def is_authority(caller: Caller) -> bool:
    return Scope.PERMITS in caller.scopes and caller.kind is OrganisationKind.PERMIT_AUTHORITY


@router.get("/permits", response_class=HTMLResponse)
def permits_page(request: Request) -> Response:
    """Quotas and their use, pending requests, and the permits issued (with QR to print)."""
    caller = person(request).caller
    if not is_authority(caller):
        return render(request, "error.html", {"message_key": "error.not_for_you"}, status_code=403)
    desk = permit_desk(uow_of(request), caller)
    context: dict[str, Any] = {
        "quotas": desk.quotas,
        "requests": [
            {
                "document_id": r.document_id,
                "permit_type": r.permit_type,
                "countries": " → ".join(r.countries),
                "holder": f"{r.holder_name} ({r.holder_country})",
                "holder_country": r.holder_country,
            }
            for r in desk.requests
        ],
        # Ours: issued to our hauliers. Seen: partners' permits for entering our country,
        # announced by their issuing authorities over the e-Permit network.
        "permits": [_line(p) for p in desk.permits if p.issuer == desk.country],
        "seen": [_line(p) for p in desk.permits if p.issuer != desk.country],
        "country": desk.country,
        "permit_types": list(PermitType),
        "permit_type_number": PERMIT_TYPE_NUMBER,
        "countries": sorted(c for c in node_of(request).network.countries() if c != caller.country),
        "year": node_of(request).clock().year,
    }
    return render(request, "permits.html", context)


def _line(p: IssuedPermitLine) -> dict[str, Any]:
    return {
        "permit_id": p.permit_id,
        "issuer": p.issuer,
        "plate": p.plate,
        "company": p.company,
        "valid": f"{p.valid_from} – {p.valid_until}",
        "revoked": p.revoked,
        "qr": p.qr,
    }


@router.post("/permits/quotas")
def create_quota(
    request: Request,
    issued_for: Annotated[str, Form(max_length=2)],
    year: Annotated[int, Form()],
    permit_type: Annotated[int, Form()],
    quantity: Annotated[int, Form()],
    csrf: Annotated[str, Form(alias=CSRF_FIELD, max_length=128)] = "",
) -> Response:
    """Record a quota the authority may issue to a partner country (services.permits)."""
    check_csrf(request, csrf)
    try:
        body = QuotaRequest(
            issued_for=issued_for, year=year, permit_type=permit_type, quantity=quantity
        )
    except ValidationError as exc:
        return redirect_with(request, "/permits", Flash(False, "action.refused", str(exc)))
    caller = person(request).caller
    try:
        add_quota(uow_of(request), caller, body)
    except KervanError as exc:
        return redirect_with(request, "/permits", Flash(False, "action.refused", exc.message))
    label = f"{issued_for} {year}"
    return redirect_with(request, "/permits", Flash(True, "permits.quota_added", label))


@router.post("/permits/issue")
def issue(
    request: Request,
    document_id: Annotated[str, Form(max_length=128)],
    valid_days: Annotated[int, Form(ge=1, le=366)] = 90,
    csrf: Annotated[str, Form(alias=CSRF_FIELD, max_length=128)] = "",
) -> Response:
    """Issue the permit a shipment's request asks for, from the matching quota."""
    check_csrf(request, csrf)
    caller = person(request).caller
    try:
        command = IssueRequest(document_id=document_id, valid_days=valid_days)
        wire = issue_for_shipment(uow_of(request), caller, command)
    except KervanError as exc:
        return redirect_with(request, "/permits", Flash(False, "action.refused", exc.message))
    issued = str(wire.get("permit_id", document_id))
    return redirect_with(request, "/permits", Flash(True, "permits.issued_done", issued))


@router.post("/permits/{permit_id}/revoke")
def revoke(
    request: Request,
    permit_id: str,
    reason: Annotated[str, Form(max_length=500)] = "",
    csrf: Annotated[str, Form(alias=CSRF_FIELD, max_length=128)] = "",
) -> Response:
    """Revoke an unused permit the authority issued, with the reason given."""
    check_csrf(request, csrf)
    try:
        body = RevokeRequest(reason=reason.strip())
    except ValidationError as exc:
        message = exc.errors()[0]["msg"]
        return redirect_with(request, "/permits", Flash(False, "action.refused", message))
    caller = person(request).caller
    try:
        revoke_permit(uow_of(request), caller, RevokePermit(permit_id, body))
    except KervanError as exc:
        return redirect_with(request, "/permits", Flash(False, "action.refused", exc.message))
    return redirect_with(request, "/permits", Flash(True, "permits.revoked_done", permit_id))


@router.get("/permits/{permit_id}/print", response_class=HTMLResponse)
def print_permit(request: Request, permit_id: str) -> Response:
    """The permit to print, its signed QR code beside its fields."""
    caller = person(request).caller
    if not is_authority(caller):
        return render(request, "error.html", {"message_key": "error.not_for_you"}, status_code=403)
    try:
        record = issued_permit(uow_of(request), caller, PermitRef(permit_id))
    except NotFoundError:
        context = {"message_key": "error.not_found", "detail": permit_id}
        return render(request, "error.html", context, status_code=404)
    permit = record.permit
    html = render_permit(permit, permit.qr_code or permit.permit_id)
    return secure_headers(HTMLResponse(html), PRINT_POLICY)


__all__ = ["is_authority", "router"]
