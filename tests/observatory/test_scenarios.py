"""Scenario and demand files: shipped ones load with a source for every figure; bad ones are
refused before anything runs, naming the file, the record and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from kervan.errors import DatasetError
from kervan.network.model import Network
from kervan.observatory.model import compile_scenario
from kervan.observatory.scenario import load_scenario, shipped_scenarios
from kervan.observatory.simulator import run

FLOW = """
[[flow]]
id = "{id}"
origin = "{origin}"
destination = "GEPTI"
unit = "bulk"
avoid_modes = ["road", "sea"]
units_per_shipment = {size}
tonnes_per_year = {tonnes}
sources = {{ "*" = "est-obs-own" }}
"""

OWN_SOURCE = """
[[source]]
id = "est-obs-own"
title = "test figures"
publisher = "Kervan tests"
year = 2026
kind = "estimate"
method = "made up for a test"
"""


def _demand(
    folder: Path, *, origin: str = "KZ-ASTANA", size: float = 3000, tonnes: str = "1e6"
) -> None:
    text = '[demand]\nid = "flows-test"\ntitle = "test flows"\nyear = 2024\n' + OWN_SOURCE
    text += FLOW.format(id="astana-poti", origin=origin, size=size, tonnes=tonnes)
    (folder / "flows-test.toml").write_text(text, encoding="utf-8")


def _scenario(folder: Path, body: str = "", header: str = "") -> str:
    text = (
        '[scenario]\nid = "test"\ntitle = "a test scenario"\nincludes = ["baseline-2024"]\n'
        f"{header}\n{OWN_SOURCE}\n{body}"
    )
    path = folder / "test.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_shipped_scenarios_load_and_name_sources(corridor: Network) -> None:
    names = shipped_scenarios()
    for expected in (
        "baseline-2024",
        "digital-documents",
        "cku-open",
        "aktau-alat-expansion",
        "caspian-700teu-ships",
        "demand-2030",
        "digital-cku",
        "corridor-2030",
    ):
        assert expected in names
    for name in names:
        scenario = load_scenario(name, corridor)
        known = {**corridor.sources, **scenario.sources}
        for spec in scenario.resources:
            assert spec.sources, spec.id
            assert all(s in known for s in spec.sources.values()), spec.id
        for flow in scenario.demand.flows:
            assert all(s in known for s in flow.sources.values()), flow.id


def test_combination_applies_both_changes_once(corridor: Network) -> None:
    both = load_scenario("digital-cku", corridor)
    assert both.year == 2031  # from cku-open
    assert both.digital_documents_share == 1.0  # from digital-documents, not reset by cku-open
    assert both.files[0].endswith("baseline-2024.toml")
    assert sum(f.endswith("baseline-2024.toml") for f in both.files) == 1


def test_unknown_node_in_demand(corridor: Network, tmp_path: Path) -> None:
    _demand(tmp_path, origin="KZNOPE")
    path = _scenario(tmp_path, header='demand = "flows-test"')
    with pytest.raises(DatasetError) as caught:
        load_scenario(path, corridor)
    e = caught.value
    assert e.file.endswith("flows-test.toml")
    assert (e.record, e.field) == ("astana-poti", "origin")
    assert "KZNOPE" in e.problem


def test_negative_capacity(corridor: Network, tmp_path: Path) -> None:
    body = """
[[resource]]
id = "port:KZKUR:ferry"
kind = "port_handling"
node = "KZKUR"
unit = "tonnes"
capacity_per_day = -5
sources = { capacity_per_day = "est-obs-own" }
"""
    path = _scenario(tmp_path, body)
    with pytest.raises(DatasetError) as caught:
        load_scenario(path, corridor)
    e = caught.value
    assert (e.file, e.record, e.field) == (path, "port:KZKUR:ferry", "capacity_per_day")


def test_unknown_node_or_source_in_a_resource(corridor: Network, tmp_path: Path) -> None:
    body = """
