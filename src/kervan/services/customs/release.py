"""Release at the border: after the checks its lane requires, the officer releases the cargo
and signs off the control result, which goes to the customs of the countries still ahead
(recognition) and to the trade side (the release on the shipment's timeline)."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from kervan.customs.recognition import ControlResult, InspectionResult
from kervan.documents.goods import Seal, SealCondition
from kervan.documents.limits import CorridorMoment
from kervan.documents.text import Line
from kervan.errors import IllegalTransitionError, InvalidRequestError, NotFoundError
from kervan.exchange.envelope import MessageType
from kervan.services.access import Who, identify
from kervan.services.customs.lanes import lane, require_customs
from kervan.services.customs.payloads import as_json
from kervan.services.customs.sending import send
from kervan.services.customs.worklist import WorkItem, work_item
from kervan.services.node import NodeUnitOfWork
from kervan.shipments.events import EventType
from kervan.signatures.canonical import JsonValue, canonical_json
from kervan.signatures.encoding import rfc3339
from kervan.signatures.jws import sign_detached


class SealFound(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: Line = Field(min_length=1, max_length=35)
    condition: SealCondition


class ReleaseRequest(BaseModel):
    """What the officer found and did before releasing the cargo at this border."""

    model_config = ConfigDict(extra="forbid")

    leg_index: int = Field(ge=0, le=500)
    at: CorridorMoment
    documentary_check_passed: bool
    inspection: InspectionResult | None = None
    seals: list[SealFound] = Field(default_factory=list, max_length=50)


@dataclass(frozen=True)
class ReleaseCargo:
    """Release `shipment_id` at the caller's border after the checks in `check`."""

    shipment_id: str
    check: ReleaseRequest


def release(uow: NodeUnitOfWork, who: Who, command: ReleaseCargo) -> WorkItem:
    """Release the cargo at this border after the checks its lane requires; sign off the control.

    Refused (409) when the cargo has not arrived or was released already, when the documentary
    check failed, or when the lane requires a physical inspection that was not done or found a
    discrepancy; 404 for a crossing the caller's customs does not hold (another country's, or a
    shipment whose pre-arrival declaration it never received).
    """
    node = uow.node
    shipment_id, check = command.shipment_id, command.check
    with uow:
        caller = identify(uow, who)
        require_customs(caller)
        leg_index = check.leg_index
        crossing = uow.customs.crossing(caller.org_id, shipment_id, leg_index)
        declaration = uow.customs.declaration(caller.org_id, shipment_id)
        if crossing is None or declaration is None or crossing.country != caller.country:
            raise NotFoundError("border crossing of shipment", f"{shipment_id}@{leg_index}")
        if crossing.released_at is not None:
            raise IllegalTransitionError(
                "border crossing", "release", "released already", ["nothing: it left the border"]
            )
        if crossing.arrived_at is None:
            raise IllegalTransitionError(
                "border crossing", "release", "expected", ["record the arrival"]
            )
        if check.at < crossing.arrived_at:
            raise InvalidRequestError(
                f"the release ({check.at.isoformat()}) comes after the arrival "
                f"({crossing.arrived_at.isoformat()})"
            )
        content = declaration.current.content
        controls = uow.customs.controls(caller.org_id, shipment_id)
        seals = tuple(Seal(number=s.number, condition=s.condition) for s in check.seals)
        decision = lane(
            content, controls, caller.country, node.clock(), arrived=True, seals_now=seals or None
        )
        if not check.documentary_check_passed:
            raise IllegalTransitionError(
                "border crossing", "release", "documentary check failed", ["hold", "inspect"]
            )
        if decision.physical_inspection_required and check.inspection is None:
            raise IllegalTransitionError(
                "border crossing",
                "release without inspection",
                f"{decision.lane.value} lane",
                ["inspect"],
            )
        if check.inspection is InspectionResult.DISCREPANCY:
            raise IllegalTransitionError(
                "border crossing", "release", "inspection found a discrepancy", ["detain"]
            )
        if any(s.condition is SealCondition.BROKEN for s in seals) and check.inspection is None:
            raise InvalidRequestError("a broken seal needs an inspection before release")
        office = node.customs_offices().at_node(crossing.entry_node).code
        claims = {
            "shipment": shipment_id,
            "country": caller.country,
            "office": office,
            "at": rfc3339(check.at),
            "seals": {s.number: s.condition.value for s in seals},
        }
        signer = node.signer(uow.session, caller.org_id)
        control = ControlResult(
            shipment=shipment_id,
            country=caller.country,
            office=office,
            place=crossing.entry_name,
            at=check.at,
            seals=seals,
            documentary_check_passed=True,
            inspection=check.inspection,
            signature_ref=sign_detached(canonical_json(claims), signer),
        )
        uow.customs.add_control(caller.org_id, control, caller.org_id, node.clock())
        uow.customs.mark_crossing(caller.org_id, shipment_id, leg_index, released_at=check.at)
        signed = as_json(control)
        countries = [p.country for p in content.route.passages]
        after = (
            countries[countries.index(caller.country) + 1 :] if caller.country in countries else []
        )
        for country in dict.fromkeys(c for c in after if c != caller.country):
            authority = uow.customs.customs_authority(country)
            if authority is not None:
                payload = {"shipment": shipment_id, "control": signed}
                send(uow, node, caller.org_id, authority, MessageType.CONTROL_RESULT, payload)
        trade = uow.customs.lodged_by(caller.org_id, shipment_id)
        if trade is not None and trade != caller.org_id:
            crossed: dict[str, JsonValue] = {
                "shipment": shipment_id,
                "leg_index": leg_index,
                "event": EventType.BORDER_RELEASE.value,
                "lane": decision.lane.value,
                "control": signed,
            }
            send(uow, node, caller.org_id, trade, MessageType.BORDER_CROSSING, crossed)
        return work_item(crossing, content, controls, node.clock())
