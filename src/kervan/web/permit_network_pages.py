"""A permit authority's e-Permit network and border page: its partners (last event each way,
events waiting, dead letters), the quota reconciliation (granted vs issued vs used, drift), the
quotas it grants partners, and its border control: check a presented permit and record its
ENTRANCE or EXIT (each a use case of services.epermit_border / epermit_sync)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from kervan.documents.epermit import PermitType
from kervan.errors import KervanError, PermitRefusedError
from kervan.services.epermit_border import (
    BorderUse,
    Grant,
    GrantRequest,
    UseAtBorder,
    grant_quota,
    record_border_use,
)
from kervan.services.epermit_network import AuthorityRef
from kervan.services.epermit_sync import network_view
from kervan.web.common import (
    CSRF_FIELD,
    Flash,
    check_csrf,
    node_of,
    person,
    redirect_with,
    render,
    uow_of,
)
from kervan.web.permit_pages import is_authority

router = APIRouter(include_in_schema=False)
PAGE = "/permits/network"


@router.get(PAGE, response_class=HTMLResponse)
def network_page(request: Request) -> Response:
    """Partners, dead letters, reconciliation, quota grants and the border check."""
    caller = person(request).caller
    if not is_authority(caller):
        return render(request, "error.html", {"message_key": "error.not_for_you"}, status_code=403)
    view = network_view(uow_of(request), caller, AuthorityRef(""))
    context: dict[str, Any] = {
        "view": view,
        "country": view.code,
        "granted": [q for q in view.quotas if q.role == "quota authority"],
        "received": [q for q in view.quotas if q.role == "issuer"],
        "partner_codes": [p.code for p in view.partners],
        "permit_types": list(PermitType),
        "year": node_of(request).clock().year,
    }
    return render(request, "permits_network.html", context)


@router.post(f"{PAGE}/grants")
def grant(
    request: Request,
    issuer: Annotated[str, Form(max_length=2)],
    year: Annotated[int, Form()],
    permit_type: Annotated[int, Form()],
    quantity: Annotated[int, Form()],
    csrf: Annotated[str, Form(alias=CSRF_FIELD, max_length=128)] = "",
) -> Response:
    """Grant a partner a quota for entering this authority's country."""
    check_csrf(request, csrf)
    try:
        body = GrantRequest(issuer=issuer, year=year, permit_type=permit_type, quantity=quantity)
        grant_quota(uow_of(request), person(request).caller, Grant(None, body))
    except ValidationError as exc:
        return redirect_with(request, PAGE, Flash(False, "action.refused", str(exc)))
    except KervanError as exc:
        return redirect_with(request, PAGE, Flash(False, "action.refused", exc.message))
    return redirect_with(request, PAGE, Flash(True, "epermit.granted", f"{issuer} {year}"))


@router.post(f"{PAGE}/uses")
def border_use(
    request: Request,
    qr: Annotated[str, Form(max_length=4096)],
    plate: Annotated[str, Form(max_length=16)],
    activity: Annotated[Literal["ENTRANCE", "EXIT"], Form()],
    details: Annotated[str, Form(max_length=500)] = "",
    csrf: Annotated[str, Form(alias=CSRF_FIELD, max_length=128)] = "",
) -> Response:
    """Check a presented permit at this border and record its ENTRANCE or EXIT."""
    check_csrf(request, csrf)
    try:
        body = BorderUse(qr=qr, plate=plate, activity=activity, details=details or None)
        used = record_border_use(uow_of(request), person(request).caller, UseAtBorder(None, body))
    except ValidationError as exc:
        return redirect_with(request, PAGE, Flash(False, "action.refused", str(exc)))
    except PermitRefusedError as exc:
        detail = f"{exc.permit_id}: {exc.reason} - {exc.detail}"
        return redirect_with(request, PAGE, Flash(False, "epermit.refused", detail))
    except KervanError as exc:
        return redirect_with(request, PAGE, Flash(False, "action.refused", exc.message))
    label = f"{used.activity} {used.permit_id} ({used.trip_kind}, use {used.uses})"
    return redirect_with(request, PAGE, Flash(True, "epermit.used", label))


__all__ = ["router"]
