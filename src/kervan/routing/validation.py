"""The planner against published origin-destination figures (the shipped validation table).

`validation.toml` beside the network dataset lists published times (and where published, costs
per FEU) with their sources; `compare` plans each question and says whether the fastest plan's
P50 days and total cost fall inside the figure's band.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Any

from kervan.errors import DatasetError, NoRouteError
from kervan.network.model import CargoUnit, Mode, Passage
from kervan.routing.planner import Planner, PlanRequest

TABLE = "validation.toml"


@dataclass(frozen=True)
class Figure:
    """One published figure: the question, the published range and where it comes from."""

    id: str
    request: PlanRequest
    days: tuple[float, float] | None
    cost_usd: tuple[float, float] | None
    covers: str
    source: str
    estimate: bool


@dataclass(frozen=True)
class Comparison:
    """A figure beside the plan: the plan's P50 days and cost, the bands, and the verdict."""

    figure: Figure
    plan_days: float | None
    plan_cost_usd: float | None
    days_band: tuple[float, float] | None
    cost_band: tuple[float, float] | None
    problem: str | None

    @property
    def inside(self) -> bool:
        """Whether every published quantity of the figure is matched within its band."""
        return self.problem is None


def _pair(value: Any, figure: str, name: str) -> tuple[float, float] | None:
    if value is None:
        return None
    if not (isinstance(value, list) and len(value) == 2 and value[0] <= value[1]):
        raise DatasetError(TABLE, figure, name, "must be [low, high] with low <= high")
    return float(value[0]), float(value[1])


def load_figures() -> tuple[list[Figure], tuple[float, float], tuple[float, float]]:
    """The shipped figures and the time and cost band factors."""
    text = (resources.files("kervan.network") / "data" / TABLE).read_text(encoding="utf-8")
    raw = tomllib.loads(text)
    figures: list[Figure] = []
    for row in raw.get("figure", []):
        ident = str(row["id"])
        source = row["source"]
        figures.append(
            Figure(
                id=ident,
                request=PlanRequest(
                    origin=row["origin"],
                    destination=row["destination"],
                    unit=CargoUnit(row.get("unit", "container")),
                    avoid_countries=frozenset(row.get("avoid_countries", [])),
                    avoid_modes=frozenset(Mode(m) for m in row.get("avoid_modes", [])),
                    closed_passages=frozenset(Passage(p) for p in row.get("closed_passages", [])),
                    alternatives=1,
                ),
                days=_pair(row.get("days"), ident, "days"),
                cost_usd=_pair(row.get("cost_usd"), ident, "cost_usd"),
                covers=str(row["covers"]),
                source=f"{source['publisher']}, {source['title']} ({source['year']})"
                + (f" {source['url']}" if source.get("url") else ""),
                estimate=row.get("kind") == "estimate",
            )
        )
        if figures[-1].days is None and figures[-1].cost_usd is None:
            raise DatasetError(TABLE, ident, "days", "a figure needs days or cost_usd")
    time_band = _pair(raw.get("time_band"), "-", "time_band") or (1.0, 1.0)
    cost_band = _pair(raw.get("cost_band"), "-", "cost_band") or (1.0, 1.0)
    return figures, time_band, cost_band


def compare(planner: Planner) -> list[Comparison]:
    """Every figure of the shipped table beside the planner's fastest plan for its question."""
    figures, time_band, cost_band = load_figures()
    return compare_figures(planner, figures, time_band, cost_band)


def compare_figures(
    planner: Planner,
    figures: list[Figure],
    time_band: tuple[float, float],
    cost_band: tuple[float, float],
) -> list[Comparison]:
    """`figures` beside the planner's fastest plans, with the bands widened by the factors."""
    out: list[Comparison] = []
    for figure in figures:
        days_band = _widen(figure.days, time_band)
        money_band = _widen(figure.cost_usd, cost_band)
        try:
            plan = planner.plan(figure.request)[0]
        except NoRouteError as no_route:
            out.append(Comparison(figure, None, None, days_band, money_band, no_route.message))
            continue
        days, cost = plan.totals.days_p50, plan.totals.cost_usd
        problems = []
        if days_band and not days_band[0] <= days <= days_band[1]:
            problems.append(f"{days:.1f} days is outside {days_band[0]:.1f}-{days_band[1]:.1f}")
        if money_band and not money_band[0] <= cost <= money_band[1]:
            problems.append(
                f"US${cost:,.0f} is outside US${money_band[0]:,.0f}-{money_band[1]:,.0f}"
            )
        out.append(
            Comparison(figure, days, cost, days_band, money_band, "; ".join(problems) or None)
        )
    return out


def _widen(
    value: tuple[float, float] | None, band: tuple[float, float]
) -> tuple[float, float] | None:
    return None if value is None else (value[0] * band[0], value[1] * band[1])
