"""Compile the corridor network into compact arrays the search runs on.

The search graph is state-expanded: each node has one *port* per way of standing there (rail on
1435 mm, rail on 1520 mm, road, ferry, sea), and each port an arrival and a departure vertex. A
link runs from a departure vertex to an arrival vertex of the same mode and gauge; a transfer
runs from the arrival vertex of one port to the departure vertex of another at the same node
(gauge change, port handling, rail-road transfer) and exists only where the dataset allows it
for the cargo unit; a stay edge joins a port's own arrival and departure. So cargo makes at most
one transfer per stop and cannot chain two cheap ones to dodge the direct one. Every node also
has a *start* vertex with edges to its ports and an *end* vertex with edges from them, so a route
can begin or finish on any mode but never changes mode at a node without paying for a transfer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np
import numpy.typing as npt

from kervan.network.model import CargoUnit, Link, Mode, Network, Transfer

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class EdgeKind(IntEnum):
    LINK = 0
    TRANSFER = 1
    STAY = 2  # arrive on a port and leave from the same port: no transfer
    START = 3
    END = 4


Port = tuple[str, Mode, int]  # node id, mode, gauge (0 when not rail)


@dataclass(frozen=True)
class DwellPolicy:
    """How border dwell is scaled: by digital documents, by the green lane, or as measured."""

    digital_documents: bool = False
    green_lane: bool = False


@dataclass
class CompiledNetwork:
    """Edge arrays for one cargo unit, one year and one dwell policy.

    Edge i runs from `src[i]` to `dst[i]`; `time_h` is its expected hours (line haul P50 plus the
    expected wait for a scheduled departure plus border dwell P50), `cost_usd` and `co2_kg` its
    cost and emissions for one cargo unit. `ref[i]` is the link id or the transfer index.
    `countries[i]` is the set of countries the edge touches (ends and via-countries).
    """

    network: Network
    unit: CargoUnit
    year: int
    policy: DwellPolicy
    ports: list[Port]
    start_vertex: dict[str, int]
    end_vertex: dict[str, int]
    src: IntArray
    dst: IntArray
    kind: npt.NDArray[np.int8]
    time_h: FloatArray
    cost_usd: FloatArray
    co2_kg: FloatArray
    mode: list[Mode | None]
    ref: list[str]
    countries: list[frozenset[str]]
    vertex_count: int
    _country_mask_cache: dict[frozenset[str], npt.NDArray[np.bool_]] = field(default_factory=dict)

    def port_at(self, vertex: int) -> Port:
        """The port an arrival or departure vertex belongs to."""
        return self.ports[vertex // 2]

    def edges_touching(self, countries: frozenset[str]) -> npt.NDArray[np.bool_]:
        """Boolean mask of edges that touch any of `countries`."""
        mask = self._country_mask_cache.get(countries)
        if mask is None:
            mask = np.fromiter(
                (bool(c & countries) for c in self.countries), dtype=np.bool_, count=len(self.ref)
            )
            self._country_mask_cache[countries] = mask
        return mask

    def edges_by_mode(self, modes: frozenset[Mode]) -> npt.NDArray[np.bool_]:
        """Boolean mask of link edges whose mode is one of `modes`."""
        return np.fromiter((m in modes for m in self.mode), dtype=np.bool_, count=len(self.mode))


def expected_wait_hours(link: Link) -> float:
    """Mean wait for a departure when cargo arrives at random: half the headway."""
    return 0.0 if link.headway_hours is None else link.headway_hours / 2.0


def border_dwell_factor(network: Network, link_id: str, policy: DwellPolicy) -> float:
    """The factor the dwell policy applies to the border crossing on a link (1.0 if none)."""
    crossing = network.crossing_on(link_id)
    if crossing is None:
        return 1.0
    factor = 1.0
    if policy.digital_documents:
        factor *= crossing.digital_dwell_factor
    if policy.green_lane:
        factor *= crossing.green_lane_dwell_factor
    return factor


def _port_of(link: Link, node: str) -> Port:
    return (node, link.mode, link.gauge_mm or 0)


def _transfer_ports(network: Network, t: Transfer) -> list[tuple[Port, Port]]:
    """The port pairs a transfer joins; a rail side with no gauge given means every gauge there."""

    def sides(mode: Mode, gauge: int | None) -> list[Port]:
        if mode is not Mode.RAIL:
            return [(t.node, mode, 0)]
        gauges = [gauge] if gauge is not None else list(network.nodes[t.node].gauge_mm)
        return [(t.node, mode, g) for g in gauges]

    return [
        (p, q) for p in sides(t.from_mode, t.from_gauge_mm) for q in sides(t.to_mode, t.to_gauge_mm)
    ]


def _arrival(port: int) -> int:
    return 2 * port


def _departure(port: int) -> int:
    return 2 * port + 1


class _Builder:
    def __init__(self) -> None:
        self.src: list[int] = []
        self.dst: list[int] = []
        self.kind: list[int] = []
        self.time: list[float] = []
        self.cost: list[float] = []
        self.co2: list[float] = []
        self.mode: list[Mode | None] = []
        self.ref: list[str] = []
        self.countries: list[frozenset[str]] = []

    def add(
        self,
        edge: tuple[int, int],
        kind: EdgeKind,
        weights: tuple[float, float, float],
        mode: Mode | None,
        ref: str,
        countries: frozenset[str],
    ) -> None:
        self.src.append(edge[0])
        self.dst.append(edge[1])
        self.kind.append(int(kind))
        self.time.append(weights[0])
        self.cost.append(weights[1])
        self.co2.append(weights[2])
        self.mode.append(mode)
        self.ref.append(ref)
        self.countries.append(countries)


def compile_network(
    network: Network, unit: CargoUnit, year: int, policy: DwellPolicy | None = None
) -> CompiledNetwork:
    """Build the state-expanded search graph for one cargo unit in one year."""
    policy = policy or DwellPolicy()
    tonnes = network.cargo_units[unit].tonnes
    port_index: dict[Port, int] = {}
    ports: list[Port] = []

    def port(p: Port) -> int:
        if p not in port_index:
            port_index[p] = len(ports)
            ports.append(p)
        return port_index[p]

    b = _Builder()
    for link in network.links.values():
        if unit not in link.cost_usd or not link.open_in(year):
            continue
        crossing = network.crossing_on(link.id)
        dwell = (
            crossing.dwell_hours.p50 * border_dwell_factor(network, link.id, policy)
            if crossing
            else 0.0
        )
        border_cost = crossing.cost_usd[unit] if crossing else 0.0
        hours = link.hours.p50 + expected_wait_hours(link) + dwell
        cost = link.cost_usd[unit] + border_cost
        co2 = link.distance_km * link.co2_g_per_tkm * tonnes / 1000.0
        a, z = network.nodes[link.from_node], network.nodes[link.to_node]
        touched = frozenset({a.country, z.country, *link.via_countries})
        ends = [(a.id, z.id)] + ([(z.id, a.id)] if link.bidirectional else [])
        for u, v in ends:
            edge = (_departure(port(_port_of(link, u))), _arrival(port(_port_of(link, v))))
            b.add(edge, EdgeKind.LINK, (hours, cost, co2), link.mode, link.id, touched)
    for index, transfer in enumerate(network.transfers):
        if unit not in transfer.cost_usd:
            continue
        country = frozenset({network.nodes[transfer.node].country})
        w = (transfer.hours.p50, transfer.cost_usd[unit], 0.0)
        for p, q in _transfer_ports(network, transfer):
            if p not in port_index or q not in port_index:
                continue  # no open link for this unit uses one side of the transfer
            for here, there in ((p, q), (q, p)):
                edge = (_arrival(port_index[here]), _departure(port_index[there]))
                b.add(edge, EdgeKind.TRANSFER, w, None, str(index), country)
    start_vertex: dict[str, int] = {}
    end_vertex: dict[str, int] = {}
    for i in range(len(ports)):
        b.add((_arrival(i), _departure(i)), EdgeKind.STAY, (0.0, 0.0, 0.0), None, "", frozenset())
    next_vertex = 2 * len(ports)
    by_node: dict[str, list[int]] = {}
    for i, (node_id, _, _) in enumerate(ports):
        by_node.setdefault(node_id, []).append(i)
    zero = (0.0, 0.0, 0.0)
    for node_id in network.nodes:
        start_vertex[node_id], end_vertex[node_id] = next_vertex, next_vertex + 1
        next_vertex += 2
        country = frozenset({network.nodes[node_id].country})
        for i in by_node.get(node_id, []):
            b.add(
                (start_vertex[node_id], _departure(i)), EdgeKind.START, zero, None, node_id, country
            )
            b.add((_arrival(i), end_vertex[node_id]), EdgeKind.END, zero, None, node_id, country)
    return CompiledNetwork(
        network=network,
        unit=unit,
        year=year,
        policy=policy,
        ports=ports,
        start_vertex=start_vertex,
        end_vertex=end_vertex,
        src=np.asarray(b.src, dtype=np.int64),
        dst=np.asarray(b.dst, dtype=np.int64),
        kind=np.asarray(b.kind, dtype=np.int8),
        time_h=np.asarray(b.time, dtype=np.float64),
        cost_usd=np.asarray(b.cost, dtype=np.float64),
        co2_kg=np.asarray(b.co2, dtype=np.float64),
        mode=b.mode,
        ref=b.ref,
        countries=b.countries,
        vertex_count=next_vertex,
    )
