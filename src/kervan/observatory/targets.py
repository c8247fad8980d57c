"""The 2030 freight targets as a report: for each scenario whether each target is met, with the
confidence interval over replications, and which constraint binds; and a search over reform
portfolios ranking them by how much of the targets they reach (per US$ billion where the
reforms' investment is published).

A target is `met` when the whole 95 % interval lies on the right side of it, `not met` when the
whole interval lies on the wrong side, and `uncertain` otherwise (more replications or longer
runs would tell). The binding constraint of a target not met is, in turn: the place where most
demand was refused; the capacity it depends on that runs above the utilisation a stable queue
allows; else `demand` (the corridor could carry more than the scenario's demand asks of it).
The intra-OTS trade share is shown as published context, never simulated.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import combinations

from pydantic import BaseModel, ConfigDict

from kervan.network.model import Network
from kervan.observatory import published
from kervan.observatory.backend import Runner
from kervan.observatory.montecarlo import (
    UTILISATION_TARGET,
    Backend,
    Estimate,
    ScenarioSummary,
    Stability,
    replicate,
    summarise,
)
from kervan.observatory.published import PublishedFigure
from kervan.observatory.scenario import Scenario, load_combination


@dataclass(frozen=True)
class Target:
    """One freight target: its published figure, whether it is a ceiling, what it measures."""

    id: str
    figure: PublishedFigure
    at_most: bool
    value: Callable[[ScenarioSummary], Estimate]
    depends_on: tuple[str, ...]  # capacity ids (prefixes or parts) that can bind it


TARGETS = (
    Target(
        "trans_caspian_volume",
        published.TARGET_VOLUME_2030,
        False,
        lambda s: s.titr_tonnes_per_year,
        ("CASP-", "port:KZ", "handling:KZ", "line:BTK-", "locomotives:GE", "lanes:", "track:"),
    ),
    Target(
        "travel_time",
        published.TARGET_TIME_FACTOR_2030,
        True,
        lambda s: s.targets.time_ratio,
        (),
    ),
    Target(
        "cku_volume",
        published.TARGET_CKU_2030,
        False,
        lambda s: s.cku_tonnes_per_year,
        ("line:CKU-",),
    ),
    Target(
        "aktau_containers",
        published.TARGET_AKTAU_TEU,
        False,
        lambda s: s.aktau_teu_per_year,
        ("handling:KZAAU", ":KZAAU>", ">KZAAU", "port:KZAAU"),
    ),
)


class TargetResult(BaseModel):
    """One target in one scenario."""

    model_config = ConfigDict(frozen=True)

    target: str
    name: str
    unit: str
    goal: float
    at_most: bool
    value: Estimate
    status: str  # "met", "not met" or "uncertain"
    reached: float  # share of the target reached, 0..1
    binding: str  # "-" when met
    source: str


class ScenarioTargets(BaseModel):
    """Every target in one scenario."""

    model_config = ConfigDict(frozen=True)

    scenario: str
    title: str
    year: int
    replications: int
    years: float
    results: tuple[TargetResult, ...]
    investment_usd: float
    uncosted: tuple[str, ...]
    refused_tonnes_per_year: Estimate
    refused_at: dict[str, float]  # t/year by place (means over replications)
    diverted_tonnes_per_year: Estimate
    ferry_wait_max_hours: float
    unstable: tuple[Stability, ...]  # offered load at or above capacity, with what is needed

    @property
    def score(self) -> float:
        """Mean share of the targets reached (1.0: all met)."""
        return sum(r.reached for r in self.results) / len(self.results)


def status(value: Estimate, goal: float, at_most: bool) -> str:
    """`met` when the whole interval is on the right side of the goal, `not met` when the whole
    interval is on the wrong side, else `uncertain`."""
    if math.isnan(value.mean):
        return "not met"
    low, high = (value.low, value.high) if value.n >= 2 else (value.mean, value.mean)
    if at_most:
        return "met" if high <= goal else "not met" if low > goal else "uncertain"
    return "met" if low >= goal else "not met" if high < goal else "uncertain"


def _reached(value: float, goal: float, at_most: bool) -> float:
    if math.isnan(value) or value <= 0:
        return 0.0
    return min(goal / value if at_most else value / goal, 1.0)


def binding(summary: ScenarioSummary, target: Target) -> str:
    """What stops the target being met (see the module's docstring)."""
    if target.id == "travel_time":
        causes = summary.hours_by_cause
        return max(causes, key=lambda k: causes[k].mean) if causes else "-"

    def relevant(ident: str) -> bool:
        return any(ident.startswith(p) or p in ident for p in target.depends_on)

    refused = [(p, e.mean) for p, e in summary.refused_at.items() if relevant(p) and e.mean > 0]
    if refused:
        return max(refused, key=lambda pair: pair[1])[0]
    loaded = [
        s for s in summary.stability if relevant(s.id) and s.load_factor >= UTILISATION_TARGET
    ]
    if loaded:
        return max(loaded, key=lambda s: s.load_factor).id
    return "demand"


def assess(summary: ScenarioSummary, scenario: Scenario) -> ScenarioTargets:
    """Each target in the scenario: value with its interval, status, share reached, binding."""
    results = []
    for t in TARGETS:
        value = t.value(summary)
        state = status(value, t.figure.value, t.at_most)
        results.append(
            TargetResult(
                target=t.id,
                name=t.figure.name,
                unit=t.figure.unit,
                goal=t.figure.value,
                at_most=t.at_most,
                value=value,
                status=state,
                reached=_reached(value.mean, t.figure.value, t.at_most),
                binding="-" if state == "met" else binding(summary, t),
                source=t.figure.source,
            )
        )
    return ScenarioTargets(
        scenario=summary.scenario,
        title=summary.title,
        year=summary.year,
        replications=len(summary.seeds),
        years=summary.years,
        results=tuple(results),
        investment_usd=scenario.investment_usd,
        uncosted=scenario.uncosted,
        refused_tonnes_per_year=summary.refused_tonnes_per_year,
        refused_at={p: e.mean for p, e in summary.refused_at.items()},
        diverted_tonnes_per_year=summary.diverted_tonnes_per_year,
        ferry_wait_max_hours=summary.ferry_wait_max_hours,
        unstable=tuple(s for s in summary.stability if s.unstable),
    )


def assess_scenario(
    scenario: Scenario, replications: int, seed: int, backend: Backend | Runner = Backend.PROCESS
) -> ScenarioTargets:
    """Simulate and assess one scenario."""
    results = replicate(scenario, replications, seed, backend=backend)
    return assess(summarise(scenario, results), scenario)


class Portfolio(BaseModel):
    """A combination of reforms on the 2030 demand, with how much of the targets it reaches."""

    model_config = ConfigDict(frozen=True)

    reforms: tuple[str, ...]
    reached: dict[str, float]
    score: float
    investment_usd: float
    uncosted: tuple[str, ...]
    score_gain_per_billion_usd: float | None  # None: a reform in it has no published cost
    assessment: ScenarioTargets


#: The demand the portfolios are tested against (11 Mt across the Caspian).
PORTFOLIO_BASE = "demand-2030"

#: Reforms and investments a portfolio is built from (shipped scenarios).
REFORMS = (
    "digital-documents",
    "cku-open",
    "aktau-alat-expansion",
    "caspian-700teu-ships",
    "caspian-ferries-2030",
    "btk-15mt",
    "georgia-locomotives",
)


def portfolio_search(
    network: Network,
    reforms: Sequence[str] = REFORMS,
    *,
    max_size: int = 2,
    replications: int = 2,
    years: float = 0.5,
    seed: int = 0,
    backend: Backend | Runner = Backend.PROCESS,
    progress: Callable[[int, int], None] | None = None,
) -> list[Portfolio]:
    """Every combination of up to `max_size` reforms (and all of them together) on the 2030
    demand, with the same seeds, ranked by the mean share of the targets they reach."""
    combos: list[tuple[str, ...]] = [()]
    for size in range(1, min(max_size, len(reforms)) + 1):
        combos += list(combinations(reforms, size))
    if len(reforms) > max_size:
        combos.append(tuple(reforms))
    out: list[Portfolio] = []
    base_score = math.nan
    for i, combo in enumerate(combos):
        ident = "+".join(combo) or PORTFOLIO_BASE
        scenario = load_combination(
            [PORTFOLIO_BASE, *combo], network, ident, f"2030 demand with {ident}"
        ).with_years(years)
        assessment = assess_scenario(scenario, replications, seed, backend)
        if not combo:
            base_score = assessment.score
        gain: float | None = None
        if combo and not scenario.uncosted and scenario.investment_usd > 0:
            gain = (assessment.score - base_score) / (scenario.investment_usd / 1e9)
        out.append(
            Portfolio(
                reforms=combo,
                reached={r.target: r.reached for r in assessment.results},
                score=assessment.score,
                investment_usd=scenario.investment_usd,
                uncosted=scenario.uncosted,
                score_gain_per_billion_usd=gain,
                assessment=assessment,
            )
        )
        if progress is not None:
            progress(i + 1, len(combos))
    return sorted(out, key=lambda p: (-p.score, len(p.reforms), p.reforms))
