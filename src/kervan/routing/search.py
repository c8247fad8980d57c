"""Shortest and Pareto-optimal paths over edge arrays.

Single-objective search runs scipy's compiled Dijkstra on a CSR matrix built from the arrays
(parallel edges keep the cheapest). A limit on transfers is a layered graph: one copy of the
graph per number of transfers made, transfer edges climbing one layer. The Pareto search is a
multi-criteria label-setting search (Martins) over (time, cost, CO2).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

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
        self.matrix = csr_matrix((w, d, indptr), shape=(n, n))
        self._indptr, self._dst, self._ids = indptr, d, ids

    def edge_id(self, u: int, v: int) -> int:
        """The id of the edge kept for u -> v (row u's columns are sorted)."""
        lo, hi = int(self._indptr[u]), int(self._indptr[u + 1])
        k = lo + int(np.searchsorted(self._dst[lo:hi], v))
        return int(self._ids[k])

    def path(self, source: int, targets: list[int]) -> list[int] | None:
        """Edge ids of a least-weight path from `source` to the nearest of `targets`."""
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
    return prepare(graph, weight, mask).path(source, [target])


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
    layered = PreparedSearch(n * layers, src, dst, weight[ids], np.arange(len(src), dtype=np.int64))
    path = layered.path(source, [target + layer * n for layer in range(layers)])
    return None if path is None else [int(ids[e]) for e in path]


@dataclass(frozen=True)
class _Label:
    costs: tuple[float, float, float]
    transfers: int
    vertex: int
    edge: int
    parent: _Label | None

    def path(self) -> list[int]:
        edges: list[int] = []
        label: _Label | None = self
        while label is not None and label.edge >= 0:
            edges.append(label.edge)
            label = label.parent
        edges.reverse()
        return edges


def _dominates(a: _Label, b: _Label, eps: float) -> bool:
    """a is at least as good as b in every criterion (b within a factor 1+eps of a counts)."""
    return a.transfers <= b.transfers and all(
        x <= y * (1.0 + eps) + 1e-9 for x, y in zip(a.costs, b.costs, strict=True)
    )


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

    `eps` > 0 keeps one representative for plans within that relative margin of each other, which
    bounds the work on large networks. `counted` marks transfer edges; with `max_transfers` a
    path may use at most that many. Returns paths sorted by the first criterion.
    """
    keep = np.ones(len(graph.src), dtype=np.bool_) if mask is None else mask
    order = np.argsort(graph.src, kind="stable")
    order = order[keep[order]]
    starts = np.searchsorted(graph.src[order], np.arange(graph.vertex_count + 1))
    adj_dst = graph.dst[order].tolist()
    adj_id = order.tolist()
    c0, c1, c2 = (c.tolist() for c in criteria)
    is_counted = counted.tolist()
    bounds = starts.tolist()

    settled: list[list[_Label]] = [[] for _ in range(graph.vertex_count)]
    root = _Label((0.0, 0.0, 0.0), 0, source, -1, None)
    heap: list[tuple[tuple[float, float, float], int, _Label]] = [(root.costs, 0, root)]
    tick, popped = 1, 0
    while heap and popped < max_labels:
        _, _, label = heapq.heappop(heap)
        popped += 1
        v = label.vertex
        if any(_dominates(other, label, eps) for other in settled[v]):
            continue
        if any(_dominates(other, label, eps) for other in settled[target]):
            continue  # cannot lead to a plan better than one we already have
        settled[v].append(label)
        if v == target:
            continue
        for k in range(bounds[v], bounds[v + 1]):
            edge = adj_id[k]
            # Transfers are a criterion only when limited; otherwise they would split labels.
            transfers = label.transfers
            if max_transfers is not None and is_counted[edge]:
                transfers += 1
                if transfers > max_transfers:
                    continue
            t, c, e = label.costs
            child = _Label(
                (t + c0[edge], c + c1[edge], e + c2[edge]), transfers, adj_dst[k], edge, label
            )
            if any(_dominates(other, child, eps) for other in settled[child.vertex]):
                continue
            heapq.heappush(heap, (child.costs, tick, child))
            tick += 1
    return [label.path() for label in settled[target]]
