"""A customs authority's border node: the pre-arrival declarations, control results and TIR
transports it received, its own crossing records, and the officer's steps at its border.

Lanes come from this country's rule file over what this node's store holds: the declaration
version in force, the control results other member states sent, the seals found on arrival. At
release the node signs off a control result and sends it to the customs of the countries still
ahead on the route and to the trade node; the next country recognises it (no re-inspection of a
green cargo under the same intact seals) unless a broken seal or a red finding overrides it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from kervan.customs.crossing import BorderCrossingRecord, CrossingState
from kervan.customs.declaration import (
    DeclarationContent,
    DeclarationVersion,
    PreArrivalDelivery,
)
from kervan.customs.offices import CustomsOffices
from kervan.customs.permits import Trip, record_permit_use
from kervan.customs.recognition import ControlResult, InspectionResult, LaneDecision, decide_lane
from kervan.customs.risk import assess
from kervan.customs.rules import load_rules
from kervan.customs.tir import end_operation, start_operation
from kervan.customs.worklist import WorkList, work_list
from kervan.documents.epermit import ActivityType, Permit, PermitRecord
from kervan.documents.etir import TirState, TirTransport
from kervan.documents.goods import Seal
from kervan.documents.parties import PartyRole, SignatureEvidence
from kervan.errors import (
    CustomsRouteError,
    DocumentValidationError,
    IllegalTransitionError,
    NotFoundError,
    PermitRefusedError,
)
from kervan.exchange.channels import Clock, utc_now
from kervan.exchange.envelope import CrossBorderMessage, MessageType
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
    declarations,
    keep_tir,
    lodged_by,
    permit_of,
    permits_of,
    read,
    save_crossing,
    save_permit,
    text,
    tir_of,
)
from kervan.signatures.encoding import rfc3339
from kervan.signatures.keys import Signer
from kervan.signatures.trustlist import TrustList

_OPEN = frozenset({CrossingState.EXPECTED, CrossingState.ARRIVED})


class CustomsBorderService(BorderService):
    """The border node of one country's customs (see the module docstring)."""

    def __init__(
        self,
        country: str,
        *,
        directory: Directory,
        offices: CustomsOffices,
        trust: TrustList,
        signer: Signer,
        clock: Clock = utc_now,
    ) -> None:
        super().__init__(directory.customs_of(country), signer)
        self.country = country
        self.directory = directory
        self.offices = offices
        self.trust = trust
        self.clock = clock

    # -- received messages ---------------------------------------------------------------------

    def handle(self, session: Session, message: CrossBorderMessage) -> None:
        """Apply a PRE_ARRIVAL, CONTROL_RESULT or TIR_OPERATION message; refuse anything else."""
        if message.type is MessageType.PRE_ARRIVAL:
            self._receive_declaration(session, message)
        elif message.type is MessageType.CONTROL_RESULT:
            self._receive_control(session, message)
        elif message.type is MessageType.TIR_OPERATION:
            transport = read(message, "transport", TirTransport)
            keep_tir(session, self.authority, text(message, "shipment"), transport, self.clock())
        else:
            self.refuse(message)

    def _receive_declaration(self, session: Session, message: CrossBorderMessage) -> None:
        version = read(message, "declaration", DeclarationVersion)
        now = self.clock()
        add_declaration_version(session, self.authority, version, message.sender, now)
        content = version.content
        passage = content.route.passage(self.country)
        delivery = PreArrivalDelivery(
            shipment=content.shipment,
            country=self.country,
            office=passage.entry_office,
            version=version.number,
            delivered_at=now,
            expected_arrival=passage.expected_entry,
        )
        decision = self._decide(session, content, on=now)
        record = self._record_or_none(session, content.shipment)
        if record is None:
            place = self.offices.get(passage.entry_office).place
            record = BorderCrossingRecord.expect(delivery, passage, decision, place)
        else:
            record = record.amend(delivery, decision)
        self._save(session, record, report=False)

    def _receive_control(self, session: Session, message: CrossBorderMessage) -> None:
        control = read(message, "control", ControlResult)
        if control.country == self.country:
            raise DocumentValidationError(f"{message.sender} sent {self.country} its own control")
        add_control(session, self.authority, control, message.sender, self.clock())
        record = self._record_or_none(session, control.shipment)
        if record is not None and record.state in _OPEN:
            content = self._content(session, record)
            at = record.arrived_at or self.clock()
            decision = self._decide(
                session, content, on=at, seals=record.seals_found, office=record.arrival_office
            )
            self._save(session, record.reassess(decision), report=False)

    # -- what the officer sees ----------------------------------------------------------------

    def work_list(self, session: Session, office: str) -> WorkList:
        """The work list of one of this country's offices, from this node's store only."""
        if self.offices.get(office).country != self.country:
            raise NotFoundError("customs office", office)
        records = [
            BorderCrossingRecord.model_validate_json(row.body)
            for row in crossing_rows(session, self.authority, country=self.country)
        ]
        return work_list(office, records, declarations(session, self.authority))

    def record(self, session: Session, shipment: str) -> BorderCrossingRecord:
        """This country's crossing record of the shipment (NotFoundError if none)."""
        record = self._record_or_none(session, shipment)
        if record is None:
            raise NotFoundError("border crossing", f"{shipment} into {self.country}")
        return record

    def controls(self, session: Session, shipment: str) -> list[ControlResult]:
        """The control results this node holds for the shipment (its own included)."""
        return controls_of(session, self.authority, shipment)

    def tir(self, session: Session, shipment: str) -> TirTransport | None:
        """This node's copy of the shipment's TIR transport."""
        return tir_of(session, self.authority, shipment)

    def permits(self, session: Session, shipment: str) -> list[PermitRecord]:
        """The permits controlled at this border for the shipment, with their usages."""
        return permits_of(session, self.authority, shipment)

    # -- the officer's steps --------------------------------------------------------------------

    def arrive(
        self,
        session: Session,
        shipment: str,
        *,
        at: datetime,
        office: str | None = None,
        seals: tuple[Seal, ...] | None = None,
        permit: Mapping[str, Any] | None = None,
    ) -> BorderCrossingRecord:
        """The cargo reaches `office` (the planned entry office if None) with `seals` (the
        declared ones if None), presenting `permit` (an e-Permit in wire form) if it is a
        truck. Decides the lane on arrival, starts this country's TIR operation and records the
        permit's ENTRANCE (PermitRefusedError refuses the truck and records nothing)."""
        record = self.record(session, shipment)
        content = self._content(session, record)
        office = office or record.entry_office
        found = seals if seals is not None else content.transport.all_seals()
        decision = self._decide(session, content, on=at, seals=found, office=office)
        record = record.arrive(at, office, found, decision)
        if permit is not None:
            self._use_permit(session, content, _presented(permit), ActivityType.ENTRANCE, at)
        transport = self.tir(session, shipment)
        if transport is not None:
            transport = start_operation(
                transport, record, self._act_ref(transport, "start", record.arrival_office, at)
            )
            self._tir_moved(session, content, transport, "started")
        self._save(session, record)
        return record

    def check_documents(
        self,
        session: Session,
        shipment: str,
        *,
        at: datetime,
        passed: bool,
        note: str | None = None,
    ) -> BorderCrossingRecord:
        """The documentary check against the declaration version in force."""
        record = self.record(session, shipment).check_documents(at, passed, note)
        self._save(session, record)
        return record

    def inspect(
        self,
        session: Session,
        shipment: str,
        *,
        at: datetime,
        result: InspectionResult,
        note: str | None = None,
        seals_after: tuple[Seal, ...] | None = None,
    ) -> BorderCrossingRecord:
        """A physical inspection; `seals_after` when the officer sealed the load again."""
        record = self.record(session, shipment).inspect(at, result, note, seals_after)
        self._save(session, record)
        return record

    def release(self, session: Session, shipment: str, *, at: datetime) -> BorderCrossingRecord:
        """Release the goods (refused while the lane still needs an inspection) and send the
        signed control result to the customs ahead on the route and to the trade node."""
        record = self.record(session, shipment)
        seals = record.seals_now or ()
        ref = self.sign_ref(
            {
                "shipment": shipment,
                "country": self.country,
                "office": record.arrival_office,
                "at": rfc3339(at),
                "seals": {s.number: s.condition.value for s in seals},
            }
        )
        record = record.release(at, ref)
        control = record.control_result
        assert control is not None
        add_control(session, self.authority, control, self.authority, self.clock())
        content = self._content(session, record)
        payload = {"shipment": shipment, "control": as_json(control)}
        for receiver in self._ahead(session, content):
            self.send(session, receiver, MessageType.CONTROL_RESULT, payload)
        self._save(session, record)
        return record

    def detain(
        self, session: Session, shipment: str, *, at: datetime, reason: str
    ) -> BorderCrossingRecord:
        """Hold the goods after a failed documentary check or a discrepancy."""
        record = self.record(session, shipment).detain(at, reason)
        self._save(session, record)
        return record

    def exit(
        self, session: Session, shipment: str, *, at: datetime, office: str | None = None
    ) -> BorderCrossingRecord:
        """The cargo leaves through `office` (the planned exit office if None): terminate and
        discharge this country's TIR operation, record the permits' EXIT."""
        record = self.record(session, shipment)
        record = record.exit(at, office or record.exit_office)
        content = self._content(session, record)
        transport = self.tir(session, shipment)
        if transport is not None:
            transport = end_operation(
                transport, record, self._act_ref(transport, "end", record.exit_office_used, at)
            )
            self._tir_moved(session, content, transport, "discharged")
        for held in self.permits(session, shipment):
            if held.permit.permit_issued_for == self.country:
                self._use_permit(session, content, held.permit, ActivityType.EXIT, at)
        self._save(session, record)
        return record

    def accept_tir(self, session: Session, shipment: str, *, at: datetime) -> TirTransport:
        """As customs of departure, accept the holder's submitted TIR transport and send it to
        the customs of the other itinerary countries and to the trade node."""
        transport = self.tir(session, shipment)
        if transport is None:
            raise NotFoundError("TIR transport of shipment", shipment)
        departure = transport.data.office_of_departure
        if departure.country != self.country or transport.state is not TirState.SUBMITTED:
            raise IllegalTransitionError(
                transport.label,
                f"accept it at {self.authority}",
                transport.state.value,
                [f"customs of {departure.country} accepts a submitted transport"],
            )
        ref = self._act_ref(transport, "accept", departure.id, at)
        evidence = SignatureEvidence(
            party_id=departure.id,
            role=PartyRole.CUSTOMS_OFFICE,
            signed_at=at,
            document_version=transport.versions[-1].number,
            signature_ref=ref,
        )
        transport = transport.accept(evidence)
        declaration = declaration_of(session, self.authority, shipment)
        if declaration is None:
            raise NotFoundError("pre-arrival declaration", shipment)
        self._tir_moved(session, declaration.current.content, transport, "accepted")
        return transport

    # -- inside ---------------------------------------------------------------------------------

    def _record_or_none(self, session: Session, shipment: str) -> BorderCrossingRecord | None:
        rows = crossing_rows(session, self.authority, shipment=shipment, country=self.country)
        return BorderCrossingRecord.model_validate_json(rows[0].body) if rows else None

    def _content(self, session: Session, record: BorderCrossingRecord) -> DeclarationContent:
        declaration = declaration_of(session, self.authority, record.shipment)
        if declaration is None:
            raise NotFoundError("pre-arrival declaration", record.shipment)
        return declaration.version(record.declaration_version).content

    def _decide(
        self,
        session: Session,
        content: DeclarationContent,
        *,
        on: datetime,
        seals: tuple[Seal, ...] | None = None,
        office: str | None = None,
    ) -> LaneDecision:
        """The lane from this country's rules and the controls this node holds."""
        rules = load_rules(self.country)
        controls = [
            c
            for c in controls_of(session, self.authority, content.shipment)
            if c.country != self.country
        ]
        passed = tuple(c.country for c in controls) + ((self.country,) if office else ())
        risk = assess(
            content,
            self.country,
            rules,
            on=on.date(),
            seals_observed=seals,
            arrival_office=office,
            countries_passed=passed,
        )
        now = seals if seals is not None else content.transport.all_seals()
        return decide_lane(risk, rules, controls, now)

    def _ahead(self, session: Session, content: DeclarationContent) -> list[str]:
        """The customs of the countries after this one on the route, then the trade node."""
        countries = [p.country for p in content.route.passages]
        if self.country not in countries:
            raise CustomsRouteError(
                f"the route of {content.shipment} does not enter {self.country}"
            )
        after = countries[countries.index(self.country) + 1 :]
        trade = lodged_by(session, self.authority, content.shipment)
        return [*(self.directory.customs_of(c) for c in after), trade]

    def _save(self, session: Session, record: BorderCrossingRecord, *, report: bool = True) -> None:
        save_crossing(
            session,
            self.authority,
            record.shipment,
            self.country,
            record.state,
            record.entry_office,
            record,
            self.clock(),
        )
        if report:
            trade = lodged_by(session, self.authority, record.shipment)
            payload = {"shipment": record.shipment, "crossing": as_json(CrossingReport.of(record))}
            self.send(session, trade, MessageType.BORDER_CROSSING, payload)

    def _act_ref(self, transport: TirTransport, act: str, office: str | None, at: datetime) -> str:
        return self.sign_ref(
            {
                "tir": transport.tir_reference,
                "act": act,
                "country": self.country,
                "office": office,
                "at": rfc3339(at),
            }
        )

    def _tir_moved(
        self, session: Session, content: DeclarationContent, transport: TirTransport, act: str
    ) -> None:
        keep_tir(session, self.authority, content.shipment, transport, self.clock())
        payload = {
            "shipment": content.shipment,
            "act": act,
            "country": self.country,
            "transport": as_json(transport),
        }
        itinerary = transport.data.itinerary
        after = itinerary[itinerary.index(self.country) + 1 :]
        receivers = [*(self.directory.customs_of(c) for c in after)]
        receivers.append(lodged_by(session, self.authority, content.shipment))
        for receiver in receivers:
            self.send(session, receiver, MessageType.TIR_OPERATION, payload)

    def _use_permit(
        self,
        session: Session,
        content: DeclarationContent,
        permit: Permit,
        activity: ActivityType,
        at: datetime,
    ) -> None:
        vehicles = content.transport.vehicles
        if not vehicles:
            raise PermitRefusedError(permit.permit_id, "plate_mismatch", "no vehicle declared")
        held = permit_of(session, self.authority, permit.permit_id) or PermitRecord(permit=permit)
        record = record_permit_use(
            held,
            permit.qr_code or "",
            self.trust,
            activity=activity,
            control_country=self.country,
            at=at,
            vehicles=vehicles,
            trip=Trip(vehicles[0].country, content.loading_country, content.unloading_country),
            rules=load_rules(self.country).permits,
            details=f"{self.authority} {content.shipment}",
        )
        save_permit(session, self.authority, content.shipment, "controlled", record, self.clock())
        payload = {
            "event": "used",
            "shipment": content.shipment,
            "permit_id": permit.permit_id,
            "usage": as_json(record.usages[-1]),
        }
        self.send(
            session,
            self.directory.permits_of(permit.permit_issuer),
            MessageType.PERMIT_EVENT,
            payload,
        )


def _presented(wire: Mapping[str, Any]) -> Permit:
    """The permit a driver presents, in the e-Permit wire form."""
    try:
        return Permit.model_validate(dict(wire))
    except ValidationError as exc:
        raise PermitRefusedError(
            str(wire.get("permit_id", "?")), "qr_claims", f"not an e-Permit: {exc}"
        ) from exc
