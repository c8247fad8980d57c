"""The planner against the shipped table of published origin-destination figures."""

from __future__ import annotations

from dataclasses import replace

from typer.testing import CliRunner

from kervan.cli import app
from kervan.network.model import Network
from kervan.routing.planner import Planner
from kervan.routing.validation import compare, compare_figures, load_figures


def test_the_table_holds_at_least_15_sourced_figures_with_times_and_costs() -> None:
    figures, time_band, cost_band = load_figures()
    assert len(figures) >= 15
    assert sum(1 for f in figures if f.days) >= 15
    assert sum(1 for f in figures if f.cost_usd) >= 2
    assert all(f.source and f.covers for f in figures)
    assert time_band[0] < 1 < time_band[1]
    assert cost_band[0] < 1 < cost_band[1]


def test_every_plan_falls_inside_its_published_band(corridor: Network) -> None:
    outside = [(c.figure.id, c.problem) for c in compare(Planner(corridor)) if not c.inside]
    assert outside == []


def test_a_plan_outside_its_band_is_caught(corridor: Network) -> None:
    figures, _, _ = load_figures()
    duisburg = next(f for f in figures if f.id == "xian-duisburg-northern")
    too_fast = replace(duisburg, days=(2.0, 3.0), cost_usd=(100.0, 200.0))
    [verdict] = compare_figures(Planner(corridor), [too_fast], (0.7, 1.3), (0.5, 1.5))
    assert not verdict.inside
    assert verdict.problem is not None
    assert "days" in verdict.problem
    assert "US$" in verdict.problem


def test_check_plans_command_prints_plan_against_published() -> None:
    result = CliRunner(env={"COLUMNS": "200"}).invoke(app, ["network", "check-plans"])
    assert result.exit_code == 0, result.output
    assert "erai-dostyk-brest" in result.output
    assert "inside" in result.output
