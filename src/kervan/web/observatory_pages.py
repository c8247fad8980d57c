"""The observatory page: the corridor's KPIs from this node's recorded shipments
(services.observatory.corridor_kpis) and two shipped scenarios simulated side by side, as
inline SVG charts readable at a glance.

The scenarios are simulated once per process with a short horizon (three replications of a
quarter of a year after the warm-up, fixed seeds: a few seconds) and kept in memory; the page
says so next to the charts and shows every difference with its 95 % interval, saying where the
interval includes zero (no clear difference) rather than presenting the dice as a result.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from kervan.network.model import Network
from kervan.observatory.montecarlo import Backend, ScenarioSummary, replicate, summarise
from kervan.observatory.report import ComparisonRow, compare
from kervan.observatory.scenario import load_scenario
from kervan.observatory.targets import ScenarioTargets
from kervan.observatory.targets_report import targets_csv, targets_document, targets_fragment
from kervan.services.access import Scope
from kervan.services.observatory import TargetsRequest, corridor_kpis, targets_report
from kervan.web.charts import Row, grouped_bars
from kervan.web.common import language_of, node_of, person, render, uow_of

router = APIRouter(include_in_schema=False)
SCENARIOS = ("baseline-2024", "digital-cku")
SIMULATED_YEARS = 0.25
REPLICATIONS = 3
SEED = 0


@dataclass(frozen=True)
class Comparison:
    a: ScenarioSummary
    b: ScenarioSummary
    rows: list[ComparisonRow]


_lock = threading.Lock()
_cache: dict[int, Comparison] = {}


def scenario_comparison(network: Network) -> Comparison:
    """The two scenarios simulated once for this network (cached in memory)."""
    with _lock:
        cached = _cache.get(id(network))
        if cached is None:
            summaries = []
            for name in SCENARIOS:
                scenario = load_scenario(name, network).with_years(SIMULATED_YEARS)
                results = replicate(scenario, REPLICATIONS, SEED, backend=Backend.SEQUENTIAL)
                summaries.append(summarise(scenario, results))
            a, b = summaries
            cached = Comparison(a, b, compare(a, b))
            _cache[id(network)] = cached
        return cached


def crossing_label(network: Network, crossing: str) -> str:
    """A crossing as people name it: its place and the countries ("Khorgos (CN → KZ)")."""
    found = network.crossings.get(crossing)
    if found is None:
        return crossing
    link = network.links.get(found.link)
    place = network.nodes[link.to_node].name if link and link.to_node in network.nodes else ""
    return f"{place} ({' → '.join(found.countries)})".strip()


def place_names(network: Network, key: str) -> str:
    """Node ids in a KPI key replaced by their names ("CNXIA>TRIST" -> "Xi'an>Istanbul")."""
    parts = re.split(r"([^A-Za-z0-9_-]+)", key)
    return "".join(network.nodes[p].name if p in network.nodes else p for p in parts)


@router.get("/observatory", response_class=HTMLResponse)
def observatory_page(request: Request) -> Response:
    """KPIs from recorded events and two scenarios side by side."""
    loc = language_of(request)
    ctx = node_of(request)
    network = ctx.network
    caller = person(request).caller
    if Scope.OBSERVATORY not in caller.scopes:
        return render(request, "error.html", {"message_key": "error.not_for_you"}, status_code=403)
    kpis, baseline, cpmm = corridor_kpis(uow_of(request), caller)
    comparison = scenario_comparison(network)
    a, b = comparison.a, comparison.b
    p50, p90 = loc.t("obs.p50"), loc.t("obs.p90")
    hours, days, tonnes = loc.t("obs.hours"), loc.t("obs.days"), loc.t("obs.tonnes")
    dwell_rows = [
        Row(crossing_label(network, s.crossing), (s.p50, s.p90)) for s in kpis.border_dwell
    ]
    transit_rows = [
        Row(place_names(network, s.key), (s.p50 / 24, s.p90 / 24)) for s in kpis.transit_by_od
    ]
    volume_rows = [Row(v.key, (v.tonnes,)) for v in kpis.volume_by_country_pair]
    crossings = [c for c in a.border_dwell if c in b.border_dwell]
    sim_dwell = [
        Row(crossing_label(network, c), (a.border_dwell[c].mean, b.border_dwell[c].mean))
        for c in crossings
    ]
    flows_b = {o.flow: o for o in b.od}
    sim_transit = [
        Row(
            f"{place_names(network, o.origin)} → {place_names(network, o.destination)}",
            (o.p50.mean / 24, flows_b[o.flow].p50.mean / 24),
        )
        for o in a.od
        if o.flow in flows_b
    ]
    causes = [k for k in a.hours_by_cause if k in b.hours_by_cause]
    sim_causes = [
        Row(loc.t(f"cause.{k}"), (a.hours_by_cause[k].mean, b.hours_by_cause[k].mean))
        for k in causes
    ]
    names = (a.title, b.title)
    charts = {
        "dwell": grouped_bars(loc.t("obs.dwell_title"), dwell_rows, (p50, p90), hours, loc),
        "transit": grouped_bars(loc.t("obs.transit_title"), transit_rows, (p50, p90), days, loc),
        "volume": grouped_bars(loc.t("obs.volume_title"), volume_rows, (tonnes,), tonnes, loc),
        "sim_dwell": grouped_bars(loc.t("obs.sim_dwell_title"), sim_dwell, names, hours, loc),
        "sim_transit": grouped_bars(loc.t("obs.sim_transit_title"), sim_transit, names, days, loc),
        "sim_causes": grouped_bars(loc.t("obs.sim_causes_title"), sim_causes, names, hours, loc),
    }
    headline = [
        (loc.t(f"cmp.{r.key}") if ":" not in r.key else _cause_label(loc.t, r.key), r)
        for r in comparison.rows
        if r.key.partition(":")[0] in ("", "cause") or ":" not in r.key
    ][:10]
    context = {
        "kpis": kpis,
        "baseline": baseline,
        "cpmm": cpmm,
        "crossing_name": lambda c: crossing_label(network, c),
        "section_name": lambda k: place_names(network, k).replace(">", " → "),
        "charts": charts,
        "dwell_rows": dwell_rows,
        "transit_rows": transit_rows,
        "volume_rows": volume_rows,
        "a": a,
        "b": b,
        "headline": headline,
        "simulated_years": SIMULATED_YEARS,
        "replications": REPLICATIONS,
        "finite": math.isfinite,
    }
    return render(request, "observatory.html", context)


def _cause_label(t: Callable[..., str], key: str) -> str:
    """ "cause:border" -> "border, hours per shipment" in the reader's language."""
    return t("cmp.cause_hours", cause=t(f"cause.{key.partition(':')[2]}"))


