"""Versioned pre-arrival declarations and the explainable risk rules."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from kervan.customs.declaration import PreArrivalDeclaration
from kervan.customs.offices import CustomsOffices
from kervan.customs.risk import Infringement, RiskAssessment, assess
from kervan.customs.route import customs_route
from kervan.customs.rules import Lane, load_rules
from kervan.errors import DocumentValidationError, IllegalTransitionError
from kervan.routing.plan import Plan
from tests.customs.shipments import (
    T0,
    TASHKENT_COTTON,
    batteries,
    container_declaration,
    cotton,
    truck_declaration,
)

DAY = date(2025, 3, 4)


def test_amendments_make_new_immutable_versions(
    xian_istanbul: Plan, offices: CustomsOffices
) -> None:
    route = customs_route(xian_istanbul, offices, T0)
    first = container_declaration(route)
    declaration = PreArrivalDeclaration.lodge(first, T0 - timedelta(hours=6))
    heavier = batteries().model_copy(update={"gross_weight_kg": Decimal("18500")})
    amended = declaration.amend(
        first.model_copy(update={"goods": (heavier,)}),
        T0 - timedelta(hours=2),
        "weighbridge at Xi'an",
    )
    assert [v.number for v in amended.versions] == [1, 2]
    assert declaration.current.number == 1  # the old value is untouched
    v2 = amended.current
    assert [(c.path, c.before, c.after) for c in v2.changes] == [
        ("goods[0].gross_weight_kg", "18000", "18500")
    ]
    assert v2.reason == "weighbridge at Xi'an"
    assert amended.version(1).content.goods[0].gross_weight_kg == Decimal("18000")
    with pytest.raises(DocumentValidationError, match="changes nothing"):
        amended.amend(v2.content, T0, "again")
    with pytest.raises(IllegalTransitionError, match="amend it at or after"):
        amended.amend(first, T0 - timedelta(hours=3), "back-dated")
    with pytest.raises(DocumentValidationError, match="shipment id"):
        amended.amend(first.model_copy(update={"shipment": "OTHER"}), T0, "x")
    with pytest.raises(DocumentValidationError, match="versions 1 to 2"):
        amended.version(3)


def fired(assessment: RiskAssessment, rule: str) -> bool:
    return any(r.rule == rule for r in assessment.reasons)


def test_undervalued_cotton_is_flagged_with_the_reference_and_its_source(
    tashkent_istanbul: Plan, offices: CustomsOffices
) -> None:
    route = customs_route(tashkent_istanbul, offices, T0)
    fair = assess(truck_declaration(route), "KZ", load_rules("KZ"), on=DAY)
    assert fair.lane is Lane.GREEN
    assert [r.rule for r in fair.reasons] == ["aeo"]
    assert fair.reasons[0].weight == -20.0
    cheap = assess(truck_declaration(route, value="3800.00"), "KZ", load_rules("KZ"), on=DAY)
    reason = next(r for r in cheap.reasons if r.rule == "value_below_reference")
    assert reason.weight == 30.0
    assert "0.20 US$/kg, below the reference 0.8-6 US$/kg for HS 5201" in reason.finding
    assert "est-value-cotton" in reason.finding
    assert cheap.score == 10.0
    assert cheap.lane is Lane.GREEN
    expired_aeo = assess(
        truck_declaration(route, value="3800.00"), "KZ", load_rules("KZ"), on=date(2027, 1, 5)
    )
    assert expired_aeo.lane is Lane.YELLOW
    uzs = cotton().model_copy(update={"value": Decimal("480000000"), "currency": "UZS"})
    content = truck_declaration(route).model_copy(update={"goods": (uzs,)})
    assert not fired(assess(content, "KZ", load_rules("KZ"), on=DAY), "value_below_reference")


def test_history_route_and_country_rules(tashkent_istanbul: Plan, offices: CustomsOffices) -> None:
    route = customs_route(tashkent_istanbul, offices, T0)
    content = truck_declaration(route)
    history = [
        Infringement(party_id=TASHKENT_COTTON.id, on=date(2024, 5, 2), what="undervaluation"),
        Infringement(
            party_id=TASHKENT_COTTON.id, on=date(2024, 11, 20), what="misdeclared HS code"
        ),
        Infringement(party_id=TASHKENT_COTTON.id, on=date(2019, 1, 1), what="too old to count"),
        Infringement(party_id="SOMEONE-ELSE", on=date(2025, 1, 1), what="not on this declaration"),
    ]
    checked = assess(content, "AZ", load_rules("AZ"), on=DAY, infringements=history)
    found = next(r for r in checked.reasons if r.rule == "infringements")
    assert found.weight == 30.0
    assert "2 infringement(s)" in found.finding
    assert checked.lane is Lane.GREEN  # -20 AEO + 30 = 10
    # arriving at Baku instead of the planned Alat (where the ferries call): AZ weighs route
    # deviations at 30
    deviated = assess(
        content, "AZ", load_rules("AZ"), on=DAY, arrival_office="AZ-BAKU", infringements=history
    )
    assert deviated.lane is Lane.YELLOW
    assert "arrived at AZ-BAKU, the planned corridor enters AZ at AZ-ALAT" in [
        r.finding for r in deviated.reasons if r.rule == "route_deviation"
    ]
    detour = assess(content, "AZ", load_rules("AZ"), on=DAY, countries_passed=("UZ", "KZ", "RU"))
    assert detour.lane is Lane.RED
    assert any("passed RU, not on the declared itinerary" in r.finding for r in detour.reasons)
    assert assess(content, "AM", load_rules("AM"), on=DAY).lane is Lane.RED
    no_value = content.model_copy(
        update={"goods": (cotton().model_copy(update={"value": None, "currency": None}),)}
    )
    assert fired(assess(no_value, "KZ", load_rules("KZ"), on=DAY), "value_missing")
    unsealed = content.model_copy(
        update={"transport": content.transport.model_copy(update={"seals": ()})}
    )
    assert not fired(
        assess(unsealed, "KZ", load_rules("KZ"), on=DAY), "seal_missing"
    )  # no container
