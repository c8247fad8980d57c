"""Shipments in the browser: book the plan chosen on the planner, list and follow shipments
(timeline planned against actual, the route on the map), sign their documents, record events,
print documents with their QR code and download their evidence and UN/CEFACT export.

Every page calls one use case with the Caller of the person logged in; what a service refuses
is told on the page, and a shipment the organisation may not see answers 404 as in the API.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from markupsafe import Markup
from pydantic import ValidationError

from kervan.documents.ecmr import Reservation, ReservationSubject
from kervan.documents.kinds import PARTY_SIGNED_KINDS, DocumentKind
from kervan.documents.render import qr_svg
from kervan.errors import InvalidRequestError, KervanError, NotFoundError, ScopeError
from kervan.network.model import Mode
from kervan.routing.plan import Plan
from kervan.services.access import Caller, Scope
from kervan.services.booking import (
    PARTY_KINDS,
    book_shipment,
    booking_directory,
    follow_shipment,
)
from kervan.services.documents import (
    DocumentRef,
    DocumentView,
    SignRequest,
    SignStep,
    evidence,
    sign_step,
)
from kervan.services.exports import EXPORTABLE_KINDS, ExportDocument, standard_export
from kervan.services.planning import find_plan
from kervan.services.printing import PrintDocument, permit_of, printable_document
from kervan.services.qr_verdict import checkpoint_for_qr
from kervan.services.shipments import (
    BOOKERS,
    EVENT_ROLES,
    BookingRequest,
    EventRequest,
    PageRequest,
    RecordEvent,
    ShipmentRef,
    record_event,
    shipment_summaries,
)
from kervan.shipments.events import EventType, expected_next
from kervan.store.repositories.organisations import OrganisationKind
from kervan.web import booking_form as bf
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
from kervan.web.corridor_map import HEIGHT, WIDTH, map_view
from kervan.web.document_parts import (
    FINAL_STEPS,
    REASON_STEPS,
    RESERVATION_STEPS,
    WORK_ORDER,
    signable_steps,
    split_final,
    unsigned_transport_notes,
)
from kervan.web.i18n import Locale, locale
from kervan.web.pages import PLAN_COLOURS, planner_years
from kervan.web.print_forms import LANG_PATTERN, render_printable

router = APIRouter(include_in_schema=False)
K = OrganisationKind
PAGE_SIZE = 50


def route_map(request: Request, loc: Locale, plans: list[Plan]) -> dict[str, Any]:
    """The corridor map with `plans` drawn over it, for the _map.html include."""
    network = node_of(request).network
    view_ = map_view(
        network,
        plans,
        mode_names={m.value: loc.t(f"mode.{m.value}") for m in Mode},
        planned_label=loc.t("map.planned_opens"),
        route_label=loc.t("shipment.route_label"),
        leg_label=loc.t("map.leg"),
        number=loc.number,
    )
    return {
        "map": view_,
        "map_width": WIDTH,
        "map_height": HEIGHT,
        "plan_colours": PLAN_COLOURS,
        "modes": list(Mode),
    }


def _verify_url(request: Request, document: DocumentView, checkpoint: str | None) -> str:
    """The link a document's QR holds: the verify page with the document id, and once the
    node's log is witnessed, the version digest and the co-signed checkpoint too (a verdict
    from the QR alone)."""
    url = f"{str(request.base_url).rstrip('/')}/verify?document={quote(document.id)}"
    if checkpoint is None:
        return url
    return f"{url}&digest={document.digest}&checkpoint={checkpoint_for_qr(checkpoint)}"


# Listing ---------------------------------------------------------------------------------------


@router.get("/shipments", response_class=HTMLResponse)
def shipments_page(request: Request) -> Response:
    """The shipments the person's organisation may see, newest first."""
    caller = person(request).caller
    if Scope.SHIPMENTS_READ not in caller.scopes:
        denied = {"message_key": "error.not_for_you"}
        return render(request, "error.html", denied, status_code=403)
    page = shipment_summaries(uow_of(request), caller, PageRequest(0, PAGE_SIZE))
    network = node_of(request).network
    items = [
        {
            "id": r.id,
            "reference": r.reference,
            "origin": network.nodes[r.origin].name if r.origin in network.nodes else r.origin,
            "destination": network.nodes[r.destination].name
            if r.destination in network.nodes
            else r.destination,
            "status": r.status.value,
            "created_at": r.created_at,
        }
        for r in page.items
    ]
    may_book = caller.kind in BOOKERS
    context = {"items": items, "total": page.total, "may_book": may_book}
    return render(request, "shipments.html", context)


