"""e-TIR as use cases: the guarantee chain registers the guarantee, the holder declares, customs
of departure accepts, and each country's customs starts, terminates and discharges its TIR
operation; the transport ends when the last operation is discharged.

The e-TIR document a booking opened carries each step: the declaration is its version 2, and
every act is a JWS signature by the acting party on the current version, recorded in the ledger.
Customs offices are the customs authorities registered on the node for each itinerary country.
"""

from __future__ import annotations

import json
from datetime import date
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from kervan.documents.etir import AdvanceTirData, Guarantee, TirTransport
from kervan.documents.kinds import DocumentKind
from kervan.documents.parties import Party, PartyRole, SignatureEvidence
from kervan.errors import InvalidRequestError, NotFoundError, ScopeError
from kervan.services.access import Caller, Scope
from kervan.services.documents import signed_by
from kervan.services.node import NodeContext
from kervan.services.shipments import party_of
from kervan.shipments.booking import Cargo
from kervan.store.repositories.documents import DocumentRepository
from kervan.store.repositories.organisations import OrganisationKind
from kervan.store.tables import OrganisationRow, ShipmentDocumentRow, ShipmentPartyRow, ShipmentRow


class GuaranteeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reference: str = Field(pattern=r"^[A-Z]{2}\d{8,10}$", examples=["XG71234567"])
    valid_from: date
    valid_until: date


class OperationAction(StrEnum):
    START = "start"
    TERMINATE = "terminate"
    DISCHARGE = "discharge"


class OperationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: OperationAction


class TirView(BaseModel):
    document_id: str
    state: str
    guarantee: dict[str, Any] | None
    operations: list[dict[str, Any]]
    allowed_steps: list[str]


def _link(session: Session, document_id: str) -> ShipmentDocumentRow:
    link = session.scalars(
        select(ShipmentDocumentRow).where(ShipmentDocumentRow.document_id == document_id)
    ).one_or_none()
    if link is None or link.kind != DocumentKind.ETIR:
        raise NotFoundError("e-TIR transport", document_id)
    return link


def _role_holder(session: Session, link: ShipmentDocumentRow, role: str) -> str | None:
    return session.scalars(
        select(ShipmentPartyRow.party_org_id).where(
            ShipmentPartyRow.org_id == link.org_id,
            ShipmentPartyRow.shipment_id == link.shipment_id,
            ShipmentPartyRow.role == role,
        )
    ).first()


def _customs_office(session: Session, country: str) -> Party:
    org_id = session.scalars(
        select(OrganisationRow.id).where(
            OrganisationRow.country == country,
            OrganisationRow.kind == OrganisationKind.CUSTOMS_AUTHORITY.value,
        )
    ).first()
    if org_id is None:
        raise InvalidRequestError(f"no customs authority of {country} is registered on this node")
    return party_of(session, org_id)


def _act(
    ctx: NodeContext,
    session: Session,
    caller: Caller,
    link: ShipmentDocumentRow,
    role: PartyRole,
    step: str,
) -> SignatureEvidence:
    """Sign the document's current version as `role`, store the signature, ledger the step."""
    repository = DocumentRepository(session)
    owner = [link.org_id]
    stored = repository.get(link.document_id, org_ids=owner)
    version = repository.get_version(link.document_id, stored.current_version, org_ids=owner)
    at = ctx.clock()
    entry, evidence = signed_by(
        ctx.signer(session, caller.org_id), role, version.body, version.version, at
    )
    repository.add_signatures(link.document_id, version.version, [entry], org_ids=owner)
    ctx.ledger(session, link.org_id).append(
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
    session: Session,
    ctx: NodeContext,
    link: ShipmentDocumentRow,
    state: str,
    lifecycle: dict[str, Any],
) -> None:
    DocumentRepository(session).set_state(
        link.document_id, state, at=ctx.clock(), org_ids=[link.org_id]
    )
    link.lifecycle = json.dumps(lifecycle)
    session.flush()


def view(link: ShipmentDocumentRow) -> TirView:
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
        allowed_steps=["register the guarantee"]
        if "guarantee" not in lifecycle
        else ["submit advance TIR data"],
    )


def register_guarantee(
    ctx: NodeContext, session: Session, caller: Caller, document_id: str, body: GuaranteeRequest
) -> TirView:
    """The shipment's guarantee chain registers the TIR guarantee for its holder."""
    caller.require(Scope.GUARANTEES)
    link = _link(session, document_id)
    if _role_holder(session, link, "guarantee_chain") != caller.org_id:
        raise NotFoundError("e-TIR transport", document_id)
    lifecycle = json.loads(link.lifecycle)
    if "guarantee" in lifecycle:
        raise InvalidRequestError("the guarantee of this TIR transport is already registered")
    holder = _role_holder(session, link, "road_carrier")
    assert holder is not None
    evidence = _act(ctx, session, caller, link, PartyRole.GUARANTEE_CHAIN, "register_guarantee")
    evidence = evidence.model_copy(update={"document_version": 1})
    guarantee = Guarantee.register(
        body.reference,
        party_of(session, caller.org_id),
        holder,
        body.valid_from,
        body.valid_until,
        evidence,
    )
    _save(
        session,
        ctx,
        link,
        "guarantee_registered",
        {"state": "guarantee_registered", "guarantee": guarantee.model_dump(mode="json")},
    )
    return view(link)


