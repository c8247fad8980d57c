"""The CIM/SMGS rail consignment note: one note valid under CIM (COTIF) and SMGS (OSJD) law.

The route is a chain of rail sections, each run by one railway on one gauge under one law. Where
the railway, gauge or law changes (Dostyk, Akhalkalaki, Brest) the next railway takes the goods
over by signing the note.

    draft -> issued (consignor) -> accepted (forwarding railway) -> in_transit (departure)
        -> each next railway takes over at its change point -> delivered (consignee)
"""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Annotated, ClassVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from kervan.documents.goods import Container, NonEmptyGoods, Seal
from kervan.documents.lifecycle import require_signatory, require_step
from kervan.documents.limits import MAX_CONTAINERS, MAX_SEALS, MAX_WAGONS, check_wagon_number
from kervan.documents.parties import CountryCode, NonBlank, Party, PartyRole, SignatureEvidence
from kervan.errors import IllegalTransitionError


class Gauge(IntEnum):
    """Track gauge in millimetres."""

    STANDARD = 1435
    BROAD = 1520


class RailLaw(StrEnum):
    """The transport law of a section: CIM (COTIF; Europe, Turkiye) or SMGS (OSJD; CIS, China)."""

    CIM = "CIM"
    SMGS = "SMGS"


class Station(BaseModel):
    """A railway station, by name, code and country.

    `code` is the UIC/ESR station code where the railway gives one, otherwise the corridor
    network's node id (its UN/LOCODE, or a Kervan id such as "KZ-DOSTYK").
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: NonBlank
    code: Annotated[
        str, Field(pattern=r"^[0-9]{4,8}$|^[A-Z]{2}[A-Z0-9]{3}$|^[A-Z]{2}-[A-Z0-9-]{2,20}$")
    ]
    country: CountryCode


class RailSection(BaseModel):
    """One stretch of the route run by one railway on one gauge under one law."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    railway: Party
    from_station: Station
    to_station: Station
    gauge: Gauge
    law: RailLaw

    @model_validator(mode="after")
    def _distinct(self) -> RailSection:
        if self.from_station.code == self.to_station.code:
            raise ValueError("a rail section must run between two different stations")
        return self


class ChangePoint(BaseModel):
    """Where one section ends and the next begins, and what changes there."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    station: Station
    section_index: int  # the index of the section that begins here
    railway_changes: bool
    gauge_changes: bool
    law_changes: bool


class Wagon(BaseModel):
    """A wagon by its 12-digit UIC number, with its seals."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    number: Annotated[
        str, Field(pattern=r"^[0-9]{8}([0-9]{4})?$"), AfterValidator(check_wagon_number)
    ]
    seals: tuple[Seal, ...] = Field(default=(), max_length=MAX_SEALS)


