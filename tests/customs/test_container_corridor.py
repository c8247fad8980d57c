"""The sealed battery container Xi'an -> Istanbul: pre-arrival lanes, recognition, seals."""

from __future__ import annotations

from datetime import timedelta

from kervan.customs.offices import CustomsOffices
from kervan.customs.recognition import InspectionResult
from kervan.customs.route import customs_route
from kervan.customs.rules import Lane
from kervan.documents.goods import Seal, SealCondition
from kervan.routing.plan import Plan
from tests.customs.shipments import CONTAINER_SEAL, T0, Journey, container_declaration

BROKEN = CONTAINER_SEAL.model_copy(update={"condition": SealCondition.BROKEN})


def journey(plan: Plan, offices: CustomsOffices, shipment: str = "KRV-2025-0001") -> Journey:
    route = customs_route(plan, offices, T0)
    return Journey.lodge(offices, container_declaration(route, shipment), T0 - timedelta(hours=6))


def through_kazakhstan(j: Journey) -> None:
    j.arrive("CN")
    j.clear("CN")
    j.arrive("KZ")
    j.clear("KZ", inspect=InspectionResult.CONFORM)  # yellow lane: KZ opens and checks


def reasons(j: Journey, country: str) -> list[str]:
    return [r.rule for r in j.lanes[country].reasons]


def test_every_country_decides_a_lane_before_the_container_arrives(
    xian_istanbul: Plan, offices: CustomsOffices
) -> None:
    j = journey(xian_istanbul, offices)
    for passage in j.content.route.passages:
        assert j.declaration.current.lodged_at < passage.expected_entry
        assert j.pre_arrival(passage.country).reasons
    # batteries are dangerous, sensitive goods: yellow everywhere before any control
    kz = j.pre_arrival("KZ")
    assert kz.lane is Lane.YELLOW
    assert {r.rule: r.weight for r in kz.reasons} == {
        "sensitive_hs:850760": 20.0,
        "dangerous_goods": 15.0,
    }
    assert kz.score == 35.0


def test_green_sealed_container_is_not_inspected_again_after_kazakhstan(
    xian_istanbul: Plan, offices: CustomsOffices
) -> None:
    j = journey(xian_istanbul, offices)
    j.arrive("CN")
    j.clear("CN")
    kz = j.arrive("KZ")
    # China is not a member of the corridor: its control is not recognised
    assert kz.lane is Lane.YELLOW
    assert "not recognised: KZ recognises controls of AZ, KZ, KG, TR, UZ" in kz.reasons[-1].finding
    j.clear("KZ", inspect=InspectionResult.CONFORM)
    kz_day = j.controls[-1].at.date().isoformat()
    # AZ hears of the KZ control before the ferry lands: its pre-arrival lane turns green
    assert j.pre_arrival("AZ").lane is Lane.GREEN
    for country in ("AZ", "GE", "TR"):
        decision = j.arrive(country)
        assert decision.lane is Lane.GREEN, decision.reasons
        assert decision.risk_lane is Lane.YELLOW
        assert not decision.physical_inspection_required
        recognition = decision.reasons[-1]
        assert recognition.rule == "recognised_control"
        assert recognition.weight == -20.0
        assert recognition.finding == (
            f"recognised control by KZ at Dostyk on {kz_day}, seals intact (CN2025XA778812)"
        )
        assert j.clear(country).inspection is None  # released without a physical inspection


def test_a_broken_seal_sends_the_container_to_red_and_overrides_recognition(
    xian_istanbul: Plan, offices: CustomsOffices
) -> None:
    j = journey(xian_istanbul, offices)
    through_kazakhstan(j)
    j.arrive("AZ")
    j.clear("AZ")
    decision = j.arrive("GE", seals=(BROKEN,))
    assert decision.lane is Lane.RED
    assert decision.physical_inspection_required
    assert decision.recognised is None
    assert "seal_broken" in reasons(j, "GE")
    assert decision.reasons[-1].finding.endswith("not recognised: seal CN2025XA778812 broken")


def test_seal_numbers_that_differ_from_the_control_override_recognition(
    xian_istanbul: Plan, offices: CustomsOffices
) -> None:
    j = journey(xian_istanbul, offices)
    through_kazakhstan(j)
    other = (Seal(number="XX0000001"),)
    decision = j.arrive("AZ", seals=other)
    assert decision.lane is Lane.RED  # an undeclared seal is a mismatch (floor: red)
    assert decision.recognised is None
    assert set(reasons(j, "AZ")) >= {"seal_missing", "seal_mismatch", "recognised_control"}
    assert (
        "checked seal(s) CN2025XA778812, the cargo now has XX0000001"
        in decision.reasons[-1].finding
    )
