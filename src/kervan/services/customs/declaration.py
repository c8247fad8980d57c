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
from kervan.documents.parties import Party
from kervan.errors import InvalidRequestError, NotFoundError
from kervan.exchange.envelope import MessageType
from kervan.services.access import Caller
from kervan.services.customs.payloads import AnnouncedCrossing, as_json
from kervan.services.customs.sending import send
from kervan.services.node import NodeUnitOfWork
from kervan.shipments.events import EventType, timeline
from kervan.signatures.canonical import JsonValue
from kervan.store.repositories.customs import CustomsShipment
from kervan.store.uow import UnitOfWork


@dataclass(frozen=True)
class DeclarePreArrival:
    """Lodge the declaration of `shipment_id`, whose cargo was taken over at `departed_at`."""

    shipment_id: str
    departed_at: datetime


def declaration_content(
    uow: UnitOfWork, shipment: CustomsShipment, offices: CustomsOffices, departed_at: datetime
) -> DeclarationContent:
    """The declaration's content from the shipment, its parties, cargo and documents."""
    roles = uow.customs.parties(shipment)
    carrier = roles.get("road_carrier") or roles.get("rail_carrier") or shipment.owner

    def party(org_id: str) -> Party:
        found = uow.customs.party(org_id)
        if found is None:
            raise InvalidRequestError(
                f"organisation {org_id!r} is not registered on this node with an address"
            )
        return found

    cargo, plan = shipment.cargo, shipment.plan
    return DeclarationContent(
        shipment=shipment.id,
        declarant=party(shipment.owner),
        consignor=party(shipment.owner),
        consignee=party(roles["consignee"]),
        carrier=party(carrier),
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
            for kind, document_id in uow.customs.documents(shipment)
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
        shipment = uow.customs.shipment(command.shipment_id)
        if shipment is None or (
            caller.org_id != shipment.owner
            and caller.org_id not in uow.customs.parties(shipment).values()
        ):
            raise NotFoundError("shipment", command.shipment_id)
        content = declaration_content(uow, shipment, node.customs_offices(), command.departed_at)
        version = PreArrivalDeclaration.lodge(content, command.departed_at).current
        planned = timeline(shipment.plan, uow.customs.events(shipment))
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
            for leg in shipment.plan.legs
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
            if authority is None or authority == shipment.owner:
                continue  # no customs of that country on this node's corridor
            send(uow, node, shipment.owner, authority, MessageType.PRE_ARRIVAL, payload)
            receivers.append(authority)
        return receivers
