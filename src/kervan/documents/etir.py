"""eTIR (TIR Convention Annex 11): guarantee, advance TIR data and the TIR operations.

    guarantee:  registered -> in_use -> (released when the transport ends)
                registered -> cancelled            (the chain cancels while unused)
                in_use -> cancellation pending      (effect at the start of the next operation)
    transport:  submitted (amendments make versions) -> accepted -> ended
    operation per itinerary country, in order: pending -> started -> terminated -> discharged

Every step returns a new value. Illegal steps raise IllegalTransitionError, wrong signatories
SignatoryError, a guarantee that cannot cover a step GuaranteeNotValidError.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from kervan.documents.goods import Container, NonEmptyGoods, Seal, VehiclePlate
from kervan.documents.lifecycle import require_signatory
from kervan.documents.parties import CountryCode, Party, PartyRole, SignatureEvidence
from kervan.errors import DocumentValidationError, GuaranteeNotValidError, IllegalTransitionError

GuaranteeReference = Annotated[str, Field(pattern=r"^[A-Z]{2}\d{8,10}$")]  # e.g. XG71234567


class GuaranteeState(StrEnum):
    REGISTERED = "registered"
    IN_USE = "in_use"
    CANCELLED = "cancelled"


class Guarantee(BaseModel):
    """A TIR guarantee the guarantee chain registered for a holder, valid between two dates."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reference: GuaranteeReference
    guarantee_chain: Party
    holder_id: str
    valid_from: date
    valid_until: date
    state: GuaranteeState = GuaranteeState.REGISTERED
    # When the chain cancelled it (in use: takes effect at the next operation's start).
    cancellation_requested_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _validity(self) -> Guarantee:
        if self.valid_until < self.valid_from:
            raise ValueError("a guarantee's validity must end on or after its start")
        return self

    @classmethod
    def register(
        cls,
        reference: str,
        guarantee_chain: Party,
        holder_id: str,
        valid_from: date,
        valid_until: date,
        evidence: SignatureEvidence,
    ) -> Guarantee:
        """The guarantee chain registers a guarantee; in, its signature (on version 1)."""
        require_signatory(
            f"TIR guarantee {reference}",
            "register the guarantee",
            evidence,
            party_ids={guarantee_chain.id},
            role=PartyRole.GUARANTEE_CHAIN,
            version=1,
        )
        return cls(
            reference=reference,
            guarantee_chain=guarantee_chain,
            holder_id=holder_id,
            valid_from=valid_from,
            valid_until=valid_until,
        )

    @property
    def cancelled_for_new_operations(self) -> bool:
        """True when no further TIR operation may start under this guarantee."""
        return self.state is GuaranteeState.CANCELLED or self.cancellation_requested_at is not None

    def cancel(self, evidence: SignatureEvidence) -> Guarantee:
        """The guarantee chain cancels: at once if unused, else from the next operation's start."""
        label = f"TIR guarantee {self.reference}"
        step = "cancel the guarantee"
        if self.cancelled_for_new_operations:
            raise IllegalTransitionError(label, step, "cancelled", [])
        require_signatory(
            label,
            step,
            evidence,
            party_ids={self.guarantee_chain.id},
            role=PartyRole.GUARANTEE_CHAIN,
            version=1,
        )
        if self.state is GuaranteeState.REGISTERED:
            return self.model_copy(
                update={
                    "state": GuaranteeState.CANCELLED,
                    "cancellation_requested_at": evidence.signed_at,
                }
            )
        return self.model_copy(update={"cancellation_requested_at": evidence.signed_at})


