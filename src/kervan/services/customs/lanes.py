"""The lane a country gives a shipment now: its risk rules over the declaration it holds, the
countries the cargo has passed, and the controls of other member states it holds."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from kervan.customs.declaration import DeclarationContent
from kervan.customs.recognition import ControlResult, LaneDecision, decide_lane
from kervan.customs.risk import assess
from kervan.customs.rules import load_rules
from kervan.documents.goods import Seal
from kervan.errors import ScopeError
from kervan.services.access import Caller, Scope
from kervan.store.repositories.organisations import OrganisationKind


def require_customs(caller: Caller) -> None:
    """Only a customs authority with the customs scope works the border (ScopeError, 403)."""
    caller.require(Scope.CUSTOMS)
    if caller.kind is not OrganisationKind.CUSTOMS_AUTHORITY:
        raise ScopeError("only a customs authority works the border")


def lane(
    content: DeclarationContent,
    controls: Sequence[ControlResult],
    country: str,
    on: datetime,
    *,
    arrived: bool,
    seals_now: tuple[Seal, ...] | None = None,
) -> LaneDecision:
    """In: the declaration in force, the controls the country's customs holds, whether the
    cargo has arrived, the day and the seals found (None: as declared). Out: the lane with
    reasons and any recognised control. The countries passed are those whose control the
    customs holds, and its own once the cargo is at its border."""
    rules = load_rules(country)
    passed = tuple(dict.fromkeys(c.country for c in controls if c.country != country)) + (
        (country,) if arrived else ()
    )
    risk = assess(
        content,
        country,
        rules,
        on=on.date(),
        seals_observed=seals_now,
        countries_passed=passed,
    )
    others = [c for c in controls if c.country != country]
    return decide_lane(risk, rules, others, seals_now or content.transport.all_seals())
