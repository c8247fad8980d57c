"""Reports of simulated scenarios: a self-contained HTML page (inline SVG, no scripts) and JSON,
and the side-by-side comparison of two scenarios."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from html import escape

from pydantic import BaseModel, ConfigDict

from kervan.observatory import published
from kervan.observatory.montecarlo import Estimate, ScenarioSummary

BOTTLENECK_METHOD = (
    "Queue-wait attribution: each resource is charged the shipment-hours a year spent waiting "
    "in its own queue for lack of capacity (a daily quota from arrival to the day with room, a "
    "locomotive pool from asking to getting one, a sailing from the first departure after "
    "arrival to the one that takes the shipment; waiting for the headway itself is not "
    "charged). Capacity added where the most hours queue buys the most first. Where shown, the "
    "ranking is checked by rerunning with +10% capacity at each of the top resources in turn, "
    "with the same seeds, and reporting the tonnes a year delivered in addition."
)


def _fmt(value: float, digits: int = 0) -> str:
    if math.isnan(value):
        return "-"
    if math.isinf(value):
        return "unlimited"
    return f"{value:,.{digits}f}"


def _ci(e: Estimate, digits: int = 0, scale: float = 1.0) -> str:
    if e.n < 2 or math.isnan(e.low):
        return _fmt(e.mean / scale, digits)
    return (
        f"{_fmt(e.mean / scale, digits)} "
        f"<small>[{_fmt(e.low / scale, digits)}; {_fmt(e.high / scale, digits)}]</small>"
    )


def _bars(rows: Sequence[tuple[str, float, str]], unit: str, width: int = 640) -> str:
    """A horizontal bar chart as inline SVG: (label, value, colour) per bar."""
    finite = [v for _, v, _ in rows if math.isfinite(v)]
    top = max(finite, default=1.0) or 1.0
    h, label_w = 22, 230
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{h * len(rows) + 8}" '
        f'role="img" aria-label="bar chart in {escape(unit)}">'
    ]
    for i, (label, value, colour) in enumerate(rows):
        y = i * h + 4
        length = 0.0 if not math.isfinite(value) else (width - label_w - 90) * value / top
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end" font-size="12">'
            f"{escape(label)}</text>"
            f'<rect x="{label_w}" y="{y}" width="{length:.1f}" height="{h - 6}" fill="{colour}"/>'
            f'<text x="{label_w + length + 4:.1f}" y="{y + 14}" font-size="12">'
            f"{escape(_fmt(value, 1 if top < 10 else 0))} {escape(unit)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _sparkline(values: Sequence[float], width: int = 240, height: int = 36) -> str:
    """Utilisation over time (0..1) as a small inline SVG line, with the capacity line at 1."""
    if not values:
        return ""
    step = width / max(len(values) - 1, 1)
    points = " ".join(
        f"{i * step:.1f},{height - 2 - min(v, 1.2) / 1.2 * (height - 4):.1f}"
        for i, v in enumerate(values)
    )
    cap_y = height - 2 - (height - 4) / 1.2
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="utilisation over time">'
        f'<line x1="0" y1="{cap_y:.1f}" x2="{width}" y2="{cap_y:.1f}" stroke="#c33" '
        f'stroke-dasharray="3,3"/>'
        f'<polyline fill="none" stroke="#246" stroke-width="1" points="{points}"/></svg>'
    )


def _table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:0.5rem 0 1.5rem}td,th{border:1px solid #ccc;
padding:3px 8px;text-align:right}th{background:#eef}td:first-child{text-align:left}
.met{color:#176c2f;font-weight:bold}.missed{color:#a11;font-weight:bold}small{color:#666}
"""


