"""`kervan simulate`, `kervan compare` and `kervan kpis`: the corridor observatory on the command
line. Errors a user can cause exit with the KervanError's exit code and one line on stderr. The
simulator (SimPy, scipy), the network and Rich are imported inside the commands."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from kervan.cli.errors import user_errors
from kervan.errors import InvalidRequestError
from kervan.observatory.backend import RAY_LOCAL, Backend, Runner

if TYPE_CHECKING:
    from kervan.network.model import Network
    from kervan.observatory.montecarlo import ScenarioSummary

Replications = Annotated[int, typer.Option("--replications", "-n", help="Monte Carlo runs.")]
Years = Annotated[float, typer.Option("--years", help="Simulated years after the warm-up.")]
Seed = Annotated[int, typer.Option("--seed", help="Seed of the first replication.")]
OutDir = Annotated[Path, typer.Option("--out", help="Folder for the report files.")]
BackendOpt = Annotated[
    Backend, typer.Option("--backend", help="process (local cores), sequential or ray.")
]
Workers = Annotated[
    int | None,
    typer.Option(
        "--workers", "-w", help="Processes running replications (or local Ray CPUs); all cores."
    ),
]
RayAddress = Annotated[
    str,
    typer.Option(
        "--ray-address",
        help="With --backend ray: local (start one here), auto (this machine's cluster) or "
        "the head's address.",
    ),
]


def _check_run(replications: int, years: float) -> None:
    if replications < 1 or replications > 1000:
        raise InvalidRequestError("--replications must be between 1 and 1000")
    if not 0 < years <= 50:
        raise InvalidRequestError("--years must be above 0 and at most 50")


def _runner(backend: Backend, workers: int | None, ray_address: str) -> Runner:
    if workers is not None and not 1 <= workers <= 1024:
        raise InvalidRequestError("--workers must be between 1 and 1024")
    if ray_address != RAY_LOCAL and backend is not Backend.RAY:
        raise InvalidRequestError("--ray-address needs --backend ray")
    if not ray_address.strip():
        raise InvalidRequestError("--ray-address must not be empty")
    return Runner(backend, workers, ray_address)


def _summarise(
    network: Network, name: str, replications: int, years: float, seed: int, runner: Runner
) -> ScenarioSummary:
    _check_run(replications, years)
    from rich.console import Console  # noqa: PLC0415
    from rich.progress import (  # noqa: PLC0415
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from kervan.observatory.montecarlo import replicate, summarise  # noqa: PLC0415
    from kervan.observatory.scenario import load_scenario  # noqa: PLC0415

    scenario = load_scenario(name, network).with_years(years)
    columns = (
        TextColumn(f"[bold]{scenario.id}[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    err = Console(stderr=True, soft_wrap=True)
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("replications", total=replications)
        results = replicate(
            scenario,
            replications,
            seed,
            backend=runner,
            progress=lambda done: bar.update(task, completed=done),
        )
    return summarise(scenario, results)


def _write(folder: Path, name: str, text: str) -> Path:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InvalidRequestError(f"cannot write {folder / name}: {exc.strerror}") from None
    return path


@user_errors
def simulate(
    scenario: Annotated[str, typer.Argument(help="Shipped scenario name or a scenario .toml.")],
    replications: Replications = 4,
    years: Years = 1.0,
    seed: Seed = 0,
    out_dir: OutDir = Path("observatory-report"),
    backend: BackendOpt = Backend.PROCESS,
    workers: Workers = None,
    ray_address: RayAddress = RAY_LOCAL,
    check_bottlenecks: Annotated[
        int, typer.Option("--check-bottlenecks", help="Rerun +10% capacity at the top K.")
    ] = 0,
) -> None:
    """Simulate SCENARIO and write a report (HTML with inline charts, and JSON) to --out."""
    from rich.console import Console  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415

    from kervan.network.dataset import load_network  # noqa: PLC0415
    from kervan.observatory.montecarlo import marginal_gains  # noqa: PLC0415
    from kervan.observatory.report import render_html, summary_json  # noqa: PLC0415
    from kervan.observatory.scenario import load_scenario  # noqa: PLC0415

    runner = _runner(backend, workers, ray_address)
    network = load_network()
    summary = _summarise(network, scenario, replications, years, seed, runner)
    if check_bottlenecks > 0:
        resolved = load_scenario(scenario, network).with_years(years)
        gains = marginal_gains(
            resolved,
            summary,
            top=check_bottlenecks,
            replications=min(replications, 2),
            seed=seed,
            backend=runner,
        )
        summary = summary.model_copy(update={"marginal_gains": gains})
    dwell = {c.id: c.dwell_hours.p50 for c in network.crossings.values()}
    html = _write(out_dir, f"{summary.scenario}.html", render_html(summary, dwell))
    _write(out_dir, f"{summary.scenario}.json", summary_json(summary))
    t = summary.targets
    table = Table(title=summary.title)
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_row("Trans-Caspian Mt/year", f"{t.volume_tonnes_per_year.mean / 1e6:.2f}")
    table.add_row("2030 volume target (11 Mt)", "met" if t.volume_met else "not met")
    table.add_row("transit / today (P50)", f"{t.time_ratio.mean:.2f}")
    table.add_row("2030 time target (0.5)", "met" if t.time_met else "not met")
    table.add_row("top bottlenecks", ", ".join(summary.bottlenecks[:3]) or "none")
    out = Console()
    out.print(table)
    out.print(f"report: {html}", highlight=False)


@user_errors
def compare_scenarios(
    a: Annotated[str, typer.Argument(help="First scenario.")],
    b: Annotated[str, typer.Argument(help="Second scenario.")],
    replications: Replications = 2,
    years: Years = 1.0,
    seed: Seed = 0,
    out_dir: OutDir = Path("observatory-report"),
    backend: BackendOpt = Backend.PROCESS,
    workers: Workers = None,
    ray_address: RayAddress = RAY_LOCAL,
) -> None:
    """Simulate A and B with the same seeds and print them side by side with each difference's
    95% interval; write the comparison as HTML, CSV and JSON to --out."""
    from rich.console import Console  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415

    from kervan.network.dataset import load_network  # noqa: PLC0415
    from kervan.observatory.report import (  # noqa: PLC0415
        compare,
        comparison_csv,
        comparison_html,
        comparison_json,
    )

    runner = _runner(backend, workers, ray_address)
    network = load_network()
    first = _summarise(network, a, replications, years, seed, runner)
    second = _summarise(network, b, replications, years, seed, runner)
    rows = compare(first, second)
    table = Table(title=f"{first.scenario} vs {second.scenario}")
    for column in ("figure", first.scenario, second.scenario, "change", "95% interval"):
        left = column == "figure"
        table.add_column(column, justify="left" if left else "right", no_wrap=left)
    for r in rows:
        interval = (
            "no interval (1 replication)"
            if math.isnan(r.low)
            else f"{r.low:+,.2f} to {r.high:+,.2f}" + ("" if r.clear else " (no clear difference)")
        )
        table.add_row(r.metric, f"{r.a:,.2f}", f"{r.b:,.2f}", f"{r.change:+,.2f}", interval)
    out = Console()
    out.print(table)
    stem = f"compare-{first.scenario}-{second.scenario}"
    _write(out_dir, f"{stem}.json", comparison_json(first, second, rows))
    _write(out_dir, f"{stem}.csv", comparison_csv(first, second, rows))
    path = _write(out_dir, f"{stem}.html", comparison_html(first, second, rows))
    out.print(f"comparison: {path}", highlight=False)


@user_errors
def kpis(
    events: Annotated[Path, typer.Argument(help="JSON file of corridor events.")],
    csv_out: Annotated[
        Path | None, typer.Option("--csv", help="Also write the KPIs as CSV.")
    ] = None,
) -> None:
    """Compute corridor KPIs from EVENTS.json; print them as JSON (with the published baselines)."""
    from kervan.network.dataset import load_network  # noqa: PLC0415
    from kervan.observatory.cpmm import cpmm_csv_rows, cpmm_indicators  # noqa: PLC0415
    from kervan.observatory.events import load_events  # noqa: PLC0415
    from kervan.observatory.kpis import (  # noqa: PLC0415
        compare_with_published,
        compute_kpis,
        kpis_to_csv,
        kpis_to_json,
    )

    network = load_network()
    recorded = load_events(events)
    computed = compute_kpis(recorded, network)
    baseline = compare_with_published(computed, network)
    cpmm = cpmm_indicators(recorded, network)
    if csv_out is not None:
        text = kpis_to_csv(computed, baseline) + cpmm_csv_rows(cpmm)
        _write(csv_out.parent, csv_out.name, text)
    sys.stdout.write(kpis_to_json(computed, baseline, {"cpmm": cpmm}) + "\n")


UNITS = {
    "trans_caspian_volume": "Mt/year",
    "travel_time": "x today",
    "cku_volume": "Mt/year",
    "aktau_containers": "1000 TEU/year",
}


@user_errors
def targets(
    scenarios: Annotated[
        list[str] | None,
        typer.Argument(help="Scenarios to assess (default: baseline-2024 corridor-2030)."),
    ] = None,
    replications: Replications = 4,
    years: Years = 1.0,
    seed: Seed = 0,
    out_dir: OutDir = Path("observatory-report"),
    backend: BackendOpt = Backend.PROCESS,
    workers: Workers = None,
    ray_address: RayAddress = RAY_LOCAL,
    portfolio: Annotated[
        bool, typer.Option("--portfolio/--no-portfolio", help="Rank reform combinations too.")
    ] = False,
    max_reforms: Annotated[
        int, typer.Option("--max-reforms", help="Largest combination tried (and all together).")
    ] = 2,
    reforms: Annotated[
        str | None, typer.Option("--reforms", help="Comma-separated reform scenarios to combine.")
    ] = None,
    lang: Annotated[str, typer.Option("--lang", help="Report language: en, tr or ru.")] = "en",
) -> None:
    """Whether each scenario meets the 2030 freight targets (with 95% intervals over
    replications) and what binds; optionally rank reform portfolios. Writes targets.html and
    targets.csv to --out."""
    from rich.console import Console  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415

    from kervan.network.dataset import load_network  # noqa: PLC0415
    from kervan.observatory.scenario import load_scenario  # noqa: PLC0415
    from kervan.observatory.targets import (  # noqa: PLC0415
        REFORMS,
        assess_scenario,
        portfolio_search,
    )
    from kervan.observatory.targets_report import (  # noqa: PLC0415
        SCALE,
        place_label,
        targets_csv,
        targets_document,
    )
    from kervan.web.i18n import LANGUAGES, locale  # noqa: PLC0415

    _check_run(replications, years)
    if not 1 <= max_reforms <= 7:
        raise InvalidRequestError("--max-reforms must be between 1 and 7")
    if lang not in LANGUAGES:
        raise InvalidRequestError(f"--lang must be one of {', '.join(LANGUAGES)}")
    runner = _runner(backend, workers, ray_address)
    network = load_network()
    names = scenarios or ["baseline-2024", "corridor-2030"]
    loc = locale(lang)
    err = Console(stderr=True, soft_wrap=True)
    assessments = []
    for name in names:
        scenario = load_scenario(name, network).with_years(years)
        err.print(f"simulating {scenario.id} ({replications} x {years:g} year)", highlight=False)
        assessments.append(assess_scenario(scenario, replications, seed, runner))
    ranked = []
    if portfolio:
        chosen = tuple(r.strip() for r in reforms.split(",")) if reforms else REFORMS
        ranked = portfolio_search(
            network,
            chosen,
            max_size=max_reforms,
            replications=replications,
            years=years,
            seed=seed,
            backend=runner,
            progress=lambda done, total: err.print(f"portfolio {done}/{total}", highlight=False),
        )

    def node_name(ident: str) -> str:
        node = network.nodes.get(ident)
        return node.name if node is not None else ident

    out = Console()
    for a in assessments:
        table = Table(title=f"{a.title} ({a.year})")
        for column in ("target", "unit", "goal", "mean", "95% interval", "status", "binds"):
            left = column in ("target", "unit", "binds")
            table.add_column(column, justify="left" if left else "right")
        for r in a.results:
            div, digits = SCALE[r.target]
            table.add_row(
                loc.t(f"tg.target.{r.target}"),
                UNITS[r.target],
                f"{r.goal / div:,.{digits}f}",
                f"{r.value.mean / div:,.{digits}f}",
                f"{r.value.low / div:,.{digits}f} - {r.value.high / div:,.{digits}f}",
                r.status,
                place_label(r.binding, loc.t, node_name),
            )
        out.print(table)
        out.print(
            f"diverted {a.diverted_tonnes_per_year.mean / 1e6:,.2f} Mt/year; refused "
            f"{a.refused_tonnes_per_year.mean / 1e6:,.2f} Mt/year; longest ferry wait "
            f"{a.ferry_wait_max_hours:,.0f} h",
            highlight=False,
        )
        for u in a.unstable:
            out.print(
                f"unstable: {place_label(u.id, loc.t, node_name)} offered "
                f"{u.offered_per_year.mean:,.0f} {u.unit}/year against {u.capacity_per_year:,.0f}"
                f"; needs {u.capacity_needed_per_year:,.0f}",
                highlight=False,
            )
    if ranked:
        table = Table(title="reform portfolios on the 2030 demand")
        for column in ("reforms", "share of targets", "US$ bn", "points per US$ bn"):
            table.add_column(column, justify="left" if column == "reforms" else "right")
        for p in ranked:
            gain = p.score_gain_per_billion_usd
            table.add_row(
                "+".join(p.reforms) or "none",
                f"{p.score * 100:.0f} %",
                f"{p.investment_usd / 1e9:,.1f}" if p.investment_usd else "-",
                f"{gain * 100:,.2f}" if gain is not None else "no published cost",
            )
        out.print(table)
    out.print(loc.t("tg.trade_context", share="7", goal="10"), highlight=False)
    html = targets_document(assessments, ranked, loc.t, loc.number, lang, node_name)
    path = _write(out_dir, "targets.html", html)
    _write(out_dir, "targets.csv", targets_csv(assessments, ranked))
    out.print(f"report: {path}", highlight=False)
