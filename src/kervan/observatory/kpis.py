"""Corridor KPIs from recorded events, and how they compare with published figures and targets.

In: corridor events (see events.py). Out: transit time per origin-destination and per segment
(link), border dwell per crossing and mode, time by cause, volumes per link and per country pair,
the on-time share against the planned P90 and the share of shipments on digital documents.
Quantiles are numpy's linear-interpolation quantiles over the delivered shipments.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

import numpy as np
from pydantic import BaseModel, ConfigDict

from kervan.network.model import Network
from kervan.observatory import published
from kervan.observatory.events import CorridorEvent, EventType, TransferEventKind

HOURS_PER_YEAR = 8760.0


class Cause(StrEnum):
    """Where a shipment's time goes."""

    LINE_HAUL = "line_haul"
    BORDER = "border"
    TRANSFER = "transfer"  # change of mode: port handling, rail-road
    GAUGE_CHANGE = "gauge_change"
    FERRY_WAIT = "ferry_wait"
    NODE_DWELL = "node_dwell"  # at a node with no recorded cause (marshalling, waiting for a path)


_TRANSFER_CAUSE = {
    TransferEventKind.GAUGE_CHANGE: Cause.GAUGE_CHANGE,
    TransferEventKind.MODE_CHANGE: Cause.TRANSFER,
    TransferEventKind.FERRY_WAIT: Cause.FERRY_WAIT,
}


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class TimeStat(_Out):
    """A time distribution in hours: how many, median, 90th percentile, spread and mean."""

    key: str
    count: int
    p50: float
    p90: float
    spread: float
    mean: float


class BorderDwellStat(TimeStat):
    crossing: str
    mode: str


class CauseStat(_Out):
    cause: Cause
    hours: float
    share: float
    hours_per_shipment: float


class VolumeStat(_Out):
    key: str
    shipments: int
    teu: float
    tonnes: float


class CorridorKpis(_Out):
    """Every KPI the observatory computes from one set of events."""

    shipments: int
    delivered: int
    in_transit: int
    period_start: datetime | None
    period_end: datetime | None
    transit_by_od: tuple[TimeStat, ...]
    transit_by_segment: tuple[TimeStat, ...]
    border_dwell: tuple[BorderDwellStat, ...]
    time_by_cause: tuple[CauseStat, ...]
    volume_by_link: tuple[VolumeStat, ...]
    volume_by_country_pair: tuple[VolumeStat, ...]
    on_time_share: float | None
    on_time_counted: int
    digital_share: float | None

    @property
    def period_hours(self) -> float:
        if self.period_start is None or self.period_end is None:
            return 0.0
        return (self.period_end - self.period_start).total_seconds() / 3600.0

    @property
    def tonnes_delivered(self) -> float:
        return sum(v.tonnes for v in self.volume_by_country_pair)


class BaselineRow(_Out):
    """One KPI beside its published figure and the 2030 target, where there is one."""

    metric: str
    scope: str
    observed: float
    published: float | None
    published_source: str | None
    target_2030: float | None
    target_source: str | None
    target_met: bool | None


def time_stat(key: str, hours: Sequence[float]) -> TimeStat:
    """Count, P50, P90, P90-P50 and mean of a list of hours."""
    values = np.asarray(hours, dtype=np.float64)
    p50, p90 = (float(q) for q in np.quantile(values, [0.5, 0.9]))
    return TimeStat(
        key=key, count=len(values), p50=p50, p90=p90, spread=p90 - p50, mean=float(values.mean())
    )


@dataclass
class Journey:
    """One shipment's events folded into intervals."""

    first: CorridorEvent
    start: datetime | None = None
    delivered: datetime | None = None
    digital: bool = False
    planned_p90: float | None = None
    segments: list[tuple[str, datetime, datetime]] = field(default_factory=list)
    borders: list[tuple[str, str, datetime, datetime]] = field(default_factory=list)
    transfers: list[tuple[Cause, datetime, datetime]] = field(default_factory=list)
    links: list[str] = field(default_factory=list)


