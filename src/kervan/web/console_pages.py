"""The border console of a customs officer: cargo coming to the country and at its border, in
lanes with their reasons (services.customs.worklist.work_list); recording arrival
(services.customs.crossing.record_arrival) and release after the checks the lane requires
(services.customs.release.release); checking a permit QR and looking up a TIR transport.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from kervan.customs.recognition import InspectionResult
from kervan.documents.goods import SealCondition
from kervan.errors import KervanError
from kervan.services.access import Scope
from kervan.services.customs.crossing import RecordArrival, record_arrival
from kervan.services.customs.release import ReleaseCargo, ReleaseRequest, SealFound, release
from kervan.services.customs.worklist import WorkList, WorkListQuery, work_list
from kervan.services.permits import QrScan, check_qr
from kervan.services.tir import TirRef, tir_view
from kervan.store.repositories.organisations import OrganisationKind
from kervan.web.common import (
    CSRF_FIELD,
    Flash,
    check_csrf,
    language_of,
    node_of,
    person,
    redirect_with,
    render,
)
from kervan.web.i18n import Locale

router = APIRouter(include_in_schema=False)


def seal_number(described: str) -> str:
    """The seal number of a work item's seal text ("CN2026118 (intact)" -> "CN2026118")."""
    return described.split(" (", 1)[0].strip()


_TIR_PHRASES = {
    "amend the advance TIR data": "tir.step.amend",
    "accept the declaration": "tir.step.accept",
    "cancel the guarantee": "tir.step.cancel_guarantee",
    "register the guarantee": "tir.step.register_guarantee",
}
_TIR_OPERATION = re.compile(r"^(start|terminate|discharge) the TIR operation in ([A-Z]{2})$")


def tir_step(loc: Locale, step: str) -> str:
    """A TIR transport's next step (as the e-TIR lifecycle words it) in `loc`'s language."""
    operation = _TIR_OPERATION.match(step)
    if operation:
        country = loc.label("country.", operation.group(2))
        return loc.t(f"tir.step.{operation.group(1)}", country=country)
    key = _TIR_PHRASES.get(step)
    return loc.t(key) if key else step


def seal_condition(described: str) -> str:
    """The condition of a work item's seal text ("CN2026118 (intact)" -> "intact")."""
    _, _, rest = described.partition(" (")
    return rest.rstrip(")").strip()


@router.get("/console", response_class=HTMLResponse)
def console_page(
    request: Request,
    crossing: Annotated[str, Query(max_length=32)] = "",
    qr: Annotated[str, Query(max_length=4096)] = "",
    tir: Annotated[str, Query(max_length=128)] = "",
) -> Response:
    """The officer's work list, with permit and TIR look-ups on the same page."""
    ctx = node_of(request)
    caller = person(request).caller
    if Scope.CUSTOMS not in caller.scopes or caller.kind is not OrganisationKind.CUSTOMS_AUTHORITY:
        denied = {"message_key": "error.not_for_you"}
        return render(request, "error.html", denied, status_code=403)
    permit: Any = None
    permit_error: str | None = None
    if qr.strip():
        try:
            permit = check_qr(ctx.unit_of_work(), QrScan(qr.strip()))
        except KervanError as exc:
            permit_error = exc.message
    transport: Any = None
    tir_error: str | None = None
    if tir.strip():
        try:
            transport = tir_view(ctx.unit_of_work(), caller, TirRef(tir.strip()))
        except KervanError as exc:
            tir_error = exc.message
    everything = work_list(ctx.unit_of_work(), caller, WorkListQuery())
    crossings = sorted(
        {(i.entry_node, i.entry_name) for i in [*everything.arriving, *everything.at_border]},
        key=lambda pair: pair[1],
    )
    shown = _at(everything, crossing) if crossing else everything
    context = {
        "work": shown,
        "crossings": crossings,
        "crossing": crossing,
        "qr": qr.strip(),
        "permit": permit,
        "permit_error": permit_error,
        "tir": tir.strip(),
        "transport": transport,
        "tir_error": tir_error,
        "seal_number": seal_number,
        "seal_condition": seal_condition,
        "tir_step": lambda step: tir_step(language_of(request), step),
        "seal_conditions": list(SealCondition),
        "inspections": list(InspectionResult),
        "now": ctx.clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M"),
    }
    return render(request, "console.html", context)


def _at(work: WorkList, crossing: str) -> WorkList:
    """The work list at one crossing (entry node id)."""
    return WorkList(
        country=work.country,
        arriving=[i for i in work.arriving if i.entry_node == crossing],
        at_border=[i for i in work.at_border if i.entry_node == crossing],
    )


def _when(value: str) -> datetime:
    at = datetime.fromisoformat(value)
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


@router.post("/console/arrival")
async def arrival_at_border(request: Request) -> Response:
    """Record that the cargo arrived at this country's border (the leg from the work list)."""
    form = await request.form()
    check_csrf(request, str(form.get(CSRF_FIELD, "")))
    back = "/console"
    shipment_id = str(form.get("shipment", ""))
    try:
        command = RecordArrival(
            shipment_id=shipment_id,
            leg_index=int(str(form.get("leg", ""))),
            at=_when(str(form.get("at", ""))),
        )
    except ValueError as exc:
        return redirect_with(request, back, Flash(False, "action.refused", str(exc)))
    try:
        caller = person(request).caller
        ctx = node_of(request)
        record_arrival(ctx.unit_of_work(), caller, command)
    except KervanError as exc:
        return redirect_with(request, back, Flash(False, "action.refused", exc.message))
    arrived = Flash(True, "console.arrived", shipment_id, next="console.next.arrived")
    return redirect_with(request, back, arrived)


@router.post("/console/release")
async def release_cargo(request: Request) -> Response:
    """Release the cargo after the documentary check, the inspection and the seals found."""
    form = await request.form()
    check_csrf(request, str(form.get(CSRF_FIELD, "")))
    back = "/console"
    shipment_id = str(form.get("shipment", ""))
    numbers = [str(n) for n in form.getlist("seal")]
    conditions = [str(c) for c in form.getlist("seal_condition")]
    inspection = str(form.get("inspection", ""))
    try:
        body = ReleaseRequest(
            leg_index=int(str(form.get("leg", ""))),
            at=_when(str(form.get("at", ""))),
            documentary_check_passed=form.get("documentary_check") == "passed",
            inspection=InspectionResult(inspection) if inspection else None,
            seals=[
                SealFound(number=n, condition=SealCondition(c))
                for n, c in zip(numbers, conditions, strict=False)
            ],
        )
    except (ValueError, ValidationError) as exc:
        return redirect_with(request, back, Flash(False, "action.refused", str(exc)))
    try:
        caller = person(request).caller
        ctx = node_of(request)
        release(ctx.unit_of_work(), caller, ReleaseCargo(shipment_id, body))
    except KervanError as exc:
        return redirect_with(request, back, Flash(False, "action.refused", exc.message))
    released = Flash(True, "console.released", shipment_id, next="console.next.released")
    return redirect_with(request, back, released)


__all__ = ["router", "seal_condition", "seal_number", "tir_step"]