def submit_declaration(
    ctx: NodeContext, session: Session, caller: Caller, document_id: str
) -> TirView:
    """The holder (the road carrier) submits the advance TIR data built from the shipment."""
    caller.require(Scope.DOCUMENTS_SIGN)
    link = _link(session, document_id)
    if _role_holder(session, link, "road_carrier") != caller.org_id:
        raise NotFoundError("e-TIR transport", document_id)
    lifecycle = json.loads(link.lifecycle)
    if "guarantee" not in lifecycle:
        raise InvalidRequestError("the guarantee chain has not registered a guarantee yet")
    if "transport" in lifecycle:
        raise InvalidRequestError("the advance TIR data is already submitted")
    guarantee = Guarantee.model_validate(lifecycle["guarantee"])
    shipment = session.get(ShipmentRow, (link.org_id, link.shipment_id))
    assert shipment is not None
    cargo = Cargo.model_validate_json(shipment.cargo)
    itinerary = tuple(json.loads(link.countries))
    offices = [_customs_office(session, country) for country in itinerary]
    data = AdvanceTirData(
        holder=party_of(session, caller.org_id),
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
    repository = DocumentRepository(session)
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
    ctx.ledger(session, link.org_id).append(
        document_id, "version:2", json.loads(version.body), ctx.clock()
    )
    evidence = _act(ctx, session, caller, link, PartyRole.HOLDER, "submit_declaration")
    transport = TirTransport.submit(
        document_id, guarantee, data, evidence.model_copy(update={"document_version": 1})
    )
    _save(
        session,
        ctx,
        link,
        transport.state.value,
        {**lifecycle, "transport": transport.model_dump(mode="json")},
    )
    return view(link)


def _customs_transport(
    session: Session, caller: Caller, document_id: str
) -> tuple[ShipmentDocumentRow, TirTransport]:
    caller.require(Scope.CUSTOMS)
    link = _link(session, document_id)
    if caller.kind is not OrganisationKind.CUSTOMS_AUTHORITY or caller.country not in json.loads(
        link.countries
    ):
        raise NotFoundError("e-TIR transport", document_id)
    transport = json.loads(link.lifecycle).get("transport")
    if transport is None:
        raise InvalidRequestError("the holder has not submitted advance TIR data yet")
    return link, TirTransport.model_validate(transport)


def accept(ctx: NodeContext, session: Session, caller: Caller, document_id: str) -> TirView:
    """Customs of departure accepts the declaration (refused on an invalid guarantee)."""
    link, transport = _customs_transport(session, caller, document_id)
    if caller.country != transport.data.itinerary[0]:
        raise ScopeError(f"the declaration is accepted by customs of {transport.data.itinerary[0]}")
    evidence = _act(ctx, session, caller, link, PartyRole.CUSTOMS_OFFICE, "accept_declaration")
    transport = transport.accept(
        evidence.model_copy(update={"document_version": len(transport.versions)})
    )
    _save(
        session,
        ctx,
        link,
        transport.state.value,
        {**json.loads(link.lifecycle), "transport": transport.model_dump(mode="json")},
    )
    return view(link)


def operation(
    ctx: NodeContext, session: Session, caller: Caller, document_id: str, body: OperationRequest
) -> TirView:
    """The caller's country starts, terminates or discharges its TIR operation."""
    link, transport = _customs_transport(session, caller, document_id)
    evidence = _act(
        ctx,
        session,
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
    _save(
        session,
        ctx,
        link,
        transport.state.value,
        {**json.loads(link.lifecycle), "transport": transport.model_dump(mode="json")},
    )
    return view(link)


def tir_view(session: Session, caller: Caller, document_id: str) -> TirView:
    """The TIR transport as its holder, guarantee chain, shipper or a customs on it sees it."""
    link = _link(session, document_id)
    parties = set(
        session.scalars(
            select(ShipmentPartyRow.party_org_id).where(
                ShipmentPartyRow.org_id == link.org_id,
                ShipmentPartyRow.shipment_id == link.shipment_id,
            )
        )
    )
    customs_here = (
        caller.kind is OrganisationKind.CUSTOMS_AUTHORITY
        and caller.country in json.loads(link.countries)
    )
    if caller.org_id not in parties and not customs_here:
        raise NotFoundError("e-TIR transport", document_id)
    return view(link)
