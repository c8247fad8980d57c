"""Planned links a scenario adds (the Zangezur corridor) and openings whose year is uncertain:
each replication draws its opening year from its seed; the planner routes over the new links
only in replications where they are open, through the Nakhchivan exclave (Azerbaijan - Armenia -
Azerbaijan) because the opening allows that re-entry; cargo takes the corridor when Baku-Tbilisi-
Kars is full and the corridor is open; bad records are refused naming the record."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from kervan.errors import DatasetError, NoRouteError
from kervan.network.model import CargoUnit, Network
from kervan.observatory.links import draw_openings, extended, reentry_allowed
from kervan.observatory.scenario import load_scenario
from kervan.observatory.simulator import run
from kervan.routing.planner import Planner, PlanRequest

ZANGEZUR = (
    "ZNG-AZ-ALAT-HORADIZ",
    "ZNG-AZAM-HORADIZ-MEGHRI",
    "ZNG-AMAZ-MEGHRI-NAKHCHIVAN",
    "ZNG-AZTR-NAKHCHIVAN-DILUCU",
    "ZNG-TR-DILUCU-KARS",
)


def _via_zangezur(network: Network, year_open: int, origin: str = "AZ-ALAT") -> bool:
    scenario = load_scenario("zangezur", network)
    net = extended(network, scenario.additions, {"zangezur-opening": year_open}, scenario.sources)
    request = PlanRequest(
        origin=origin,
        destination="TRKSY",
        unit=CargoUnit.CONTAINER,
        year=2031,
        alternatives=4,
        allow_reentry=True,
    )
    try:
        plans = Planner(net).plan(request)
    except NoRouteError:
        return False
    return any(
        set(ZANGEZUR[-2:]) <= set(p.link_ids)
        and reentry_allowed(scenario.additions, p.entered_countries, p.link_ids)
        for p in plans
    )


def test_the_zangezur_corridor_is_routable_only_once_open(corridor: Network) -> None:
    assert _via_zangezur(corridor, 2028)
    assert _via_zangezur(corridor, 2028, origin="AZ-NAKHCHIVAN")
    assert not _via_zangezur(corridor, 2035)  # seen in 2031, not yet open
    assert "ZNG-TR-DILUCU-KARS" not in corridor.links  # the shipped network is untouched


def test_reentry_only_where_an_opening_allows_it(corridor: Network) -> None:
    additions = load_scenario("zangezur", corridor).additions
    exclave = ("AZ", "AM", "AZ", "TR")
    assert reentry_allowed(additions, exclave, ZANGEZUR)
    # the same countries over other links (say, out to Georgia and back): refused
    assert not reentry_allowed(additions, ("AZ", "GE", "AZ"), ("BTK-AZ-GANJA-BOYUK-KESIK",))
    # a second entry into Armenia is not what the opening allows
    assert not reentry_allowed(additions, ("AZ", "AM", "AZ", "AM"), ZANGEZUR)
    assert reentry_allowed(additions, ("KZ", "AZ", "GE"), ())


#: Cargo from the Caspian to eastern Turkiye beyond what Baku-Tbilisi-Kars carries (the
#: network's 6.5 Mt a year as it opened): it queues on BTK and, where the Zangezur corridor is
#: open in the simulated year, diverts to it.
TO_KARS = """
[demand]
id = "to-kars"
title = "Caspian - Kars bulk beyond BTK's capacity"
year = 2031

[[source]]
id = "est-test"
title = "test figures"
publisher = "Kervan tests"
year = 2026
kind = "estimate"
method = "more than BTK's 6.5 Mt a year, to make it queue"

[[flow]]
id = "alat-kars-bulk"
origin = "AZ-ALAT"
destination = "TRKSY"
unit = "bulk"
avoid_modes = ["road"]
units_per_shipment = 3000
tonnes_per_year = 9000000
sources = { tonnes_per_year = "est-test", units_per_shipment = "est-test" }
"""


def test_cargo_takes_the_zangezur_corridor_when_it_is_open(
    corridor: Network, tmp_path: Path
) -> None:
    (tmp_path / "to-kars.toml").write_text(TO_KARS, encoding="utf-8")
    path = tmp_path / "kars.toml"
    path.write_text(
        '[scenario]\nid = "kars"\ntitle = "kars"\nincludes = ["zangezur"]\n'
        'demand = "to-kars"\nwarmup_days = 20\n',
        encoding="utf-8",
    )
    scenario = load_scenario(str(path), corridor).with_years(0.2)
    by_seed = {s: dict(draw_openings(scenario.additions, s))["zangezur-opening"] for s in range(8)}
    opened = next(s for s, year in by_seed.items() if year <= scenario.year)
    closed = next(s for s, year in by_seed.items() if year > scenario.year)
    open_run, closed_run = run(scenario, opened), run(scenario, closed)
    assert open_run.openings == {"zangezur-opening": by_seed[opened]}
    through = open_run.link_tonnes_per_year.get("ZNG-AMAZ-MEGHRI-NAKHCHIVAN", 0.0)
    assert through > 1_000_000  # diverted through Armenia into the exclave, millions of tonnes
    assert open_run.diverted_tonnes_per_year > 0
    assert "ZNG-AMAZ-MEGHRI-NAKHCHIVAN" not in closed_run.link_tonnes_per_year
    assert closed_run.refused_tonnes_per_year > open_run.refused_tonnes_per_year


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
