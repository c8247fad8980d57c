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
from kervan.routing.plan import Plan
from kervan.services.access import Caller, Scope
from kervan.shipments.events import ShipmentEvent
from kervan.store.repositories.organisations import OrganisationKind


def require_customs(caller: Caller) -> None:
    """Only a customs authority with the customs scope works the border (ScopeError, 403)."""
    caller.require(Scope.CUSTOMS)
    if caller.kind is not OrganisationKind.CUSTOMS_AUTHORITY:
        raise ScopeError("only a customs authority works the border")


def lane(
    content: DeclarationContent,
    plan: Plan,
    events: Sequence[ShipmentEvent],
    controls: Sequence[ControlResult],
    country: str,
    on: datetime,
    seals_now: tuple[Seal, ...] | None = None,
) -> LaneDecision:
    """In: the declaration in force, the shipment's plan and events, the controls the country's
    customs holds, the day and the seals found (None: as declared). Out: the lane with reasons
    and any recognised control."""
    rules = load_rules(country)
    passed = tuple(
        dict.fromkeys(plan.legs[e.leg_index].to_country for e in events if e.leg_index is not None)
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
