"""The 2030 targets as a report: statuses from intervals over replications, the binding
constraint, the reform-portfolio ranking, the HTML (targets drawn, labels in three languages)
and CSV exports, and `kervan targets` on the command line."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kervan.cli import app
from kervan.network.model import Network
from kervan.observatory.montecarlo import Backend, Estimate
from kervan.observatory.scenario import load_scenario
from kervan.observatory.targets import (
    TARGETS,
    ScenarioTargets,
    assess_scenario,
    portfolio_search,
    status,
)
from kervan.observatory.targets_report import targets_csv, targets_document
from kervan.web.i18n import LANGUAGES, locale

runner = CliRunner()


def test_status_comes_from_the_whole_interval() -> None:
    def e(mean: float, half: float) -> Estimate:
        return Estimate(mean=mean, low=mean - half, high=mean + half, n=4)

    assert status(e(12e6, 0.5e6), 11e6, at_most=False) == "met"
    assert status(e(10e6, 0.5e6), 11e6, at_most=False) == "not met"
    assert status(e(11.2e6, 0.5e6), 11e6, at_most=False) == "uncertain"
    assert status(e(0.4, 0.05), 0.5, at_most=True) == "met"
    assert status(e(0.52, 0.05), 0.5, at_most=True) == "uncertain"
    assert status(e(1.1, 0.05), 0.5, at_most=True) == "not met"


@pytest.fixture(scope="module")
def assessed(corridor: Network) -> list[ScenarioTargets]:
    out = []
    for name in ("baseline-2024", "corridor-2030"):
        scenario = load_scenario(name, corridor).with_years(0.25)
        out.append(assess_scenario(scenario, 2, seed=1, backend=Backend.SEQUENTIAL))
    return out


def test_each_target_in_each_scenario_with_its_interval(assessed: list[ScenarioTargets]) -> None:
    base, plan = assessed
    for a in assessed:
        assert [r.target for r in a.results] == [t.id for t in TARGETS]
        for r in a.results:
            assert r.status in ("met", "not met", "uncertain")
            assert r.value.n == 2
            assert r.value.low <= r.value.mean <= r.value.high
            assert (r.binding == "-") == (r.status == "met")
    by = {r.target: r for r in base.results}
    # 2024: 4.5 Mt is far from 11 Mt, no CKU yet, Aktau far below 300k TEU
    assert by["trans_caspian_volume"].status == "not met"
    assert by["cku_volume"].value.mean == 0.0
    assert by["cku_volume"].binding == "demand"
    assert by["aktau_containers"].status == "not met"
    planned = {r.target: r for r in plan.results}
    assert planned["trans_caspian_volume"].value.mean > 1.5 * by["trans_caspian_volume"].value.mean
    assert planned["cku_volume"].value.mean > 0  # the CKU is open in the 2030 corridor
    assert plan.investment_usd > 0  # the CKU's published cost
    assert "btk-15mt" in plan.uncosted


def test_reports_draw_targets_and_speak_three_languages(
    assessed: list[ScenarioTargets],
) -> None:
    seen = set()
    for lang in LANGUAGES:
        loc = locale(lang)
        html = targets_document(assessed, [], loc.t, loc.number, lang)
        assert html.count('class="target-line"') == len(TARGETS)
        assert html.count('class="interval"') == 2 * len(TARGETS)  # one per scenario and target
        text = re.sub(r"<[^>]+>", " ", html)
        for raw in (
            "trans_caspian_volume",
            "cku_volume",
            "line_haul",
            "tg.",
            "not met"[:0] + "tg_",
        ):
            assert raw not in text
        seen.add(loc.t("tg.target.trans_caspian_volume"))
        assert loc.t("tg.target.trans_caspian_volume") in text
    assert len(seen) == 3
    rows = list(csv.reader(io.StringIO(targets_csv(assessed, []))))
    assert rows[0][:4] == ["scenario", "target", "goal", "unit"]
    assert len(rows) == 1 + 2 * len(TARGETS)
    assert {r[0] for r in rows[1:]} == {"baseline-2024", "corridor-2030"}


def test_portfolios_are_ranked_and_costed_where_published(corridor: Network) -> None:
    ranked = portfolio_search(
        corridor,
        ("cku-open", "btk-15mt"),
        max_size=1,
        replications=2,
        years=0.1,
        seed=2,
        backend=Backend.SEQUENTIAL,
    )
    assert {p.reforms for p in ranked} == {
        (),
        ("cku-open",),
        ("btk-15mt",),
        ("cku-open", "btk-15mt"),
    }
    scores = [p.score for p in ranked]
    assert scores == sorted(scores, reverse=True)
    by = {p.reforms: p for p in ranked}
    assert by[("cku-open",)].score_gain_per_billion_usd is not None  # US$4.7 bn published
    assert by[("btk-15mt",)].score_gain_per_billion_usd is None  # no published cost
    assert by[("cku-open",)].reached["cku_volume"] > 0 == by[()].reached["cku_volume"]


def test_targets_command_writes_html_and_csv(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "targets",
            "baseline-2024",
            "--replications",
            "2",
            "--years",
            "0.05",
            "--backend",
            "sequential",
            "--lang",
            "tr",
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "not met" in result.stdout
    html = (tmp_path / "targets.html").read_text(encoding="utf-8")
    assert 'lang="tr"' in html
    assert "Hazar ötesi taşıma hacmi" in html
    assert "baseline-2024,trans_caspian_volume" in (tmp_path / "targets.csv").read_text()


def test_targets_command_refuses_bad_options(tmp_path: Path) -> None:
    bad = runner.invoke(app, ["targets", "--lang", "xx", "--out", str(tmp_path)])
    assert bad.exit_code != 0
    assert "--lang" in bad.output
    assert "Traceback" not in bad.output
    missing = runner.invoke(app, ["targets", "no-such-scenario", "--out", str(tmp_path)])
    assert missing.exit_code != 0
    assert "no-such-scenario" in missing.output
