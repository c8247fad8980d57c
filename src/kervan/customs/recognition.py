"""Mutual recognition of controls between the corridor's member states, and the lane decision.

A member state that releases a shipment signs off a `ControlResult` (office, time, seals checked
with numbers and condition, documentary and physical results). It travels with the shipment. The
next state recognises the earliest control of an unbroken chain of checks that found the same
seal numbers intact, up to the seals it sees now, when the control is by a state its rules
recognise. A recognised control adds the `recognised_control` rule (a negative weight) to the
lane decision, so a sealed, low-risk cargo goes green and is not inspected again. A broken seal,
a seal number mismatch or a red risk result overrides recognition, and the decision says why.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from kervan.customs.risk import RiskAssessment, RiskReason, lane_for
from kervan.customs.rules import Lane, RuleSet
from kervan.documents.goods import Seal, SealCondition


class InspectionResult(StrEnum):
    CONFORM = "conform"
    DISCREPANCY = "discrepancy"


class ControlResult(BaseModel):
    """A control signed off by one member state's office when it released the shipment.

    `seals` are the seals as the shipment left the control (numbers and condition); when the
    officer opened the load and sealed it again, the new seals.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    shipment: str
    country: str = Field(pattern=r"^[A-Z]{2}$")
    office: str
    place: str
    at: AwareDatetime
    seals: tuple[Seal, ...]
    documentary_check_passed: bool
    inspection: InspectionResult | None = None
    signature_ref: str = Field(min_length=1)

    def seal_numbers(self) -> frozenset[str]:
        return frozenset(s.number for s in self.seals)

    def seals_intact(self) -> bool:
        return all(s.condition is SealCondition.INTACT for s in self.seals)

    def describe(self) -> str:
        """E.g. "KZ at Dostyk on 2025-03-06"."""
        return f"{self.country} at {self.place} on {self.at.date().isoformat()}"


class LaneDecision(BaseModel):
    """The lane a country gives a shipment, why, and whether goods must be inspected."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    country: str
    lane: Lane
    score: float
    reasons: tuple[RiskReason, ...]
    risk_lane: Lane  # before recognition
    recognised: ControlResult | None = None
    physical_inspection_required: bool


def _chain(controls: list[ControlResult], numbers: frozenset[str]) -> list[ControlResult]:
    """The latest controls, newest first, that all found exactly `numbers`, intact."""
    chain: list[ControlResult] = []
    for c in sorted(controls, key=lambda c: c.at, reverse=True):
        if c.seal_numbers() != numbers or not c.seals_intact():
            break
        chain.append(c)
    return chain


def _refusal(latest: ControlResult, seals_now: tuple[Seal, ...], risk_lane: Lane) -> str | None:
    numbers = frozenset(s.number for s in seals_now)
    broken = sorted(s.number for s in seals_now if s.condition is SealCondition.BROKEN)
    what = f"control by {latest.describe()}"
    if broken:
        return f"{what} not recognised: seal {', '.join(broken)} broken"
    if not numbers:
        return f"{what} not recognised: no seal ties the cargo to it"
    if latest.seal_numbers() != numbers or not latest.seals_intact():
        return (
            f"{what} not recognised: it checked seal(s) "
            f"{', '.join(sorted(latest.seal_numbers()))}, the cargo now has "
            f"{', '.join(sorted(numbers))}"
        )
    if risk_lane is Lane.RED:
        return f"{what} not recognised: the risk result is red"
    return None


def decide_lane(
    assessment: RiskAssessment,
    rules: RuleSet,
    controls: Iterable[ControlResult],
    seals_now: tuple[Seal, ...],
) -> LaneDecision:
    """In: this country's risk assessment and rules, the control results travelling with the
    shipment, and the seals as they are now (found on arrival, or declared before it).
    Out: the lane decision, with recognition applied or refused (and why)."""
    country = assessment.country
    rule = rules.rules.recognised_control
    others = [c for c in controls if c.country != country]
    reasons = list(assessment.reasons)
    recognised: ControlResult | None = None
    if others:
        latest = max(others, key=lambda c: c.at)
        refusal = _refusal(latest, seals_now, assessment.lane)
        numbers = frozenset(s.number for s in seals_now)
        chain = [] if refusal else _chain(others, numbers)
        candidates = [
            c
            for c in chain
            if c.country in rule.members
            and c.documentary_check_passed
            and c.inspection is not InspectionResult.DISCREPANCY
        ]
        if refusal is None and not candidates:
            refusal = (
                f"control by {latest.describe()} not recognised: {country} recognises controls "
                f"of {', '.join(rule.members)}"
            )
        if refusal is not None:
            reasons.append(RiskReason(rule="recognised_control", finding=refusal, weight=0.0))
        else:
            recognised = candidates[-1]  # the earliest of the chain: where the seals were checked
            finding = (
                f"recognised control by {recognised.describe()}, seals intact "
                f"({', '.join(sorted(numbers))})"
            )
            reasons.append(
                RiskReason(rule="recognised_control", finding=finding, weight=rule.weight)
            )
    score, lane = lane_for(reasons, rules.lanes)
    return LaneDecision(
        country=country,
        lane=lane,
        score=score,
        reasons=tuple(reasons),
        risk_lane=assessment.lane,
        recognised=recognised,
        physical_inspection_required=lane is Lane.RED,
    )
