"""The four CAREC CPMM trade-facilitation indicators from corridor events, comparable with the
published CPMM tables:

- TCB, time to clear a border crossing point: hours from border arrival to release, per
  crossing (mean and P50);
- CCB, cost to clear a border crossing point: the crossing's tariff per cargo unit in the
  network (events carry no payments), per crossing, for the shipments that crossed;
- CCS, cost to travel a corridor section: the planned freight per 500 km per 20 t, per
  origin-destination;
- SSWOD and SSWD, speed without and with delay: the planned route's length over the moving time
  (transit minus the recorded border, transfer and ferry waits) and over the whole transit, in
  km/h, per origin-destination and for the corridor as a whole.

Published comparators (ADB CAREC CPMM, network source adb-carec-cpmm): rail, all CAREC, 2020:
TCB 23.0 h, CCB US$193, SSWOD 42.2 km/h, SSWD 16.8 km/h; road: cost US$945 per 500 km per 20 t.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable

import numpy as np
from pydantic import BaseModel, ConfigDict

from kervan.network.model import Network
from kervan.observatory.events import CorridorEvent
from kervan.observatory.kpis import Cause, Journey, fold_journey, journey_causes

#: Published CPMM figures (network source adb-carec-cpmm).
PUBLISHED = {
    "tcb_rail_hours": 23.0,
    "ccb_rail_usd": 193.0,
    "sswod_rail_kmh": 42.2,
    "sswd_rail_kmh": 16.8,
    "ccs_road_usd_per_500km_20t": 945.0,
}
SOURCE = "adb-carec-cpmm"
DELAYS = (Cause.BORDER, Cause.TRANSFER, Cause.GAUGE_CHANGE, Cause.FERRY_WAIT)


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class CrossingIndicators(_Out):
    """TCB and CCB at one border crossing point."""

    crossing: str
    mode: str
    shipments: int
    tcb_hours_mean: float
    tcb_hours_p50: float
    ccb_usd: float | None  # tariff per cargo unit, mean over the shipments that crossed


class SectionIndicators(_Out):
    """CCS, SSWOD and SSWD over one origin-destination (or the corridor: key "all")."""

    key: str
    shipments: int
    distance_km: float
    sswod_kmh: float
    sswd_kmh: float
    ccs_usd_per_500km_20t: float | None


class CpmmIndicators(_Out):
    crossings: tuple[CrossingIndicators, ...]
    sections: tuple[SectionIndicators, ...]
    published: dict[str, float]
    source: str


def _section(key: str, rows: list[tuple[float, float, float, float | None]]) -> SectionIndicators:
    km = float(sum(r[0] for r in rows))
    costs = [r[3] for r in rows if r[3] is not None]
    return SectionIndicators(
        key=key,
        shipments=len(rows),
        distance_km=km / len(rows),
        sswod_kmh=km / max(sum(r[1] for r in rows), 1e-9),
        sswd_kmh=km / max(sum(r[2] for r in rows), 1e-9),
        ccs_usd_per_500km_20t=float(np.mean(costs)) if costs else None,
    )


def cpmm_indicators(events: Iterable[CorridorEvent], network: Network) -> CpmmIndicators:
    """The CPMM indicators of the delivered shipments (crossings: every recorded crossing)."""
    by_shipment: dict[str, list[CorridorEvent]] = defaultdict(list)
    for e in events:
        by_shipment[e.shipment_id].append(e)
    journeys: list[Journey] = [fold_journey(evs) for evs in by_shipment.values()]
    border: dict[tuple[str, str], list[float]] = defaultdict(list)
    tariffs: dict[str, list[float]] = defaultdict(list)
    sections: dict[str, list[tuple[float, float, float, float | None]]] = defaultdict(list)
    for j in journeys:
        first = j.first
        for crossing, recorded, a, b in j.borders:
            known = network.crossings.get(crossing)
            mode = recorded or (known.mode.value if known else "unknown")
            border[(crossing, mode)].append((b - a).total_seconds() / 3600.0)
            if known is not None and first.unit in known.cost_usd:
                tariffs[crossing].append(known.cost_usd[first.unit])
        if j.delivered is None or j.start is None or first.route_km is None:
            continue
        transit = (j.delivered - j.start).total_seconds() / 3600.0
        causes = journey_causes(j)
        moving = max(transit - sum(causes[c] for c in DELAYS), 1e-9)
        cost = None
        if first.route_cost_usd is not None and first.tonnes > 0:
            cost = first.route_cost_usd / first.route_km * 500.0 / (first.tonnes / 20.0)
        row = (first.route_km, moving, max(transit, 1e-9), cost)
        sections[f"{first.origin}>{first.destination}"].append(row)
        sections["all"].append(row)
    return CpmmIndicators(
        crossings=tuple(
            CrossingIndicators(
                crossing=c,
                mode=m,
                shipments=len(v),
                tcb_hours_mean=float(np.mean(v)),
                tcb_hours_p50=float(np.median(v)),
                ccb_usd=float(np.mean(tariffs[c])) if tariffs.get(c) else None,
            )
            for (c, m), v in sorted(border.items())
        ),
        sections=tuple(_section(k, v) for k, v in sorted(sections.items())),
        published=dict(PUBLISHED),
        source=SOURCE,
    )


def cpmm_csv_rows(cpmm: CpmmIndicators) -> str:
    """The indicators as rows of the KPI CSV's long form (table, key, metric, value)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for c in cpmm.crossings:
        for metric in ("shipments", "tcb_hours_mean", "tcb_hours_p50", "ccb_usd"):
            value = getattr(c, metric)
            w.writerow(["cpmm_crossing", f"{c.crossing}/{c.mode}", metric, _blank(value)])
    for s in cpmm.sections:
        for metric in ("shipments", "distance_km", "sswod_kmh", "sswd_kmh"):
            w.writerow(["cpmm_section", s.key, metric, getattr(s, metric)])
        w.writerow(
            ["cpmm_section", s.key, "ccs_usd_per_500km_20t", _blank(s.ccs_usd_per_500km_20t)]
        )
    for name, value in cpmm.published.items():
        w.writerow(["cpmm_published", cpmm.source, name, value])
    return buf.getvalue()


def _blank(value: float | None) -> str | float:
    return "" if value is None else value
