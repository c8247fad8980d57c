"""The officer's work list: the shipments whose pre-arrival declaration the caller's customs
holds, coming to its border (in the order the plan expects them) or at its border now, each in
its lane with reasons and any recognised control."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel

from kervan.customs.declaration import DeclarationContent
from kervan.customs.recognition import ControlResult
from kervan.services.access import Caller
from kervan.services.customs.lanes import lane, require_customs
from kervan.services.node import NodeContext
from kervan.shipments.events import EventType, ShipmentEvent, timeline
from kervan.store.repositories.customs import CustomsShipment
from kervan.store.uow import UnitOfWork

_MAX_SHIPMENTS = 500


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


@dataclass(frozen=True)
class WorkListQuery:
    """The caller's work list, at one crossing (entry node id) or all of them."""

    crossing: str | None = None


def work_item(
    shipment: CustomsShipment,
    content: DeclarationContent,
    events: list[ShipmentEvent],
    controls: list[ControlResult],
    leg: int,
    arrived: datetime | None,
    on: datetime,
) -> WorkItem:
    """The work item of the crossing on `leg`, its lane decided on `on`."""
    plan = shipment.plan
    decision = lane(content, plan, events, controls, plan.legs[leg].to_country, on)
    planned = {(t.event, t.leg_index): t.planned_at for t in timeline(plan, events)}
    return WorkItem(
        shipment_id=shipment.id,
        reference=shipment.reference,
        expected_at=planned.get((EventType.BORDER_ARRIVAL, leg)),
        entry_node=plan.legs[leg].to_node,
        entry_name=plan.legs[leg].to_name,
        leg_index=leg,
        lane=decision.lane.value,
        physical_inspection_required=decision.physical_inspection_required,
        reasons=[Reason(rule=r.rule, found=r.finding, weight=r.weight) for r in decision.reasons],
        recognised_control=decision.recognised.describe() if decision.recognised else None,
        goods=[
            f"{g.description} (HS {g.hs_code}, {g.gross_weight_kg} kg)"
            for g in shipment.cargo.goods
        ],
        seals=[f"{s.number} ({s.condition.value})" for s in content.transport.all_seals()],
        transport=list(content.transport.identifiers()),
        documents=[f"{d.kind.value} {d.reference}" for d in content.documents],
        arrived_at=arrived,
    )


def work_list(
    uow: UnitOfWork, caller: Caller, query: WorkListQuery, *, node: NodeContext
) -> WorkList:
    """What is coming to the caller's country (pre-arrival received) and what is at its border
    now, from the declarations and controls its customs holds and the shipments' events."""
    require_customs(caller)
    on = node.clock()
    arriving: list[WorkItem] = []
    at_border: list[WorkItem] = []
    with uow:
        declared = uow.customs.declared_shipments(caller.org_id, _MAX_SHIPMENTS)
        for shipment in uow.customs.shipments(declared):
            declaration = uow.customs.declaration(caller.org_id, shipment.id)
            if declaration is None:
                continue
            events = uow.customs.events(shipment)
            released = {e.leg_index for e in events if e.type is EventType.BORDER_RELEASE}
            arrivals = {e.leg_index: e.at for e in events if e.type is EventType.BORDER_ARRIVAL}
            for leg in shipment.plan.legs:
                if leg.border is None or leg.to_country != caller.country:
                    continue
                if leg.index in released:
                    continue
                if query.crossing is not None and leg.to_node != query.crossing:
                    continue
                controls = uow.customs.controls(caller.org_id, shipment.id)
                item = work_item(
                    shipment,
                    declaration.current.content,
                    events,
                    controls,
                    leg.index,
                    arrivals.get(leg.index),
                    on,
                )
                (at_border if leg.index in arrivals else arriving).append(item)
                break
    far_future = datetime.max.replace(tzinfo=on.tzinfo)
    arriving.sort(key=lambda i: i.expected_at or far_future)
    return WorkList(country=caller.country, arriving=arriving, at_border=at_border)
