"""Planning on the command line: `kervan route`, `kervan places`, `kervan network validate|stats`.

Errors a user can cause print one clear line on stderr and exit with the error's code (see
kervan.cli.errors); nothing prints a traceback. The network, the planner, pydantic, numpy and
Rich are imported inside the commands, so listing or helping with commands loads none of them.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from kervan.cli.errors import user_errors
from kervan.errors import InvalidRequestError
from kervan.network.modes import CargoUnit, Mode, Passage
from kervan.routing.objective import Objective

if TYPE_CHECKING:
    from kervan.network.model import Network
    from kervan.routing.plan import Plan

DatasetOption = Annotated[
    Path | None,
    typer.Option("--dataset", help="A dataset folder instead of the shipped corridor network."),
]


def _network(dataset: Path | None) -> Network:
    from kervan.network.dataset import load_network  # noqa: PLC0415

    if dataset is not None and not dataset.is_dir():
        raise InvalidRequestError(f"dataset folder {dataset} does not exist")
    return load_network(dataset)


@user_errors
def route(
    origin: Annotated[str, typer.Argument(help="Where the cargo starts: name, alias or id.")],
    destination: Annotated[str, typer.Argument(help="Where it goes.")],
    by: Annotated[Objective, typer.Option("--by", help="What to minimise.")] = Objective.TIME,
    weights: Annotated[
        str, typer.Option(help="time,cost,co2 weights for --by mix, e.g. 2,1,1.")
    ] = "1,1,1",
    unit: Annotated[CargoUnit, typer.Option(help="What is booked.")] = CargoUnit.CONTAINER,
    avoid: Annotated[
        list[str] | None, typer.Option("--avoid", help="Country to avoid (ISO code); repeat.")
    ] = None,
    avoid_mode: Annotated[
        list[Mode] | None, typer.Option("--avoid-mode", help="Mode to avoid; repeat.")
    ] = None,
    year: Annotated[int | None, typer.Option(help="Year of travel (planned links).")] = None,
    on: Annotated[str | None, typer.Option("--on", help="Date of travel, YYYY-MM-DD.")] = None,
    max_transfers: Annotated[int | None, typer.Option(help="At most this many transfers.")] = None,
    alternatives: Annotated[int, typer.Option(help="How many diverse plans.")] = 3,
    pareto: Annotated[bool, typer.Option(help="Show every plan not beaten on all three.")] = False,
    truck_flag: Annotated[
        str | None, typer.Option(help="Truck registration country (for e-Permits).")
    ] = None,
    digital: Annotated[
        bool, typer.Option(help="Shipment on digital documents (shorter border dwell).")
    ] = False,
    green_lane: Annotated[bool, typer.Option(help="Green lane at every border.")] = False,
    trucking: Annotated[
        bool,
        typer.Option(
            help="Truck a container or bulk as far as it pays (no first/last-mile road bound)."
        ),
    ] = False,
    reenter: Annotated[
        bool, typer.Option(help="Allow a plan to enter a country it has left.")
    ] = False,
    close: Annotated[
        list[Passage] | None,
        typer.Option(
            "--close", help="Sea passage closed to shipping (red-sea, bosphorus); repeat."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Plans as JSON.")] = False,
    as_geojson: Annotated[bool, typer.Option("--geojson", help="Plans as GeoJSON.")] = False,
    dataset: DatasetOption = None,
) -> None:
    """Plan a shipment from ORIGIN to DESTINATION and show the best plans and their legs."""
    from kervan.routing.planner import Planner, PlanRequest  # noqa: PLC0415

    network = _network(dataset)
    request = PlanRequest(
        origin=origin,
        destination=destination,
        objective=by,
        weights=_weights(weights),
        unit=unit,
        avoid_countries=frozenset(c.strip().upper() for c in avoid or []),
        avoid_modes=frozenset(avoid_mode or []),
        year=year,
        on_date=_date(on),
        max_transfers=max_transfers,
        alternatives=alternatives,
        truck_flag=truck_flag.upper() if truck_flag else None,
        digital_documents=digital,
        green_lane=green_lane,
        road_haul=trucking,
        allow_reentry=reenter,
        closed_passages=frozenset(close or []),
    )
    planner = Planner(network)
    plans = planner.pareto(request) if pareto else planner.plan(request)
    if as_json:
        sys.stdout.write(json.dumps([p.model_dump(mode="json") for p in plans], indent=2) + "\n")
    elif as_geojson:
        from kervan.routing.geojson import plans_to_geojson  # noqa: PLC0415

        sys.stdout.write(json.dumps(plans_to_geojson(network, plans), indent=2) + "\n")
    else:
        _print_plans(plans)


def _weights(text: str) -> tuple[float, float, float]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise InvalidRequestError(f"weights {text!r} are not three numbers like 2,1,1") from None
    if len(values) != 3:
        raise InvalidRequestError(f"weights {text!r} must be three numbers: time,cost,co2")
    return values[0], values[1], values[2]


def _date(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidRequestError(f"date {text!r} is not YYYY-MM-DD") from None


def _print_plans(plans: list[Plan]) -> None:
    from rich.console import Console  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415

    out = Console()
    summary = Table(title=f"{plans[0].legs[0].from_name} -> {plans[0].legs[-1].to_name}")
    for column in ("#", "days P50", "days P90", "cost US$", "CO2 t", "km", "borders", "via"):
        summary.add_column(column, justify="right" if column != "via" else "left")
    for rank, plan in enumerate(plans, start=1):
        t = plan.totals
        summary.add_row(
            str(rank),
            f"{t.days_p50:.1f}",
            f"{t.days_p90:.1f}",
            f"{t.cost_usd:,.0f}",
            f"{t.co2_kg / 1000:.2f}",
            f"{t.distance_km:,.0f}",
            str(t.border_crossings),
            " ".join(plan.countries) + "  (" + ", ".join(m.value for m in plan.modes) + ")",
        )
    out.print(summary)
    for rank, plan in enumerate(plans, start=1):
        legs = Table(title=f"Plan {rank}: legs", title_justify="left")
        for column in ("leg", "mode", "from", "to", "km", "h P50", "border", "documents"):
            legs.add_column(column)
        for row in _leg_rows(plan):
            legs.add_row(*row)
        out.print(legs)
        for need in plan.documents:
            out.print(f"  [bold]{need.kind.label}[/]: {need.reason}", highlight=False)
        offices = "; ".join(f"{o.role.value}: {o.name} ({o.country})" for o in plan.customs_offices)
        out.print(f"  customs offices: {offices}", highlight=False)
        out.print(f"  {_tariff_line(plan)}", highlight=False)
        t = plan.totals
        out.print(
            f"  CO2e well-to-wheel {t.co2_wtw_kg / 1000:.2f} t (tank-to-wheel "
            f"{t.co2_ttw_kg / 1000:.2f} t, hubs {t.co2_hub_kg / 1000:.2f} t; ISO 14083 / GLEC, "
            f"{t.emissions_quality} factors)",
            highlight=False,
        )


def _tariff_line(plan: Plan) -> str:
    """The through-tariff summed by segment, with the tariff years it rests on."""
    by_segment: dict[str, float] = {}
    for charge in plan.charges:
        by_segment[charge.segment] = by_segment.get(charge.segment, 0.0) + charge.amount
    parts = ", ".join(f"{k.replace('_', ' ')} {v:,.0f}" for k, v in by_segment.items())
    years = plan.totals.tariff_years
    span = f"{years[0]}-{years[-1]}" if len(years) > 1 else (str(years[0]) if years else "-")
    return f"through tariff {plan.totals.currency}: {parts} (tariff years {span})"


def _leg_rows(plan: Plan) -> list[tuple[str, ...]]:
    """The leg table's rows: handling, waiting for a departure, legs, driving rest, transfers."""
    rows: list[tuple[str, ...]] = []

    def step(what: str, where: str, detail: str, hours: float, cost: float = 0.0) -> None:
        money = f", US${cost:,.0f}" if cost else ""
        rows.append(("", f"[dim]{what}[/]", where, detail + money, "", f"{hours:.0f}", "", ""))

    transfers = {t.after_leg: t for t in plan.transfers}
    for h in plan.handling:
        if h.after_leg < 0:
            step("handling", h.node_name, f"onto {h.mode.value}", h.hours_p50, h.cost_usd)
    for leg in plan.legs:
        waiting = leg.wait_hours_mean + leg.queue_hours_p50
        if waiting > 0:
            why = "next departure" + (" + port queue" if leg.queue_hours_p50 else "")
            step("waiting", leg.from_name, why, waiting)
        border = ""
        if leg.border:
            border = f"{'-'.join(leg.border.countries)} {leg.border.dwell_hours_p50:.0f} h"
        rows.append(
            (
                str(leg.index + 1),
                leg.mode.value + (f" {leg.gauge_mm}" if leg.gauge_mm else ""),
                leg.from_name,
                leg.to_name,
                f"{leg.distance_km:,.0f}",
                f"{leg.line_haul_hours_p50:.0f}",
                border,
                ", ".join(d.label for d in leg.documents),
            )
        )
        if leg.rest_hours > 0:
            step("driving rest", leg.to_name, "AETR breaks and daily rest", leg.rest_hours)
        for h in plan.handling:
            if h.after_leg == leg.index:
                what = "port call" if h.where == "port_call" else "handling"
                step(what, h.node_name, f"{h.mode.value} terminal", h.hours_p50, h.cost_usd)
        t = transfers.get(leg.index)
        if t is not None:
            what = "gauge change" if t.kind.value == "gauge_change" else "transfer"
            detail = f"{t.from_mode.value}->{t.to_mode.value}"
            step(what, t.node_name, detail, t.hours_p50, t.cost_usd)
    return rows


