"""KPIs on a hand-made event set give the answers worked out by hand."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from kervan.errors import DatasetError
from kervan.network.model import Network
from kervan.observatory.events import load_events, parse_events
from kervan.observatory.kpis import (
    Cause,
    CorridorKpis,
    compare_with_published,
    compute_kpis,
    kpis_to_csv,
    kpis_to_json,
)
from tests.observatory.events_fixture import CROSSING, known_events


@pytest.fixture(scope="module")
def kpis(corridor: Network) -> CorridorKpis:
    return compute_kpis(parse_events(known_events(), "known.json"), corridor)


def test_counts_and_shares(kpis: CorridorKpis) -> None:
    assert (kpis.shipments, kpis.delivered, kpis.in_transit) == (3, 2, 1)
    assert kpis.on_time_share == pytest.approx(0.5)  # S1 92 h <= 100; S2 100 h > 80
    assert kpis.on_time_counted == 2
    assert kpis.digital_share == pytest.approx(1 / 3)


def test_transit_per_origin_destination_and_segment(kpis: CorridorKpis) -> None:
    (od,) = kpis.transit_by_od
    assert od.key == "CNXIA>AZ-ALAT"
    assert (od.count, od.p50, od.mean) == (2, 96.0, 96.0)
    assert od.p90 == pytest.approx(99.2)
    assert od.spread == pytest.approx(3.2)
    seg = {s.key: s for s in kpis.transit_by_segment}
    assert (seg["L1"].count, seg["L1"].p50) == (3, 10.0)
    assert seg["L1"].p90 == pytest.approx(11.6)
    assert seg["L2"].p50 == 17.0
    assert seg["L2"].p90 == pytest.approx(17.8)
    assert (seg["L3"].count, seg["L3"].p50) == (1, 18.0)


def test_border_dwell_per_crossing_and_mode(kpis: CorridorKpis) -> None:
    (dwell,) = kpis.border_dwell
    # S2's events carry no mode: the network's crossing says rail.
    assert (dwell.crossing, dwell.mode) == (CROSSING, "rail")
    assert (dwell.count, dwell.p50) == (2, 30.0)
    assert dwell.p90 == pytest.approx(38.0)


def test_time_by_cause_adds_up_to_transit(kpis: CorridorKpis) -> None:
    hours = {c.cause: c.hours for c in kpis.time_by_cause}
    assert hours[Cause.LINE_HAUL] == pytest.approx(44 + 30)
    assert hours[Cause.BORDER] == pytest.approx(20 + 40)
    assert hours[Cause.GAUGE_CHANGE] == pytest.approx(4)
    assert hours[Cause.FERRY_WAIT] == pytest.approx(20)
    assert hours[Cause.TRANSFER] == 0
    assert hours[Cause.NODE_DWELL] == pytest.approx(4 + 30)
    assert sum(hours.values()) == pytest.approx(92 + 100)
    per = {c.cause: c.hours_per_shipment for c in kpis.time_by_cause}
    assert per[Cause.LINE_HAUL] == pytest.approx(37)


def test_volumes_per_link_and_country_pair(kpis: CorridorKpis) -> None:
    links = {v.key: v for v in kpis.volume_by_link}
    assert (links["L1"].shipments, links["L1"].teu, links["L1"].tonnes) == (3, 8.0, 80.0)
    assert (links["L2"].shipments, links["L2"].tonnes) == (2, 60.0)
    (pair,) = kpis.volume_by_country_pair  # delivered shipments only
    assert (pair.key, pair.shipments, pair.teu, pair.tonnes) == ("CN>AZ", 2, 6.0, 60.0)


def test_comparison_with_published_figures(kpis: CorridorKpis, corridor: Network) -> None:
    rows = compare_with_published(kpis, corridor, {"CNXIA>AZ-ALAT": 200.0})
    dwell = next(r for r in rows if r.metric == "border dwell p50 (h)")
    assert (dwell.observed, dwell.published) == (30.0, 48.6)
    assert dwell.published_source == "est-border-kz-rail"
    volume = [r for r in rows if r.metric.startswith("volume")]
    assert [r.published for r in volume] == [4_484_000.0, 4_119_000.0]
    # 60 t delivered over 124 h of events, annualised.
    assert volume[0].observed == pytest.approx(60 * 8760 / 124)
    assert volume[0].target_2030 == 11_000_000.0
    assert volume[0].target_met is False
    transit = next(r for r in rows if r.metric == "transit p50 (h)")
    assert (transit.target_2030, transit.target_met) == (100.0, True)


def test_exports_as_csv_and_json(kpis: CorridorKpis, corridor: Network) -> None:
    rows = compare_with_published(kpis, corridor)
    table = list(csv.DictReader(io.StringIO(kpis_to_csv(kpis, rows))))
    found = {(r["table"], r["key"], r["metric"]): r["value"] for r in table}
    assert float(found[("transit_by_od", "CNXIA>AZ-ALAT", "p90_hours")]) == pytest.approx(99.2)
    assert float(found[("totals", "-", "on_time_share")]) == 0.5
    doc = json.loads(kpis_to_json(kpis, rows))
    assert doc["kpis"]["delivered"] == 2
    assert doc["baseline"][0]["published_source"] == "est-border-kz-rail"


def test_bad_event_names_file_record_and_field(tmp_path: Path) -> None:
    events = known_events()
    del events[0]["link"]
    path = tmp_path / "events.json"
    path.write_text(json.dumps(events), encoding="utf-8")
    with pytest.raises(DatasetError) as caught:
        load_events(path)
    assert caught.value.file == str(path)
    assert caught.value.record == "#1 (S1)"
    assert "link" in caught.value.problem
    events = known_events()
    events[3]["tonnes"] = -1
    with pytest.raises(DatasetError) as caught:
        parse_events(events, "x.json")
    assert (caught.value.record, caught.value.field) == ("#4 (S1)", "tonnes")


def test_events_must_be_a_list(tmp_path: Path) -> None:
    path = tmp_path / "events.json"
    path.write_text('{"events": 3}', encoding="utf-8")
    with pytest.raises(DatasetError, match="JSON array"):
        load_events(path)
    path.write_text("not json", encoding="utf-8")
    with pytest.raises(DatasetError, match="not valid JSON"):
        load_events(path)
