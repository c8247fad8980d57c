"""e-TIR as use cases: the guarantee chain registers the guarantee, the holder declares, customs
of departure accepts, and each country's customs starts, terminates and discharges its TIR
operation; the transport ends when the last operation is discharged. The chain may cancel the
guarantee: at once while unused, else from the start of the next operation.

The e-TIR document a booking opened carries each step: the declaration is its version 2, and
every act is a JWS signature by the acting party on the current version, recorded in the ledger.
Customs offices are the customs authorities registered on the node for each itinerary country.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from kervan.documents.etir import AdvanceTirData, Guarantee, TirTransport
from kervan.documents.kinds import DocumentKind
from kervan.documents.limits import CorridorDate
from kervan.documents.parties import Party, PartyRole, SignatureEvidence
from kervan.errors import GuaranteeNotValidError, InvalidRequestError, NotFoundError, ScopeError
from kervan.services.access import Caller, Scope, Who, identify
from kervan.services.documents import signed_by
from kervan.services.parties import party_of
from kervan.shipments.booking import Cargo
from kervan.store.repositories.organisations import OrganisationKind
from kervan.store.repositories.shipment_documents import DocumentLink

if TYPE_CHECKING:
    from kervan.services.node import NodeUnitOfWork
    from kervan.store.uow import UnitOfWork


#: The state of an e-TIR whose guarantee the chain cancelled before any declaration used it.
GUARANTEE_CANCELLED = "guarantee_cancelled"


class GuaranteeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reference: str = Field(pattern=r"^[A-Z]{2}\d{8,10}$", examples=["XG71234567"])
    valid_from: CorridorDate
    valid_until: CorridorDate


class OperationAction(StrEnum):
    START = "start"
    TERMINATE = "terminate"
    DISCHARGE = "discharge"


class OperationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: OperationAction


@dataclass(frozen=True, slots=True)
class TirRef:
    """A TIR transport, by its e-TIR document's id."""

    document_id: str


@dataclass(frozen=True, slots=True)
class RegisterGuarantee:
    document_id: str
    guarantee: GuaranteeRequest


@dataclass(frozen=True, slots=True)
class TirOperation:
    document_id: str
    request: OperationRequest


class TirView(BaseModel):
    document_id: str
    state: str
    guarantee: dict[str, Any] | None
    operations: list[dict[str, Any]]
    allowed_steps: list[str]


def _link(uow: UnitOfWork, document_id: str) -> DocumentLink:
    link = uow.shipment_documents.link(document_id)
    if link is None or link.kind != DocumentKind.ETIR:
        raise NotFoundError("e-TIR transport", document_id)
    return link


def _role_holder(uow: UnitOfWork, link: DocumentLink, role: str) -> str | None:
    return uow.shipments.role_holder(link.org_id, link.shipment_id, role)


def _customs_office(uow: UnitOfWork, country: str) -> Party:
    org_id = uow.organisations.first_of_kind_in(OrganisationKind.CUSTOMS_AUTHORITY, country)
    if org_id is None:
        raise InvalidRequestError(f"no customs authority of {country} is registered on this node")
    return party_of(uow, org_id)


def _act(
    uow: NodeUnitOfWork, caller: Caller, link: DocumentLink, role: PartyRole, step: str
) -> SignatureEvidence:
    """Sign the document's current version as `role`, store the signature, ledger the step."""
    ctx = uow.node
    repository = uow.documents
    owner = [link.org_id]
    stored = repository.get(link.document_id, org_ids=owner)
    version = repository.get_version(link.document_id, stored.current_version, org_ids=owner)
    at = ctx.clock()
    entry, evidence = signed_by(
        ctx.signer(uow.session, caller.org_id),
        role,
        version.body,
        version.version,
        at,
        step=step,
        version=version.version,
    )
    repository.add_signatures(link.document_id, version.version, [entry], org_ids=owner)
    ctx.ledger(uow.session, link.org_id).append(
        link.document_id,
        step,
        {
            "version": version.version,
            "digest": version.digest,
            "party": caller.org_id,
            "role": role.value,
            "signature": entry["signature"],
        },
        at,
    )
    return evidence


def _save(
    uow: UnitOfWork,
    link: DocumentLink,
    state: str,
    lifecycle: dict[str, Any],
    step: SignatureEvidence,
) -> TirView:
    """Store the transport's new state (at the time of the signed `step` the ledger recorded:
    the guard on documents.state looks for its event) and lifecycle; the transport as it now
    stands."""
    uow.documents.set_state(link.document_id, state, at=step.signed_at, org_ids=[link.org_id])
    return view(uow.shipment_documents.set_lifecycle(link, json.dumps(lifecycle)))


def view(link: DocumentLink) -> TirView:
    lifecycle = json.loads(link.lifecycle)
    transport = lifecycle.get("transport")
    if transport is not None:
        tir = TirTransport.model_validate(transport)
        return TirView(
            document_id=link.document_id,
            state=tir.state.value,
            guarantee=tir.guarantee.model_dump(mode="json"),
            operations=[op.model_dump(mode="json") for op in tir.operations],
            allowed_steps=tir.allowed_steps(),
        )
    return TirView(
        document_id=link.document_id,
        state=lifecycle.get("state", "requested"),
        guarantee=lifecycle.get("guarantee"),
        operations=[],
        allowed_steps=_steps_before_declaration(lifecycle),
    )


