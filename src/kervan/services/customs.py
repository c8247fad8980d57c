"""The Simplified Customs Corridor as use cases: the pre-arrival declaration a country receives,
its lane with reasons, the officer's work list, and release at the border with recognition.

Each country's customs sees a shipment coming once the cargo is on its way (the pre-arrival
data), in a lane its own rules give it; a control another member state signed off at release
travels with the shipment, and with the same seals intact and no red finding the next country
does not re-inspect. Release records the control result (documentary check, inspection, seals)
on the shipment's border_release event, where the next country finds it.
"""

from __future__ import annotations

import json
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from kervan.customs.declaration import DeclarationContent, DocumentReference, TransportMeans
from kervan.customs.recognition import ControlResult, InspectionResult, LaneDecision, decide_lane
from kervan.customs.risk import assess
from kervan.customs.route import customs_route
from kervan.customs.rules import load_rules
from kervan.documents.goods import Seal, SealCondition
from kervan.errors import IllegalTransitionError, InvalidRequestError, NotFoundError, ScopeError
from kervan.routing.plan import Plan
from kervan.routing.requirements import DocumentKind
from kervan.services.access import Caller, Scope
from kervan.services.node import NodeContext
from kervan.services.shipments import (
    EventRequest,
    access,
    add_event,
    events_of,
    list_visible,
    party_of,
    plan_of,
)
from kervan.shipments.booking import Cargo
from kervan.shipments.events import EventType, ShipmentEvent, timeline
from kervan.store.repositories.organisations import OrganisationKind
from kervan.store.repositories.shipments import Shipment
from kervan.store.tables import ShipmentDocumentRow, ShipmentPartyRow
from kervan.store.uow import UnitOfWork


class Reason(BaseModel):
    rule: str
    found: str
    weight: float


class WorkItem(BaseModel):
    """One shipment at or coming to the officer's border, as the officer needs to see it."""

    shipment_id: str
    reference: str
    expected_at: datetime | None
    entry_node: str
    entry_name: str
    leg_index: int
    lane: str
    physical_inspection_required: bool
    reasons: list[Reason]
    recognised_control: str | None
    goods: list[str]
    seals: list[str]
    transport: list[str]
    documents: list[str]
    arrived_at: datetime | None


class WorkList(BaseModel):
    country: str
    arriving: list[WorkItem]
    at_border: list[WorkItem]