def _targets(request: Request) -> tuple[list[ScenarioTargets], Callable[[str], str]] | None:
    caller = person(request).caller
    if Scope.OBSERVATORY not in caller.scopes:
        return None
    network = node_of(request).network

    def node_name(ident: str) -> str:
        node = network.nodes.get(ident)
        return node.name if node is not None else ident

    return targets_report(uow_of(request), caller, TargetsRequest()), node_name


@router.get("/observatory/targets", response_class=HTMLResponse)
def targets_page(request: Request) -> Response:
    """The 2030 freight targets: each scenario's value with its interval, the target drawn on
    every chart, status and binding constraint, in the visitor's language."""
    found = _targets(request)
    if found is None:
        return render(request, "error.html", {"message_key": "error.not_for_you"}, status_code=403)
    assessments, node_name = found
    loc = language_of(request)
    body = targets_fragment(assessments, [], loc.t, loc.number, node_name)
    return render(request, "targets.html", {"report": Markup(body)})  # noqa: S704 (escaped)


@router.get("/observatory/targets/report.html")
def targets_export_html(request: Request) -> Response:
    """The targets report as one HTML file to keep or send (the visitor's language)."""
    found = _targets(request)
    if found is None:
        return render(request, "error.html", {"message_key": "error.not_for_you"}, status_code=403)
    assessments, node_name = found
    loc = language_of(request)
    html = targets_document(assessments, [], loc.t, loc.number, loc.code, node_name)
    return HTMLResponse(
        html, headers={"Content-Disposition": 'attachment; filename="kervan-targets.html"'}
    )


@router.get("/observatory/targets/report.csv")
def targets_export_csv(request: Request) -> Response:
    """The targets report's figures as CSV."""
    found = _targets(request)
    if found is None:
        return render(request, "error.html", {"message_key": "error.not_for_you"}, status_code=403)
    return Response(
        targets_csv(found[0], []),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="kervan-targets.csv"'},
    )


__all__ = ["crossing_label", "place_names", "router", "scenario_comparison"]
