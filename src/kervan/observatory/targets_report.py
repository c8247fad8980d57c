"""The targets report for a reader: a chart per target with each scenario's value, its 95 %
interval and the target drawn as a line; the table of statuses and binding constraints; the
reform portfolios; the intra-OTS trade share as published context. As an HTML fragment (the web
page embeds it), a whole HTML document (export) and CSV.

Every word a reader sees comes from `label(key, **values)` (the web catalogues in en/tr/ru), so
no KPI name appears raw; numbers come from `number(value, digits)` in the reader's notation.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Sequence
from html import escape

from kervan.observatory import published
from kervan.observatory.targets import Portfolio, ScenarioTargets, TargetResult

Label = Callable[..., str]
Number = Callable[[float, int], str]

#: How each target's values are shown: divisor and decimals (Mt, ratio, Mt, thousand TEU).
SCALE = {
    "trans_caspian_volume": (1e6, 2),
    "travel_time": (1.0, 2),
    "cku_volume": (1e6, 2),
    "aktau_containers": (1e3, 1),
}


def place_label(ident: str, label: Label, node_name: Callable[[str], str]) -> str:
    """A binding constraint as a reader names it: "CASP-AAU-BAK:KZAAU>AZBAK" -> "ferries
    Aktau → Baku", "locomotives:GE" -> "locomotives (GE)", "line_haul" -> "line haul"."""
    if ident in ("demand", "-"):
        return label(f"tg.binding.{ident}")
    if ">" in ident:  # one direction of a sailing line: LINK:FROM>TO
        ends = ident.partition(":")[2]
        a, _, b = ends.partition(">")
        return label("tg.place.sailings", where=f"{node_name(a)} → {node_name(b)}")
    kind, _, rest = ident.partition(":")
    if rest:
        return label(f"tg.place.{kind}", where=node_name(rest.split(":")[0]))
    return label(f"cause.{ident}")


def scenario_title(assessment: ScenarioTargets, label: Label) -> str:
    """The scenario's name in the reader's language where the catalogue has it, else its
    title from the scenario file."""
    key = f"tg.scn.{assessment.scenario}"
    text = label(key)
    return assessment.title if text == key else text


def _short(name: str, most: int = 27) -> str:
    return name if len(name) <= most else name[: most - 1].rstrip() + "…"


def _fmt(value: float, target: str, number: Number) -> str:
    div, digits = SCALE[target]
    return "–" if math.isnan(value) else number(value / div, digits)


def target_chart(
    target: str, rows: Sequence[tuple[str, TargetResult]], label: Label, number: Number
) -> str:
    """Horizontal bars (one per scenario) with the 95 % interval as a whisker and the target as
    a dashed vertical line, as inline SVG."""
    div, _ = SCALE[target]
    goal = rows[0][1].goal / div if rows else 1.0
    highs = [r.value.high / div for _, r in rows if math.isfinite(r.value.high)]
    top = max([goal, *highs]) * 1.1 or 1.0
    width, label_w, bar, gap = 640, 220, 18, 10
    span = width - label_w - 70
    height = (bar + gap) * len(rows) + 34
    title = label(f"tg.target.{target}")
    parts = [
        f'<svg class="chart target-chart" viewBox="0 0 {width} {height}" role="img" '
        f'data-target="{escape(target)}"><title>{escape(title)}</title>'
    ]
    for i, (name, r) in enumerate(rows):
        y = 4 + i * (bar + gap)
        mean = r.value.mean / div if math.isfinite(r.value.mean) else 0.0
        x1 = label_w + span * max(mean, 0.0) / top
        parts.append(
            f'<text class="chart-label" x="{label_w - 8}" y="{y + bar - 5}" text-anchor="end">'
            f"{escape(_short(name))}<title>{escape(name)}</title></text>"
            f'<rect class="series-{i % 4} status-{r.status.replace(" ", "-")}" x="{label_w}" '
            f'y="{y}" width="{x1 - label_w:.1f}" height="{bar}"></rect>'
        )
        end = x1
        if r.value.n >= 2 and math.isfinite(r.value.low):
            lo = label_w + span * max(r.value.low / div, 0.0) / top
            hi = label_w + span * max(r.value.high / div, 0.0) / top
            end = max(end, hi)
            mid = y + bar / 2
            parts.append(
                f'<path class="interval" d="M{lo:.1f},{mid} H{hi:.1f} M{lo:.1f},{mid - 5} '
                f'V{mid + 5} M{hi:.1f},{mid - 5} V{mid + 5}" stroke="currentColor" fill="none"/>'
            )
        parts.append(
            f'<text class="chart-value" x="{max(end, label_w) + 6:.1f}" y="{y + bar - 5}">'
            f"{_fmt(r.value.mean, target, number)}</text>"
        )
    gx = label_w + span * goal / top
    base = (bar + gap) * len(rows) + 4
    parts.append(
        f'<line class="target-line" x1="{gx:.1f}" y1="0" x2="{gx:.1f}" y2="{base}" '
        f'stroke="currentColor" stroke-dasharray="5 3"/>'
        f'<text class="chart-legend" x="{gx:.1f}" y="{base + 16}" text-anchor="middle">'
        f"{escape(label('tg.goal_line', value=_fmt(rows[0][1].goal, target, number)))}"
        "</text>"
        if rows
        else ""
    )
    parts.append("</svg>")
    return "".join(parts)