class CimSmgsContent(BaseModel):
    """What one version of a CIM/SMGS note says."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    consignor: Party
    consignee: Party
    route: Annotated[tuple[RailSection, ...], Field(min_length=1)]
    goods: NonEmptyGoods
    wagons: tuple[Wagon, ...] = Field(default=(), max_length=MAX_WAGONS)
    containers: tuple[Container, ...] = Field(default=(), max_length=MAX_CONTAINERS)

    @model_validator(mode="after")
    def _route_connects(self) -> CimSmgsContent:
        for before, after in zip(self.route, self.route[1:], strict=False):
            if before.to_station.code != after.from_station.code:
                raise ValueError(
                    f"the route breaks between {before.to_station.name} and "
                    f"{after.from_station.name}: each section starts where the last one ended"
                )
        if not self.wagons and not self.containers:
            raise ValueError("name the wagons or containers the goods travel in")
        return self

    @property
    def forwarding_station(self) -> Station:
        return self.route[0].from_station

    @property
    def destination_station(self) -> Station:
        return self.route[-1].to_station

    @property
    def change_points(self) -> tuple[ChangePoint, ...]:
        """Every station where the railway, the gauge or the law changes, in route order."""
        points = []
        for i, (a, b) in enumerate(zip(self.route, self.route[1:], strict=False), start=1):
            changes = (a.railway.id != b.railway.id, a.gauge != b.gauge, a.law != b.law)
            if any(changes):
                points.append(
                    ChangePoint(
                        station=b.from_station,
                        section_index=i,
                        railway_changes=changes[0],
                        gauge_changes=changes[1],
                        law_changes=changes[2],
                    )
                )
        return tuple(points)

    @property
    def railways_in_order(self) -> tuple[Party, ...]:
        """The railways that carry the goods, in the order they take over."""
        return tuple(railway for railway, _ in self.handovers)

    @property
    def handovers(self) -> tuple[tuple[Party, Station], ...]:
        """(railway, station where it takes the goods over), in route order; the first is the
        forwarding railway at the forwarding station."""
        order: list[tuple[Party, Station]] = []
        for section in self.route:
            if not order or order[-1][0].id != section.railway.id:
                order.append((section.railway, section.from_station))
        return tuple(order)


class CimSmgsState(StrEnum):
    DRAFT = "draft"
    ISSUED = "issued"
    ACCEPTED = "accepted"
    IN_TRANSIT = "in_transit"
    DELIVERED = "delivered"


class CimSmgsStep(StrEnum):
    ISSUE = "issue the note"
    ACCEPT = "accept the goods at the forwarding station"
    DEPART = "dispatch the train"
    TAKE_OVER = "take over at a change point"
    DELIVER = "deliver"


TRANSITIONS: dict[CimSmgsState, frozenset[CimSmgsStep]] = {
    CimSmgsState.DRAFT: frozenset({CimSmgsStep.ISSUE}),
    CimSmgsState.ISSUED: frozenset({CimSmgsStep.ACCEPT}),
    CimSmgsState.ACCEPTED: frozenset({CimSmgsStep.DEPART}),
    CimSmgsState.IN_TRANSIT: frozenset({CimSmgsStep.TAKE_OVER, CimSmgsStep.DELIVER}),
    CimSmgsState.DELIVERED: frozenset(),
}


class RailAct(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    step: CimSmgsStep
    evidence: SignatureEvidence
    station: Station | None = None


class CimSmgsNote(BaseModel):
    """A CIM/SMGS consignment note, its signed acts and which railway holds the goods."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    note_id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._/-]+$")]
    content: CimSmgsContent
    created_at: AwareDatetime
    state: CimSmgsState = CimSmgsState.DRAFT
    acts: tuple[RailAct, ...] = ()
    railways_taken_over: Annotated[int, Field(ge=0)] = 0

    version: ClassVar[int] = (
        1  # the note's content is fixed once drafted; every signature is on version 1
    )

    @property
    def label(self) -> str:
        return f"CIM/SMGS note {self.note_id}"

    @property
    def railway_in_charge(self) -> Party | None:
        """The railway holding the goods now (None before acceptance)."""
        if self.railways_taken_over == 0:
            return None
        return self.content.railways_in_order[self.railways_taken_over - 1]

    def next_railway(self) -> Party | None:
        """The railway that takes over next, or None when the last one has the goods."""
        order = self.content.railways_in_order
        return order[self.railways_taken_over] if self.railways_taken_over < len(order) else None

    def allowed_steps(self) -> frozenset[CimSmgsStep]:
        """The steps possible now, given the state and how far along the route the goods are."""
        allowed = set(TRANSITIONS[self.state])
        if self.state is CimSmgsState.IN_TRANSIT:
            allowed.discard(
                CimSmgsStep.DELIVER if self.next_railway() is not None else CimSmgsStep.TAKE_OVER
            )
        return frozenset(allowed)

    def _step(
        self, step: CimSmgsStep, evidence: SignatureEvidence, party: Party, role: PartyRole
    ) -> None:
        require_step(self.label, step, self.state, TRANSITIONS)
        if step not in self.allowed_steps():
            raise IllegalTransitionError(
                self.label,
                step,
                f"{self.state.value} ({self.railways_taken_over} of "
                f"{len(self.content.railways_in_order)} railways have taken over)",
                sorted(s.value for s in self.allowed_steps()),
            )
        require_signatory(
            self.label, step, evidence, party_ids={party.id}, role=role, version=self.version
        )

    def issue(self, evidence: SignatureEvidence) -> CimSmgsNote:
        """The consignor signs the note: draft -> issued."""
        self._step(CimSmgsStep.ISSUE, evidence, self.content.consignor, PartyRole.CONSIGNOR)
        act = RailAct(step=CimSmgsStep.ISSUE, evidence=evidence)
        return self.model_copy(update={"state": CimSmgsState.ISSUED, "acts": (*self.acts, act)})

    def accept(self, evidence: SignatureEvidence) -> CimSmgsNote:
        """The forwarding railway accepts goods and note at the forwarding station."""
        first = self.content.route[0]
        self._step(CimSmgsStep.ACCEPT, evidence, first.railway, PartyRole.CARRIER)
        act = RailAct(step=CimSmgsStep.ACCEPT, evidence=evidence, station=first.from_station)
        return self.model_copy(
            update={
                "state": CimSmgsState.ACCEPTED,
                "acts": (*self.acts, act),
                "railways_taken_over": 1,
            }
        )

    def depart(self, evidence: SignatureEvidence) -> CimSmgsNote:
        """The forwarding railway dispatches the train: accepted -> in_transit."""
        first = self.content.route[0]
        self._step(CimSmgsStep.DEPART, evidence, first.railway, PartyRole.CARRIER)
        act = RailAct(step=CimSmgsStep.DEPART, evidence=evidence, station=first.from_station)
        return self.model_copy(update={"state": CimSmgsState.IN_TRANSIT, "acts": (*self.acts, act)})

    def take_over(self, evidence: SignatureEvidence) -> CimSmgsNote:
        """The next railway on the route signs for the goods at its change point."""
        handovers = self.content.handovers
        index = min(self.railways_taken_over, len(handovers) - 1)
        party, station = handovers[index]
        self._step(CimSmgsStep.TAKE_OVER, evidence, party, PartyRole.SUCCESSIVE_CARRIER)
        act = RailAct(step=CimSmgsStep.TAKE_OVER, evidence=evidence, station=station)
        return self.model_copy(
            update={"acts": (*self.acts, act), "railways_taken_over": self.railways_taken_over + 1}
        )

    def deliver(self, evidence: SignatureEvidence) -> CimSmgsNote:
        """The consignee signs for the goods at the destination station: -> delivered."""
        self._step(CimSmgsStep.DELIVER, evidence, self.content.consignee, PartyRole.CONSIGNEE)
        act = RailAct(
            step=CimSmgsStep.DELIVER, evidence=evidence, station=self.content.destination_station
        )
        return self.model_copy(update={"state": CimSmgsState.DELIVERED, "acts": (*self.acts, act)})
