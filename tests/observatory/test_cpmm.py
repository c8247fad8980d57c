"""The CAREC CPMM indicators from corridor events, worked out by hand on the known events, and
on the command line (`kervan kpis`) beside the published CPMM figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from kervan.cli import app
from kervan.network.model import CargoUnit, Network
from kervan.observatory.cpmm import cpmm_csv_rows, cpmm_indicators
from kervan.observatory.events import parse_events
from tests.observatory.events_fixture import CROSSING, known_events


def _with_routes() -> list[dict[str, Any]]:
    """S1 and S2 on a planned 3,000 km route costing US$6,000 a shipment."""
    route = {"route_km": 3000.0, "route_cost_usd": 6000.0}
    return [{**e, **route} if e["shipment_id"] in ("S1", "S2") else e for e in known_events()]


def test_indicators_by_hand(corridor: Network) -> None:
    cpmm = cpmm_indicators(parse_events(_with_routes(), "known.json"), corridor)
    (crossing,) = cpmm.crossings
    assert crossing.crossing == CROSSING
    assert crossing.shipments == 2  # S1 20 h, S2 40 h at the border
    assert crossing.tcb_hours_mean == pytest.approx(30.0)
    assert crossing.ccb_usd == pytest.approx(
        corridor.crossings[CROSSING].cost_usd[CargoUnit.CONTAINER]
    )
    sections = {s.key: s for s in cpmm.sections}
    corridor_wide = sections["all"]
    # moving time: S1 92 - (20 border + 4 gauge change + 20 ferry wait) = 48 h; S2 100 - 40 = 60 h
    assert corridor_wide.sswod_kmh == pytest.approx(6000 / 108)
    assert corridor_wide.sswd_kmh == pytest.approx(6000 / 192)
    # S1: 6000 / 3000 km * 500 km / (20 t / 20 t) = 1000; S2 with 40 t: 500
    assert corridor_wide.ccs_usd_per_500km_20t == pytest.approx(750.0)
    assert sections["CNXIA>AZ-ALAT"].shipments == 2
    assert cpmm.published["tcb_rail_hours"] == 23.0
    assert cpmm.source in corridor.sources
    rows = cpmm_csv_rows(cpmm)
    assert f"cpmm_crossing,{CROSSING}/rail,tcb_hours_mean,30.0" in rows


def test_kpis_command_prints_cpmm(tmp_path: Path) -> None:
    events = tmp_path / "events.json"
    events.write_text(json.dumps(_with_routes()), encoding="utf-8")
    out = tmp_path / "kpis.csv"
    result = CliRunner().invoke(app, ["kpis", str(events), "--csv", str(out)])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["cpmm"]["crossings"][0]["tcb_hours_mean"] == pytest.approx(30.0)
    assert "cpmm_section,all,sswd_kmh" in out.read_text(encoding="utf-8")