def _steps_before_declaration(lifecycle: dict[str, Any]) -> list[str]:
    if "guarantee" not in lifecycle:
        return ["register the guarantee"]
    if lifecycle.get("state") == GUARANTEE_CANCELLED:
        return []
    return ["submit advance TIR data", "cancel the guarantee"]


def register_guarantee(uow: NodeUnitOfWork, caller: Who, command: RegisterGuarantee) -> TirView:
    """The shipment's guarantee chain registers the TIR guarantee for its holder."""
    with uow:
        return _register_guarantee(
            uow, identify(uow, caller), command.document_id, command.guarantee
        )


def _register_guarantee(
    uow: NodeUnitOfWork, caller: Caller, document_id: str, body: GuaranteeRequest
) -> TirView:
    caller.require(Scope.GUARANTEES)
    link = _link(uow, document_id)
    if _role_holder(uow, link, "guarantee_chain") != caller.org_id:
        raise NotFoundError("e-TIR transport", document_id)
    lifecycle = json.loads(link.lifecycle)
    if "guarantee" in lifecycle:
        raise InvalidRequestError("the guarantee of this TIR transport is already registered")
    holder = _role_holder(uow, link, "road_carrier")
    assert holder is not None
    evidence = _act(uow, caller, link, PartyRole.GUARANTEE_CHAIN, "register_guarantee")
    evidence = evidence.model_copy(update={"document_version": 1})
    guarantee = Guarantee.register(
        body.reference,
        party_of(uow, caller.org_id),
        holder,
        body.valid_from,
        body.valid_until,
        evidence,
    )
    return _save(
        uow,
        link,
        "guarantee_registered",
        {"state": "guarantee_registered", "guarantee": guarantee.model_dump(mode="json")},
        evidence,
    )


def cancel_guarantee(uow: NodeUnitOfWork, caller: Who, command: TirRef) -> TirView:
    """The shipment's guarantee chain cancels the TIR guarantee (eTIR I3): at once while no
    declaration uses it (none may then be submitted under it), else from the start of the next
    TIR operation (operations already started run to their discharge). Refused (409) once
    cancelled or when the transport has ended; 404 for anyone but the shipment's chain."""
    with uow:
        return _cancel_guarantee(uow, identify(uow, caller), command.document_id)


def _cancel_guarantee(uow: NodeUnitOfWork, caller: Caller, document_id: str) -> TirView:
    caller.require(Scope.GUARANTEES)
    link = _link(uow, document_id)
    if _role_holder(uow, link, "guarantee_chain") != caller.org_id:
        raise NotFoundError("e-TIR transport", document_id)
    lifecycle = json.loads(link.lifecycle)
    if "guarantee" not in lifecycle:
        raise InvalidRequestError("no guarantee of this TIR transport is registered yet")
    evidence = _act(uow, caller, link, PartyRole.GUARANTEE_CHAIN, "cancel_guarantee")
    # The chain signs for the guarantee, which it registered on version 1.
    evidence = evidence.model_copy(update={"document_version": 1})
    transport = lifecycle.get("transport")
    if transport is None:
        guarantee = Guarantee.model_validate(lifecycle["guarantee"]).cancel(evidence)
        state = GUARANTEE_CANCELLED
        lifecycle = {**lifecycle, "state": state, "guarantee": guarantee.model_dump(mode="json")}
    else:
        tir = TirTransport.model_validate(transport).cancel_guarantee(evidence)
        state = tir.state.value
        lifecycle = {**lifecycle, "transport": tir.model_dump(mode="json")}
    return _save(uow, link, state, lifecycle, evidence)


def submit_declaration(uow: NodeUnitOfWork, caller: Who, command: TirRef) -> TirView:
    """The holder (the road carrier) submits the advance TIR data built from the shipment."""
    with uow:
        return _submit_declaration(uow, identify(uow, caller), command.document_id)