# Booking ---------------------------------------------------------------------------------------


def _booking_page(
    request: Request,
    caller: Caller,
    chosen: bf.ChosenPlan,
    form: bf.BookingForm,
    *,
    status_code: int = 200,
) -> Response:
    loc = language_of(request)
    if caller.kind not in BOOKERS:
        return render(request, "error.html", {"message_key": "book.not_booker"}, status_code=403)
    try:
        plan = find_plan(node_of(request).planner, chosen.query(), chosen.plan_key)
    except KervanError as exc:
        gone = {"message_key": "book.plan_gone", "detail": exc.message}
        return render(request, "error.html", gone, status_code=422)
    kinds = [need.kind for need in plan.documents]
    needs = bf.needs_of(kinds, [m.value for m in plan.modes])
    context: dict[str, Any] = {
        "plan": plan,
        "chosen": chosen,
        "form": form,
        "needs": needs,
        "parties": booking_directory(uow_of(request), caller, list(PARTY_KINDS)).parties,
        "goods_rows": bf.GOODS_ROWS,
        "plate_rows": bf.PLATE_ROWS,
        "package_kinds": bf.PACKAGE_KINDS,
        "container_types": bf.CONTAINER_TYPES,
        "currencies": bf.CURRENCIES,
        "countries": sorted(node_of(request).network.countries()),
        "default_day": (chosen.form.departure or node_of(request).clock().date()).isoformat(),
        **route_map(request, loc, [plan]),
    }
    return render(request, "book.html", context, status_code=status_code)


@router.get("/shipments/book", response_class=HTMLResponse)
def booking_page(request: Request) -> Response:
    """The booking form for the plan in the URL (as the planner's Book button sends it)."""
    network = node_of(request).network
    chosen = bf.chosen_plan(request.query_params, network, planner_years(network))
    return _booking_page(request, person(request).caller, chosen, bf.BookingForm())


@router.post("/shipments/book")
async def book(request: Request) -> Response:
    """From the planner: open the booking form. From the booking form: book and open drafts."""
    posted = await request.form()
    check_csrf(request, str(posted.get(CSRF_FIELD, "")))
    network = node_of(request).network
    chosen = bf.chosen_plan(posted, network, planner_years(network))
    if "reference" not in posted:
        query = "&".join(f"{name}={value}" for name, value in _encoded(chosen.hidden_fields()))
        return RedirectResponse(f"/shipments/book?{query}", status_code=303)
    form = bf.read_booking(posted)
    ctx = node_of(request)
    caller = person(request).caller
    cargo = bf.cargo_of(form, ctx.clock().date())
    if cargo is None:
        return _booking_page(request, caller, chosen, form, status_code=422)
    try:
        body = BookingRequest(
            reference=form.get("reference") or "-",
            route=chosen.query(),
            plan_key=chosen.plan_key,
            consignee=form.get("consignee"),
            road_carrier=form.get("road_carrier") or None,
            rail_carrier=form.get("rail_carrier") or None,
            guarantee_chain=form.get("guarantee_chain") or None,
            cargo=cargo,
        )
    except ValidationError as exc:
        form.refuse(exc, prefix=("cargo",))
        return _booking_page(request, caller, chosen, form, status_code=422)
    try:
        shipment_id = book_shipment(uow_of(request), caller, body).id
    except KervanError as exc:
        form.refuse_all("book.refused", detail=exc.message)
        return _booking_page(request, caller, chosen, form, status_code=422)
    booked = Flash(True, "book.done", shipment_id, next="book.next")
    return redirect_with(request, f"/shipments/{shipment_id}", booked)