class SealFound(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: str = Field(min_length=1, max_length=35)
    condition: SealCondition


class ReleaseRequest(BaseModel):
    """What the officer found and did before releasing the cargo at this border."""

    model_config = ConfigDict(extra="forbid")

    leg_index: int = Field(ge=0, le=500)
    at: datetime
    documentary_check_passed: bool
    inspection: InspectionResult | None = None
    seals: list[SealFound] = Field(default_factory=list, max_length=50)


def _require_customs(caller: Caller) -> None:
    caller.require(Scope.CUSTOMS)
    if caller.kind is not OrganisationKind.CUSTOMS_AUTHORITY:
        raise ScopeError("only a customs authority works the border")


def declaration(
    ctx: NodeContext, session: Session, row: Shipment, plan: Plan
) -> DeclarationContent:
    """The pre-arrival declaration assembled from the shipment, its cargo and its documents."""
    cargo = Cargo.model_validate_json(row.cargo)
    roles = {
        r.role: r.party_org_id
        for r in session.scalars(
            select(ShipmentPartyRow).where(
                ShipmentPartyRow.org_id == row.org_id, ShipmentPartyRow.shipment_id == row.id
            )
        )
    }
    carrier = roles.get("road_carrier") or roles.get("rail_carrier") or row.org_id
    events = events_of(UnitOfWork.joining(session), row)
    departed = next((e.at for e in events if e.type is EventType.TAKEN_OVER), row.created_at)
    documents = session.scalars(
        select(ShipmentDocumentRow).where(
            ShipmentDocumentRow.org_id == row.org_id, ShipmentDocumentRow.shipment_id == row.id
        )
    )
    kinds = {
        "e-CMR": DocumentKind.ECMR,
        "CIM-SMGS": DocumentKind.CIM_SMGS,
        "e-TIR": DocumentKind.ETIR,
        "e-Permit": DocumentKind.EPERMIT,
    }
    return DeclarationContent(
        shipment=row.id,
        declarant=party_of(UnitOfWork.joining(session), row.org_id),
        consignor=party_of(UnitOfWork.joining(session), row.org_id),
        consignee=party_of(UnitOfWork.joining(session), roles["consignee"]),
        carrier=party_of(UnitOfWork.joining(session), carrier),
        goods=cargo.goods,
        transport=TransportMeans(
            mode=plan.legs[0].mode,
            vehicles=cargo.vehicle_plates,
            wagons=tuple(w.number for w in cargo.wagons),
            containers=cargo.containers,
        ),
        itinerary=plan.countries,
        route=customs_route(plan, ctx.customs_offices(), departed),
        documents=tuple(
            DocumentReference(kind=kinds[d.kind], reference=d.document_id) for d in documents
        ),
    )


def _controls(events: list[ShipmentEvent], plan: Plan, shipment_id: str) -> list[ControlResult]:
    """Control results signed off at earlier releases (carried in their events' details)."""
    out: list[ControlResult] = []
    for event in events:
        if event.type is not EventType.BORDER_RELEASE or event.leg_index is None:
            continue
        details = event.details
        seals = tuple(
            Seal(number=n, condition=SealCondition(c))
            for n, c in json.loads(details.get("seals", "{}")).items()
        )
        inspection = details.get("inspection")
        leg = plan.legs[event.leg_index]
        out.append(
            ControlResult(
                shipment=shipment_id,
                country=leg.to_country,
                office=details.get("office", leg.to_node),
                place=leg.to_name,
                at=event.at,
                seals=seals,
                documentary_check_passed=details.get("documentary_check") == "passed",
                inspection=InspectionResult(inspection) if inspection else None,
                signature_ref=f"event:{event.seq}:{event.recorded_by}",
            )
        )
    return out


def lane_decision(
    ctx: NodeContext,
    session: Session,
    row: Shipment,
    country: str,
    seals_now: tuple[Seal, ...] | None = None,
) -> LaneDecision:
    """The lane `country` gives the shipment now, with reasons and recognised controls."""
    plan = plan_of(row)
    content = declaration(ctx, session, row, plan)
    return _decide(
        ctx, row.id, plan, content, events_of(UnitOfWork.joining(session), row), country, seals_now
    )


def _decide(
    ctx: NodeContext,
    shipment_id: str,
    plan: Plan,
    content: DeclarationContent,
    events: list[ShipmentEvent],
    country: str,
    seals_now: tuple[Seal, ...] | None = None,
) -> LaneDecision:
    rules = load_rules(country)
    passed = tuple(
        dict.fromkeys(plan.legs[e.leg_index].to_country for e in events if e.leg_index is not None)
    )
    risk = assess(
        content,
        country,
        rules,
        on=ctx.clock().date(),
        seals_observed=seals_now,
        countries_passed=passed,
    )
    controls = _controls(events, plan, shipment_id)
    return decide_lane(risk, rules, controls, seals_now or content.transport.all_seals())


def _item(
    ctx: NodeContext, session: Session, row: Shipment, leg: int, arrived: datetime | None
) -> WorkItem:
    plan = plan_of(row)
    events = events_of(UnitOfWork.joining(session), row)
    content = declaration(ctx, session, row, plan)
    decision = _decide(ctx, row.id, plan, content, events, plan.legs[leg].to_country)
    cargo = Cargo.model_validate_json(row.cargo)
    planned = {(t.event, t.leg_index): t.planned_at for t in timeline(plan, events)}
    return WorkItem(
        shipment_id=row.id,
        reference=row.reference,
        expected_at=planned.get((EventType.BORDER_ARRIVAL, leg)),
        entry_node=plan.legs[leg].to_node,
        entry_name=plan.legs[leg].to_name,
        leg_index=leg,
        lane=decision.lane.value,
        physical_inspection_required=decision.physical_inspection_required,
        reasons=[Reason(rule=r.rule, found=r.finding, weight=r.weight) for r in decision.reasons],
        recognised_control=decision.recognised.describe() if decision.recognised else None,
        goods=[f"{g.description} (HS {g.hs_code}, {g.gross_weight_kg} kg)" for g in cargo.goods],
        seals=[f"{s.number} ({s.condition.value})" for s in content.transport.all_seals()],
        transport=list(content.transport.identifiers()),
        documents=[f"{d.kind.value} {d.reference}" for d in content.documents],
        arrived_at=arrived,
    )


def work_list(
    ctx: NodeContext, session: Session, caller: Caller, crossing: str | None = None
) -> WorkList:
    """What is coming to the caller's country (pre-arrival) and what is at its border now."""
    _require_customs(caller)
    rows, _ = list_visible(UnitOfWork.joining(session), caller, 0, 500)
    arriving: list[WorkItem] = []
    at_border: list[WorkItem] = []
    for row in rows:
        plan = plan_of(row)
        events = events_of(UnitOfWork.joining(session), row)
        released = {e.leg_index for e in events if e.type is EventType.BORDER_RELEASE}
        arrivals = {e.leg_index: e.at for e in events if e.type is EventType.BORDER_ARRIVAL}
        for leg in plan.legs:
            if leg.border is None or leg.to_country != caller.country or leg.index in released:
                continue
            if crossing is not None and leg.to_node != crossing:
                continue
            item = _item(ctx, session, row, leg.index, arrivals.get(leg.index))
            (at_border if leg.index in arrivals else arriving).append(item)
            break
    far_future = datetime.max.replace(tzinfo=ctx.clock().tzinfo)
    arriving.sort(key=lambda i: i.expected_at or far_future)
    return WorkList(country=caller.country, arriving=arriving, at_border=at_border)


def release(
    ctx: NodeContext, session: Session, caller: Caller, shipment_id: str, body: ReleaseRequest
) -> WorkItem:
    """Release the cargo at this border after the checks its lane requires; sign off the control.

    Refused (409) when the documentary check failed, or when the lane requires a physical
    inspection that was not done, or found a discrepancy.
    """
    _require_customs(caller)
    row = access(UnitOfWork.joining(session), caller, shipment_id).row
    plan = plan_of(row)
    if (
        not 0 <= body.leg_index < len(plan.legs)
        or plan.legs[body.leg_index].to_country != caller.country
    ):
        raise NotFoundError("border crossing of shipment", f"{shipment_id}@{body.leg_index}")
    seals = tuple(Seal(number=s.number, condition=s.condition) for s in body.seals)
    decision = lane_decision(ctx, session, row, caller.country, seals or None)
    if not body.documentary_check_passed:
        raise IllegalTransitionError(
            "border crossing", "release", "documentary check failed", ["hold", "inspect"]
        )
    if decision.physical_inspection_required and body.inspection is None:
        raise IllegalTransitionError(
            "border crossing",
            "release without inspection",
            f"{decision.lane.value} lane",
            ["inspect"],
        )
    if body.inspection is InspectionResult.DISCREPANCY:
        raise IllegalTransitionError(
            "border crossing", "release", "inspection found a discrepancy", ["detain"]
        )
    if any(s.condition is SealCondition.BROKEN for s in seals) and body.inspection is None:
        raise InvalidRequestError("a broken seal needs an inspection before release")
    details = {
        "shipment": shipment_id,
        "office": caller.org_id,
        "documentary_check": "passed",
        "lane": decision.lane.value,
        "seals": json.dumps({s.number: s.condition.value for s in seals}, sort_keys=True),
    }
    if body.inspection is not None:
        details["inspection"] = body.inspection.value
    add_event(
        UnitOfWork.joining(session, ctx),
        caller,
        shipment_id,
        EventRequest(
            type=EventType.BORDER_RELEASE, at=body.at, leg_index=body.leg_index, details=details
        ),
    )
    return _item(ctx, session, row, body.leg_index, None)
