"""The trade node's side of the corridor: the node where the shipment is booked (the shipper's).

When the carrier takes the cargo over, the node lodges the pre-arrival declaration (built from
the booked shipment by `services.customs.declaration`) and sends it, signed, to the customs of
every country on the route; an amendment goes out as the next version. It asks each permit
authority on the route for the truck's e-Permit (the permit authority's node issues it from its
quota and signs its QR code), submits the holder's TIR transport to the customs of departure,
and keeps what the customs nodes report: crossings, control results, the TIR transport's
progress. Its view of a shipment is computed from its own store only.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from kervan.customs.declaration import DeclarationContent, DeclarationVersion, PreArrivalDeclaration
from kervan.customs.recognition import ControlResult
from kervan.customs.tir import advance_tir_data
from kervan.documents.epermit import Permit, PermitRecord
from kervan.documents.etir import Guarantee, TirTransport
from kervan.documents.parties import PartyRole, SignatureEvidence
from kervan.errors import InvalidRequestError, NotFoundError
from kervan.exchange.envelope import CrossBorderMessage, MessageType
from kervan.services.access import Caller
from kervan.services.border_node import (
    BorderService,
    CrossingReport,
    Directory,
    add_control,
    add_declaration_version,
    as_json,
    controls_of,
    crossing_rows,
    declaration_of,
    keep_tir,
    permits_of,
    read,
    save_crossing,
    save_permit,
    text,
    tir_of,
)
from kervan.services.customs import declaration as declaration_content
from kervan.services.node import NodeContext
from kervan.services.shipments import EventRequest, add_event, party_of, plan_of
from kervan.shipments.booking import Cargo
from kervan.shipments.events import EventType
from kervan.signatures.canonical import JsonValue, canonical_json
from kervan.signatures.encoding import rfc3339
from kervan.signatures.jws import sign_detached
from kervan.signatures.keys import Signer
from kervan.store.repositories.documents import DocumentRepository
from kervan.store.repositories.shipments import Shipment
from kervan.store.tables import ShipmentDocumentRow, ShipmentPartyRow
from kervan.store.uow import UnitOfWork

PERMIT_TYPES = {"bilateral": 1, "transit": 2, "third-country": 3}


class TradeView(BaseModel):
    """The shipment as the trade node knows it from what it lodged and what it was told."""

    shipment: str
    declaration_version: int
    crossings: list[CrossingReport]
    controls: list[ControlResult]
    tir_state: str | None
    tir_operations: dict[str, str]
    permits: list[PermitRecord]


class TradeBorderService(BorderService):
    """The trade node's border service (see the module docstring)."""

    def __init__(
        self, authority: str, *, ctx: NodeContext, directory: Directory, signer: Signer
    ) -> None:
        super().__init__(authority, signer)
        self.ctx = ctx
        self.directory = directory

    # -- received messages ---------------------------------------------------------------------

    def handle(self, session: Session, message: CrossBorderMessage) -> None:
        """Keep CONTROL_RESULT, TIR_OPERATION, BORDER_CROSSING and issued PERMIT_EVENTs."""
        now = self.ctx.clock()
        if message.type is MessageType.CONTROL_RESULT:
            control = read(message, "control", ControlResult)
            self._shipment(session, control.shipment)
            add_control(session, self.authority, control, message.sender, now)
        elif message.type is MessageType.TIR_OPERATION:
            shipment = self._shipment(session, text(message, "shipment")).id
            keep_tir(
                session, self.authority, shipment, read(message, "transport", TirTransport), now
            )
        elif message.type is MessageType.BORDER_CROSSING:
            report = read(message, "crossing", CrossingReport)
            self._shipment(session, report.shipment)
            save_crossing(
                session,
                self.authority,
                report.shipment,
                report.country,
                report.state,
                report.entry_office,
                report,
                now,
            )
        elif message.type is MessageType.PERMIT_EVENT and message.payload.get("event") == "issued":
            shipment = self._shipment(session, text(message, "shipment")).id
            permit = read(message, "permit", Permit)
            save_permit(session, self.authority, shipment, "held", PermitRecord(permit=permit), now)
        else:
            self.refuse(message)

    # -- the trade side's steps -----------------------------------------------------------------

    def take_over(
        self, session: Session, carrier: Caller, shipment_id: str, *, at: datetime
    ) -> DeclarationVersion:
        """The carrier takes the cargo over: record it on the shipment, lodge version 1 of the
        pre-arrival declaration and send it to the customs of every country on the route."""
        add_event(
            UnitOfWork.joining(session, self.ctx),
            carrier,
            shipment_id,
            EventRequest(type=EventType.TAKEN_OVER, at=at),
        )
        row = self._shipment(session, shipment_id)
        content = declaration_content(self.ctx, session, row, plan_of(row))
        return self._lodge(session, PreArrivalDeclaration.lodge(content, at).current)

    def amend(
        self, session: Session, content: DeclarationContent, *, reason: str, at: datetime
    ) -> DeclarationVersion:
        """Lodge an amendment (the next version, with what changed) and send it on."""
        held = declaration_of(session, self.authority, content.shipment)
        if held is None:
            raise NotFoundError("pre-arrival declaration", content.shipment)
        return self._lodge(session, held.amend(content, at, reason).current)

    def request_permits(self, session: Session, shipment_id: str, *, valid_days: int = 90) -> int:
        """Ask the permit authority of each country the truck enters for the permit the booking
        requested; out, how many requests went."""
        row = self._shipment(session, shipment_id)
        cargo = Cargo.model_validate_json(row.cargo)
        if not cargo.vehicle_plates:
            raise InvalidRequestError(f"shipment {shipment_id} names no truck for a permit")
        carrier = party_of(UnitOfWork.joining(session), self._role(session, row, "road_carrier"))
        countries = row.countries.split()
        repository = DocumentRepository(session)
        links = session.scalars(
            select(ShipmentDocumentRow).where(
                ShipmentDocumentRow.org_id == row.org_id,
                ShipmentDocumentRow.shipment_id == row.id,
                ShipmentDocumentRow.kind == "e-Permit",
            )
        ).all()
        for link in links:
            request = repository.get_version(link.document_id, 1, org_ids=[row.org_id]).content()
            content = request["content"]
            assert isinstance(content, dict)
            issuer = str(content["permit_issuer_country"])
            payload: dict[str, JsonValue] = {
                "event": "requested",
                "shipment": row.id,
                "request_id": link.document_id,
                "permit_type": PERMIT_TYPES[str(content["permit_type"])],
                "issued_for": carrier.country,
                "year": cargo.date_of_taking_over.year,
                "plate_number": cargo.vehicle_plates[0].number,
                "company_name": carrier.name,
                "company_id": carrier.id,
                "issued_at": cargo.date_of_taking_over.isoformat(),
                "valid_days": valid_days,
                "departure_country": countries[0],
                "arrival_country": countries[-1],
            }
            self.send(session, self.directory.permits_of(issuer), MessageType.PERMIT_EVENT, payload)
        return len(links)

    def submit_tir(
        self,
        session: Session,
        shipment_id: str,
        *,
        guarantee_reference: str,
        valid_from: date,
        valid_until: date,
        at: datetime,
    ) -> TirTransport:
        """The guarantee chain registers the guarantee and the holder (the road carrier) submits
        the advance TIR data for the declared route; both sign with their keys on this node. The
        transport goes to the customs of departure, which accepts it."""
        row = self._shipment(session, shipment_id)
        declaration = declaration_of(session, self.authority, shipment_id)
        if declaration is None:
            raise InvalidRequestError(f"lodge the declaration of {shipment_id} first")
        link = session.scalars(
            select(ShipmentDocumentRow).where(
                ShipmentDocumentRow.org_id == row.org_id,
                ShipmentDocumentRow.shipment_id == row.id,
                ShipmentDocumentRow.kind == "e-TIR",
            )
        ).one_or_none()
        if link is None:
            raise NotFoundError("e-TIR transport of shipment", shipment_id)
        chain = party_of(UnitOfWork.joining(session), self._role(session, row, "guarantee_chain"))
        holder = party_of(UnitOfWork.joining(session), self._role(session, row, "road_carrier"))
        cargo = Cargo.model_validate_json(row.cargo)
        content = declaration.current.content
        data = advance_tir_data(
            content.route,
            self.ctx.customs_offices(),
            holder=holder,
            guarantee_reference=guarantee_reference,
            goods=content.goods,
            vehicle=cargo.vehicle_plates,
            seals=content.transport.all_seals(),
            containers=cargo.containers,
        )
        guarantee = Guarantee.register(
            guarantee_reference,
            chain,
            holder.id,
            valid_from,
            valid_until,
            self._evidence(session, chain.id, PartyRole.GUARANTEE_CHAIN, link.document_id, at),
        )
        transport = TirTransport.submit(
            link.document_id,
            guarantee,
            data,
            self._evidence(session, holder.id, PartyRole.HOLDER, link.document_id, at),
        )
        keep_tir(session, self.authority, shipment_id, transport, self.ctx.clock())
        departure = self.directory.customs_of(data.itinerary[0])
        payload: dict[str, JsonValue] = {
            "shipment": shipment_id,
            "act": "submitted",
            "country": data.itinerary[0],
            "transport": as_json(transport),
        }
        self.send(session, departure, MessageType.TIR_OPERATION, payload)
        return transport

    # -- what the trade side sees ---------------------------------------------------------------

    def view(self, session: Session, shipment_id: str) -> TradeView:
        """The shipment's corridor state from this node's store."""
        declaration = declaration_of(session, self.authority, shipment_id)
        if declaration is None:
            raise NotFoundError("pre-arrival declaration", shipment_id)
        transport = tir_of(session, self.authority, shipment_id)
        return TradeView(
            shipment=shipment_id,
            declaration_version=declaration.current.number,
            crossings=[
                CrossingReport.model_validate_json(r.body)
                for r in crossing_rows(session, self.authority, shipment=shipment_id)
            ],
            controls=controls_of(session, self.authority, shipment_id),
            tir_state=transport.state.value if transport else None,
            tir_operations={o.country: o.state.value for o in transport.operations}
            if transport
            else {},
            permits=permits_of(session, self.authority, shipment_id),
        )

    def declaration(self, session: Session, shipment_id: str) -> PreArrivalDeclaration:
        """The declaration as lodged, every version."""
        held = declaration_of(session, self.authority, shipment_id)
        if held is None:
            raise NotFoundError("pre-arrival declaration", shipment_id)
        return held

    def permits(self, session: Session, shipment_id: str) -> list[PermitRecord]:
        """The permits the permit authorities issued for the shipment (the driver's copies)."""
        return permits_of(session, self.authority, shipment_id)

    def permit_for(self, session: Session, shipment_id: str, country: str) -> Permit:
        """The permit of `country` the driver carries for the shipment (NotFoundError if the
        authority has not issued it yet)."""
        for record in permits_of(session, self.authority, shipment_id):
            if record.permit.permit_issuer == country:
                return record.permit
        raise NotFoundError("e-Permit", f"{country} for {shipment_id}")

    # -- inside ---------------------------------------------------------------------------------

    def _lodge(self, session: Session, version: DeclarationVersion) -> DeclarationVersion:
        content = version.content
        add_declaration_version(session, self.authority, version, self.authority, version.lodged_at)
        payload = {"shipment": content.shipment, "declaration": as_json(version)}
        for passage in content.route.passages:
            receiver = self.directory.customs_of(passage.country)
            self.send(session, receiver, MessageType.PRE_ARRIVAL, payload)
        return version

    def _shipment(self, session: Session, shipment_id: str) -> Shipment:
        row = UnitOfWork.joining(session).shipments.find(shipment_id)
        if row is None:
            raise NotFoundError("shipment", shipment_id)
        return row

    def _role(self, session: Session, row: Shipment, role: str) -> str:
        org_id = session.scalars(
            select(ShipmentPartyRow.party_org_id).where(
                ShipmentPartyRow.org_id == row.org_id,
                ShipmentPartyRow.shipment_id == row.id,
                ShipmentPartyRow.role == role,
            )
        ).first()
        if org_id is None:
            raise InvalidRequestError(f"shipment {row.id} has no {role.replace('_', ' ')}")
        return org_id

    def _evidence(
        self, session: Session, org_id: str, role: PartyRole, reference: str, at: datetime
    ) -> SignatureEvidence:
        signer = self.ctx.signer(session, org_id)
        claims = {"tir": reference, "role": role.value, "party": org_id, "at": rfc3339(at)}
        return SignatureEvidence(
            party_id=org_id,
            role=role,
            signed_at=at,
            document_version=1,
            signature_ref=sign_detached(canonical_json(claims), signer),
        )