class AdvanceTirData(BaseModel):
    """The holder's advance TIR data (the declaration) in one version.

    The itinerary lists countries in order; the office of departure is in the first, the office
    of destination in the last, and every country the goods leave or enter en route has its
    en-route offices in `offices_en_route`, in route order: a country's office of entry comes
    first and its office of exit last (one office may be both).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    holder: Party
    guarantee_reference: GuaranteeReference
    itinerary: Annotated[tuple[CountryCode, ...], Field(min_length=1)]
    office_of_departure: Party
    offices_en_route: tuple[Party, ...] = ()
    office_of_destination: Party
    goods: NonEmptyGoods
    seals: tuple[Seal, ...] = ()
    vehicle: Annotated[tuple[VehiclePlate, ...], Field(min_length=1)]
    containers: tuple[Container, ...] = ()

    @model_validator(mode="after")
    def _offices_on_itinerary(self) -> AdvanceTirData:
        if len(set(self.itinerary)) != len(self.itinerary):
            raise ValueError("a country appears twice on the itinerary")
        if self.office_of_departure.country != self.itinerary[0]:
            raise ValueError("the office of departure must be in the first itinerary country")
        if self.office_of_destination.country != self.itinerary[-1]:
            raise ValueError("the office of destination must be in the last itinerary country")
        for office in self.offices_en_route:
            if office.country not in self.itinerary:
                raise ValueError(f"en-route office {office.id} is in no itinerary country")
        if len(self.itinerary) > 1:
            for country in self.itinerary:
                if not any(o.country == country for o in self.offices_en_route):
                    raise ValueError(f"{country} needs an en-route office (entry or exit)")
        return self

    def starting_offices(self, index: int) -> frozenset[str]:
        """The office that starts the operation in itinerary country `index`: the office of
        departure in the first country, else the country's office of entry (its first en-route
        office in route order)."""
        if index == 0:
            return frozenset({self.office_of_departure.id})
        offices = self._en_route_in_order(index)
        return frozenset(offices[:1])

    def terminating_offices(self, index: int) -> frozenset[str]:
        """The office that terminates the operation in itinerary country `index`: the office of
        destination in the last country, else the country's office of exit (its last en-route
        office in route order)."""
        if index == len(self.itinerary) - 1:
            return frozenset({self.office_of_destination.id})
        offices = self._en_route_in_order(index)
        return frozenset(offices[-1:])

    def offices_in(self, index: int) -> frozenset[str]:
        """Every declared office in itinerary country `index` (any may discharge there)."""
        country = self.itinerary[index]
        ends = (self.office_of_departure, self.office_of_destination)
        return self._en_route(index) | {o.id for o in ends if o.country == country}

    def _en_route(self, index: int) -> frozenset[str]:
        return frozenset(self._en_route_in_order(index))

    def _en_route_in_order(self, index: int) -> list[str]:
        country = self.itinerary[index]
        return [o.id for o in self.offices_en_route if o.country == country]


class TirDataVersion(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    number: Annotated[int, Field(ge=1)]
    data: AdvanceTirData
    evidence: SignatureEvidence


class OperationState(StrEnum):
    PENDING = "pending"
    STARTED = "started"
    TERMINATED = "terminated"
    DISCHARGED = "discharged"


class TirOperation(BaseModel):
    """The TIR operation in one itinerary country, with who moved it on and when."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    country: CountryCode
    state: OperationState = OperationState.PENDING
    started: SignatureEvidence | None = None
    terminated: SignatureEvidence | None = None
    discharged: SignatureEvidence | None = None


class TirState(StrEnum):
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    ENDED = "ended"