[[resource]]
id = "port:nowhere"
kind = "port_handling"
node = "KZNOPE"
capacity_per_day = 5
sources = { capacity_per_day = "est-obs-own" }
"""
    with pytest.raises(DatasetError) as caught:
        load_scenario(_scenario(tmp_path, body), corridor)
    assert (caught.value.record, caught.value.field) == ("port:nowhere", "node")
    body = body.replace("KZNOPE", "KZKUR").replace('"est-obs-own" }', '"no-such-source" }')
    with pytest.raises(DatasetError) as caught:
        load_scenario(_scenario(tmp_path, body), corridor)
    assert caught.value.field == "sources.capacity_per_day"


def test_figure_without_a_source(corridor: Network, tmp_path: Path) -> None:
    path = _scenario(tmp_path, header="green_lane_share = 0.3")
    with pytest.raises(DatasetError) as caught:
        load_scenario(path, corridor)
    assert (caught.value.record, caught.value.field) == ("test", "sources.green_lane_share")


def test_impossible_demand_is_refused_before_running(corridor: Network, tmp_path: Path) -> None:
    # A 17,000 t shipment: more than Kuryk handles in a day (16,438 t). Shippers route it over
    # the alternatives that can carry it; it is an error only when none can.
    _demand(tmp_path, size=17000)
    scenario = load_scenario(_scenario(tmp_path, header='demand = "flows-test"'), corridor)
    options = compile_scenario(scenario, corridor).flows[0].options
    assert options
    assert not any("CASP-KUR" in o.label for o in options)
    # Every route out of Astana takes at most 10,000 t a day: it could never pass.
    body = """
[[resource]]
id = "track:astana"
kind = "track"
links = ["KZ-ASTANA-PPK", "KZ-MOINTY-ASTANA"]
unit = "tonnes"
capacity_per_day = 10000
sources = { capacity_per_day = "est-obs-own" }
"""
    scenario = load_scenario(_scenario(tmp_path, body, header='demand = "flows-test"'), corridor)
    with pytest.raises(DatasetError) as caught:
        compile_scenario(scenario, corridor)
    e = caught.value
    assert e.file.endswith("flows-test.toml")
    assert (e.record, e.field) == ("astana-poti", "units_per_shipment")
    assert "track:astana" in e.problem
    with pytest.raises(DatasetError):
        run(scenario.with_years(0.01), seed=1)


def test_negative_or_absurd_demand(corridor: Network, tmp_path: Path) -> None:
    _demand(tmp_path, tonnes="-3")
    path = _scenario(tmp_path, header='demand = "flows-test"')
    with pytest.raises(DatasetError) as caught:
        load_scenario(path, corridor)
    assert (caught.value.record, caught.value.field) == ("astana-poti", "tonnes_per_year")
    _demand(tmp_path, size=1, tonnes="1e9")
    with pytest.raises(DatasetError) as caught:
        load_scenario(path, corridor)
    assert caught.value.field == "tonnes_per_year"
    assert "shipments a year" in caught.value.problem


def test_include_cycle_and_missing_include(corridor: Network, tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(
        '[scenario]\nid = "a"\ntitle = "a"\nincludes = ["b"]\n', encoding="utf-8"
    )
    (tmp_path / "b.toml").write_text(
        '[scenario]\nid = "b"\ntitle = "b"\nincludes = ["a"]\n', encoding="utf-8"
    )
    with pytest.raises(DatasetError, match="cycle") as caught:
        load_scenario(str(tmp_path / "a.toml"), corridor)
    assert caught.value.field == "includes"
    (tmp_path / "c.toml").write_text(
        '[scenario]\nid = "c"\ntitle = "c"\nincludes = ["nowhere"]\n', encoding="utf-8"
    )
    with pytest.raises(DatasetError, match="no scenario 'nowhere'"):
        load_scenario(str(tmp_path / "c.toml"), corridor)


def test_unknown_scenario_name(corridor: Network) -> None:
    with pytest.raises(DatasetError, match="no scenario file"):
        load_scenario("no-such-scenario", corridor)
