"""Release at the border: after the checks its lane requires, the officer releases the cargo
and signs off the control result, which goes to the customs of the countries still ahead
(recognition) and to the trade side (the release on the shipment's timeline)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from kervan.customs.recognition import ControlResult, InspectionResult
from kervan.documents.goods import Seal, SealCondition
from kervan.errors import IllegalTransitionError, InvalidRequestError, NotFoundError
from kervan.exchange.envelope import MessageType
from kervan.services.access import Caller
from kervan.services.customs.lanes import lane, require_customs
from kervan.services.customs.payloads import as_json
from kervan.services.customs.sending import send
from kervan.services.customs.worklist import WorkItem, work_item
from kervan.services.node import NodeContext
from kervan.shipments.events import EventType, ShipmentStatus, check_next
from kervan.signatures.canonical import JsonValue, canonical_json
from kervan.signatures.encoding import rfc3339
from kervan.signatures.jws import sign_detached
from kervan.store.uow import UnitOfWork


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


def release(
    uow: UnitOfWork, caller: Caller, shipment_id: str, command: ReleaseRequest, *, node: NodeContext
) -> WorkItem:
    """Release the cargo at this border after the checks its lane requires; sign off the control.

    Refused (409) when the cargo has not arrived or was released already, when the documentary
    check failed, or when the lane requires a physical inspection that was not done or found a
    discrepancy; 404 for a shipment the caller's customs holds no declaration of, or a leg that
    does not enter the caller's country.
    """
    require_customs(caller)
    with uow:
        shipment = uow.customs.shipment(shipment_id)
        declaration = uow.customs.declaration(caller.org_id, shipment_id)
        if (
            shipment is None
            or declaration is None
            or shipment.status == ShipmentStatus.BOOKED.value
            or caller.country not in shipment.countries
        ):
            raise NotFoundError("shipment", shipment_id)
        plan = shipment.plan
        leg_index = command.leg_index
        if not 0 <= leg_index < len(plan.legs) or plan.legs[leg_index].to_country != caller.country:
            raise NotFoundError("border crossing of shipment", f"{shipment_id}@{leg_index}")
        events = uow.customs.events(shipment)
        check_next(plan, events, EventType.BORDER_RELEASE, leg_index, command.at)
        if uow.customs.control(caller.org_id, shipment_id, caller.country) is not None:
            raise IllegalTransitionError(
                "border crossing", "release", "released already", ["record the exit"]
            )
        content = declaration.current.content
        controls = uow.customs.controls(caller.org_id, shipment_id)
        seals = tuple(Seal(number=s.number, condition=s.condition) for s in command.seals)
        decision = lane(
            content, plan, events, controls, caller.country, node.clock(), seals or None
        )
        if not command.documentary_check_passed:
            raise IllegalTransitionError(
                "border crossing", "release", "documentary check failed", ["hold", "inspect"]
            )
        if decision.physical_inspection_required and command.inspection is None:
            raise IllegalTransitionError(
                "border crossing",
                "release without inspection",
                f"{decision.lane.value} lane",
                ["inspect"],
            )
        if command.inspection is InspectionResult.DISCREPANCY:
            raise IllegalTransitionError(
                "border crossing", "release", "inspection found a discrepancy", ["detain"]
            )
        if any(s.condition is SealCondition.BROKEN for s in seals) and command.inspection is None:
            raise InvalidRequestError("a broken seal needs an inspection before release")
        leg = plan.legs[leg_index]
        office = node.customs_offices().at_node(leg.to_node).code
        claims = {
            "shipment": shipment_id,
            "country": caller.country,
            "office": office,
            "at": rfc3339(command.at),
            "seals": {s.number: s.condition.value for s in seals},
        }
        signer = node.signer(uow.session, caller.org_id)
        control = ControlResult(
            shipment=shipment_id,
            country=caller.country,
            office=office,
            place=leg.to_name,
            at=command.at,
            seals=seals,
            documentary_check_passed=True,
            inspection=command.inspection,
            signature_ref=sign_detached(canonical_json(claims), signer),
        )
        uow.customs.add_control(caller.org_id, control, caller.org_id, node.clock())
        signed = as_json(control)
        ahead = dict.fromkeys(
            later.to_country
            for later in plan.legs[leg_index + 1 :]
            if later.border is not None and later.to_country != caller.country
        )
        for country in ahead:
            authority = uow.customs.customs_authority(country)
            if authority is not None:
                payload = {"shipment": shipment_id, "control": signed}
                send(uow, node, caller.org_id, authority, MessageType.CONTROL_RESULT, payload)
        crossing: dict[str, JsonValue] = {
            "shipment": shipment_id,
            "leg_index": leg_index,
            "lane": decision.lane.value,
            "control": signed,
        }
        send(uow, node, caller.org_id, shipment.owner, MessageType.BORDER_CROSSING, crossing)
        return work_item(shipment, content, events, controls, leg_index, None, node.clock())