class TirTransport(BaseModel):
    """One TIR transport: the guarantee it runs under, its data versions and its operations."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tir_reference: Annotated[str, Field(min_length=1, max_length=64)]
    guarantee: Guarantee
    state: TirState
    versions: Annotated[tuple[TirDataVersion, ...], Field(min_length=1)]
    accepted: SignatureEvidence | None = None
    operations: tuple[TirOperation, ...] = ()

    @classmethod
    def submit(
        cls,
        tir_reference: str,
        guarantee: Guarantee,
        data: AdvanceTirData,
        evidence: SignatureEvidence,
    ) -> TirTransport:
        """The holder submits advance TIR data (version 1) under a guarantee; out, submitted."""
        label = f"TIR transport {tir_reference}"
        require_signatory(
            label,
            "submit advance TIR data",
            evidence,
            party_ids={data.holder.id},
            role=PartyRole.HOLDER,
            version=1,
        )
        _same_guarantee(label, guarantee, data)
        first = TirDataVersion(number=1, data=data, evidence=evidence)
        return cls(
            tir_reference=tir_reference,
            guarantee=guarantee,
            state=TirState.SUBMITTED,
            versions=(first,),
        )

    @property
    def label(self) -> str:
        return f"TIR transport {self.tir_reference}"

    @property
    def data(self) -> AdvanceTirData:
        """The latest advance TIR data (after acceptance: the accepted version)."""
        return self.versions[-1].data

    def allowed_steps(self) -> list[str]:
        """What may happen next, in words, e.g. ["start the TIR operation in GE"]."""
        if self.state is TirState.SUBMITTED:
            return ["amend the advance TIR data", "accept the declaration", "cancel the guarantee"]
        if self.state is TirState.ENDED:
            return []
        steps: list[str] = []
        for i, op in enumerate(self.operations):
            previous_done = i == 0 or self.operations[i - 1].state in (
                OperationState.TERMINATED,
                OperationState.DISCHARGED,
            )
            if op.state is OperationState.PENDING and previous_done:
                steps.append(f"start the TIR operation in {op.country}")
            elif op.state is OperationState.STARTED:
                steps.append(f"terminate the TIR operation in {op.country}")
            elif op.state is OperationState.TERMINATED:
                steps.append(f"discharge the TIR operation in {op.country}")
        if not self.guarantee.cancelled_for_new_operations:
            steps.append("cancel the guarantee")
        return steps

    def _refuse(self, step: str) -> IllegalTransitionError:
        where = ", ".join(f"{o.country} {o.state.value}" for o in self.operations)
        situation = self.state.value + (f" (operations: {where})" if where else "")
        return IllegalTransitionError(self.label, step, situation, self.allowed_steps())

    def amend(self, data: AdvanceTirData, evidence: SignatureEvidence) -> TirTransport:
        """The holder submits an amendment before acceptance; out, a new data version."""
        step = "amend the advance TIR data"
        if self.state is not TirState.SUBMITTED:
            raise self._refuse(step)
        number = self.versions[-1].number + 1
        require_signatory(
            self.label,
            step,
            evidence,
            party_ids={self.data.holder.id},
            role=PartyRole.HOLDER,
            version=number,
        )
        _same_guarantee(self.label, self.guarantee, data)
        nxt = TirDataVersion(number=number, data=data, evidence=evidence)
        return self.model_copy(update={"versions": (*self.versions, nxt)})

    def accept(self, evidence: SignatureEvidence) -> TirTransport:
        """Customs of departure accepts the latest version of the declaration.

        Refused (GuaranteeNotValidError) if the guarantee is not registered, is cancelled, or is
        not valid on the day of acceptance. Out: accepted, guarantee in use, one pending
        operation per itinerary country.
        """
        step = "accept the declaration"
        if self.state is not TirState.SUBMITTED:
            raise self._refuse(step)
        require_signatory(
            self.label,
            step,
            evidence,
            party_ids={self.data.office_of_departure.id},
            role=PartyRole.CUSTOMS_OFFICE,
            version=self.versions[-1].number,
        )
        g = self.guarantee
        if g.state is not GuaranteeState.REGISTERED:
            raise GuaranteeNotValidError(
                f"{self.label}: declaration refused: guarantee {g.reference} is {g.state.value}, "
                "not registered; the holder needs a new guarantee from its association"
            )
        day = evidence.signed_at.date()
        if not g.valid_from <= day <= g.valid_until:
            raise GuaranteeNotValidError(
                f"{self.label}: declaration refused: guarantee {g.reference} is valid "
                f"{g.valid_from} to {g.valid_until}, not on {day}"
            )
        return self.model_copy(
            update={
                "state": TirState.ACCEPTED,
                "accepted": evidence,
                "guarantee": g.model_copy(update={"state": GuaranteeState.IN_USE}),
                "operations": tuple(TirOperation(country=c) for c in self.data.itinerary),
            }
        )

    def cancel_guarantee(self, evidence: SignatureEvidence) -> TirTransport:
        """The guarantee chain cancels the guarantee this transport runs under."""
        if self.state is TirState.ENDED:
            raise self._refuse("cancel the guarantee")
        return self.model_copy(update={"guarantee": self.guarantee.cancel(evidence)})

    def _operation(self, country: str, step: str) -> int:
        if self.state is not TirState.ACCEPTED:
            raise self._refuse(step)
        for i, op in enumerate(self.operations):
            if op.country == country:
                return i
        raise DocumentValidationError(
            f"{self.label}: {country} is not on the itinerary {', '.join(self.data.itinerary)}"
        )

    def _replace(self, index: int, op: TirOperation) -> tuple[TirOperation, ...]:
        ops = list(self.operations)
        ops[index] = op
        return tuple(ops)

    def start_operation(self, country: str, evidence: SignatureEvidence) -> TirTransport:
        """The entry (or departure) office of `country` starts its operation, in itinerary order.

        Refused with GuaranteeNotValidError when the guarantee chain has cancelled the guarantee.
        """
        step = f"start the TIR operation in {country}"
        i = self._operation(country, step)
        if step not in self.allowed_steps():
            raise self._refuse(step)
        self._sign(step, evidence, self.data.starting_offices(i))
        if self.guarantee.cancelled_for_new_operations:
            raise GuaranteeNotValidError(
                f"{self.label}: cannot start the TIR operation in {country}: guarantee "
                f"{self.guarantee.reference} was cancelled by the guarantee chain "
                f"at {self.guarantee.cancellation_requested_at}"
            )
        op = self.operations[i].model_copy(
            update={"state": OperationState.STARTED, "started": evidence}
        )
        return self.model_copy(update={"operations": self._replace(i, op)})

    def terminate_operation(self, country: str, evidence: SignatureEvidence) -> TirTransport:
        """The exit (or destination) office of `country` terminates its started operation."""
        step = f"terminate the TIR operation in {country}"
        i = self._operation(country, step)
        if self.operations[i].state is not OperationState.STARTED:
            raise self._refuse(step)
        self._sign(step, evidence, self.data.terminating_offices(i))
        op = self.operations[i].model_copy(
            update={"state": OperationState.TERMINATED, "terminated": evidence}
        )
        return self.model_copy(update={"operations": self._replace(i, op)})

    def discharge_operation(self, country: str, evidence: SignatureEvidence) -> TirTransport:
        """Customs of `country` discharges its terminated operation; when the last one is
        discharged the transport has ended."""
        step = f"discharge the TIR operation in {country}"
        i = self._operation(country, step)
        if self.operations[i].state is not OperationState.TERMINATED:
            raise self._refuse(step)
        self._sign(step, evidence, self.data.offices_in(i))
        op = self.operations[i].model_copy(
            update={"state": OperationState.DISCHARGED, "discharged": evidence}
        )
        ops = self._replace(i, op)
        ended = all(o.state is OperationState.DISCHARGED for o in ops)
        return self.model_copy(
            update={"operations": ops, "state": TirState.ENDED if ended else self.state}
        )

    def _sign(self, step: str, evidence: SignatureEvidence, offices: frozenset[str]) -> None:
        require_signatory(
            self.label,
            step,
            evidence,
            party_ids=offices,
            role=PartyRole.CUSTOMS_OFFICE,
            version=self.versions[-1].number,
        )


def _same_guarantee(label: str, guarantee: Guarantee, data: AdvanceTirData) -> None:
    if data.guarantee_reference != guarantee.reference:
        raise DocumentValidationError(
            f"{label}: the data names guarantee {data.guarantee_reference}, "
            f"the transport runs under {guarantee.reference}"
        )
    if data.holder.id != guarantee.holder_id:
        raise DocumentValidationError(
            f"{label}: guarantee {guarantee.reference} was registered for holder "
            f"{guarantee.holder_id}, not {data.holder.id}"
        )
