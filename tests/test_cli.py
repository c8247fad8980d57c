"""The command line: readable output, machine formats and exit codes for good and bad input."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from kervan.cli import app

runner = CliRunner()
MINI = str(Path(__file__).parent / "fixtures" / "mini")


def test_route_prints_plans_and_legs() -> None:
    result = runner.invoke(app, ["route", "Xi'an", "Istanbul", "--dataset", MINI])
    assert result.exit_code == 0, result.output
    assert "Plan 1: legs" in result.output
    assert "Dostyk" in result.output
    assert "CIM/SMGS" in result.output


def test_route_json_is_machine_readable() -> None:
    result = runner.invoke(
        app, ["route", "xian", "istanbul", "--dataset", MINI, "--json", "--by", "cost"]
    )
    assert result.exit_code == 0, result.output
    plans = json.loads(result.stdout)
    assert plans[0]["legs"][0]["from_node"] == "CNXIY"
    assert plans[0]["totals"]["cost_usd"] == min(p["totals"]["cost_usd"] for p in plans)


def test_route_geojson_draws_every_leg() -> None:
    result = runner.invoke(
        app, ["route", "xian", "istanbul", "--dataset", MINI, "--geojson", "--alternatives", "1"]
    )
    assert result.exit_code == 0, result.output
    collection = json.loads(result.stdout)
    lines = [f for f in collection["features"] if f["geometry"]["type"] == "LineString"]
    assert len(lines) == 5
    assert lines[0]["geometry"]["coordinates"][0] == [108.929, 34.258]


def test_pareto_flag() -> None:
    result = runner.invoke(
        app, ["route", "xian", "istanbul", "--dataset", MINI, "--pareto", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)) >= 2


def test_unknown_place_exits_4_with_suggestions() -> None:
    result = runner.invoke(app, ["route", "Dostik", "Istanbul", "--dataset", MINI])
    assert result.exit_code == 4
    assert "Did you mean: Dostyk" in result.stderr
    assert "Traceback" not in result.output


def test_no_route_exits_5_with_the_reason() -> None:
    result = runner.invoke(app, ["route", "xian", "istanbul", "--avoid", "az", "--dataset", MINI])
    assert result.exit_code == 5
    assert "Avoiding AZ" in result.stderr


def test_bad_options_exit_2() -> None:
    bad = [
        ["route", "xian", "istanbul", "--weights", "1,x,1"],
        ["route", "xian", "istanbul", "--weights", "1,1"],
        ["route", "xian", "istanbul", "--on", "31/12/2030"],
        ["route", "xian", "istanbul", "--by", "speed"],
        ["route", "xian", "istanbul", "--alternatives", "0"],
        ["route", "xian", "istanbul", "--dataset", "/nonexistent/folder"],
    ]
    for args in bad:
        result = runner.invoke(app, [*args, "--dataset", MINI] if "--dataset" not in args else args)
        assert result.exit_code == 2, (args, result.output)


def test_network_validate_good_and_broken(tmp_path: Path) -> None:
    ok = runner.invoke(app, ["network", "validate", "--dataset", MINI])
    assert ok.exit_code == 0
    assert "7 nodes" in ok.output
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "dataset.toml").write_text("reference_year = 2026\n", encoding="utf-8")
    result = runner.invoke(app, ["network", "validate", "--dataset", str(broken)])
    assert result.exit_code == 3
    assert "sources.toml: record -: field -: file is missing" in result.stderr


def test_network_stats_and_places() -> None:
    stats = runner.invoke(app, ["network", "stats", "--dataset", MINI])
    assert stats.exit_code == 0
    assert "rail links" in stats.output
    found = runner.invoke(app, ["places", "ist", "--dataset", MINI])
    assert found.exit_code == 0
    assert "TRIST" in found.output
    none = runner.invoke(app, ["places", "zzzz", "--dataset", MINI])
    assert none.exit_code == 2


def test_route_on_the_corridor_shows_handling_waiting_and_driving_rest() -> None:
    wide = CliRunner(env={"COLUMNS": "200"})
    result = wide.invoke(app, ["route", "Xi'an", "Istanbul", "--alternatives", "1"])
    assert result.exit_code == 0, result.output
    assert "handling" in result.output  # lifting the container onto the train at Xi'an
    truck = wide.invoke(app, ["route", "Almaty", "Istanbul", "--unit", "truck"])
    assert truck.exit_code == 0, truck.output
    assert "driving rest" in truck.output
    assert "waiting" in truck.output  # for the next Caspian ferry and in the port queue


def test_route_json_carries_the_new_segments_and_the_scenario_options() -> None:
    result = runner.invoke(
        app, ["route", "Shanghai", "Rotterdam", "--close", "red-sea", "--by", "cost", "--json"]
    )
    assert result.exit_code == 0, result.output
    plans = json.loads(result.output)
    assert plans[0]["handling"]
    for plan in plans:
        assert "EG" not in plan["countries"]  # no ship through Suez and the Red Sea
    trucked = runner.invoke(app, ["route", "Xi'an", "Istanbul", "--trucking", "--json"])
    assert trucked.exit_code == 0, trucked.output
    assert any(leg["mode"] == "road" for p in json.loads(trucked.output) for leg in p["legs"])


def test_network_validate_checks_sea_legs_against_the_marine_network() -> None:
    result = runner.invoke(app, ["network", "validate"])
    assert result.exit_code == 0, result.output
    assert "valid" in result.output