def _hours(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / 3600.0


def _overlap(a: tuple[datetime, datetime], b: tuple[datetime, datetime]) -> float:
    lo, hi = max(a[0], b[0]), min(a[1], b[1])
    return max(_hours(lo, hi), 0.0)


def fold_journey(events: Sequence[CorridorEvent]) -> Journey:
    """One shipment's events (any order) folded into segments, borders and transfers."""
    ordered = sorted(enumerate(events), key=lambda p: (p[1].at, p[0]))
    journey = Journey(first=events[0])
    open_link: dict[str, datetime] = {}
    open_border: dict[str, datetime] = {}
    open_transfer: dict[tuple[str, TransferEventKind], datetime] = {}
    for _, e in ordered:
        journey.digital |= e.digital_documents
        if e.planned_p90_hours is not None:
            journey.planned_p90 = e.planned_p90_hours
        if e.event is EventType.DEPARTED:
            assert e.link is not None  # enforced by CorridorEvent
            journey.start = journey.start or e.at
            open_link[e.link] = e.at
            if e.link not in journey.links:
                journey.links.append(e.link)
        elif e.event is EventType.ARRIVED_NODE and e.link in open_link:
            journey.segments.append((e.link, open_link.pop(e.link), e.at))
        elif e.event is EventType.BORDER_ARRIVAL:
            assert e.crossing is not None
            open_border[e.crossing] = e.at
        elif e.event is EventType.BORDER_RELEASE and e.crossing in open_border:
            mode = e.mode.value if e.mode else ""
            journey.borders.append((e.crossing, mode, open_border.pop(e.crossing), e.at))
        elif e.event is EventType.TRANSFER_START:
            assert e.node is not None
            assert e.transfer_kind is not None
            open_transfer[(e.node, e.transfer_kind)] = e.at
        elif e.event is EventType.TRANSFER_END:
            assert e.node is not None
            assert e.transfer_kind is not None
            began = open_transfer.pop((e.node, e.transfer_kind), None)
            if began is not None:
                journey.transfers.append((_TRANSFER_CAUSE[e.transfer_kind], began, e.at))
        elif e.event is EventType.DELIVERED:
            journey.delivered = e.at
    if journey.start is None:
        journey.start = ordered[0][1].at
    return journey


def journey_causes(j: Journey) -> dict[Cause, float]:
    """Hours of a journey by cause (what no event explains is node dwell)."""
    out = dict.fromkeys(Cause, 0.0)
    stops = [(b[2], b[3]) for b in j.borders] + [(t[1], t[2]) for t in j.transfers]
    for _, _, a, b in j.borders:
        out[Cause.BORDER] += _hours(a, b)
    for cause, a, b in j.transfers:
        out[cause] += _hours(a, b)
    for _, a, b in j.segments:
        # A border or transfer recorded inside a segment is not line haul.
        inside = sum(_overlap((a, b), s) for s in stops)
        out[Cause.LINE_HAUL] += max(_hours(a, b) - inside, 0.0)
    if j.delivered is not None and j.start is not None:
        counted = sum(out.values())
        out[Cause.NODE_DWELL] = max(_hours(j.start, j.delivered) - counted, 0.0)
    return out


def _country(node: str, network: Network | None) -> str:
    """A node's country: from the network when given, else the id's ISO prefix."""
    if network is not None and node in network.nodes:
        return network.nodes[node].country
    return node[:2]


def compute_kpis(events: Iterable[CorridorEvent], network: Network | None = None) -> CorridorKpis:
    """Fold events per shipment and compute every corridor KPI (see module docstring)."""
    by_shipment: dict[str, list[CorridorEvent]] = defaultdict(list)
    for e in events:
        by_shipment[e.shipment_id].append(e)
    journeys = [fold_journey(evs) for evs in by_shipment.values()]
    od: dict[str, list[float]] = defaultdict(list)
    seg: dict[str, list[float]] = defaultdict(list)
    border: dict[tuple[str, str], list[float]] = defaultdict(list)
    causes = dict.fromkeys(Cause, 0.0)
    link_vol: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
    pair_vol: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
    on_time = counted = 0
    times = [e.at for evs in by_shipment.values() for e in evs]
    for j in journeys:
        f = j.first
        for link, a, b in j.segments:
            seg[link].append(_hours(a, b))
        for crossing, recorded, a, b in j.borders:
            mode = recorded
            if not mode and network is not None and crossing in network.crossings:
                mode = network.crossings[crossing].mode.value
            border[(crossing, mode or "unknown")].append(_hours(a, b))
        for link in j.links:
            _add(link_vol[link], f.teu, f.tonnes)
        if j.delivered is None or j.start is None:
            continue
        transit = _hours(j.start, j.delivered)
        od[f"{f.origin}>{f.destination}"].append(transit)
        for cause, hours in journey_causes(j).items():
            causes[cause] += hours
        pair = f"{_country(f.origin, network)}>{_country(f.destination, network)}"
        _add(pair_vol[pair], f.teu, f.tonnes)
        if j.planned_p90 is not None:
            counted += 1
            on_time += transit <= j.planned_p90
    delivered = sum(1 for j in journeys if j.delivered is not None)
    total_hours = sum(causes.values())
    return CorridorKpis(
        shipments=len(journeys),
        delivered=delivered,
        in_transit=len(journeys) - delivered,
        period_start=min(times) if times else None,
        period_end=max(times) if times else None,
        transit_by_od=tuple(time_stat(k, v) for k, v in sorted(od.items())),
        transit_by_segment=tuple(time_stat(k, v) for k, v in sorted(seg.items())),
        border_dwell=tuple(_border_stat(c, m, v) for (c, m), v in sorted(border.items())),
        time_by_cause=tuple(
            CauseStat(
                cause=c,
                hours=h,
                share=h / total_hours if total_hours > 0 else 0.0,
                hours_per_shipment=h / delivered if delivered else 0.0,
            )
            for c, h in causes.items()
        ),
        volume_by_link=_volumes(link_vol),
        volume_by_country_pair=_volumes(pair_vol),
        on_time_share=on_time / counted if counted else None,
        on_time_counted=counted,
        digital_share=(sum(1 for j in journeys if j.digital) / len(journeys) if journeys else None),
    )


def _border_stat(crossing: str, mode: str, hours: Sequence[float]) -> BorderDwellStat:
    stat = time_stat(f"{crossing}/{mode}", hours)
    return BorderDwellStat(crossing=crossing, mode=mode, **stat.model_dump())


def _add(acc: list[float], teu: float, tonnes: float) -> None:
    acc[0] += 1
    acc[1] += teu
    acc[2] += tonnes


def _volumes(acc: Mapping[str, list[float]]) -> tuple[VolumeStat, ...]:
    return tuple(
        VolumeStat(key=k, shipments=int(v[0]), teu=v[1], tonnes=v[2])
        for k, v in sorted(acc.items())
    )


def compare_with_published(
    kpis: CorridorKpis,
    network: Network,
    reference_hours: Mapping[str, float] | None = None,
) -> list[BaselineRow]:
    """Set the KPIs beside the published figures and the 2030 targets.

    Border dwell per crossing beside the network's figure (CAREC CPMM where measured, its source
    named); annualised tonnes beside the TITR volumes of 2024 and 2025 and the 11 Mt target;
    transit P50 per origin-destination (key "A>B") beside `reference_hours` (today's time) and
    half of it (the 2030 target), when reference times are given.
    """
    rows: list[BaselineRow] = []
    for stat in kpis.border_dwell:
        crossing = network.crossings.get(stat.crossing)
        for q, observed in (("p50", stat.p50), ("p90", stat.p90)):
            rows.append(
                BaselineRow(
                    metric=f"border dwell {q} (h)",
                    scope=stat.key,
                    observed=observed,
                    published=getattr(crossing.dwell_hours, q) if crossing else None,
                    published_source=crossing.source_for("dwell_hours") if crossing else None,
                    target_2030=None,
                    target_source=None,
                    target_met=None,
                )
            )
    hours = kpis.period_hours
    if hours > 0:
        annual = kpis.tonnes_delivered * HOURS_PER_YEAR / hours
        target = published.TARGET_VOLUME_2030
        for figure in (published.TITR_VOLUME_2024, published.TITR_VOLUME_2025):
            rows.append(
                BaselineRow(
                    metric="volume (t/year, annualised)",
                    scope=figure.name,
                    observed=annual,
                    published=figure.value,
                    published_source=figure.source,
                    target_2030=target.value,
                    target_source=target.source,
                    target_met=annual >= target.value,
                )
            )
    factor = published.TARGET_TIME_FACTOR_2030
    for od in kpis.transit_by_od:
        ref = (reference_hours or {}).get(od.key)
        if ref is None:
            continue
        rows.append(
            BaselineRow(
                metric="transit p50 (h)",
                scope=od.key,
                observed=od.p50,
                published=ref,
                published_source="network (reference year, no reforms)",
                target_2030=ref * factor.value,
                target_source=factor.source,
                target_met=od.p50 <= ref * factor.value,
            )
        )
    return rows


def kpis_to_json(
    kpis: CorridorKpis,
    baseline: Sequence[BaselineRow] = (),
    extra: Mapping[str, BaseModel] | None = None,
) -> str:
    """KPIs and the baseline comparison (and `extra` sections) as one JSON document."""
    doc = {
        "kpis": kpis.model_dump(mode="json"),
        "baseline": [r.model_dump(mode="json") for r in baseline],
        **{k: v.model_dump(mode="json") for k, v in (extra or {}).items()},
    }
    return json.dumps(doc, indent=2)


def kpis_to_csv(kpis: CorridorKpis, baseline: Sequence[BaselineRow] = ()) -> str:
    """KPIs in long form: table, key, metric, value (one figure a row), then the comparison."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["table", "key", "metric", "value"])
    w.writerow(["totals", "-", "shipments", kpis.shipments])
    w.writerow(["totals", "-", "delivered", kpis.delivered])
    w.writerow(["totals", "-", "in_transit", kpis.in_transit])
    w.writerow(["totals", "-", "on_time_share", _blank(kpis.on_time_share)])
    w.writerow(["totals", "-", "digital_share", _blank(kpis.digital_share)])
    tables: list[tuple[str, Sequence[TimeStat]]] = [
        ("transit_by_od", kpis.transit_by_od),
        ("transit_by_segment", kpis.transit_by_segment),
        ("border_dwell", kpis.border_dwell),
    ]
    for table, stats in tables:
        for s in stats:
            for metric in ("count", "p50", "p90", "spread", "mean"):
                w.writerow(
                    [
                        table,
                        s.key,
                        f"{metric}_hours" if metric != "count" else metric,
                        getattr(s, metric),
                    ]
                )
    for c in kpis.time_by_cause:
        w.writerow(["time_by_cause", c.cause.value, "hours", c.hours])
        w.writerow(["time_by_cause", c.cause.value, "share", c.share])
    for table, vols in (
        ("volume_by_link", kpis.volume_by_link),
        ("volume_by_country_pair", kpis.volume_by_country_pair),
    ):
        for v in vols:
            for metric in ("shipments", "teu", "tonnes"):
                w.writerow([table, v.key, metric, getattr(v, metric)])
    for r in baseline:
        w.writerow(["baseline", r.scope, r.metric, r.observed])
        w.writerow(["baseline", r.scope, f"{r.metric} published", _blank(r.published)])
        w.writerow(["baseline", r.scope, f"{r.metric} target 2030", _blank(r.target_2030)])
    return buf.getvalue()


def _blank(value: float | None) -> str | float:
    return "" if value is None else value
