"""Planned links a scenario adds (the Zangezur corridor) and openings whose year is uncertain:
each replication draws its opening year from its seed; the planner routes over the new links
only in replications where they are open; bad records are refused naming the record."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from kervan.errors import DatasetError, NoRouteError
from kervan.network.model import CargoUnit, Network
from kervan.observatory.links import draw_openings, extended
from kervan.observatory.scenario import load_scenario
from kervan.observatory.simulator import run
from kervan.routing.planner import Planner, PlanRequest

# The planner enters no country twice, so it does not route Azerbaijan - Armenia - Azerbaijan
# (Nakhchivan is an exclave) through: the new Nakhchivan - Dilucu - Kars line is what it uses.
ZANGEZUR = ("ZNG-AZTR-NAKHCHIVAN-DILUCU", "ZNG-TR-DILUCU-KARS")


def _via_zangezur(network: Network, year_open: int) -> bool:
    scenario = load_scenario("zangezur", network)
    net = extended(network, scenario.additions, {"zangezur-opening": year_open}, scenario.sources)
    request = PlanRequest(
        origin="AZ-NAKHCHIVAN",
        destination="TRKSY",
        unit=CargoUnit.CONTAINER,
        year=2031,
        alternatives=4,
    )
    try:
        plans = Planner(net).plan(request)
    except NoRouteError:
        return False
    return any(set(ZANGEZUR) <= set(p.link_ids) for p in plans)


def test_the_zangezur_corridor_is_routable_only_once_open(corridor: Network) -> None:
    assert _via_zangezur(corridor, 2028)
    assert not _via_zangezur(corridor, 2035)  # seen in 2031, not yet open
    assert "ZNG-TR-DILUCU-KARS" not in corridor.links  # the shipped network is untouched


def test_opening_years_are_drawn_per_replication(corridor: Network) -> None:
    scenario = load_scenario("zangezur", corridor)
    draws = [
        dict(draw_openings(scenario.additions, seed))["zangezur-opening"] for seed in range(200)
    ]
    assert draws == [
        dict(draw_openings(scenario.additions, s))["zangezur-opening"] for s in range(200)
    ]
    counts = Counter(draws)
    assert set(counts) == {2028, 2030, 2032, 2035}
    assert counts[2030] > counts[2028]  # 0.35 against 0.15
    result = run(scenario.with_years(0.05), seed=3)
    assert result.openings == dict(draw_openings(scenario.additions, 3))


OWN = """
[[source]]
id = "est-test"
title = "test figures"
publisher = "Kervan tests"
year = 2026
kind = "estimate"
method = "made up for a test"
"""


def _scenario(folder: Path, body: str) -> str:
    text = '[scenario]\nid = "t"\ntitle = "t"\nincludes = ["baseline-2024"]\n' + OWN + body
    path = folder / "t.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


LINK = """
[[link]]
id = "T-LINK"
from_node = "AZ-ALAT"
to_node = "{to}"
mode = "rail"
distance_km = 10.0
hours = {{ p50 = 1.0, p90 = 2.0 }}
cost_usd = {{ container = 10.0 }}
co2_g_per_tkm = 28.0
gauge_mm = 1520
sources = {{ "*" = "est-test" }}
"""


def test_bad_additions_are_refused_naming_the_record(corridor: Network, tmp_path: Path) -> None:
    with pytest.raises(DatasetError) as caught:
        load_scenario(_scenario(tmp_path, LINK.format(to="XX-NOWHERE")), corridor)
    assert (caught.value.record, caught.value.field) == ("T-LINK", "to_node")
    # a link into Georgia needs its border crossing
    with pytest.raises(DatasetError) as caught:
        load_scenario(_scenario(tmp_path, LINK.format(to="GETBS")), corridor)
    assert "border crossing" in caught.value.problem
    opening = """
[[opening]]
id = "o"
links = ["T-LINK"]
years = [2030, 2031]
probabilities = [0.5, 0.6]
sources = { "*" = "est-test" }
"""
    with pytest.raises(DatasetError) as caught:
        load_scenario(_scenario(tmp_path, LINK.format(to="AZBAK") + opening), corridor)
    assert caught.value.record == "o"
