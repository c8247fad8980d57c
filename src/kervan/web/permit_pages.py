"""The permit desk of a permit authority: its quotas per partner country and their use, the
e-Permit requests shipments sent to its country, issuing them, revoking an unused permit with a
reason, and the printable permit with its QR code (each a use case of services.permits).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from kervan.documents.epermit import PermitType
from kervan.errors import KervanError, NotFoundError
from kervan.services.access import Caller, Scope
from kervan.services.permits import (
    IssuedPermitLine,
    IssueRequest,
    QuotaRequest,
    RevokePermit,
    RevokeRequest,
    add_quota,
    issue_for_shipment,
    permit_desk,
    revoke_permit,
)
from kervan.services.printing import PrintPermit, printable_permit
from kervan.store.repositories.organisations import OrganisationKind
from kervan.web.common import (
    CSRF_FIELD,
    PRINT_POLICY,
    Flash,
    check_csrf,
    language_of,
    node_of,
    person,
    redirect_with,
    render,
    secure_headers,
    uow_of,
)
from kervan.web.form_errors import FieldProblem, FormProblems, problems_of
from kervan.web.i18n import locale
from kervan.web.print_forms import LANG_PATTERN, render_printable

router = APIRouter(include_in_schema=False)
#: The quota form's inputs by the QuotaRequest field they fill.
QUOTA_FIELDS = {
    "issued_for": "issued_for",
    "year": "quota-year",
    "permit_type": "permit_type",
    "quantity": "quantity",
}
PERMIT_TYPE_NUMBER = {"bilateral": 1, "transit": 2, "third-country": 3}


def is_authority(caller: Caller) -> bool:
    return Scope.PERMITS in caller.scopes and caller.kind is OrganisationKind.PERMIT_AUTHORITY


@router.get("/permits", response_class=HTMLResponse)
def permits_page(request: Request) -> Response:
    """Quotas and their use, pending requests, and the permits issued (with QR to print)."""
    return _desk(request, FormProblems(), {})


def _desk(
    request: Request, problems: FormProblems, typed: dict[str, str], status_code: int = 200
) -> Response:
    """The permit desk; `problems` are a refused form's, shown next to their fields (the form
    as typed in `typed`)."""
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
        "problems": problems,
        "typed": typed,
    }
    return render(request, "permits.html", context, status_code=status_code)


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
    issued_for: Annotated[str, Form(max_length=64)] = "",
    year: Annotated[str, Form(max_length=64)] = "",
    permit_type: Annotated[str, Form(max_length=64)] = "",
    quantity: Annotated[str, Form(max_length=64)] = "",
    csrf: Annotated[str, Form(alias=CSRF_FIELD, max_length=128)] = "",
) -> Response:
    """Record a quota the authority may issue to a partner country (services.permits)."""
    check_csrf(request, csrf)
    typed = {
        "issued_for": issued_for,
        "year": year,
        "permit_type": permit_type,
        "quantity": quantity,
    }
    try:
        body = QuotaRequest.model_validate({k: v.strip() for k, v in typed.items()})
    except ValidationError as exc:
        found = problems_of(exc, lambda loc: QUOTA_FIELDS.get(str(loc[0]) if loc else "", ""))
        return _desk(request, FormProblems(found), typed, status_code=422)
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
    valid_days: Annotated[str, Form(max_length=64)] = "90",
    csrf: Annotated[str, Form(alias=CSRF_FIELD, max_length=128)] = "",
) -> Response:
    """Issue the permit a shipment's request asks for, from the matching quota."""
    check_csrf(request, csrf)
    caller = person(request).caller
    try:
        command = IssueRequest.model_validate(
            {"document_id": document_id, "valid_days": valid_days.strip()}
        )
    except ValidationError as exc:
        found = problems_of(exc, lambda _: f"valid_days:{document_id}")
        return _desk(request, FormProblems(found), {}, status_code=422)
    try:
        wire = issue_for_shipment(uow_of(request), caller, command)
    except KervanError as exc:
        return redirect_with(request, "/permits", Flash(False, "action.refused", exc.message))
    issued = str(wire.get("permit_id", document_id))
    done = Flash(True, "permits.issued_done", issued, next="permits.next.issued")
    return redirect_with(request, "/permits", done)


@router.post("/permits/{permit_id}/revoke")
def revoke(
    request: Request,
    permit_id: str,
    reason: Annotated[str, Form(max_length=500)] = "",
    csrf: Annotated[str, Form(alias=CSRF_FIELD, max_length=128)] = "",
    confirm: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Revoke an unused permit the authority issued, with the reason given and the officer's
    confirmation that it ends the permit for good."""
    check_csrf(request, csrf)
    if confirm != "yes":
        unconfirmed = FieldProblem(f"confirm:{permit_id}", "permits.revoke_unconfirmed")
        return _desk(request, FormProblems([unconfirmed]), {}, status_code=422)
    try:
        body = RevokeRequest(reason=reason.strip())
    except ValidationError as exc:
        found = problems_of(exc, lambda _: f"reason:{permit_id}")
        return _desk(request, FormProblems(found), {}, status_code=422)
    caller = person(request).caller
    try:
        revoke_permit(uow_of(request), caller, RevokePermit(permit_id, body))
    except KervanError as exc:
        return redirect_with(request, "/permits", Flash(False, "action.refused", exc.message))
    revoked = Flash(True, "permits.revoked_done", permit_id, next="permits.next.revoked")
    return redirect_with(request, "/permits", revoked)


@router.get("/permits/{permit_id}/print", response_class=HTMLResponse)
def print_permit(
    request: Request, permit_id: str, lang: Annotated[str, Query(pattern=LANG_PATTERN)] = ""
) -> Response:
    """The permit as authorities print it on A4 (web.print_forms), its signed QR code, the
    entries and exits recorded at borders; `lang` prints it in another language."""
    caller = person(request).caller
    if not is_authority(caller):
        return render(request, "error.html", {"message_key": "error.not_for_you"}, status_code=403)
    ctx = node_of(request)
    verification = f"{str(request.base_url).rstrip('/')}/verify"
    try:
        printable = printable_permit(uow_of(request), caller, PrintPermit(permit_id, verification))
    except NotFoundError:
        context = {"message_key": "error.not_found", "detail": permit_id}
        return render(request, "error.html", context, status_code=404)
    loc = locale(lang) if lang else language_of(request)
    html = render_printable(printable, loc, ctx.clock())
    return secure_headers(HTMLResponse(html), PRINT_POLICY)


__all__ = ["is_authority", "router"]
