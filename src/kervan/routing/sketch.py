"""A route read straight off a search path, before any plan is built from it.

The planner judges many candidate paths (alternatives, a Pareto front) and keeps few; a sketch
has what the judging needs (places, countries, modes, distances, the search's own sums of time,
cost and CO2) at a fraction of the cost of a full plan, which is built only for the paths kept.
"""

from __future__ import annotations

from dataclasses import dataclass

from kervan.network.model import CargoUnit, Mode
from kervan.routing.graph import CompiledNetwork, EdgeKind


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
        return (self.legs[0].from_node, *(leg.to_node for leg in self.legs)) if self.legs else ()

    @property
    def entered_countries(self) -> tuple[str, ...]:
        out: list[str] = []
        for leg in self.legs:
            for c in (leg.from_country, leg.to_country):
                if not out or out[-1] != c:
                    out.append(c)
        return tuple(out)

    @property
    def signature(self) -> tuple[tuple[str, Mode], ...]:
        return tuple((leg.from_node, leg.mode) for leg in self.legs) + (
            ((self.legs[-1].to_node, self.legs[-1].mode),) if self.legs else ()
        )


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
