"""Bar charts as inline SVG for the observatory page: grouped horizontal bars, one colour per
series (scenario A and B, or P50 and P90), numbers written in the page's language.

Colours come from the stylesheet (classes series-0, series-1, ...), so the page's strict
content policy holds; each chart has a title for screen readers and the page repeats the figures
in a table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

from kervan.web.i18n import Locale

BAR = 14
GAP = 8
LABEL_WIDTH = 220
WIDTH = 640
VALUE_ROOM = 70


@dataclass(frozen=True)
class Row:
    """One group of bars: its label and one value per series (NaN: no figure)."""

    label: str
    values: tuple[float, ...]


def grouped_bars(
    title: str, rows: Sequence[Row], series: Sequence[str], unit: str, loc: Locale, digits: int = 1
) -> Markup:
    """A horizontal grouped bar chart; `series` names each bar of a group (for the legend)."""
    finite = [v for r in rows for v in r.values if math.isfinite(v)]
    top = max(finite, default=0.0) or 1.0
    group = BAR * max(len(series), 1) + GAP
    legend_h = 18 * len(series) + 6 if len(series) > 1 else 0
    height = legend_h + group * len(rows) + 4
    span = WIDTH - LABEL_WIDTH - VALUE_ROOM
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'preserveAspectRatio="xMinYMin meet"><title>{escape(title)}</title>'
    ]
    if len(series) > 1:
        for i, name in enumerate(series):
            y = 4 + 18 * i
            parts.append(
                f'<rect class="series-{i}" x="8" y="{y}" width="12" height="12"></rect>'
                f'<text class="chart-legend" x="26" y="{y + 10}">{escape(name)}</text>'
            )
    for g, row in enumerate(rows):
        y0 = legend_h + g * group
        parts.append(
            f'<text class="chart-label" x="{LABEL_WIDTH - 8}" y="{y0 + group / 2 + 1:.1f}" '
            f'text-anchor="end">{escape(_short(row.label))}<title>{escape(row.label)}</title>'
            "</text>"
        )
        for i, value in enumerate(row.values):
            y = y0 + i * BAR
            length = span * value / top if math.isfinite(value) and value > 0 else 0.0
            shown = loc.number(value, digits) if math.isfinite(value) else "–"
            parts.append(
                f'<rect class="series-{i}" x="{LABEL_WIDTH}" y="{y}" width="{length:.1f}" '
                f'height="{BAR - 2}"><title>{escape(row.label)}'
                f"{' · ' + escape(series[i]) if len(series) > 1 else ''}: "
                f"{escape(shown)} {escape(unit)}</title></rect>"
                f'<text class="chart-value" x="{LABEL_WIDTH + length + 4:.1f}" '
                f'y="{y + BAR - 3}">{escape(shown)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text part above is escaped)


def _short(label: str, room: int = 30) -> str:
    return label if len(label) <= room else label[: room - 1] + "…"


__all__ = ["Row", "grouped_bars"]
