"""The sealed battery container Xi'an -> Istanbul: pre-arrival, lanes, recognition, seals."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kervan.customs.crossing import CrossingState
from kervan.customs.offices import CustomsOffices
from kervan.customs.recognition import InspectionResult
from kervan.customs.route import customs_route
from kervan.customs.rules import Lane
from kervan.customs.worklist import work_list
from kervan.documents.goods import Seal, SealCondition
from kervan.errors import IllegalTransitionError
from kervan.routing.plan import Plan
from tests.customs.shipments import CONTAINER_SEAL, T0, Journey, container_declaration

BROKEN = CONTAINER_SEAL.model_copy(update={"condition": SealCondition.BROKEN})


def journey(plan: Plan, offices: CustomsOffices, shipment: str = "KRV-2025-0001") -> Journey:
    route = customs_route(plan, offices, T0)
    return Journey.lodge(offices, container_declaration(route, shipment), T0 - timedelta(hours=6))


def through_kazakhstan(j: Journey) -> None:
    j.arrive("CN")
    j.clear("CN")
    j.leave("CN")
    j.arrive("KZ")
    j.clear("KZ", inspect=InspectionResult.CONFORM)  # yellow lane: KZ opens and checks
    j.leave("KZ")


def reasons(j: Journey, country: str) -> list[str]:
    return [r.rule for r in j.records[country].decision.reasons]


def test_every_country_sees_the_container_before_it_arrives(
    xian_istanbul: Plan, offices: CustomsOffices
) -> None:
    j = journey(xian_istanbul, offices)
    later = journey(xian_istanbul, offices, "KRV-2025-0007")
    later.records = {
        c: r.model_copy(update={"expected_arrival": r.expected_arrival + timedelta(days=1)})
        for c, r in later.records.items()
    }
    declarations = {
        j.declaration.shipment: j.declaration,
        later.declaration.shipment: later.declaration,
    }
    for country, record in j.records.items():
        assert record.pre_arrival_received_at < record.expected_arrival
        listed = work_list(record.entry_office, [later.records[country], record], declarations)
        assert [i.shipment for i in listed.arriving] == ["KRV-2025-0001", "KRV-2025-0007"]
        assert listed.at_border == ()
        item = listed.arriving[0]
        assert item.expected_arrival == record.expected_arrival
        assert item.goods[0].startswith("HS 850760 ")
        assert "UN3480 class 9" in item.goods[0]
        assert item.seals == ("CN2025XA778812 (intact)",)
        assert item.transport == ("wagon 53765434", "CSQU3054383")
        assert item.documents == ("CIM/SMGS SMGS-XIA-2025-0317",)
    # batteries are dangerous, sensitive goods: yellow everywhere before any control
    kz = j.records["KZ"].decision
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
    j.leave("CN")
    kz = j.arrive("KZ")
    # China is not a member of the corridor: its control is not recognised
    assert kz.decision.lane is Lane.YELLOW
    assert (
        "not recognised: KZ recognises controls of AZ, KZ, KG, TR, UZ"
        in kz.decision.reasons[-1].finding
    )
    listed = work_list("KZ-DOSTYK", j.records.values(), {j.declaration.shipment: j.declaration})
    assert [i.shipment for i in listed.at_border] == ["KRV-2025-0001"]
    assert listed.arriving == ()
    j.clear("KZ", inspect=InspectionResult.CONFORM)
    j.leave("KZ")
    kz_day = j.controls[-1].at.date().isoformat()
    # AZ hears of the KZ control before the ferry lands: its pre-arrival lane turns green
    assert j.refresh("AZ").decision.lane is Lane.GREEN
    for country in ("AZ", "GE", "TR"):
        record = j.arrive(country)
        decision = record.decision
        assert decision.lane is Lane.GREEN, decision.reason_texts()
        assert decision.risk_lane is Lane.YELLOW
        assert not decision.physical_inspection_required
        recognition = decision.reasons[-1]
        assert recognition.rule == "recognised_control"
        assert recognition.weight == -20.0
        assert recognition.finding == (
            f"recognised control by KZ at Dostyk on {kz_day}, seals intact (CN2025XA778812)"
        )
        j.clear(country)  # released without a physical inspection
        assert j.records[country].physical_inspection is None
        j.leave(country)
    assert all(r.state is CrossingState.EXITED for r in j.records.values())
    assert j.records["TR"].exit_office_used == "TR-ISTANBUL"


def test_a_broken_seal_sends_the_container_to_red_and_overrides_recognition(
    xian_istanbul: Plan, offices: CustomsOffices
) -> None:
    j = journey(xian_istanbul, offices)
    through_kazakhstan(j)
    j.arrive("AZ")
    j.clear("AZ")
    j.leave("AZ")
    record = j.arrive("GE", seals=(BROKEN,))
    at = record.arrived_at
    assert at is not None
    decision = record.decision
    assert decision.lane is Lane.RED
    assert decision.physical_inspection_required
    assert decision.recognised is None
    assert "seal_broken" in reasons(j, "GE")
    assert decision.reasons[-1].finding.endswith("not recognised: seal CN2025XA778812 broken")
    record = record.check_documents(at + timedelta(hours=1), passed=True)
    with pytest.raises(IllegalTransitionError, match="release the goods"):
        record.release(at + timedelta(hours=2), "jws:GE")
    resealed = (Seal(number="GE2025GAR0091", identifier="GE-GARDABANI"),)
    record = record.inspect(
        at + timedelta(hours=3),
        InspectionResult.CONFORM,
        note="load counted, 20 pallets as declared",
        seals_after=resealed,
    )
    record = record.release(at + timedelta(hours=5), "jws:GE")
    assert record.control_result is not None
    assert record.control_result.seals == resealed
    assert record.control_result.inspection is InspectionResult.CONFORM


def test_seal_numbers_that_differ_from_the_control_override_recognition(
    xian_istanbul: Plan, offices: CustomsOffices
) -> None:
    j = journey(xian_istanbul, offices)
    through_kazakhstan(j)
    other = (Seal(number="XX0000001"),)
    decision = j.arrive("AZ", seals=other).decision
    assert decision.lane is Lane.RED  # an undeclared seal is a mismatch (floor: red)
    assert decision.recognised is None
    assert set(reasons(j, "AZ")) >= {"seal_missing", "seal_mismatch", "recognised_control"}
    assert (
        "checked seal(s) CN2025XA778812, the cargo now has XX0000001"
        in decision.reasons[-1].finding
    )


def test_a_discrepancy_ends_in_detention(xian_istanbul: Plan, offices: CustomsOffices) -> None:
    j = journey(xian_istanbul, offices)
    j.arrive("CN")
    j.clear("CN")
    j.leave("CN")
    record = j.arrive("KZ")
    at = record.arrived_at
    assert at is not None
    record = record.check_documents(at + timedelta(hours=1), passed=True)
    record = record.inspect(
        at + timedelta(hours=2), InspectionResult.DISCREPANCY, "batteries undeclared as DG"
    )
    assert record.allowed_steps() == ["detain the goods"]
    with pytest.raises(IllegalTransitionError):
        record.release(at + timedelta(hours=3), "jws:KZ")
    record = record.detain(at + timedelta(hours=3), "goods do not match the declaration")
    assert record.state is CrossingState.DETAINED
    assert record.allowed_steps() == []
    listed = work_list("KZ-DOSTYK", [record], {j.declaration.shipment: j.declaration})
    assert [i.state for i in listed.at_border] == [CrossingState.DETAINED]


def test_illegal_crossing_steps_are_refused(xian_istanbul: Plan, offices: CustomsOffices) -> None:
    j = journey(xian_istanbul, offices)
    record = j.records["KZ"]
    with pytest.raises(IllegalTransitionError, match="while it is expected"):
        record.release(T0, "jws:KZ")
    with pytest.raises(IllegalTransitionError, match="record the exit"):
        record.exit(T0, "KZ-AKTAU")
    arrived = j.arrive("KZ")
    at = arrived.arrived_at
    assert at is not None
    with pytest.raises(IllegalTransitionError, match="record the arrival"):
        arrived.arrive(T0, "KZ-DOSTYK", (), arrived.decision)
    failed = arrived.check_documents(at + timedelta(hours=1), passed=False)
    assert "release the goods" not in failed.allowed_steps()
    with pytest.raises(IllegalTransitionError):
        failed.release(at + timedelta(hours=2), "jws:KZ")
