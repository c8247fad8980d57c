"""The border crossing record: one shipment entering one country, step by step.

    expected (pre-arrival received) -> arrived -> documentary_check (passed / failed)
        -> [physical_inspection (conform / discrepancy)] -> released -> exited
    a failed documentary check needs a physical inspection; a discrepancy ends in detained.

A red lane needs a physical inspection before release; yellow and green may have one when the
officer decides. Release signs off a `ControlResult` that travels with the shipment. Every step
returns a new record; an illegal one raises IllegalTransitionError saying what is allowed.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict

from kervan.customs.declaration import PreArrivalDelivery
from kervan.customs.recognition import ControlResult, InspectionResult, LaneDecision
from kervan.customs.route import CountryPassage
from kervan.documents.goods import Seal
from kervan.errors import CustomsRouteError, DocumentValidationError, IllegalTransitionError


class CrossingState(StrEnum):
    EXPECTED = "expected"
    ARRIVED = "arrived"
    DOCUMENTARY_CHECK = "documentary_check"
    PHYSICAL_INSPECTION = "physical_inspection"
    RELEASED = "released"
    EXITED = "exited"
    DETAINED = "detained"


AT_THE_BORDER = frozenset(
    {
        CrossingState.ARRIVED,
        CrossingState.DOCUMENTARY_CHECK,
        CrossingState.PHYSICAL_INSPECTION,
        CrossingState.DETAINED,
    }
)


class DocumentaryCheck(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    at: AwareDatetime
    passed: bool
    note: str | None = None


class PhysicalInspection(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    at: AwareDatetime
    result: InspectionResult
    note: str | None = None
    seals_after: tuple[Seal, ...] | None = None  # new seals when the officer sealed again


class BorderCrossingRecord(BaseModel):
    """One shipment's passage through one country's customs, from pre-arrival to exit."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    shipment: str
    country: str
    entry_office: str
    entry_place: str
    exit_office: str
    expected_arrival: AwareDatetime
    expected_exit: AwareDatetime
    declaration_version: int
    pre_arrival_received_at: AwareDatetime
    decision: LaneDecision
    state: CrossingState = CrossingState.EXPECTED
    arrived_at: AwareDatetime | None = None
    arrival_office: str | None = None
    seals_found: tuple[Seal, ...] | None = None
    documentary_check: DocumentaryCheck | None = None
    physical_inspection: PhysicalInspection | None = None
    released_at: AwareDatetime | None = None
    control_result: ControlResult | None = None
    exited_at: AwareDatetime | None = None
    exit_office_used: str | None = None
    detained_at: AwareDatetime | None = None
    detention_reason: str | None = None

    @classmethod
    def expect(
        cls,
        delivery: PreArrivalDelivery,
        passage: CountryPassage,
        decision: LaneDecision,
        entry_place: str,
    ) -> BorderCrossingRecord:
        """Open the record when the pre-arrival declaration reaches the country."""
        if (delivery.country, delivery.office) != (passage.country, passage.entry_office):
            raise CustomsRouteError(
                f"the delivery to {delivery.office} ({delivery.country}) is not for the passage "
                f"entering {passage.country} at {passage.entry_office}"
            )
        return cls(
            shipment=delivery.shipment,
            country=passage.country,
            entry_office=passage.entry_office,
            entry_place=entry_place,
            exit_office=passage.exit_office,
            expected_arrival=passage.expected_entry,
            expected_exit=passage.expected_exit,
            declaration_version=delivery.version,
            pre_arrival_received_at=delivery.delivered_at,
            decision=decision,
        )

    @property
    def label(self) -> str:
        return f"border crossing of {self.shipment} into {self.country} at {self.entry_office}"

    @property
    def seals_now(self) -> tuple[Seal, ...] | None:
        """The seals on the cargo as this country last saw them (after any resealing)."""
        if self.physical_inspection is not None and self.physical_inspection.seals_after:
            return self.physical_inspection.seals_after
        return self.seals_found

    def allowed_steps(self) -> list[str]:
        """What may happen next, in words."""
        s = self.state
        if s is CrossingState.EXPECTED:
            return ["receive an amendment", "reassess the lane", "record the arrival"]
        if s is CrossingState.ARRIVED:
            return ["reassess the lane", "record the documentary check"]
        if s is CrossingState.DOCUMENTARY_CHECK:
            assert self.documentary_check is not None
            steps = ["record a physical inspection"]
            if not self.documentary_check.passed:
                return [*steps, "detain the goods"]
            if not self.decision.physical_inspection_required:
                steps.append("release the goods")
            return steps
        if s is CrossingState.PHYSICAL_INSPECTION:
            assert self.physical_inspection is not None
            if self.physical_inspection.result is InspectionResult.CONFORM:
                return ["release the goods"]
            return ["detain the goods"]
        if s is CrossingState.RELEASED:
            return ["record the exit"]
        return []

    def _step(self, step: str, at: datetime | None = None) -> None:
        if step not in self.allowed_steps():
            raise IllegalTransitionError(self.label, step, self.state.value, self.allowed_steps())
        last = max(
            t
            for t in (
                self.pre_arrival_received_at,
                self.arrived_at,
                self.documentary_check.at if self.documentary_check else None,
                self.physical_inspection.at if self.physical_inspection else None,
                self.released_at,
            )
            if t is not None
        )
        if at is not None and at < last:
            raise DocumentValidationError(
                f"{self.label}: cannot {step} at {at.isoformat()}, before the last step "
                f"at {last.isoformat()}"
            )

    def amend(self, delivery: PreArrivalDelivery, decision: LaneDecision) -> BorderCrossingRecord:
        """A newer version of the declaration arrives before the cargo does."""
        self._step("receive an amendment", delivery.delivered_at)
        if delivery.version <= self.declaration_version:
            raise DocumentValidationError(
                f"{self.label}: version {delivery.version} is not newer than "
                f"{self.declaration_version}"
            )
        return self.model_copy(
            update={"declaration_version": delivery.version, "decision": decision}
        )

    def reassess(self, decision: LaneDecision) -> BorderCrossingRecord:
        """A new lane decision (e.g. another state's control result came in)."""
        self._step("reassess the lane")
        return self.model_copy(update={"decision": decision})

    def arrive(
        self, at: datetime, office: str, seals_found: tuple[Seal, ...], decision: LaneDecision
    ) -> BorderCrossingRecord:
        """The cargo reaches `office` with these seals; `decision` is the lane on arrival."""
        self._step("record the arrival", at)
        if not office.startswith(self.country + "-"):
            raise CustomsRouteError(f"{self.label}: office {office} is not in {self.country}")
        return self.model_copy(
            update={
                "state": CrossingState.ARRIVED,
                "arrived_at": at,
                "arrival_office": office,
                "seals_found": seals_found,
                "decision": decision,
            }
        )

    def check_documents(
        self, at: datetime, passed: bool, note: str | None = None
    ) -> BorderCrossingRecord:
        """The documentary check against the pre-arrival declaration."""
        self._step("record the documentary check", at)
        return self.model_copy(
            update={
                "state": CrossingState.DOCUMENTARY_CHECK,
                "documentary_check": DocumentaryCheck(at=at, passed=passed, note=note),
            }
        )

    def inspect(
        self,
        at: datetime,
        result: InspectionResult,
        note: str | None = None,
        seals_after: tuple[Seal, ...] | None = None,
    ) -> BorderCrossingRecord:
        """A physical inspection of the goods; `seals_after` when the officer sealed again."""
        self._step("record a physical inspection", at)
        inspection = PhysicalInspection(at=at, result=result, note=note, seals_after=seals_after)
        return self.model_copy(
            update={"state": CrossingState.PHYSICAL_INSPECTION, "physical_inspection": inspection}
        )

    def release(self, at: datetime, signature_ref: str) -> BorderCrossingRecord:
        """Release the goods and sign off the control result that travels on with them."""
        self._step("release the goods", at)
        assert self.documentary_check is not None
        assert self.arrival_office is not None
        result = ControlResult(
            shipment=self.shipment,
            country=self.country,
            office=self.arrival_office,
            place=self.entry_place,
            at=at,
            seals=self.seals_now or (),
            documentary_check_passed=self.documentary_check.passed,
            inspection=self.physical_inspection.result if self.physical_inspection else None,
            signature_ref=signature_ref,
        )
        return self.model_copy(
            update={"state": CrossingState.RELEASED, "released_at": at, "control_result": result}
        )

    def detain(self, at: datetime, reason: str) -> BorderCrossingRecord:
        """Hold the goods after a failed check or a discrepancy."""
        self._step("detain the goods", at)
        return self.model_copy(
            update={"state": CrossingState.DETAINED, "detained_at": at, "detention_reason": reason}
        )

    def exit(self, at: datetime, office: str) -> BorderCrossingRecord:
        """The cargo leaves the country (or reaches its destination) at `office`."""
        self._step("record the exit", at)
        if not office.startswith(self.country + "-"):
            raise CustomsRouteError(f"{self.label}: exit office {office} is not in {self.country}")
        return self.model_copy(
            update={"state": CrossingState.EXITED, "exited_at": at, "exit_office_used": office}
        )