@user_errors
def validate(dataset: DatasetOption = None) -> None:
    """Load and check a dataset; exit 0 when every record and every reference is right.

    Sea links are checked against the shipped marine network too: none may be longer than 1.3x
    the sea network's shortest path between its ports.
    """
    from rich.console import Console  # noqa: PLC0415

    from kervan.errors import DatasetError  # noqa: PLC0415
    from kervan.routing.sea import SeaNetwork, sea_legs_off_the_network  # noqa: PLC0415

    network = _network(dataset)
    problems = sea_legs_off_the_network(network, SeaNetwork.shipped())
    if problems:
        raise DatasetError("links/", problems[0].split(":")[0], "distance_km", "; ".join(problems))
    out = Console()
    out.print(
        f"[green]valid[/]: {len(network.nodes)} nodes, {len(network.links)} links, "
        f"{len(network.transfers)} transfers, {len(network.crossings)} border crossings, "
        f"{len(network.sources)} sources"
    )


@user_errors
def check_plans() -> None:
    """The planner against published origin-destination times and costs; exit 1 if any plan
    falls outside its figure's band."""
    from rich.console import Console  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415

    from kervan.routing.planner import Planner  # noqa: PLC0415
    from kervan.routing.validation import compare  # noqa: PLC0415

    comparisons = compare(Planner(_network(None)))
    table = Table(title="Plans against published figures")
    for column in ("figure", "published days", "plan P50", "band", "published US$", "plan US$"):
        table.add_column(column)
    table.add_column("verdict")
    for c in comparisons:
        f = c.figure
        table.add_row(
            f.id + (" [dim](estimate)[/]" if f.estimate else ""),
            f"{f.days[0]:g}-{f.days[1]:g}" if f.days else "",
            f"{c.plan_days:.1f}" if c.plan_days is not None else "-",
            f"{c.days_band[0]:.1f}-{c.days_band[1]:.1f}" if c.days_band else "",
            f"{f.cost_usd[0]:,.0f}-{f.cost_usd[1]:,.0f}" if f.cost_usd else "",
            f"{c.plan_cost_usd:,.0f}" if c.plan_cost_usd is not None else "-",
            "[green]inside[/]" if c.inside else f"[red]{c.problem}[/]",
        )
    out = Console()
    out.print(table)
    for c in comparisons:
        out.print(f"  {c.figure.id}: {c.figure.source}", highlight=False)
    if not all(c.inside for c in comparisons):
        raise typer.Exit(1)


