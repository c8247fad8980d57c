"""Shortest and Pareto-optimal paths over edge arrays.

Single-objective search on a small graph (the corridor: about a thousand edges) is a binary-heap
Dijkstra in Python over adjacency lists, answering a query in about a millisecond without loading
scipy (whose import alone costs a command-line query more than its search). On a large graph it
runs scipy's compiled Dijkstra on a CSR matrix built from the arrays (parallel edges keep the
cheapest). A limit on transfers is a layered graph: one copy of the graph per number of transfers
made, transfer edges climbing one layer. The Pareto search is a multi-criteria label-setting
search (Martins) over (time, cost, CO2).
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import numpy.typing as npt

#: Above this many edges a search runs scipy's compiled Dijkstra instead of the Python one.
COMPILED_SEARCH_EDGES = 20_000

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class EdgeGraph:
    """A directed multigraph as arrays: edge i runs `src[i]` -> `dst[i]`."""

    vertex_count: int
    src: IntArray
    dst: IntArray


class PreparedSearch:
    """A CSR matrix built once from edge arrays, answering many shortest-path queries.

    Parallel edges keep the cheapest; explicit zero weights stay edges in csgraph's sparse input.
    """

    def __init__(
        self, n: int, src: IntArray, dst: IntArray, weight: FloatArray, edge_ids: IntArray
    ) -> None:
        order = np.lexsort((weight, dst, src))
        s, d, w, ids = src[order], dst[order], weight[order], edge_ids[order]
        keep = np.ones(len(s), dtype=np.bool_)
        if len(s) > 1:
            keep[1:] = (s[1:] != s[:-1]) | (d[1:] != d[:-1])
        s, d, w, ids = s[keep], d[keep], w[keep], ids[keep]
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.add.at(indptr, s + 1, 1)
        np.cumsum(indptr, out=indptr)
        from scipy.sparse import csr_matrix  # noqa: PLC0415 (large graphs only: a slow import)

        self.matrix = csr_matrix((w, d, indptr), shape=(n, n))
        self._indptr, self._dst, self._ids = indptr, d, ids

    def edge_id(self, u: int, v: int) -> int:
        """The id of the edge kept for u -> v (row u's columns are sorted)."""
        lo, hi = int(self._indptr[u]), int(self._indptr[u + 1])
        k = lo + int(np.searchsorted(self._dst[lo:hi], v))
        return int(self._ids[k])

    def path(self, source: int, targets: list[int]) -> list[int] | None:
        """Edge ids of a least-weight path from `source` to the nearest of `targets`."""
        from scipy.sparse.csgraph import dijkstra  # noqa: PLC0415 (large graphs only)

        dist, pred = dijkstra(self.matrix, directed=True, indices=source, return_predecessors=True)
        best = min(targets, key=lambda v: dist[v])
        if not np.isfinite(dist[best]):
            return None
        return [self.edge_id(u, v) for u, v in pairwise(_walk_back(pred, source, best))]


def _walk_back(pred: IntArray, source: int, target: int) -> list[int]:
    """Vertices from source to target following Dijkstra's predecessor array."""
    vertices = [target]
    while vertices[-1] != source:
        vertices.append(int(pred[vertices[-1]]))
    vertices.reverse()
    return vertices


def prepare(graph: EdgeGraph, weight: FloatArray, mask: BoolArray | None = None) -> PreparedSearch:
    """Build the search matrix for one weighting, keeping only edges where `mask` is True."""
    ids = np.arange(len(graph.src), dtype=np.int64)
    if mask is not None:
        ids = ids[mask]
    return PreparedSearch(graph.vertex_count, graph.src[ids], graph.dst[ids], weight[ids], ids)


def _adjacency(
    vertex_count: int, src: IntArray, dst: IntArray, ids: IntArray
) -> tuple[list[int], list[int], list[int]]:
    """CSR-style adjacency as Python lists: row starts, heads and edge ids, by tail."""
    order = np.argsort(src, kind="stable")
    starts = np.searchsorted(src[order], np.arange(vertex_count + 1)).tolist()
    return starts, dst[order].tolist(), ids[order].tolist()


def _heap_dijkstra(
    adjacency: tuple[list[int], list[int], list[int]],
    weight: list[float],
    source: int,
    targets: set[int],
) -> list[int] | None:
    """Edge ids of a least-weight path from `source` to the first of `targets` settled."""
    starts, heads, edge_ids = adjacency
    dist = {source: 0.0}
    via: dict[int, tuple[int, int]] = {}  # vertex -> (edge id, previous vertex)
    done: set[int] = set()
    heap = [(0.0, source)]
    while heap:
        d, v = heapq.heappop(heap)
        if v in done:
            continue
        done.add(v)
        if v in targets:
            path: list[int] = []
            while v != source:
                edge, v = via[v]
                path.append(edge)
            path.reverse()
            return path
        for k in range(starts[v], starts[v + 1]):
            w, edge = heads[k], edge_ids[k]
            nd = d + weight[edge]
            if nd < dist.get(w, math.inf):
                dist[w] = nd
                via[w] = (edge, v)
                heapq.heappush(heap, (nd, w))
    return None


def shortest_path(
    graph: EdgeGraph,
    weight: FloatArray,
    source: int,
    target: int,
    mask: BoolArray | None = None,
) -> list[int] | None:
    """Edge ids of a least-weight path from `source` to `target`, or None if unreachable.

    `mask` keeps only the edges where it is True. Weights must be non-negative.
    """
    if len(graph.src) > COMPILED_SEARCH_EDGES:
        return prepare(graph, weight, mask).path(source, [target])
    ids = np.arange(len(graph.src), dtype=np.int64)
    if mask is not None:
        ids = ids[mask]
    adjacency = _adjacency(graph.vertex_count, graph.src[ids], graph.dst[ids], ids)
    return _heap_dijkstra(adjacency, weight.tolist(), source, {target})


def shortest_path_limited(
    graph: EdgeGraph,
    weight: FloatArray,
    counted: BoolArray,
    limit: int,
    source: int,
    target: int,
    mask: BoolArray | None = None,
) -> list[int] | None:
    """Like `shortest_path`, using at most `limit` edges where `counted` is True (transfers)."""
    base = np.arange(len(graph.src), dtype=np.int64)
    if mask is not None:
        base = base[mask]
    n, layers = graph.vertex_count, limit + 1
    src_parts, dst_parts, id_parts = [], [], []
    for layer in range(layers):
        free = base[~counted[base]]
        src_parts.append(graph.src[free] + layer * n)
        dst_parts.append(graph.dst[free] + layer * n)
        id_parts.append(free)
        if layer < limit:
            climbing = base[counted[base]]
            src_parts.append(graph.src[climbing] + layer * n)
            dst_parts.append(graph.dst[climbing] + (layer + 1) * n)
            id_parts.append(climbing)
    src, dst, ids = np.concatenate(src_parts), np.concatenate(dst_parts), np.concatenate(id_parts)
    targets = [target + layer * n for layer in range(layers)]
    layered_ids = np.arange(len(src), dtype=np.int64)
    if len(src) > COMPILED_SEARCH_EDGES:
        path = PreparedSearch(n * layers, src, dst, weight[ids], layered_ids).path(source, targets)
    else:
        adjacency = _adjacency(n * layers, src, dst, layered_ids)
        path = _heap_dijkstra(adjacency, weight[ids].tolist(), source, set(targets))
    return None if path is None else [int(ids[e]) for e in path]


def _distances_to(graph: EdgeGraph, weight: FloatArray, ids: IntArray, target: int) -> list[float]:
    """Least weight from every vertex to `target` over edges `ids` (inf where unreachable)."""
    if len(ids) > COMPILED_SEARCH_EDGES:
        from scipy.sparse.csgraph import dijkstra  # noqa: PLC0415 (large graphs only)

        reverse = EdgeGraph(graph.vertex_count, graph.dst[ids], graph.src[ids])
        matrix = prepare(reverse, weight[ids]).matrix
        return list(dijkstra(matrix, directed=True, indices=target).tolist())
    starts, heads, edge_ids = _adjacency(graph.vertex_count, graph.dst[ids], graph.src[ids], ids)
    w = weight.tolist()
    dist = [math.inf] * graph.vertex_count
    dist[target] = 0.0
    heap = [(0.0, target)]
    while heap:
        d, v = heapq.heappop(heap)
        if d > dist[v]:
            continue
        for k in range(starts[v], starts[v + 1]):
            u = heads[k]
            nd = d + w[edge_ids[k]]
            if nd < dist[u]:
                dist[u] = nd
                heapq.heappush(heap, (nd, u))
    return dist


# A label is a partial path: (time, cost, co2, transfers, vertex, edge, parent label or None).
# Plain tuples keep the inner loop of the Pareto search cheap.
_Label = tuple[float, float, float, int, int, int, "_Label | None"]


def _path_of(label: _Label) -> list[int]:
    edges: list[int] = []
    node: _Label | None = label
    while node is not None and node[5] >= 0:
        edges.append(node[5])
        node = node[6]
    edges.reverse()
    return edges


def _beaten(labels: list[_Label], t: float, c: float, e: float, n: int, f: float) -> bool:
    """Whether any label is at least as good as (t, c, e, n), within a factor f = 1 + eps."""
    t, c, e = t * f + 1e-9, c * f + 1e-9, e * f + 1e-9
    for other in labels:
        if other[0] <= t and other[1] <= c and other[2] <= e and other[3] <= n:
            return True
    return False


def _lower_bounds(
    graph: EdgeGraph, criteria: tuple[FloatArray, ...], keep: BoolArray, target: int
) -> list[list[float]]:
    """For each criterion, the least cost from every vertex to `target` (inf if unreachable)."""
    ids = np.flatnonzero(keep).astype(np.int64)
    return [_distances_to(graph, values, ids, target) for values in criteria]


def pareto_paths(
    graph: EdgeGraph,
    criteria: tuple[FloatArray, FloatArray, FloatArray],
    counted: BoolArray,
    source: int,
    target: int,
    mask: BoolArray | None = None,
    max_transfers: int | None = None,
    eps: float = 0.0,
    max_labels: int = 200_000,
) -> list[list[int]]:
    """Edge-id paths whose (criteria sums) are Pareto-optimal from `source` to `target`.

    A label-setting search guided by exact lower bounds to the target (one reverse Dijkstra per
    criterion): a partial path whose cost plus bound is already beaten by a found plan is dropped.
    `eps` > 0 keeps one representative for plans within that relative margin of each other.
    `counted` marks transfer edges; with `max_transfers` a path may use at most that many.
    """
    keep = np.ones(len(graph.src), dtype=np.bool_) if mask is None else mask
    order = np.argsort(graph.src, kind="stable")
    order = order[keep[order]]
    starts = np.searchsorted(graph.src[order], np.arange(graph.vertex_count + 1)).tolist()
    adj_dst = graph.dst[order].tolist()
    adj_id = order.tolist()
    c0, c1, c2 = (c.tolist() for c in criteria)
    h0, h1, h2 = _lower_bounds(graph, criteria, keep, target)
    inf = float("inf")
    if h0[source] == inf:
        return []
    # Transfers are a criterion only when limited; otherwise they would split labels.
    limited = max_transfers is not None
    limit = max_transfers if max_transfers is not None else 0
    is_counted = counted.tolist()
    f = 1.0 + eps

    settled: list[list[_Label]] = [[] for _ in range(graph.vertex_count)]
    found = settled[target]
    root: _Label = (0.0, 0.0, 0.0, 0, source, -1, None)
    heap: list[tuple[float, float, float, int, _Label]] = [
        (h0[source], h1[source], h2[source], 0, root)
    ]
    tick, popped = 1, 0
    while heap and popped < max_labels:
        label = heapq.heappop(heap)[4]
        popped += 1
        t, c, e, n, v = label[0], label[1], label[2], label[3], label[4]
        if _beaten(settled[v], t, c, e, n, f):
            continue
        settled[v].append(label)
        if v == target:
            continue
        for k in range(starts[v], starts[v + 1]):
            w = adj_dst[k]
            hw = h0[w]
            if hw == inf:
                continue
            edge = adj_id[k]
            transfers = n
            if limited and is_counted[edge]:
                transfers += 1
                if transfers > limit:
                    continue
            ct, cc, ce = t + c0[edge], c + c1[edge], e + c2[edge]
            if _beaten(settled[w], ct, cc, ce, transfers, f):
                continue
            et, ec, ee = ct + hw, cc + h1[w], ce + h2[w]
            if _beaten(found, et, ec, ee, transfers, f):
                continue  # even at its best it cannot beat a plan already found
            heapq.heappush(heap, (et, ec, ee, tick, (ct, cc, ce, transfers, w, edge, label)))
            tick += 1
    return [_path_of(label) for label in found]
