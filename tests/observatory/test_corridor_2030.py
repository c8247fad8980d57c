"""The 2030 question: with every planned capacity change (corridor-2030: BTK at 15 Mt, the
Aktau container hub, Kuryk and Alat expansions, the 700-TEU ships, more ferry sailings, the CKU
railway, digital documents and the Simplified Customs Corridor's green lane) and the 11 Mt
target demand, queues stay bounded and the report names which targets are met and which not.

The stated bound: no shipment waits more than 30 days for a ferry (a shipper books another
route, or does not ship, once a route would queue longer than two weeks: choice.py), and the
shipments in the system do not grow with the simulated time."""

from __future__ import annotations

import pytest

from kervan.network.model import Network
from kervan.observatory.montecarlo import Backend, replicate, summarise
from kervan.observatory.scenario import load_scenario
from kervan.observatory.simulator import capacity_respected, run
from kervan.observatory.targets import assess

FERRY_WAIT_BOUND_HOURS = 30 * 24.0


@pytest.mark.parametrize("seed", [1, 2])
def test_queues_stay_bounded_with_every_planned_change(corridor: Network, seed: int) -> None:
    scenario = load_scenario("corridor-2030", corridor)
    short, longer = run(scenario.with_years(0.25), seed), run(scenario.with_years(0.5), seed)
    for r in (short, longer):
        assert r.created == r.delivered + r.in_system + r.refused
        assert capacity_respected(r) == []
        assert r.ferry_wait_max_hours < FERRY_WAIT_BOUND_HOURS
    # twice the time, not twice the backlog: what is in the system is what is travelling
    assert longer.in_system < 1.5 * short.in_system + 100
    assert longer.created > 1.5 * short.created  # (both after the same 45-day warm-up)
    assert longer.diverted_tonnes_per_year > 0  # cargo takes other routes instead of queueing


def test_the_report_names_the_targets_met_and_not_met(corridor: Network) -> None:
    scenario = load_scenario("corridor-2030", corridor).with_years(0.5)
    summary = summarise(scenario, replicate(scenario, 2, seed=5, backend=Backend.SEQUENTIAL))
    report = assess(summary, scenario)
    by = {r.target: r for r in report.results}
    # the CKU railway carries the branch's flows, a small fraction of its 15 Mt: demand binds
    assert by["cku_volume"].status == "not met"
    assert by["cku_volume"].binding == "demand"
    # containers through Aktau stay far below 300,000 TEU at the 11 Mt mix: the demand asks for
    # too few, or the sailings from Aktau are full
    assert by["aktau_containers"].status == "not met"
    aktau = by["aktau_containers"].binding
    assert aktau == "demand" or "KZAAU" in aktau, aktau
    # transit is not halved: the corridor runs near capacity and shipments queue
    assert by["travel_time"].status == "not met"
    assert by["travel_time"].binding in summary.hours_by_cause
    # Trans-Caspian volume: far above 2024's 4.5 Mt; what is short of 11 Mt is named
    volume = by["trans_caspian_volume"]
    assert volume.value.mean > 7e6
    assert volume.status in ("not met", "uncertain", "met")
    if volume.status != "met":
        assert volume.binding != "-"
    assert {r.status for r in report.results} <= {"met", "not met", "uncertain"}
    # unstable queues are flagged with the capacity that would keep them short
    for u in report.unstable:
        assert u.offered_per_year.mean >= u.capacity_per_year
        assert u.capacity_needed_per_year > u.capacity_per_year


def test_unstable_queues_name_the_capacity_needed(corridor: Network) -> None:
    scenario = load_scenario("demand-2030", corridor).with_years(0.25)
    summary = summarise(scenario, replicate(scenario, 2, seed=3, backend=Backend.SEQUENTIAL))
    report = assess(summary, scenario)
    assert report.unstable  # 11 Mt on the 2024 corridor: some capacity is short
    ids = {u.id for u in report.unstable}
    assert any(i.startswith(("line:BTK-", "CASP-")) for i in ids), ids
    for u in report.unstable:
        assert u.capacity_needed_per_year == pytest.approx(u.offered_per_year.mean / 0.85)