def _encoded(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(quote(k, safe=""), quote(v, safe="")) for k, v in pairs]


# One shipment ----------------------------------------------------------------------------------


def _next_event(plan: Plan, events: list[Any], roles: frozenset[Any]) -> str | None:
    """The event the organisation may record next on this page (taking over, delivery)."""
    if events and events[-1].type is EventType.DELIVERED:
        return None
    kind, _ = expected_next(plan, events)
    if kind in EVENT_ROLES and roles & EVENT_ROLES[kind]:
        return kind.value
    return None


@router.get("/shipments/{shipment_id}", response_class=HTMLResponse)
def shipment_page(request: Request, shipment_id: str) -> Response:
    """A shipment: its route on the map, timeline, parties, documents and what to do next."""
    loc = language_of(request)
    ctx = node_of(request)
    caller = person(request).caller
    try:
        followed = follow_shipment(uow_of(request), caller, ShipmentRef(shipment_id))
    except (NotFoundError, ScopeError):
        missing = {"message_key": "error.not_found", "detail": shipment_id}
        return render(request, "error.html", missing, status_code=404)
    shown, plan, documents = followed.shipment, followed.plan, followed.documents
    may_sign = Scope.DOCUMENTS_SIGN in caller.scopes
    steps = {
        d.id: split_final(signable_steps(d, caller.org_id) if may_sign else []) for d in documents
    }
    cards = [
        {
            "doc": d,
            "steps": steps[d.id][0],
            "final_steps": steps[d.id][1],
            "permit": permit_of(d),
            "printable": d.kind in PARTY_SIGNED_KINDS
            or (
                d.kind == DocumentKind.ETIR
                and d.state not in ("requested", "guarantee_registered", "guarantee_cancelled")
            )
            or permit_of(d) is not None,
            "verify_url": _verify_url(request, d, followed.checkpoint),
            "uncefact": d.kind in EXPORTABLE_KINDS,
        }
        for d in documents
    ]
    next_event = _next_event(plan, shown.events, followed.roles)
    # The taking over is recorded once the transport notes are signed on taking over.
    waiting_for = (
        unsigned_transport_notes(documents) if next_event == EventType.TAKEN_OVER.value else []
    )
    customs_here = caller.kind is K.CUSTOMS_AUTHORITY
    todo = _todo(cards, None if waiting_for else next_event)
    context: dict[str, Any] = {
        "shipment": shown,
        "plan": plan,
        "timeline": followed.timeline,
        "consignment": followed.consignment,
        "cards": cards,
        "names": followed.names,
        "next_event": next_event,
        "waiting_for": waiting_for,
        "todo": todo,
        "now": ctx.clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M"),
        "reservation_steps": RESERVATION_STEPS,
        "reason_steps": REASON_STEPS,
        "reservation_subjects": list(ReservationSubject),
        "customs_here": customs_here,
        "qr": lambda payload: Markup(qr_svg(payload)),  # noqa: S704 (segno writes the SVG)
        "anchor": _anchor,
        "scheme_words": lambda scheme: scheme_words(loc, scheme),
        **route_map(request, loc, [plan]),
    }
    return render(request, "shipment.html", context)


# Where the cargo's own events fall among the notes' steps: taking over after both sides signed
# it and before the carriage starts; delivery after the consignee signed for the goods.
_EVENT_RANK = {
    EventType.TAKEN_OVER.value: WORK_ORDER["depart"] - 0.5,
    EventType.DELIVERED.value: WORK_ORDER["deliver"] + 0.5,
}


