"""`kervan simulate`, `compare` and `kpis`: files written, exit codes for good and bad input."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kervan.cli import app
from tests.observatory.events_fixture import known_events

runner = CliRunner()


def test_kpis_prints_json_and_writes_csv(tmp_path: Path) -> None:
    events = tmp_path / "events.json"
    events.write_text(json.dumps(known_events()), encoding="utf-8")
    result = runner.invoke(app, ["kpis", str(events), "--csv", str(tmp_path / "kpis.csv")])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["kpis"]["shipments"] == 3
    assert "transit_by_od,CNXIA>AZ-ALAT,p50_hours,96.0" in (tmp_path / "kpis.csv").read_text()


def test_kpis_bad_file_exits_3_naming_it(tmp_path: Path) -> None:
    events = tmp_path / "events.json"
    events.write_text(json.dumps([{"shipment_id": "S1"}]), encoding="utf-8")
    result = runner.invoke(app, ["kpis", str(events)])
    assert result.exit_code == 3
    assert "events.json" in result.stderr
    assert "#1 (S1)" in result.stderr
    assert "Traceback" not in result.output


def test_simulate_writes_html_and_json(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "simulate",
            "baseline-2024",
            "--replications",
            "1",
            "--years",
            "0.05",
            "--seed",
            "3",
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    html = (tmp_path / "baseline-2024.html").read_text(encoding="utf-8")
    assert "<svg" in html
    assert "<script" not in html
    doc = json.loads((tmp_path / "baseline-2024.json").read_text(encoding="utf-8"))
    assert doc["seeds"] == [3]
    assert doc["conserved"] is True


def test_compare_prints_and_writes(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "compare",
            "baseline-2024",
            "digital-documents",
            "--replications",
            "3",
            "--years",
            "0.05",
            "--backend",
            "sequential",
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "border h/shipment" in result.stdout
    stem = tmp_path / "compare-baseline-2024-digital-documents"
    rows = {r["figure"]: r for r in csv.DictReader(io.StringIO(Path(f"{stem}.csv").read_text()))}
    border = rows["border h/shipment"]
    assert float(border["low"]) <= float(border["change"]) <= float(border["high"])
    assert float(border["high"]) < 0  # digital documents cut the dwell, beyond the dice
    assert border["clear"] == "yes"
    assert "95% interval" in Path(f"{stem}.html").read_text(encoding="utf-8")
    doc = json.loads(
        (tmp_path / "compare-baseline-2024-digital-documents.json").read_text(encoding="utf-8")
    )
    in_json = next(r for r in doc["rows"] if r["metric"] == "border h/shipment")
    assert in_json["change"] == pytest.approx(float(border["change"]), rel=1e-5)


def test_unknown_scenario_exits_3_and_bad_options_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["simulate", "atlantis", "--out", str(tmp_path)])
    assert result.exit_code == 3
    assert "atlantis" in result.stderr
    result = runner.invoke(app, ["simulate", "baseline-2024", "--replications", "0"])
    assert result.exit_code == 2
    assert "replications" in result.stderr
    result = runner.invoke(app, ["simulate", "baseline-2024", "--years", "-1"])
    assert result.exit_code == 2


def test_scenario_file_with_bad_capacity_exits_3(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        '[scenario]\nid = "bad"\ntitle = "bad"\nincludes = ["baseline-2024"]\n\n'
        '[[resource]]\nid = "port:KZKUR:ferry"\nkind = "port_handling"\nnode = "KZKUR"\n'
        "capacity_per_day = -1\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["simulate", str(path), "--out", str(tmp_path)])
    assert result.exit_code == 3
    assert "port:KZKUR:ferry" in result.stderr
    assert "capacity_per_day" in result.stderr
