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

A unit with a first/last-mile bound (a container, bulk) has two road ports per node instead of
one: the *first mile* road can only be entered from the start and left by a transfer onto rail,
sea or ferry; the *last mile* road can only be entered by a transfer off them and left at the end.
So a container is never trucked between two rail legs; how far each end's road may reach is a
per-query mask (the planner's). Starting or ending on rail, sea or ferry pays terminal handling;
staying aboard a ship through a port pays the port call; road links carry the AETR rest a driver
must take, and ferry links the queue at their departure port.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np
import numpy.typing as npt

from kervan.network.model import CargoUnit, HandlingWhere, Link, Mode, Network, Transfer

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class EdgeKind(IntEnum):
    LINK = 0
    TRANSFER = 1
    STAY = 2  # arrive on a port and leave from the same port: no transfer
    START = 3
    END = 4


Port = tuple[str, Mode, int]  # node id, mode, gauge on rail / road phase on road / 0

FREE_ROAD, FIRST_MILE, LAST_MILE = 0, 1, 2
_VESSELS = (Mode.FERRY, Mode.SEA)  # wait in a port queue before they sail

# Search weight of AETR rest per hour of driving: one 11 h daily rest per 9 h of driving and a
# 45 min break per 4.5 h (AETR Art. 7-8). Plans count rest exactly per road run (`aetr_rest_hours`).
AETR_REST_PER_DRIVING_HOUR = 11.0 / 9.0 + 0.75 / 9.0


def aetr_rest_hours(driving_hours: float) -> float:
    """Breaks and rests a single driver must take to drive `driving_hours` (AETR).

    9 h driving a day, a 45 min break after 4.5 h, an 11 h daily rest between driving days and
    a 45 h weekly rest (instead of a daily one) after six driving days.
    """
    if driving_hours <= 9.0:
        return 0.75 if driving_hours > 4.5 else 0.0
    days = math.ceil(driving_hours / 9.0 - 1e-9)
    last = driving_hours - 9.0 * (days - 1)
    breaks = 0.75 * (days - 1) + (0.75 if last > 4.5 else 0.0)
    weekly = (days - 1) // 6
    return breaks + 11.0 * (days - 1 - weekly) + 45.0 * weekly


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
    road_phases: bool = False
    _road_phase: npt.NDArray[np.int8] | None = None
    _country_mask_cache: dict[frozenset[str], npt.NDArray[np.bool_]] = field(default_factory=dict)
    #: Per-query helpers computed once per compiled graph (see the planner).
    memo: dict[object, object] = field(default_factory=dict)

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

    def road_phase(self) -> npt.NDArray[np.int8]:
        """Per edge: FIRST_MILE or LAST_MILE for a road link edge of a bounded unit, else 0."""
        if self._road_phase is None:
            phase = np.zeros(len(self.ref), dtype=np.int8)
            if self.road_phases:
                for e, mode in enumerate(self.mode):
                    if mode is Mode.ROAD:
                        phase[e] = self.port_at(int(self.src[e]))[2]
            self._road_phase = phase
        return self._road_phase

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


def _road_sides(mode: Mode, road_phases: bool) -> list[int]:
    if mode is not Mode.ROAD:
        return [0]
    return [FIRST_MILE, LAST_MILE] if road_phases else [FREE_ROAD]


def _transfer_ports(network: Network, t: Transfer, road_phases: bool) -> list[tuple[Port, Port]]:
    """The (from, to) port pairs a transfer joins, in the directions cargo may take them.

    A rail side with no gauge given means every gauge there. With road phases, cargo leaves the
    first-mile road for another mode and comes off another mode onto the last-mile road only.
    """

    def sides(mode: Mode, gauge: int | None) -> list[Port]:
        if mode is not Mode.RAIL:
            return [(t.node, mode, tag) for tag in _road_sides(mode, road_phases)]
        gauges = [gauge] if gauge is not None else list(network.nodes[t.node].gauge_mm)
        return [(t.node, mode, g) for g in gauges]

    pairs: list[tuple[Port, Port]] = []
    for p in sides(t.from_mode, t.from_gauge_mm):
        for q in sides(t.to_mode, t.to_gauge_mm):
            for here, there in ((p, q), (q, p)):
                if here[1] is Mode.ROAD and here[2] == LAST_MILE:
                    continue  # the last mile ends the trip
                if there[1] is Mode.ROAD and there[2] == FIRST_MILE:
                    continue  # the first mile starts it
                pairs.append((here, there))
    return pairs


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


def _add_terminals(
    b: _Builder, network: Network, unit: CargoUnit, ports: list[Port]
) -> tuple[dict[str, int], dict[str, int], int]:
    """Start and end vertices of every node, joined to its ports (with terminal handling)."""
    start_vertex: dict[str, int] = {}
    end_vertex: dict[str, int] = {}
    next_vertex = 2 * len(ports)
    by_node: dict[str, list[int]] = {}
    for i, (node_id, _, _) in enumerate(ports):
        by_node.setdefault(node_id, []).append(i)
    for node_id in network.nodes:
        start_vertex[node_id], end_vertex[node_id] = next_vertex, next_vertex + 1
        next_vertex += 2
        country = frozenset({network.nodes[node_id].country})
        for i in by_node.get(node_id, []):
            _, mode, tag = ports[i]
            rate = network.handling_at(mode, HandlingWhere.TERMINAL)
            w = (rate.hours.p50, rate.cost_usd.get(unit, 0.0), 0.0) if rate else (0.0, 0.0, 0.0)
            if not (mode is Mode.ROAD and tag == LAST_MILE):
                edge = (start_vertex[node_id], _departure(i))
                b.add(edge, EdgeKind.START, w, None, node_id, country)
            b.add((_arrival(i), end_vertex[node_id]), EdgeKind.END, w, None, node_id, country)
    return start_vertex, end_vertex, next_vertex


def compile_network(
    network: Network,
    unit: CargoUnit,
    year: int,
    policy: DwellPolicy | None = None,
    road_phases: bool = False,
) -> CompiledNetwork:
    """Build the state-expanded search graph for one cargo unit in one year.

    `road_phases` splits road into first and last mile (see the module's doc): for a unit that
    moves by road only at the ends of its trip.
    """
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
        if link.mode is Mode.ROAD:
            hours += link.hours.p50 * AETR_REST_PER_DRIVING_HOUR
        cost = link.cost_usd[unit] + border_cost
        co2 = link.distance_km * link.co2_g_per_tkm * tonnes / 1000.0
        a, z = network.nodes[link.from_node], network.nodes[link.to_node]
        touched = frozenset({a.country, z.country, *link.via_countries})
        ends = [(a, z)] + ([(z, a)] if link.bidirectional else [])
        for u, v in ends:
            queue = u.port_queue_hours.p50 if u.port_queue_hours and link.mode in _VESSELS else 0
            for side in _road_sides(link.mode, road_phases):
                tag = link.gauge_mm or side
                edge = (
                    _departure(port((u.id, link.mode, tag))),
                    _arrival(port((v.id, link.mode, tag))),
                )
                weights = (hours + queue, cost, co2)
                b.add(edge, EdgeKind.LINK, weights, link.mode, link.id, touched)
    for index, transfer in enumerate(network.transfers):
        if unit not in transfer.cost_usd:
            continue
        country = frozenset({network.nodes[transfer.node].country})
        w = (transfer.hours.p50, transfer.cost_usd[unit], 0.0)
        for here, there in _transfer_ports(network, transfer, road_phases):
            if here not in port_index or there not in port_index:
                continue  # no open link for this unit uses one side of the transfer
            edge = (_arrival(port_index[here]), _departure(port_index[there]))
            b.add(edge, EdgeKind.TRANSFER, w, None, str(index), country)
    for i, (node_id, mode, _) in enumerate(ports):
        call = network.handling_at(mode, HandlingWhere.PORT_CALL)
        stay = (call.hours.p50, call.cost_usd.get(unit, 0.0), 0.0) if call else (0.0, 0.0, 0.0)
        b.add((_arrival(i), _departure(i)), EdgeKind.STAY, stay, None, node_id, frozenset())
    start_vertex, end_vertex, next_vertex = _add_terminals(b, network, unit, ports)
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
        road_phases=road_phases,
    )
