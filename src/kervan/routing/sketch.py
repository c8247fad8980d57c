"""A route read straight off a search path, before any plan is built from it.

The planner judges many candidate paths (alternatives, a Pareto front) and keeps few; a sketch
has what the judging needs (places, countries, modes, distances, the search's own sums of time,
cost and CO2) at a fraction of the cost of a full plan, which is built only for the paths kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from kervan.network.model import CargoUnit, Mode
from kervan.routing.graph import CompiledNetwork, EdgeKind


class RouteLeg(Protocol):
    """What reading a route's shape needs of a leg (a plan's or a sketch's)."""

    @property
    def mode(self) -> Mode: ...
    @property
    def from_node(self) -> str: ...
    @property
    def to_node(self) -> str: ...
    @property
    def from_country(self) -> str: ...
    @property
    def to_country(self) -> str: ...


def node_ids(legs: Sequence[RouteLeg]) -> tuple[str, ...]:
    """The places the route passes, origin first."""
    return (legs[0].from_node, *(leg.to_node for leg in legs)) if legs else ()


def entered_countries(legs: Sequence[RouteLeg]) -> tuple[str, ...]:
    """Countries the route stops in, in order (a ship passing a strait enters none)."""
    out: list[str] = []
    for leg in legs:
        for c in (leg.from_country, leg.to_country):
            if not out or out[-1] != c:
                out.append(c)
    return tuple(out)


def signature(legs: Sequence[RouteLeg]) -> tuple[tuple[str, Mode], ...]:
    """The route as a forwarder reads it: each place and the mode that leaves it."""
    return tuple((leg.from_node, leg.mode) for leg in legs) + (
        ((legs[-1].to_node, legs[-1].mode),) if legs else ()
    )


@dataclass(frozen=True)
class SketchLeg:
    link_id: str
    mode: Mode
    from_node: str
    to_node: str
    from_country: str
    to_country: str
    distance_km: float


@dataclass(frozen=True)
class SketchTotals:
    typical_hours: float
    cost_usd: float
    co2_kg: float
    distance_km: float


@dataclass(frozen=True)
class Sketch:
    """What judging a candidate needs; the same names as a Plan's."""

    unit: CargoUnit
    legs: tuple[SketchLeg, ...]
    totals: SketchTotals

    @property
    def link_ids(self) -> tuple[str, ...]:
        return tuple(leg.link_id for leg in self.legs)

    @property
    def node_ids(self) -> tuple[str, ...]:
        return node_ids(self.legs)

    @property
    def entered_countries(self) -> tuple[str, ...]:
        return entered_countries(self.legs)

    @property
    def signature(self) -> tuple[tuple[str, Mode], ...]:
        return signature(self.legs)


def sketch(compiled: CompiledNetwork, path: list[int]) -> Sketch:
    """The sketch of a search path (edge ids)."""
    net = compiled.network
    legs: list[SketchLeg] = []
    for edge in path:
        if compiled.kind[edge] != EdgeKind.LINK:
            continue
        link = net.links[compiled.ref[edge]]
        a = net.nodes[compiled.port_at(int(compiled.src[edge]))[0]]
        z = net.nodes[compiled.port_at(int(compiled.dst[edge]))[0]]
        legs.append(
            SketchLeg(link.id, link.mode, a.id, z.id, a.country, z.country, link.distance_km)
        )
    return Sketch(
        unit=compiled.unit,
        legs=tuple(legs),
        totals=SketchTotals(
            typical_hours=float(compiled.time_h[path].sum()),
            cost_usd=float(compiled.cost_usd[path].sum()),
            co2_kg=float(compiled.co2_kg[path].sum()),
            distance_km=sum(leg.distance_km for leg in legs),
        ),
    )
