"""The trade side lodges the pre-arrival declaration: when the cargo is taken over, the
declaration assembled from the shipment, its cargo and documents goes to the customs authority
of every country on the route, as a signed message in the outbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kervan.customs.declaration import (
    DeclarationContent,
    DocumentReference,
    PreArrivalDeclaration,
    TransportMeans,
)
from kervan.customs.offices import CustomsOffices
from kervan.customs.route import customs_route
from kervan.documents.kinds import ISSUED_KINDS, DocumentKind
from kervan.errors import NotFoundError
from kervan.exchange.envelope import MessageType
from kervan.routing.plan import Plan
from kervan.services.access import Caller
from kervan.services.customs.payloads import AnnouncedCrossing, as_json
from kervan.services.customs.sending import send
from kervan.services.node import NodeUnitOfWork
from kervan.services.parties import party_of
from kervan.shipments.booking import Cargo
from kervan.shipments.events import EventType, timeline
from kervan.signatures.canonical import JsonValue
from kervan.store.repositories.shipments import Shipment
from kervan.store.uow import UnitOfWork


@dataclass(frozen=True)
class DeclarePreArrival:
    """Lodge the declaration of `shipment_id`, whose cargo was taken over at `departed_at`."""

    shipment_id: str
    departed_at: datetime


def declaration_content(
    uow: UnitOfWork, shipment: Shipment, offices: CustomsOffices, departed_at: datetime
) -> DeclarationContent:
    """The declaration's content from the shipment, its parties, cargo and documents."""
    roles = {role: org_id for org_id, role in uow.shipments.parties(shipment)}
    carrier = roles.get("road_carrier") or roles.get("rail_carrier") or shipment.org_id
    cargo = Cargo.model_validate_json(shipment.cargo)
    plan = Plan.model_validate_json(shipment.plan)
    return DeclarationContent(
        shipment=shipment.id,
        declarant=party_of(uow, shipment.org_id),
        consignor=party_of(uow, shipment.org_id),
        consignee=party_of(uow, roles["consignee"]),
        carrier=party_of(uow, carrier),
        goods=cargo.goods,
        transport=TransportMeans(
            mode=plan.legs[0].mode,
            vehicles=cargo.vehicle_plates,
            wagons=tuple(w.number for w in cargo.wagons),
            containers=cargo.containers,
        ),
        itinerary=plan.countries,
        route=customs_route(plan, offices, departed_at),
        documents=tuple(
            DocumentReference(kind=DocumentKind(kind), reference=document_id)
            for kind, document_id in uow.shipments.documents(shipment)
            if kind in ISSUED_KINDS
        ),
    )


def declare_pre_arrival(
    uow: NodeUnitOfWork, caller: Caller, command: DeclarePreArrival
) -> list[str]:
    """Send the shipment's declaration (version 1), signed by the declarant (the organisation
    that booked it), to the customs authority of every country on its route; out, those
    authorities. The caller is a party of the shipment (the carrier taking the cargo over)."""
    node = uow.node
    with uow:
        shipment = uow.shipments.find(command.shipment_id)
        if shipment is None or (
            caller.org_id != shipment.org_id
            and caller.org_id not in (org_id for org_id, _ in uow.shipments.parties(shipment))
        ):
            raise NotFoundError("shipment", command.shipment_id)
        content = declaration_content(uow, shipment, node.customs_offices(), command.departed_at)
        version = PreArrivalDeclaration.lodge(content, command.departed_at).current
        plan = Plan.model_validate_json(shipment.plan)
        planned = timeline(plan, uow.shipments.events(shipment))
        expected = {
            t.leg_index: t.planned_at for t in planned if t.event is EventType.BORDER_ARRIVAL
        }
        announced = [
            AnnouncedCrossing(
                leg_index=leg.index,
                country=leg.to_country,
                entry_node=leg.to_node,
                entry_name=leg.to_name,
                expected_at=expected.get(leg.index),
            )
            for leg in plan.legs
            if leg.border is not None
        ]
        payload: dict[str, JsonValue] = {
            "shipment": shipment.id,
            "reference": shipment.reference,
            "declaration": as_json(version),
            "crossings": [as_json(c) for c in announced],
        }
        receivers: list[str] = []
        for country in dict.fromkeys(p.country for p in content.route.passages):
            authority = uow.customs.customs_authority(country)
            if authority is None or authority == shipment.org_id:
                continue  # no customs of that country on this node's corridor
            send(uow, node, shipment.org_id, authority, MessageType.PRE_ARRIVAL, payload)
            receivers.append(authority)
        return receivers
