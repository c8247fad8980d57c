"""The search engine against oracles: networkx's Dijkstra and brute-force path enumeration."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from kervan.routing.search import EdgeGraph, pareto_paths, shortest_path, shortest_path_limited

Edge = tuple[int, int, float, float, float, bool]


@st.composite
def graphs(draw: st.DrawFn, max_vertices: int = 9, max_edges: int = 30) -> tuple[int, list[Edge]]:
    n = draw(st.integers(2, max_vertices))
    weight = st.integers(0, 50).map(float)
    edges = draw(
        st.lists(
            st.tuples(
                st.integers(0, n - 1),
                st.integers(0, n - 1),
                weight,
                weight,
                weight,
                st.booleans(),
            ).filter(lambda e: e[0] != e[1]),
            max_size=max_edges,
        )
    )
    return n, edges


def arrays(n: int, edges: list[Edge]) -> tuple[EdgeGraph, list[np.ndarray], np.ndarray]:
    graph = EdgeGraph(
        n,
        np.array([e[0] for e in edges], dtype=np.int64),
        np.array([e[1] for e in edges], dtype=np.int64),
    )
    criteria = [np.array([e[k] for e in edges], dtype=np.float64) for k in (2, 3, 4)]
    counted = np.array([e[5] for e in edges], dtype=np.bool_)
    return graph, criteria, counted


def path_cost(path: list[int], weight: np.ndarray) -> float:
    return float(sum(weight[e] for e in path))


def is_walk(graph: EdgeGraph, path: list[int], s: int, t: int) -> bool:
    if not path:
        return s == t
    ok = int(graph.src[path[0]]) == s and int(graph.dst[path[-1]]) == t
    return ok and all(int(graph.dst[a]) == int(graph.src[b]) for a, b in itertools.pairwise(path))


@settings(max_examples=300, deadline=None)
@given(graphs(), st.data())
def test_optimum_equals_networkx(g: tuple[int, list[Edge]], data: st.DataObject) -> None:
    n, edges = g
    s, t = data.draw(st.integers(0, n - 1)), data.draw(st.integers(0, n - 1))
    if s == t:
        return
    graph, (w, _, _), _ = arrays(n, edges)
    reference = nx.MultiDiGraph()
    reference.add_nodes_from(range(n))
    for i, e in enumerate(edges):
        reference.add_edge(e[0], e[1], key=i, weight=e[2])
    path = shortest_path(graph, w, s, t) if edges else None
    try:
        expected = nx.dijkstra_path_length(reference, s, t, weight="weight")
    except nx.NetworkXNoPath:
        assert path is None
        return
    assert path is not None
    assert is_walk(graph, path, s, t)
    assert path_cost(path, w) == expected


@settings(max_examples=200, deadline=None)
@given(graphs(max_vertices=6, max_edges=14), st.integers(0, 3), st.data())
def test_transfer_limit_equals_brute_force(
    g: tuple[int, list[Edge]], limit: int, data: st.DataObject
) -> None:
    n, edges = g
    s, t = data.draw(st.integers(0, n - 1)), data.draw(st.integers(0, n - 1))
    if s == t or not edges:
        return
    graph, (w, _, _), counted = arrays(n, edges)
    best = None
    for path in simple_edge_paths(graph, s, t):
        if sum(counted[e] for e in path) <= limit:
            cost = path_cost(path, w)
            best = cost if best is None else min(best, cost)
    found = shortest_path_limited(graph, w, counted, limit, s, t)
    if best is None:
        assert found is None
        return
    assert found is not None
    assert is_walk(graph, found, s, t)
    assert sum(counted[e] for e in found) <= limit
    assert path_cost(found, w) == best


def simple_edge_paths(graph: EdgeGraph, s: int, t: int) -> list[list[int]]:
    out: list[list[int]] = []

    def walk(v: int, seen: set[int], path: list[int]) -> None:
        if v == t:
            out.append(list(path))
            return
        for e in range(len(graph.src)):
            if int(graph.src[e]) == v and int(graph.dst[e]) not in seen:
                seen.add(int(graph.dst[e]))
                path.append(e)
                walk(int(graph.dst[e]), seen, path)
                path.pop()
                seen.discard(int(graph.dst[e]))

    walk(s, {s}, [])
    return out


@settings(max_examples=200, deadline=None)
@given(graphs(max_vertices=6, max_edges=14), st.data())
def test_pareto_set_equals_brute_force(g: tuple[int, list[Edge]], data: st.DataObject) -> None:
    n, edges = g
    s, t = data.draw(st.integers(0, n - 1)), data.draw(st.integers(0, n - 1))
    if s == t or not edges:
        return
    graph, criteria, counted = arrays(n, edges)
    vectors = {tuple(path_cost(p, c) for c in criteria) for p in simple_edge_paths(graph, s, t)}
    front = {
        v
        for v in vectors
        if not any(all(a <= b for a, b in zip(u, v, strict=True)) and u != v for u in vectors)
    }
    found = pareto_paths(graph, (criteria[0], criteria[1], criteria[2]), counted, s, t)
    got = {tuple(path_cost(p, c) for c in criteria) for p in found}
    assert all(is_walk(graph, p, s, t) for p in found)
    assert got == front


def test_mask_removes_edges() -> None:
    graph = EdgeGraph(3, np.array([0, 0, 1]), np.array([2, 1, 2]))
    w = np.array([10.0, 1.0, 1.0])
    assert shortest_path(graph, w, 0, 2) == [1, 2]
    assert shortest_path(graph, w, 0, 2, np.array([True, False, True])) == [0]
    assert shortest_path(graph, w, 0, 2, np.array([False, False, True])) is None


def test_parallel_edges_keep_the_cheapest_and_zero_weights_count() -> None:
    graph = EdgeGraph(3, np.array([0, 0, 1]), np.array([1, 1, 2]))
    w = np.array([5.0, 0.0, 0.0])
    assert shortest_path(graph, w, 0, 2) == [1, 2]