def targets_fragment(
    assessments: Sequence[ScenarioTargets],
    portfolios: Sequence[Portfolio],
    label: Label,
    number: Number,
    node_name: Callable[[str], str] = lambda n: n,
) -> str:
    """The report's body: per target a chart and a table, the portfolios, the trade context."""
    out: list[str] = []
    first = assessments[0] if assessments else None
    if first is not None:
        method = label("tg.method", n=first.replications, years=number(first.years, 2))
        out.append(f'<p class="intro">{escape(method)}</p>')
    for index, target in enumerate(r.target for r in (first.results if first else ())):
        rows = [(scenario_title(a, label), a.results[index]) for a in assessments]
        unit = label(f"tg.unit.{target}")
        out.append(
            f'<section class="target" data-target="{target}"><h3>'
            f"{escape(label(f'tg.target.{target}'))} <small>({escape(unit)})</small></h3>"
        )
        out.append(target_chart(target, rows, label, number))
        # A region of its own that scrolls sideways on a narrow screen (keyboard too).
        region = escape(label(f"tg.target.{target}"))
        out.append(
            f'<div class="table-wrap" role="region" tabindex="0" aria-label="{region}">'
            '<table class="targets-table"><thead><tr>'
            + "".join(
                f'<th scope="col">{escape(label(k))}</th>'
                for k in (
                    "tg.scenario",
                    "tg.value",
                    "tg.interval",
                    "tg.goal",
                    "tg.status",
                    "tg.binding",
                )
            )
            + "</tr></thead><tbody>"
        )
        for name, r in rows:
            interval = (
                f"{_fmt(r.value.low, target, number)} – {_fmt(r.value.high, target, number)}"
                if r.value.n >= 2
                else "–"
            )
            out.append(
                f'<tr><th scope="row">{escape(name)}</th>'
                f'<td class="num">{_fmt(r.value.mean, target, number)}</td>'
                f'<td class="num">{interval}</td>'
                f'<td class="num">{_fmt(r.goal, target, number)}</td>'
                f'<td class="status status-{r.status.replace(" ", "-")}">'
                f"{escape(label(f'tg.status.{r.status}'))}</td>"
                f"<td>{escape(place_label(r.binding, label, node_name))}</td></tr>"
            )
        out.append("</tbody></table></div></section>")
    out.append(_pressure(assessments, label, number, node_name))
    share, goal = published.INTRA_OTS_TRADE_SHARE, published.TARGET_INTRA_OTS_TRADE_SHARE
    context = label(
        "tg.trade_context",
        share=number(share.value * 100, 0),
        goal=number(goal.value * 100, 0),
    )
    out.append(f'<p class="context">{escape(context)}</p>')
    if portfolios:
        out.append(_portfolio_table(portfolios, label, number))
    return "\n".join(out)


def _pressure(
    assessments: Sequence[ScenarioTargets],
    label: Label,
    number: Number,
    node_name: Callable[[str], str],
) -> str:
    """Per scenario: cargo diverted and refused (where), the longest ferry wait, and every
    capacity whose offered load reaches its capacity (an unstable queue) with what it needs."""
    parts = [f'<section class="pressure"><h3>{escape(label("tg.pressure"))}</h3>']
    for a in assessments:
        name = escape(scenario_title(a, label))
        refused = ", ".join(
            f"{escape(place_label(p, label, node_name))} {number(v / 1e6, 2)}"
            for p, v in sorted(a.refused_at.items(), key=lambda kv: -kv[1])
        )
        diverted = number(a.diverted_tonnes_per_year.mean / 1e6, 2)
        refused_mt = number(a.refused_tonnes_per_year.mean / 1e6, 2)
        parts.append(
            f"<h4>{name}</h4><ul>"
            f"<li>{escape(label('tg.diverted', mt=diverted))}</li>"
            f"<li>{escape(label('tg.refused_mt', mt=refused_mt))}"
            f"{(': ' + refused) if refused else ''}</li>"
            f"<li>{escape(label('tg.ferry_max_h', hours=number(a.ferry_wait_max_hours, 0)))}</li>"
            "</ul>"
        )
        if a.unstable:
            parts.append(
                f'<div class="table-wrap" role="region" tabindex="0" '
                f'aria-label="{escape(label("tg.unstable"))}">'
                '<table class="unstable-table"><caption>'
                f"{escape(label('tg.unstable'))}</caption><thead><tr>"
                + "".join(
                    f'<th scope="col">{escape(label(k))}</th>'
                    for k in ("tg.capacity", "tg.offered", "tg.capacity_now", "tg.needed")
                )
                + "</tr></thead><tbody>"
            )
            for u in a.unstable:
                unit = escape(label(f"tg.per_year.{u.unit}"))
                parts.append(
                    f"<tr><th scope='row'>{escape(place_label(u.id, label, node_name))}</th>"
                    f"<td class='num'>{number(u.offered_per_year.mean, 0)} {unit}</td>"
                    f"<td class='num'>{number(u.capacity_per_year, 0)} {unit}</td>"
                    f"<td class='num'>{number(u.capacity_needed_per_year, 0)} {unit}</td></tr>"
                )
            parts.append("</tbody></table></div>")
    parts.append("</section>")
    return "".join(parts)


