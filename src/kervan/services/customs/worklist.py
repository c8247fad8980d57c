"""The officer's work list: the crossings into the caller's country its customs holds (from the
pre-arrival declarations it received), coming (in the order the plan expects them) or at its
border now, each in its lane with reasons and any recognised control."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel

from kervan.customs.arrival import arrival_outlook
from kervan.customs.declaration import DeclarationContent
from kervan.customs.recognition import ControlResult
from kervan.services.access import Who, identify
from kervan.services.customs.lanes import lane, require_customs
from kervan.services.node import NodeUnitOfWork
from kervan.store.repositories.customs import Crossing

_MAX_CROSSINGS = 2000


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
    # Whether the arrival may be recorded now: the cargo has no earlier border to cross (else
    # `earlier_border` names its country) and is due (else `due_from` says from when).
    arrival_open: bool = True
    earlier_border: str | None = None
    due_from: datetime | None = None


class WorkList(BaseModel):
    country: str
    arriving: list[WorkItem]
    at_border: list[WorkItem]


@dataclass(frozen=True)
class WorkListQuery:
    """The caller's work list, at one crossing (entry node id) or all of them."""

    crossing: str | None = None


def work_item(
    crossing: Crossing,
    content: DeclarationContent,
    controls: list[ControlResult],
    on: datetime,
    on_corridor: Collection[str] = (),
) -> WorkItem:
    """The work item of a crossing, its lane decided on `on`; `on_corridor`, the countries
    whose customs is on the corridor (their release comes before the cargo reaches a later
    border)."""
    decision = lane(
        content, controls, crossing.country, on, arrived=crossing.arrived_at is not None
    )
    released_by = {c.country for c in controls}
    outlook = arrival_outlook(
        content, crossing.country, crossing.expected_at, released_by, on_corridor, on
    )
    return WorkItem(
        shipment_id=crossing.shipment,
        reference=crossing.reference,
        expected_at=crossing.expected_at,
        entry_node=crossing.entry_node,
        entry_name=crossing.entry_name,
        leg_index=crossing.leg_index,
        lane=decision.lane.value,
        physical_inspection_required=decision.physical_inspection_required,
        reasons=[Reason(rule=r.rule, found=r.finding, weight=r.weight) for r in decision.reasons],
        recognised_control=decision.recognised.describe() if decision.recognised else None,
        goods=[f"{g.description} (HS {g.hs_code}, {g.gross_weight_kg} kg)" for g in content.goods],
        seals=[f"{s.number} ({s.condition.value})" for s in content.transport.all_seals()],
        transport=list(content.transport.identifiers()),
        documents=[f"{d.kind.value} {d.reference}" for d in content.documents],
        arrived_at=crossing.arrived_at,
        arrival_open=outlook.open,
        earlier_border=outlook.earlier_border,
        due_from=outlook.due_from,
    )


def work_list(uow: NodeUnitOfWork, who: Who, query: WorkListQuery) -> WorkList:
    """What is coming to the caller's country (pre-arrival received) and what is at its border
    now, from the crossings, declarations and controls its customs holds (nothing else)."""
    on = uow.node.clock()
    arriving: list[WorkItem] = []
    at_border: list[WorkItem] = []
    with uow.for_reading():
        caller = identify(uow, who)
        require_customs(caller)
        first: dict[str, Crossing] = {}
        for crossing in uow.customs.open_crossings(caller.org_id, _MAX_CROSSINGS):
            earlier = first.get(crossing.shipment)
            if earlier is None or crossing.leg_index < earlier.leg_index:
                first[crossing.shipment] = crossing
        shown = [
            c for c in first.values() if query.crossing is None or c.entry_node == query.crossing
        ]
        held = [c.shipment for c in shown]
        declarations = uow.customs.declarations(caller.org_id, held)
        controls = uow.customs.controls_of(caller.org_id, held)
        authorities: dict[str, bool] = {}
        for crossing in shown:
            declaration = declarations.get(crossing.shipment)
            if declaration is None:
                continue
            content = declaration.current.content
            for passage in content.route.passages:
                if passage.country not in authorities:
                    found = uow.customs.customs_authority(passage.country)
                    authorities[passage.country] = found is not None
            on_corridor = {c for c, present in authorities.items() if present}
            held_controls = controls.get(crossing.shipment, [])
            item = work_item(crossing, content, held_controls, on, on_corridor)
            (at_border if crossing.arrived_at is not None else arriving).append(item)
    far_future = datetime.max.replace(tzinfo=on.tzinfo)
    arriving.sort(key=lambda i: i.expected_at or far_future)
    at_border.sort(key=lambda i: i.arrived_at or far_future)
    return WorkList(country=caller.country, arriving=arriving, at_border=at_border)