def render_html(
    summary: ScenarioSummary, crossings_published: dict[str, float] | None = None
) -> str:
    """The scenario report as one self-contained HTML page (inline CSS and SVG, no scripts)."""
    s, t = summary, summary.targets
    mt = 1e6

    def verdict(ok: bool) -> str:
        return '<span class="met">met</span>' if ok else '<span class="missed">not met</span>'

    headline = _table(
        ["figure", "simulated (mean [95% CI])", "published / target", "source"],
        [
            [
                "Trans-Caspian volume, Mt/year",
                _ci(t.volume_tonnes_per_year, 2, mt),
                f"{published.TITR_VOLUME_2024.value / mt:.3f} (2024), "
                f"{published.TITR_VOLUME_2025.value / mt:.3f} (2025)",
                published.TITR_VOLUME_2024.source,
            ],
            [
                "2030 volume target, Mt/year",
                verdict(t.volume_met),
                f"{t.volume_target / mt:.1f}",
                t.sources["volume"],
            ],
            [
                "transit time / today's (tonnes-weighted P50)",
                _ci(t.time_ratio, 2),
                f"{t.time_target_ratio:.2f}",
                t.sources["time"],
            ],
            ["2030 time target (halve travel time)", verdict(t.time_met), "", ""],
            ["Trans-Caspian TEU/year", _ci(s.titr_teu_per_year), "", ""],
            ["all delivered, Mt/year", _ci(s.throughput_tonnes_per_year, 2, mt), "", ""],
            [
                "shipments created / delivered / in the system at the end",
                f"{_fmt(s.created.mean)} / {_fmt(s.delivered.mean)} / {_fmt(s.in_system.mean)}",
                "conserved" if s.conserved else "NOT conserved",
                "",
            ],
            ["resources over capacity", ", ".join(s.capacity_exceeded) or "none", "", ""],
        ],
    )
    volume_chart = _bars(
        [
            ("simulated", t.volume_tonnes_per_year.mean / mt, "#246"),
            ("TITR 2024 (published)", published.TITR_VOLUME_2024.value / mt, "#999"),
            ("TITR 2025 (published)", published.TITR_VOLUME_2025.value / mt, "#999"),
            ("2030 target", t.volume_target / mt, "#c63"),
        ],
        "Mt",
    )
    od_rows = [
        [
            escape(o.flow),
            f"{escape(o.origin)} &gt; {escape(o.destination)}",
            escape(o.unit),
            _fmt(o.tonnes_per_year),
            _ci(o.p50),
            _ci(o.p90),
            _fmt(o.reference_p50),
        ]
        for o in s.od
    ]
    od_chart = _bars(
        [(o.flow, o.p50.mean / 24, "#246") for o in s.od]
        + [(f"{o.flow} (today)", o.reference_p50 / 24, "#999") for o in s.od],
        "days P50",
    )
    published_dwell = crossings_published or {}
    border_rows = [
        [
            escape(c),
            _ci(e, 1),
            _ci(s.border_dwell_p90[c], 1),
            _fmt(published_dwell.get(c, math.nan), 1),
        ]
        for c, e in s.border_dwell.items()
    ]
    cause_chart = _bars([(k, e.mean, "#468") for k, e in s.hours_by_cause.items()], "h/shipment")
    res_rows = [
        [
            escape(r.id),
            escape(r.kind),
            f"{_fmt(r.capacity, 1)} {escape(r.unit)}/{r.basis}",
            _ci(r.utilisation_mean, 2),
            _fmt(r.utilisation_peak, 2),
            _ci(r.queue_mean, 1),
            _ci(r.wait_hours_per_year),
            _sparkline(r.utilisation),
            escape(", ".join(sorted(set(r.sources.values())))),
        ]
        for r in s.resources
    ]
    by_id = {r.id: r for r in s.resources}
    rank_rows = [
        [
            str(i + 1),
            escape(ident),
            _fmt(by_id[ident].wait_hours_per_year.mean),
            _fmt(by_id[ident].utilisation_mean.mean, 2),
            _fmt(s.marginal_gains[ident]) if ident in s.marginal_gains else "-",
        ]
        for i, ident in enumerate(s.bottlenecks[:10])
    ]
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Kervan observatory: {escape(s.title)}</title>
<style>{_STYLE}</style></head><body>
<h1>{escape(s.title)}</h1>
<p>{escape(s.description)} Scenario <code>{escape(s.scenario)}</code>, network year {s.year},
{s.years:g} simulated year(s) after the warm-up, {len(s.seeds)} replication(s), seeds
{escape(", ".join(map(str, s.seeds)))}. Intervals are 95% confidence intervals over
replications.</p>
<h2>Against the published figures and the 2030 targets</h2>{headline}{volume_chart}
<h2>Transit time per flow (hours)</h2>
{_table(["flow", "origin &gt; destination", "unit", "t/year", "P50", "P90", "today P50"], od_rows)}
{od_chart}
<h2>Border dwell (hours, including queueing for lanes)</h2>
{_table(["crossing", "P50", "P90", "network P50 (CAREC CPMM where measured)"], border_rows)}
<h2>Where the time goes (hours per delivered shipment)</h2>{cause_chart}
<h2>Bottlenecks</h2><p>{escape(BOTTLENECK_METHOD)}</p>
{
        _table(
            ["rank", "resource", "queueing h/year", "utilisation", "+10% capacity: extra t/year"],
            rank_rows,
        )
    }
<h2>Resources: utilisation and queues</h2>
<p>Utilisation per day (per sailing for ships); the dashed line is capacity.</p>
{
        _table(
            [
                "resource",
                "kind",
                "capacity",
                "utilisation",
                "peak",
                "queue",
                "queueing h/year",
                "over time",
                "sources",
            ],
            res_rows,
        )
    }