def _portfolio_table(portfolios: Sequence[Portfolio], label: Label, number: Number) -> str:
    head = ("tg.reforms", "tg.reached", "tg.investment", "tg.per_billion")
    rows = []
    for p in portfolios:
        names = ", ".join(label(f"tg.reform.{r}") for r in p.reforms) or label("tg.no_reform")
        reached = " · ".join(
            f"{escape(label(f'tg.short.{t}'))} {number(v * 100, 0)} %" for t, v in p.reached.items()
        )
        cost = number(p.investment_usd / 1e9, 1) if p.investment_usd else "–"
        per = (
            number(p.score_gain_per_billion_usd * 100, 2)
            if p.score_gain_per_billion_usd is not None
            else label("tg.no_cost")
        )
        rows.append(
            f"<tr><th scope='row'>{escape(names)}</th><td>{reached}</td>"
            f"<td class='num'>{number(p.score * 100, 0)} %</td><td class='num'>{cost}</td>"
            f"<td class='num'>{escape(per)}</td></tr>"
        )
    cols = (head[0], head[1], "tg.score", head[2], head[3])
    return (
        f'<section class="portfolios"><h3>{escape(label("tg.portfolios"))}</h3>'
        f'<p class="intro">{escape(label("tg.portfolios_intro"))}</p>'
        f'<div class="table-wrap" role="region" tabindex="0" '
        f'aria-label="{escape(label("tg.portfolios"))}">'
        '<table class="portfolio-table"><thead><tr>'
        + "".join(f'<th scope="col">{escape(label(k))}</th>' for k in cols)
        + "</tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></div></section>"
    )


def targets_document(
    assessments: Sequence[ScenarioTargets],
    portfolios: Sequence[Portfolio],
    label: Label,
    number: Number,
    lang: str = "en",
    node_name: Callable[[str], str] = lambda n: n,
) -> str:
    """A self-contained HTML document (inline SVG, no scripts) for export."""
    body = targets_fragment(assessments, portfolios, label, number, node_name)
    return (
        f'<!doctype html><html lang="{escape(lang)}"><head><meta charset="utf-8">'
        f"<title>{escape(label('tg.title'))}</title><style>"
        "body{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
        "table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{padding:.2rem .6rem;"
        "border-bottom:1px solid #ccc;text-align:left}.num{text-align:right}"
        ".table-wrap{overflow-x:auto}"
        ".chart{width:100%;max-width:40rem}.series-0{fill:#2f6f9f}.series-1{fill:#c8702a}"
        ".series-2{fill:#4c9a4c}.series-3{fill:#8a5fb0}.chart-label,.chart-value,"
        ".chart-legend{font-size:12px}"
        f"</style></head><body><h1>{escape(label('tg.title'))}</h1>"
        f"<p>{escape(label('tg.intro'))}</p>{body}</body></html>"
    )


def targets_csv(assessments: Sequence[ScenarioTargets], portfolios: Sequence[Portfolio]) -> str:
    """One row per scenario and target, then one per portfolio (machine-readable ids)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(
        [
            "scenario",
            "target",
            "goal",
            "unit",
            "mean",
            "ci95_low",
            "ci95_high",
            "replications",
            "status",
            "reached",
            "binding",
            "source",
        ]
    )
    for a in assessments:
        for r in a.results:
            w.writerow(
                [
                    a.scenario,
                    r.target,
                    r.goal,
                    r.unit,
                    f"{r.value.mean:.6g}",
                    f"{r.value.low:.6g}",
                    f"{r.value.high:.6g}",
                    r.value.n,
                    r.status,
                    f"{r.reached:.4f}",
                    r.binding,
                    r.source,
                ]
            )
    if portfolios:
        w.writerow([])
        w.writerow(["portfolio", "score", "investment_usd", "uncosted", "score_per_busd"])
        for p in portfolios:
            gain = p.score_gain_per_billion_usd
            w.writerow(
                [
                    "+".join(p.reforms) or "none",
                    f"{p.score:.4f}",
                    f"{p.investment_usd:.0f}",
                    "+".join(p.uncosted),
                    "" if gain is None else f"{gain:.6g}",
                ]
            )
    return buf.getvalue()
