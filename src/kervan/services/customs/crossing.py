"""The cargo reaches a border: the customs of the country entered records the arrival in its
own crossing and tells the trade side, whose handler puts it on the shipment's timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kervan.errors import IllegalTransitionError, InvalidRequestError, NotFoundError
from kervan.exchange.envelope import MessageType
from kervan.services.access import Caller, Who, identify
from kervan.services.customs.lanes import require_customs
from kervan.services.customs.sending import send
from kervan.services.customs.worklist import WorkItem, work_item
from kervan.services.node import NodeUnitOfWork
from kervan.shipments.events import EventType
from kervan.signatures.canonical import JsonValue
from kervan.signatures.encoding import rfc3339
from kervan.store.uow import UnitOfWork


@dataclass(frozen=True)
class RecordArrival:
    """The cargo of `shipment_id` arrived at the border of leg `leg_index` at `at`."""

    shipment_id: str
    leg_index: int
    at: datetime


def record_arrival(uow: NodeUnitOfWork, who: Who, command: RecordArrival) -> WorkItem:
    """Record the arrival at the caller's border; out, the crossing as the officer now sees it.

    404 for a crossing the caller's customs does not hold; 409 when it arrived already; 422
    for an arrival before the cargo left (the declaration's lodging)."""
    node = uow.node
    with uow:
        caller = identify(uow, who)
        require_customs(caller)
        crossing = uow.customs.crossing(caller.org_id, command.shipment_id, command.leg_index)
        declaration = uow.customs.declaration(caller.org_id, command.shipment_id)
        if crossing is None or declaration is None or crossing.country != caller.country:
            raise NotFoundError(
                "border crossing of shipment", f"{command.shipment_id}@{command.leg_index}"
            )
        if crossing.arrived_at is not None:
            raise IllegalTransitionError(
                "border crossing", "record the arrival", "arrived", ["release", "inspect"]
            )
        if command.at < declaration.versions[0].lodged_at:
            raise InvalidRequestError(
                f"the arrival ({command.at.isoformat()}) comes before the cargo left "
                f"({declaration.versions[0].lodged_at.isoformat()})"
            )
        uow.customs.mark_crossing(
            caller.org_id, command.shipment_id, command.leg_index, arrived_at=command.at
        )
        trade = uow.customs.lodged_by(caller.org_id, command.shipment_id)
        if trade is not None and trade != caller.org_id:
            payload: dict[str, JsonValue] = {
                "shipment": command.shipment_id,
                "leg_index": command.leg_index,
                "event": EventType.BORDER_ARRIVAL.value,
                "at": rfc3339(command.at),
            }
            send(uow, node, caller.org_id, trade, MessageType.BORDER_CROSSING, payload)
        controls = uow.customs.controls(caller.org_id, command.shipment_id)
        arrived = uow.customs.crossing(caller.org_id, command.shipment_id, command.leg_index)
        assert arrived is not None
        return work_item(arrived, declaration.current.content, controls, node.clock())


def note_crossing(
    uow: UnitOfWork, caller: Caller, event: EventType, shipment_id: str, leg: int, at: datetime
) -> None:
    """An arrival or release the customs recorded on the shipment's timeline directly (one
    node, shared store): its own crossing record follows, nothing is sent."""
    with uow:
        if event is EventType.BORDER_ARRIVAL:
            uow.customs.mark_crossing(caller.org_id, shipment_id, leg, arrived_at=at)
        elif event is EventType.BORDER_RELEASE:
            uow.customs.mark_crossing(caller.org_id, shipment_id, leg, released_at=at)