</body></html>
"""


def summary_json(summary: ScenarioSummary) -> str:
    """The summary as JSON (NaN written as null)."""
    return json.dumps(_clean(summary.model_dump(mode="json")), indent=2)


def _clean(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


class ComparisonRow(BaseModel):
    """One figure of two scenarios: B minus A with a 95 % interval on the difference."""

    model_config = ConfigDict(frozen=True)

    metric: str
    key: str  # what the figure is, for labels in the reader's language ("cause:border")
    a: float
    b: float
    change: float  # b - a
    low: float  # 95 % interval of the change (NaN with a single replication)
    high: float

    @property
    def clear(self) -> bool:
        """The interval of the change excludes zero: a difference, not the dice."""
        return not math.isnan(self.low) and (self.low > 0 or self.high < 0)


def _difference(x: Estimate, y: Estimate) -> ComparisonRow:
    """y - x with a conservative 95 % interval: the two half-widths combined as independent
    (the scenarios share seeds, so the paired interval would be narrower, never wider)."""
    change = y.mean - x.mean
    if x.n < 2 or y.n < 2 or math.isnan(x.low) or math.isnan(y.low):
        return ComparisonRow(
            metric="", key="", a=x.mean, b=y.mean, change=change, low=math.nan, high=math.nan
        )
    half = math.hypot(x.high - x.mean, y.high - y.mean)
    return ComparisonRow(
        metric="", key="", a=x.mean, b=y.mean, change=change, low=change - half, high=change + half
    )


def compare(a: ScenarioSummary, b: ScenarioSummary) -> list[ComparisonRow]:
    """The headline figures of two scenarios side by side (B minus A as the change, with its
    interval over replications)."""
    pairs: list[tuple[str, str, Estimate, Estimate]] = [
        ("Trans-Caspian t/year", "titr_tonnes", a.titr_tonnes_per_year, b.titr_tonnes_per_year),
        ("Trans-Caspian TEU/year", "titr_teu", a.titr_teu_per_year, b.titr_teu_per_year),
        (
            "delivered t/year",
            "delivered_tonnes",
            a.throughput_tonnes_per_year,
            b.throughput_tonnes_per_year,
        ),
        ("transit / today (P50)", "time_ratio", a.targets.time_ratio, b.targets.time_ratio),
        (
            "refused t/year",
            "refused_tonnes",
            a.refused_tonnes_per_year,
            b.refused_tonnes_per_year,
        ),
        ("in the system at the end", "in_system", a.in_system, b.in_system),
    ]
    for k in a.hours_by_cause:
        pairs.append((f"{k} h/shipment", f"cause:{k}", a.hours_by_cause[k], b.hours_by_cause[k]))
    flows_b = {o.flow: o for o in b.od}
    for o in a.od:
        if o.flow in flows_b:
            pairs.append((f"{o.flow} P50 h", f"flow:{o.flow}", o.p50, flows_b[o.flow].p50))
    for c, e in a.border_dwell.items():
        if c in b.border_dwell:
            pairs.append((f"{c} dwell P50 h", f"dwell:{c}", e, b.border_dwell[c]))
    res_b = {r.id: r for r in b.resources}
    for r in a.resources:
        if r.id in res_b:
            pairs.append(
                (
                    f"{r.id} utilisation",
                    f"utilisation:{r.id}",
                    r.utilisation_mean,
                    res_b[r.id].utilisation_mean,
                )
            )
    return [
        _difference(x, y).model_copy(update={"metric": metric, "key": key})
        for metric, key, x, y in pairs
    ]


def comparison_json(a: ScenarioSummary, b: ScenarioSummary, rows: Sequence[ComparisonRow]) -> str:
    doc = {"a": a.scenario, "b": b.scenario, "rows": [r.model_dump() for r in rows]}
    return json.dumps(_clean(doc), indent=2)


def comparison_csv(a: ScenarioSummary, b: ScenarioSummary, rows: Sequence[ComparisonRow]) -> str:
    """The comparison's figures as CSV, one row a figure: both scenarios' means, the change and
    its 95 % interval (empty with a single replication) and whether it excludes zero."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["figure", "key", "a", "b", "mean_a", "mean_b", "change", "low", "high", "clear"]
    )
    for r in rows:
        low, high = ("", "") if math.isnan(r.low) else (f"{r.low:.6g}", f"{r.high:.6g}")
        clear = "yes" if r.clear else "no"
        means = (f"{r.a:.6g}", f"{r.b:.6g}", f"{r.change:.6g}")
        writer.writerow([r.metric, r.key, a.scenario, b.scenario, *means, low, high, clear])
    return out.getvalue()


def comparison_html(a: ScenarioSummary, b: ScenarioSummary, rows: Sequence[ComparisonRow]) -> str:
    """The comparison as a self-contained HTML table."""
    body = _table(
        ["figure", a.scenario, b.scenario, "change", "95% interval of the change"],
        [
            [
                escape(r.metric),
                _fmt(r.a, 2),
                _fmt(r.b, 2),
                _fmt(r.change, 2),
                f"{_fmt(r.low, 2)} to {_fmt(r.high, 2)}"
                + ("" if r.clear else " (no clear difference)"),
            ]
            for r in rows
        ],
    )
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Kervan: '
        f"{escape(a.scenario)} vs {escape(b.scenario)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{escape(a.title)} vs {escape(b.title)}</h1>{body}</body></html>\n"
    )