def _todo(cards: list[dict[str, Any]], next_event: str | None) -> list[dict[str, str]]:
    """What the person may do now on this page, in the order the work happens: each note's
    steps in its lifecycle's order, the cargo's event where it falls among them (the steps
    that end a note are not work to do: they stay in the note's own danger zone)."""
    ranked: list[tuple[float, int, dict[str, str]]] = []
    for position, card in enumerate(cards):
        for step in card["steps"]:
            item = {
                "key": f"sign.step.{step}",
                "doc": card["doc"].id,
                "anchor": _anchor(card["doc"].id, step),
            }
            ranked.append((WORK_ORDER.get(step, len(WORK_ORDER)), position, item))
    if next_event is not None:
        item = {"key": f"event.record.{next_event}", "doc": "", "anchor": "event-form"}
        ranked.append((_EVENT_RANK.get(next_event, len(WORK_ORDER)), len(cards), item))
    return [item for _, _, item in sorted(ranked, key=lambda r: (r[0], r[1]))]


_PLATE_SCHEME = re.compile(r"^registration plate \(([A-Z]{2})\)$")


def scheme_words(loc: Locale, scheme: str) -> str:
    """An identifier scheme of the consignment record ("container number", "registration
    plate (UZ)") in `loc`'s language; a scheme the catalogue does not name stays as it is."""
    plate = _PLATE_SCHEME.match(scheme)
    if plate:
        return loc.t("scheme.plate", country=loc.label("country.", plate.group(1)))
    key = "scheme." + re.sub(r"[^a-z]+", "_", scheme.lower()).strip("_")
    return loc.t(key) if key in loc.fallback else scheme


def _anchor(document_id: str, step: str) -> str:
    return f"sign-{document_id}-{step}".replace("/", "-").replace(":", "-")


def _at(value: str) -> datetime:
    """A datetime-local field read as UTC."""
    at = datetime.fromisoformat(value)
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


@router.post("/shipments/{shipment_id}/events")
def record(
    request: Request,
    shipment_id: str,
    event_type: Annotated[EventType, Form(alias="type")],
    at: Annotated[str, Form(max_length=40)],
    csrf: Annotated[str, Form(alias=CSRF_FIELD, max_length=128)] = "",
) -> Response:
    """Record the taking over or the delivery (services.shipments.record_event decides)."""
    check_csrf(request, csrf)
    back = f"/shipments/{shipment_id}"
    try:
        when = _at(at)
    except ValueError:
        return redirect_with(request, back, Flash(False, "action.refused", f"bad time {at!r}"))
    caller = person(request).caller
    try:
        if event_type is EventType.TAKEN_OVER:
            followed = follow_shipment(uow_of(request), caller, ShipmentRef(shipment_id))
            unsigned = unsigned_transport_notes(followed.documents)
            if unsigned:
                notes = ", ".join(d.id for d in unsigned)
                return redirect_with(request, back, Flash(False, "event.sign_first", notes))
        event = EventRequest(type=event_type, at=when)
        record_event(uow_of(request), caller, RecordEvent(shipment_id, event))
    except KervanError as exc:
        return redirect_with(request, back, Flash(False, "action.refused", exc.message))
    done = Flash(True, f"event.done.{event_type.value}", next=f"event.next.{event_type.value}")
    return redirect_with(request, back, done)


