"""The permit desk of a permit authority: its quotas per partner country and their use, the
e-Permit requests shipments sent to its country, issuing them (services.permits), and the
printable permit with its QR code.

services.permits has no listing use case, so the desk reads the authority's own quotas and
permits here, filtered by the caller's organisation exactly as the repositories filter them,
after the same authority check the service makes. An unused permit can be revoked, with a
reason (services.permits.revoke_permit).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from kervan.documents.epermit import PermitType
from kervan.documents.kinds import DocumentKind
from kervan.documents.render import render_permit
from kervan.errors import KervanError, NotFoundError
from kervan.services.access import Caller, Scope
from kervan.services.permits import (
    IssueRequest,
    QuotaRequest,
    RevokeRequest,
    add_quota,
    issue_for_shipment,
    revoke_permit,
)
from kervan.store.repositories.documents import DocumentRepository
from kervan.store.repositories.organisations import OrganisationKind
from kervan.store.repositories.permits import PermitRepository
from kervan.store.tables import PermitQuotaRow, PermitRow, ShipmentDocumentRow
from kervan.web.common import (
    CSRF_FIELD,
    PRINT_POLICY,
    Flash,
    check_csrf,
    node_of,
    redirect_with,
    render,
    secure_headers,
    signed_in,
)

router = APIRouter(include_in_schema=False)
PERMIT_TYPE_NUMBER = {"bilateral": 1, "transit": 2, "third-country": 3}


def is_authority(caller: Caller) -> bool:
    return Scope.PERMITS in caller.scopes and caller.kind is OrganisationKind.PERMIT_AUTHORITY


def _quotas(session: Session, caller: Caller) -> list[PermitQuotaRow]:
    return list(
        session.scalars(
            select(PermitQuotaRow)
            .where(PermitQuotaRow.org_id == caller.org_id)
            .order_by(
                PermitQuotaRow.permit_year.desc(),
                PermitQuotaRow.permit_issued_for,
                PermitQuotaRow.permit_type,
            )
        )
    )


def _permits(session: Session, caller: Caller) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(PermitRow)
        .where(PermitRow.org_id == caller.org_id)
        .order_by(PermitRow.created_at.desc())
        .limit(100)
    )
    out = []
    for row in rows:
        fields = json.loads(row.fields)
        out.append(
            {
                "permit_id": row.permit_id,
                "plate": fields.get("plate_number", ""),
                "company": fields.get("company_name", ""),
                "valid": f"{fields.get('issued_at', '')} – {fields.get('expires_at', '')}",
                "revoked": row.revoked_at is not None,
                "qr": row.qr_code or "",
            }
        )
    return out


def _requests(session: Session, caller: Caller) -> list[dict[str, Any]]:
    """e-Permit requests asking the caller's country, not answered yet."""
    repository = DocumentRepository(session)
    out = []
    links = session.scalars(
        select(ShipmentDocumentRow)
        .where(ShipmentDocumentRow.kind == DocumentKind.EPERMIT)
        .order_by(ShipmentDocumentRow.document_id)
    )
    for link in links:
        if json.loads(link.lifecycle).get("state") != "requested":
            continue
        content = repository.get_version(link.document_id, 1, org_ids=[link.org_id]).content()
        body = content.get("content")
        if not isinstance(body, dict) or body.get("permit_issuer_country") != caller.country:
            continue
        raw_holder = body.get("holder")
        holder: dict[str, Any] = raw_holder if isinstance(raw_holder, dict) else {}
        out.append(
            {
                "document_id": link.document_id,
                "permit_type": str(body.get("permit_type", "")),
                "countries": " → ".join(str(c) for c in body.get("countries", [])),
                "holder": f"{holder.get('name', '')} ({holder.get('country', '')})",
                "holder_country": str(holder.get("country", "")),
            }
        )
    return out


@router.get("/permits", response_class=HTMLResponse)
def permits_page(request: Request) -> Response:
    """Quotas and their use, pending requests, and the permits issued (with QR to print)."""
    with signed_in(request) as (session, caller):
        if not is_authority(caller):
            return render(
                request, "error.html", {"message_key": "error.not_for_you"}, status_code=403
            )
        context: dict[str, Any] = {
            "quotas": _quotas(session, caller),
            "requests": _requests(session, caller),
            "permits": _permits(session, caller),
            "country": caller.country,
            "permit_types": list(PermitType),
            "permit_type_number": PERMIT_TYPE_NUMBER,
            "countries": sorted(
                c for c in node_of(request).network.countries() if c != caller.country
            ),
            "year": node_of(request).clock().year,
        }
    return render(request, "permits.html", context)


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
    try:
        with signed_in(request) as (session, caller):
            add_quota(session, caller, body)
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
    try:
        with signed_in(request) as (session, caller):
            wire = issue_for_shipment(
                node_of(request),
                session,
                caller,
                IssueRequest(document_id=document_id, valid_days=valid_days),
            )
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
    try:
        with signed_in(request) as (session, caller):
            revoke_permit(node_of(request), session, caller, permit_id, body)
    except KervanError as exc:
        return redirect_with(request, "/permits", Flash(False, "action.refused", exc.message))
    return redirect_with(request, "/permits", Flash(True, "permits.revoked_done", permit_id))


@router.get("/permits/{permit_id}/print", response_class=HTMLResponse)
def print_permit(request: Request, permit_id: str) -> Response:
    """The permit to print, its signed QR code beside its fields."""
    with signed_in(request) as (session, caller):
        if not is_authority(caller):
            return render(
                request, "error.html", {"message_key": "error.not_for_you"}, status_code=403
            )
        try:
            record = PermitRepository(session).get_permit(permit_id, org_ids=[caller.org_id])
        except NotFoundError:
            context = {"message_key": "error.not_found", "detail": permit_id}
            return render(request, "error.html", context, status_code=404)
    permit = record.permit
    html = render_permit(permit, permit.qr_code or permit.permit_id)
    return secure_headers(HTMLResponse(html), PRINT_POLICY)


__all__ = ["is_authority", "router"]
