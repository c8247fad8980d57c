"""What an authority does with a customs message its inbox verified: one use case per message
type (`HANDLERS`), applied in the inbox's transaction (exactly once; a refusal, raised as a
KervanError, leaves no effect and is recorded by the inbox).

The same table serves every authority on one node (delivered right after the sender's commit)
and `kervan node --authority X` behind a broker.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Final, TypeAlias

from sqlalchemy.orm import Session

from kervan.customs.declaration import DeclarationVersion
from kervan.customs.recognition import ControlResult
from kervan.errors import DocumentValidationError
from kervan.exchange.envelope import CrossBorderMessage, MessageType
from kervan.exchange.inbox import Handler
from kervan.routing.plan import Plan
from kervan.services.customs.payloads import crossings, moment, read, text, whole
from kervan.services.node import NodeContext, NodeUnitOfWork
from kervan.shipments.events import EventType, ShipmentEvent, check_next, status_after
from kervan.store.repositories.customs import Crossing
from kervan.store.uow import UnitOfWork

UseCase: TypeAlias = Callable[[UnitOfWork, CrossBorderMessage, datetime], None]
Clock: TypeAlias = Callable[[], datetime]


def receive_declaration(uow: UnitOfWork, message: CrossBorderMessage, at: datetime) -> None:
    """A customs authority keeps the next version of a shipment's pre-arrival declaration, and
    with the first one the crossings into its country it announces (expected).

    Refused: a version that is not the next one."""
    with uow:
        shipment = text(message, "shipment")
        reference = text(message, "reference")
        announced = crossings(message)
        version = read(message, "declaration", DeclarationVersion)
        if version.content.shipment != shipment:
            raise DocumentValidationError(
                f"{message.id}: the declaration is of {version.content.shipment}, not {shipment}"
            )
        held = uow.customs.declaration(message.receiver, shipment)
        expected = 1 if held is None else held.current.number + 1
        if version.number != expected:
            raise DocumentValidationError(
                f"declaration {shipment}: version {version.number} received, {expected} expected"
            )
        country = uow.customs.customs_country(message.receiver)
        if country is None:
            raise DocumentValidationError(f"{message.receiver} is no customs authority")
        uow.customs.add_declaration(message.receiver, version, message.sender, at)
        for announced_crossing in announced:
            if announced_crossing.country != country:
                continue
            if uow.customs.crossing(message.receiver, shipment, announced_crossing.leg_index):
                continue
            uow.customs.add_crossing(
                message.receiver,
                Crossing(
                    shipment=shipment,
                    leg_index=announced_crossing.leg_index,
                    country=announced_crossing.country,
                    reference=reference,
                    entry_node=announced_crossing.entry_node,
                    entry_name=announced_crossing.entry_name,
                    expected_at=announced_crossing.expected_at,
                ),
            )


def receive_control(uow: UnitOfWork, message: CrossBorderMessage, at: datetime) -> None:
    """A customs authority keeps a control another member state signed off at release (one
    per country and shipment; a second, or its own country's, is refused)."""
    with uow:
        control = read(message, "control", ControlResult)
        if uow.customs.customs_country(message.receiver) is None:
            raise DocumentValidationError(f"{message.receiver} is no customs authority")
        if control.shipment != text(message, "shipment"):
            raise DocumentValidationError(f"{message.id}: the control is of another shipment")
        if uow.customs.control(message.receiver, control.shipment, control.country) is not None:
            raise DocumentValidationError(
                f"{message.receiver} already holds {control.country}'s control of "
                f"{control.shipment}"
            )
        uow.customs.add_control(message.receiver, control, message.sender, at)


def record_crossing(uow: UnitOfWork, message: CrossBorderMessage, at: datetime) -> None:
    """The trade side records its shipment's arrival at a border, or its release there as the
    customs signed it off, on the shipment's timeline (recorded by the sender).

    An arrival the timeline already shows (recorded there directly) is taken as applied.
    Refused: a shipment the receiver did not book, a step out of the route's order, or a
    control by another country than the one entered on that leg."""
    with uow:
        shipment_id = text(message, "shipment")
        leg_index = whole(message, "leg_index")
        kind = text(message, "event")
        shipment = uow.shipments.find(shipment_id)
        if shipment is None or shipment.org_id != message.receiver:
            raise DocumentValidationError(f"{message.receiver} booked no shipment {shipment_id}")
        plan = Plan.model_validate_json(shipment.plan)
        events = uow.shipments.events(shipment)
        details: dict[str, str] = {}
        if kind == EventType.BORDER_ARRIVAL.value:
            event_type = EventType.BORDER_ARRIVAL
            when = moment(message, "at")
            if any(e.type is event_type and e.leg_index == leg_index for e in events):
                return
        elif kind == EventType.BORDER_RELEASE.value:
            event_type = EventType.BORDER_RELEASE
            control = read(message, "control", ControlResult)
            when = control.at
            if control.shipment != shipment_id or not (
                0 <= leg_index < len(plan.legs)
                and control.country == plan.legs[leg_index].to_country
            ):
                raise DocumentValidationError(
                    f"{message.id}: a control by {control.country} does not release that crossing"
                )
            details = {
                "shipment": shipment_id,
                "office": control.office,
                "documentary_check": "passed" if control.documentary_check_passed else "failed",
                "lane": text(message, "lane"),
                "seals": json.dumps(
                    {s.number: s.condition.value for s in control.seals}, sort_keys=True
                ),
            }
            if control.inspection is not None:
                details["inspection"] = control.inspection.value
        else:
            raise DocumentValidationError(f"{message.id}: {kind!r} is not a border crossing event")
        leg = check_next(plan, events, event_type, leg_index, when)
        assert leg is not None
        event = ShipmentEvent(
            seq=len(events) + 1,
            type=event_type,
            at=when,
            leg_index=leg,
            node=plan.legs[leg].to_node,
            recorded_by=message.sender,
            details=details,
        )
        uow.shipments.add_event(shipment, event, status_after([*events, event]), at)


HANDLERS: Final[Mapping[MessageType, UseCase]] = {
    MessageType.PRE_ARRIVAL: receive_declaration,
    MessageType.CONTROL_RESULT: receive_control,
    MessageType.BORDER_CROSSING: record_crossing,
}


def message_handler(clock: Clock, node: NodeContext | None = None) -> Handler:
    """The inbox handler of an authority: the message's use case, in the inbox's transaction.

    With the node's context, a permit authority also applies the e-Permit events its partners'
    nodes send over the corridor (`kervan.services.epermit_corridor`); without it such a
    message is refused."""

    def handle(session: Session, message: CrossBorderMessage) -> None:
        if message.type is MessageType.EPERMIT_EVENT:
            if node is None:
                raise DocumentValidationError(f"{message.id}: no permit authority runs here")
            from kervan.services.epermit_corridor import receive_corridor_event  # noqa: PLC0415

            receive_corridor_event(NodeUnitOfWork.joining_node(node, session), message, clock())
            return
        HANDLERS[message.type](UnitOfWork.joining(session), message, clock())

    return handle
