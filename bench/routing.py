"""Routing benchmark: cold corridor searches; the search against networkx and scipy at 1M edges.

Writes bench/results/routing.json. Corridor timings are cold: the planner's answer cache is
emptied before every query, so each one runs the search (the compiled graph, built once per cargo
unit and year, is kept, as in a running planner). Timings are medians and P95 over repeated
queries; the networkx and scipy comparisons are ratios measured in the same run on the same graph
and queries, so a noisy machine moves every side together.

    .venv/bin/python bench/routing.py [--edges 1000000] [--queries 5]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import networkx as nx
import numpy as np
from scipy.sparse.csgraph import dijkstra

from kervan.network.dataset import load_network
from kervan.network.model import CargoUnit
from kervan.routing.graph import DwellPolicy
from kervan.routing.planner import Objective, Planner, PlanRequest
from kervan.routing.search import EdgeGraph, prepare

RESULTS = Path(__file__).parent / "results" / "routing.json"

CORRIDOR_QUERIES = [
    ("Xi'an", "Duisburg", frozenset({"RU", "BY"})),
    ("Xi'an", "Istanbul", frozenset()),
    ("Urumqi", "Poti", frozenset()),
    ("Lianyungang", "Constanta", frozenset({"RU"})),
    ("Tashkent", "Istanbul", frozenset()),
    ("Almaty", "Budapest", frozenset({"RU", "BY"})),
    ("Kashgar", "Baku", frozenset()),
    ("Xi'an", "Duisburg", frozenset()),
]


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000.0)
    return out


def summary(ms: list[float]) -> dict[str, float]:
    ordered = sorted(ms)
    return {
        "median_ms": round(statistics.median(ordered), 3),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 3),
        "samples": len(ordered),
    }


def corridor_benchmark(repeat: int) -> dict[str, object]:
    planner = Planner(load_network())
    for origin, destination, avoid in CORRIDOR_QUERIES:  # warm the compiled-graph cache
        planner.plan(PlanRequest(origin, destination, avoid_countries=avoid, alternatives=1))

    def cold(ask: Callable[[PlanRequest], object], request: PlanRequest) -> object:
        # Empty the answer cache so the query runs its search.
        planner._answer.cache_clear()  # type: ignore[attr-defined]
        return ask(request)

    single: list[float] = []
    alternatives: list[float] = []
    pareto: list[float] = []
    sizes: list[int] = []
    for origin, destination, avoid in CORRIDOR_QUERIES:
        for objective in (Objective.TIME, Objective.COST, Objective.CO2):
            req = PlanRequest(origin, destination, objective, avoid_countries=avoid, alternatives=1)
            single += timed(partial(cold, planner.plan, req), repeat)
        req3 = PlanRequest(origin, destination, avoid_countries=avoid, alternatives=3)
        alternatives += timed(partial(cold, planner.plan, req3), max(1, repeat // 2))
        req_p = PlanRequest(origin, destination, avoid_countries=avoid)
        pareto += timed(partial(cold, planner.pareto, req_p), max(1, repeat // 2))
        sizes.append(len(planner.pareto(req_p)))
    compiled = planner.compiled(
        CargoUnit.CONTAINER, planner.network.reference_year, DwellPolicy(), road_phases=True
    )
    return {
        "cold": True,
        "network": {
            "nodes": len(planner.network.nodes),
            "links": len(planner.network.links),
            "search_vertices": compiled.vertex_count,
            "search_edges": len(compiled.ref),
        },
        "single_objective_plan": summary(single),
        "three_alternatives": summary(alternatives),
        "pareto": summary(pareto) | {"median_front_size": statistics.median(sizes)},
        "targets": {"single_median_ms": 5.0, "pareto_median_ms": 50.0},
    }


def synthetic_graph(edges: int, seed: int) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """A road-network-like graph: a 2-D grid with random extra links, ~`edges` directed edges."""
    rng = np.random.default_rng(seed)
    side = int(np.sqrt(edges / 4.4))
    n = side * side
    ids = np.arange(n).reshape(side, side)
    right = (ids[:, :-1].ravel(), ids[:, 1:].ravel())
    down = (ids[:-1, :].ravel(), ids[1:, :].ravel())
    src = np.concatenate([right[0], right[1], down[0], down[1]])
    dst = np.concatenate([right[1], right[0], down[1], down[0]])
    extra = edges - len(src)
    if extra > 0:
        a = rng.integers(0, n, extra)
        b = np.clip(a + rng.integers(-3 * side, 3 * side, extra), 0, n - 1)
        src, dst = np.concatenate([src, a]), np.concatenate([dst, b])
    keep = src != dst
    src, dst = src[keep].astype(np.int64), dst[keep].astype(np.int64)
    weight = rng.uniform(1.0, 10.0, len(src))
    return n, src, dst, weight


def scale_benchmark(edges: int, queries: int, seed: int = 7) -> dict[str, object]:
    n, src, dst, weight = synthetic_graph(edges, seed)
    rng = np.random.default_rng(seed + 1)
    pairs = [(int(a), int(b)) for a, b in rng.integers(0, n, (queries, 2))]
    graph = EdgeGraph(n, src, dst)
    start = time.perf_counter()
    prepared = prepare(graph, weight)
    build_ms = (time.perf_counter() - start) * 1000.0
    reference = nx.DiGraph()
    reference.add_weighted_edges_from(zip(src.tolist(), dst.tolist(), weight.tolist(), strict=True))
    kervan_ms: list[float] = []
    networkx_ms: list[float] = []
    scipy_ms: list[float] = []
    for s, t in pairs:
        start = time.perf_counter()
        path = prepared.path(s, [t])
        kervan_ms.append((time.perf_counter() - start) * 1000.0)
        start = time.perf_counter()
        scipy_dist = dijkstra(prepared.matrix, directed=True, indices=s)
        scipy_ms.append((time.perf_counter() - start) * 1000.0)
        start = time.perf_counter()
        length = nx.dijkstra_path_length(reference, s, t)
        networkx_ms.append((time.perf_counter() - start) * 1000.0)
        assert path is not None
        ours = float(sum(weight[e] for e in path))
        assert abs(ours - length) < 1e-6 * max(1.0, length), (ours, length)
        assert abs(ours - float(scipy_dist[t])) < 1e-6 * max(1.0, length)
    ratio = statistics.median(networkx_ms) / statistics.median(kervan_ms)
    to_scipy = statistics.median(kervan_ms) / statistics.median(scipy_ms)
    return {
        "vertices": n,
        "edges": len(src),
        "queries": queries,
        "kervan_build_ms": round(build_ms, 1),
        "kervan_query": summary(kervan_ms),
        "networkx_dijkstra": summary(networkx_ms),
        "scipy_compiled_dijkstra": summary(scipy_ms),
        "speedup_median_ratio": round(ratio, 2),
        "target_speedup": 10.0,
        "kervan_over_scipy_median_ratio": round(to_scipy, 2),
        "target_within_scipy": 3.0,
        "same_lengths": True,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--edges", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--note", default="", help="What else ran on the machine.")
    args = parser.parse_args()
    result = {
        "benchmark": "routing",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "note": args.note,
        },
        "corridor": corridor_benchmark(args.repeat),
        "scale": scale_benchmark(args.edges, args.queries),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