@router.post("/documents/{document_id}/sign")
def sign(
    request: Request,
    document_id: str,
    step: Annotated[str, Form(max_length=64)],
    csrf: Annotated[str, Form(alias=CSRF_FIELD, max_length=128)] = "",
    subject: Annotated[str, Form(max_length=64)] = "",
    text: Annotated[str, Form(max_length=1024)] = "",
    reason: Annotated[str, Form(max_length=1024)] = "",
    shipment: Annotated[str, Form(max_length=128)] = "",
    confirm: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Sign one lifecycle step with the organisation's key (services.documents.sign_step).
    A step that ends the note (cancel, refuse) needs the confirmation box ticked."""
    check_csrf(request, csrf)
    back = f"/shipments/{shipment}" if shipment else "/shipments"
    if step in FINAL_STEPS and confirm != "yes":
        return redirect_with(request, back, Flash(False, "sign.confirm_needed", document_id))
    try:
        reservations = (
            [Reservation(subject=ReservationSubject(subject), text=text.strip())]
            if text.strip()
            else []
        )
        body = SignRequest(step=step, reservations=reservations, reason=reason.strip() or None)
    except (ValidationError, ValueError) as exc:
        return redirect_with(request, back, Flash(False, "action.refused", str(exc)))
    caller = person(request).caller
    try:
        signed = sign_step(uow_of(request), caller, SignStep(document_id, body))
        back = f"/shipments/{signed.shipment_id}"
    except KervanError as exc:
        return redirect_with(request, back, Flash(False, "action.refused", exc.message))
    return redirect_with(
        request, back, Flash(True, f"sign.done.{step}", document_id, next=_after(signed))
    )


def _after(signed: DocumentView) -> str:
    """The catalogue key of what comes next for a note just signed (by its new state; a
    taking over signed by one side only waits for the other)."""
    kind = "rail" if signed.kind == DocumentKind.CIM_SMGS else "road"
    if signed.state == "issued" and any(s.role == "carrier" for s in signed.signatures):
        return f"next.{kind}.issued_carrier_signed"
    return f"next.{kind}.{signed.state}"


@router.get("/documents/{document_id}/print", response_class=HTMLResponse)
def print_document(
    request: Request, document_id: str, lang: Annotated[str, Query(pattern=LANG_PATTERN)] = ""
) -> Response:
    """The document as its paper form on A4 (web.print_forms), with its QR code to the public
    verify page; `lang` prints it in another language than the page's."""
    verification = f"{str(request.base_url).rstrip('/')}/verify?document={document_id}"
    caller = person(request).caller
    ctx = node_of(request)
    try:
        origin = ctx.settings.node_id
        printable = printable_document(
            uow_of(request), caller, PrintDocument(document_id, verification, origin)
        )
    except NotFoundError:
        context = {"message_key": "error.not_found", "detail": document_id}
        return render(request, "error.html", context, status_code=404)
    loc = locale(lang) if lang else language_of(request)
    html = render_printable(printable, loc, ctx.clock())
    return secure_headers(HTMLResponse(html), PRINT_POLICY)


@router.get("/documents/{document_id}/evidence.json")
def download_evidence(request: Request, document_id: str) -> Response:
    """The document's offline evidence bundle, to keep and verify without this node."""
    caller = person(request).caller
    try:
        bundle = evidence(uow_of(request), caller, DocumentRef(document_id))
    except NotFoundError:
        context = {"message_key": "error.not_found", "detail": document_id}
        return render(request, "error.html", context, status_code=404)
    response = JSONResponse(
        json.loads(json.dumps(bundle)),
        headers={"Content-Disposition": f'attachment; filename="{document_id}-evidence.json"'},
    )
    return secure_headers(response)


@router.get("/documents/{document_id}/uncefact.json")
def download_uncefact(request: Request, document_id: str) -> Response:
    """The e-CMR or CIM/SMGS note as UN/CEFACT D23B JSON, for systems that read the standard."""
    caller = person(request).caller
    try:
        exported = standard_export(uow_of(request), caller, ExportDocument(document_id))
    except NotFoundError:
        context = {"message_key": "error.not_found", "detail": document_id}
        return render(request, "error.html", context, status_code=404)
    except InvalidRequestError as exc:
        context = {"message_key": "document.uncefact_none", "detail": exc.message}
        return render(request, "error.html", context, status_code=exc.http_status)
    filename = f"{document_id}-uncefact-d23b.json".replace(":", "_")
    response = JSONResponse(
        exported, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )
    return secure_headers(response)


__all__ = ["route_map", "router", "scheme_words"]