def _submit_declaration(uow: NodeUnitOfWork, caller: Caller, document_id: str) -> TirView:
    ctx = uow.node
    caller.require(Scope.DOCUMENTS_SIGN)
    link = _link(uow, document_id)
    if _role_holder(uow, link, "road_carrier") != caller.org_id:
        raise NotFoundError("e-TIR transport", document_id)
    lifecycle = json.loads(link.lifecycle)
    if "guarantee" not in lifecycle:
        raise InvalidRequestError("the guarantee chain has not registered a guarantee yet")
    if "transport" in lifecycle:
        raise InvalidRequestError("the advance TIR data is already submitted")
    guarantee = Guarantee.model_validate(lifecycle["guarantee"])
    if guarantee.cancelled_for_new_operations:
        raise GuaranteeNotValidError(
            f"guarantee {guarantee.reference} was cancelled by the guarantee chain: the holder "
            "needs a new guarantee from its association"
        )
    shipment = uow.shipments.get(link.org_id, link.shipment_id)
    assert shipment is not None  # the link's foreign key holds it
    cargo = Cargo.model_validate_json(shipment.cargo)
    itinerary = tuple(json.loads(link.countries))
    offices = [_customs_office(uow, country) for country in itinerary]
    data = AdvanceTirData(
        holder=party_of(uow, caller.org_id),
        guarantee_reference=guarantee.reference,
        itinerary=itinerary,
        office_of_departure=offices[0],
        offices_en_route=tuple(offices),
        office_of_destination=offices[-1],
        goods=cargo.goods,
        seals=tuple(seal for c in cargo.containers for seal in c.seals),
        vehicle=cargo.vehicle_plates,
        containers=cargo.containers,
    )
    repository = uow.documents
    repository.add_version(
        document_id,
        {
            "document_id": document_id,
            "kind": DocumentKind.ETIR.value,
            "version": 2,
            "content": data.model_dump(mode="json"),
        },
        at=ctx.clock(),
        org_ids=[link.org_id],
    )
    version = repository.get_version(document_id, 2, org_ids=[link.org_id])
    ctx.ledger(uow.session, link.org_id).append(
        document_id, "version:2", json.loads(version.body), ctx.clock()
    )
    evidence = _act(uow, caller, link, PartyRole.HOLDER, "submit_declaration")
    transport = TirTransport.submit(
        document_id, guarantee, data, evidence.model_copy(update={"document_version": 1})
    )
    return _save(
        uow,
        link,
        transport.state.value,
        {**lifecycle, "transport": transport.model_dump(mode="json")},
        evidence,
    )


def _customs_transport(
    uow: UnitOfWork, caller: Caller, document_id: str
) -> tuple[DocumentLink, TirTransport]:
    caller.require(Scope.CUSTOMS)
    link = _link(uow, document_id)
    if caller.kind is not OrganisationKind.CUSTOMS_AUTHORITY or caller.country not in json.loads(
        link.countries
    ):
        raise NotFoundError("e-TIR transport", document_id)
    transport = json.loads(link.lifecycle).get("transport")
    if transport is None:
        raise InvalidRequestError("the holder has not submitted advance TIR data yet")
    return link, TirTransport.model_validate(transport)


def accept(uow: NodeUnitOfWork, caller: Who, command: TirRef) -> TirView:
    """Customs of departure accepts the declaration (refused on an invalid guarantee)."""
    with uow:
        return _accept(uow, identify(uow, caller), command.document_id)


def _accept(uow: NodeUnitOfWork, caller: Caller, document_id: str) -> TirView:
    link, transport = _customs_transport(uow, caller, document_id)
    if caller.country != transport.data.itinerary[0]:
        raise ScopeError(f"the declaration is accepted by customs of {transport.data.itinerary[0]}")
    evidence = _act(uow, caller, link, PartyRole.CUSTOMS_OFFICE, "accept_declaration")
    transport = transport.accept(
        evidence.model_copy(update={"document_version": len(transport.versions)})
    )
    return _save(
        uow,
        link,
        transport.state.value,
        {**json.loads(link.lifecycle), "transport": transport.model_dump(mode="json")},
        evidence,
    )


def operation(uow: NodeUnitOfWork, caller: Who, command: TirOperation) -> TirView:
    """The caller's country starts, terminates or discharges its TIR operation."""
    with uow:
        return _operation(uow, identify(uow, caller), command.document_id, command.request)


def _operation(
    uow: NodeUnitOfWork, caller: Caller, document_id: str, body: OperationRequest
) -> TirView:
    link, transport = _customs_transport(uow, caller, document_id)
    evidence = _act(
        uow,
        caller,
        link,
        PartyRole.CUSTOMS_OFFICE,
        f"{body.action.value}_operation:{caller.country}",
    )
    evidence = evidence.model_copy(update={"document_version": len(transport.versions)})
    if body.action is OperationAction.START:
        transport = transport.start_operation(caller.country, evidence)
    elif body.action is OperationAction.TERMINATE:
        transport = transport.terminate_operation(caller.country, evidence)
    else:
        transport = transport.discharge_operation(caller.country, evidence)
    return _save(
        uow,
        link,
        transport.state.value,
        {**json.loads(link.lifecycle), "transport": transport.model_dump(mode="json")},
        evidence,
    )


def tir_view(uow: UnitOfWork, caller: Who, command: TirRef) -> TirView:
    """The TIR transport: guarantee, operations per country and what may happen next, as its
    holder, guarantee chain, shipper or a customs on its itinerary sees it. Read-only."""
    with uow.for_reading():
        return view_transport(uow, identify(uow, caller), command.document_id)


def view_transport(uow: UnitOfWork, caller: Caller, document_id: str) -> TirView:
    """`tir_view` in an open unit of work."""
    link = _link(uow, document_id)
    parties = uow.shipments.party_ids(link.org_id, link.shipment_id)
    customs_here = (
        caller.kind is OrganisationKind.CUSTOMS_AUTHORITY
        and caller.country in json.loads(link.countries)
    )
    if caller.org_id not in parties and not customs_here:
        raise NotFoundError("e-TIR transport", document_id)
    return view(link)