@user_errors
def stats(dataset: DatasetOption = None) -> None:
    """Counts of the network by country, mode, kind and source."""
    from rich.console import Console  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415

    from kervan.network.model import SourceKind  # noqa: PLC0415

    network = _network(dataset)
    table = Table(title="Corridor network")
    table.add_column("what")
    table.add_column("count", justify="right")
    for country, count in sorted(Counter(n.country for n in network.nodes.values()).items()):
        table.add_row(f"nodes in {country}", str(count))
    for mode, count in sorted(Counter(k.mode.value for k in network.links.values()).items()):
        table.add_row(f"{mode} links", str(count))
    km = sum(k.distance_km for k in network.links.values())
    table.add_row("link km", f"{km:,.0f}")
    planned = [k for k in network.links.values() if k.status.value == "planned"]
    table.add_row("planned links", str(len(planned)))
    table.add_row("transfers", str(len(network.transfers)))
    table.add_row("border crossings", str(len(network.crossings)))
    kinds = Counter(s.kind for s in network.sources.values())
    table.add_row("published sources", str(kinds[SourceKind.PUBLISHED]))
    table.add_row("estimates (with method)", str(kinds[SourceKind.ESTIMATE]))
    Console().print(table)


@user_errors
def places(
    text: Annotated[str, typer.Argument(help="Part of a place name, alias or id.")],
    dataset: DatasetOption = None,
) -> None:
    """Find places on the network as you would in the planner's search box."""
    from rich.console import Console  # noqa: PLC0415

    from kervan.routing.planner import Planner  # noqa: PLC0415

    out = Console()
    planner = Planner(_network(dataset))
    found = planner.places.search(text)
    if not found:
        raise InvalidRequestError(
            f"no place matches {text!r}; closest: {', '.join(planner.places.suggest(text)) or '-'}"
        )
    for node in found:
        kinds = ", ".join(k.value for k in node.kinds)
        out.print(f"{node.id:16} {node.name} ({node.country}) {kinds}", highlight=False)
