"""The corridor network's typed model: places, links, transfers, border crossings and sources.

Every figure a record carries must name a source in `sources` (field name -> source id, or "*" for
every figure in the record); the loader enforces it. Times are hours, distances kilometres, money
US dollars, emissions grams of CO2 per tonne-kilometre.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

# Defined apart so the command line can declare its options without importing pydantic.
from kervan.network.modes import CargoUnit as CargoUnit  # noqa: PLC0414 (re-exported)
from kervan.network.modes import Mode as Mode  # noqa: PLC0414 (re-exported)
from kervan.network.modes import Passage as Passage  # noqa: PLC0414 (re-exported)


class NodeKind(StrEnum):
    """What a place on the network is for; a node may be several."""

    RAIL_TERMINAL = "rail_terminal"
    SEA_PORT = "sea_port"
    FERRY_PORT = "ferry_port"
    ROAD_HUB = "road_hub"
    BORDER_CROSSING = "border_crossing"
    GAUGE_CHANGE = "gauge_change"


class LinkStatus(StrEnum):
    OPEN = "open"
    PLANNED = "planned"


class SourceKind(StrEnum):
    PUBLISHED = "published"
    ESTIMATE = "estimate"


class Source(BaseModel):
    """Where a figure comes from. An estimate says how it was made (`method`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1)
    title: str = Field(min_length=1)
    publisher: str = Field(min_length=1)
    year: int = Field(ge=1990, le=2100)
    url: str | None = None
    kind: SourceKind = SourceKind.PUBLISHED
    method: str | None = None

    @model_validator(mode="after")
    def _estimate_says_how(self) -> Source:
        if self.kind is SourceKind.ESTIMATE and not self.method:
            raise ValueError("an estimate must say how it was made (method)")
        return self


Hours = Annotated[float, Field(ge=0)]


class Duration(BaseModel):
    """A time distribution given by its median and 90th percentile, in hours."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    p50: Hours
    p90: Hours

    @model_validator(mode="after")
    def _p90_not_below_p50(self) -> Duration:
        if self.p90 < self.p50:
            raise ValueError(f"p90 ({self.p90}) is below p50 ({self.p50})")
        return self

    def scaled(self, factor: float) -> Duration:
        """The same distribution with every quantile multiplied by `factor`."""
        return Duration(p50=self.p50 * factor, p90=self.p90 * factor)


Money = Annotated[float, Field(ge=0)]
CostTable = dict[CargoUnit, Money]


class _Sourced(BaseModel):
    """A record whose figures each name a source id."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sources: dict[str, str] = Field(default_factory=dict)
    note: str | None = None

    def source_for(self, field: str) -> str | None:
        """The source id behind `field`, falling back to the record-wide "*" source."""
        return self.sources.get(field) or self.sources.get("*")


class Node(_Sourced):
    """A place: terminal, port, road hub, border crossing point or gauge-change station."""

    id: str = Field(pattern=r"^[A-Z]{2}[A-Z0-9]{3}$|^[A-Z]{2}-[A-Z0-9-]{2,20}$")
    name: str = Field(min_length=1)
    aliases: tuple[str, ...] = ()
    country: str = Field(pattern=r"^[A-Z]{2}$")
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    kinds: tuple[NodeKind, ...] = Field(min_length=1)
    gauge_mm: tuple[int, ...] = ()
    unlocode: bool = Field(
        default=False, description="True when `id` is the place's UN/LOCODE (not a Kervan id)"
    )
    customs_office: str | None = Field(
        default=None, description="Customs office that clears cargo starting or ending here"
    )
    port_queue_hours: Duration | None = Field(
        default=None, description="Queue before a ferry departs from here (berth, loading order)"
    )


class Link(_Sourced):
    """A line-haul connection between two nodes by one mode.

    `hours` is line-haul time without waiting; `headway_hours` is the time between departures of a
    scheduled service (ferries, block trains): a shipper arriving at random waits half of it on
    average. `cost_usd` says which cargo units the link carries and at what price each.
    `via_countries` are countries crossed without stopping (a canal, territorial waters).
    """

    id: str = Field(min_length=3)
    from_node: str
    to_node: str
    mode: Mode
    distance_km: float = Field(gt=0)
    hours: Duration
    cost_usd: CostTable = Field(min_length=1)
    co2_g_per_tkm: float = Field(ge=0)
    capacity_tonnes_per_year: float | None = Field(default=None, gt=0)
    capacity_teu_per_year: float | None = Field(default=None, gt=0)
    headway_hours: float | None = Field(default=None, gt=0)
    status: LinkStatus = LinkStatus.OPEN
    opens_year: int | None = Field(default=None, ge=1990, le=2100)
    gauge_mm: int | None = None
    bidirectional: bool = True
    via_countries: tuple[str, ...] = ()
    passages: tuple[Passage, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Link:
        if self.from_node == self.to_node:
            raise ValueError("a link must join two different nodes")
        if self.status is LinkStatus.PLANNED and self.opens_year is None:
            raise ValueError("a planned link needs opens_year")
        if self.mode is Mode.RAIL and self.gauge_mm is None:
            raise ValueError("a rail link needs gauge_mm")
        if self.mode is not Mode.RAIL and self.gauge_mm is not None:
            raise ValueError("only rail links have a gauge")
        return self

    def open_in(self, year: int) -> bool:
        """Whether the link carries traffic in `year`."""
        if self.status is LinkStatus.OPEN:
            return self.opens_year is None or self.opens_year <= year
        return self.opens_year is not None and self.opens_year <= year


class TransferKind(StrEnum):
    GAUGE_CHANGE = "gauge_change"  # bogie exchange or transhipment between 1435 and 1520 mm
    MODE_CHANGE = "mode_change"  # port handling, rail-road transfer, ferry loading


class Transfer(_Sourced):
    """Moving cargo at a node between two modes, or between two rail gauges.

    Applies in both directions. `cost_usd` says which cargo units can be transferred here.
    """

    node: str
    kind: TransferKind
    from_mode: Mode
    to_mode: Mode
    from_gauge_mm: int | None = None
    to_gauge_mm: int | None = None
    hours: Duration
    cost_usd: CostTable = Field(min_length=1)
    capacity_teu_per_day: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _consistent(self) -> Transfer:
        if self.kind is TransferKind.GAUGE_CHANGE:
            if self.from_mode is not Mode.RAIL or self.to_mode is not Mode.RAIL:
                raise ValueError("a gauge change is from rail to rail")
            if self.from_gauge_mm is None or self.to_gauge_mm is None:
                raise ValueError("a gauge change needs from_gauge_mm and to_gauge_mm")
            if self.from_gauge_mm == self.to_gauge_mm:
                raise ValueError("a gauge change joins two different gauges")
        elif self.from_mode is self.to_mode:
            raise ValueError("a mode change joins two different modes")
        return self


class BorderCrossing(_Sourced):
    """Crossing from one country to another on a link: the dwell at the border and its cost.

    `digital_dwell_factor` multiplies dwell when the shipment moves on digital documents (e-CMR,
    e-TIR, e-Permit, pre-arrival data); `green_lane_dwell_factor` multiplies it again when customs
    puts the cargo in the green lane of the Simplified Customs Corridor.
    """

    id: str = Field(min_length=3)
    link: str
    countries: tuple[str, str]
    mode: Mode
    dwell_hours: Duration
    cost_usd: CostTable = Field(min_length=1)
    digital_dwell_factor: float = Field(gt=0, le=1)
    green_lane_dwell_factor: float = Field(gt=0, le=1)
    customs_office: str | None = None


class CargoUnitProfile(_Sourced):
    """What one cargo unit weighs and holds, for CO2 (tonne-km) and volume (TEU) figures.

    `road_km_bound` is how far a unit goes by road at each end of its trip (first and last mile)
    when it moves by rail, sea or ferry in between; None when the unit is a road vehicle itself.
    """

    unit: CargoUnit
    tonnes: float = Field(gt=0)
    teu: float = Field(ge=0)
    road_km_bound: float | None = Field(default=None, gt=0)


class HandlingWhere(StrEnum):
    TERMINAL = "terminal"  # lifting the unit on or off at its first or last terminal
    PORT_CALL = "port_call"  # unloading and reloading at a port a sea or ferry route calls at


class Handling(_Sourced):
    """Terminal handling at the origin or destination terminal of a mode, or a port call."""

    mode: Mode
    where: HandlingWhere
    hours: Duration
    cost_usd: CostTable = Field(min_length=1)


class Network(BaseModel):
    """The whole corridor network as loaded and validated."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sources: dict[str, Source]
    nodes: dict[str, Node]
    links: dict[str, Link]
    transfers: tuple[Transfer, ...]
    crossings: dict[str, BorderCrossing]
    cargo_units: dict[CargoUnit, CargoUnitProfile]
    handling: tuple[Handling, ...] = ()
    reference_year: int = Field(ge=2000, le=2100)
    kind: Literal["corridor"] = "corridor"

    _crossing_by_link: dict[str, BorderCrossing] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: object, /) -> None:  # noqa: ARG002 (pydantic hook)
        self._crossing_by_link.update({c.link: c for c in self.crossings.values()})

    def crossing_on(self, link_id: str) -> BorderCrossing | None:
        """The border crossing on a link, if the link joins two countries."""
        return self._crossing_by_link.get(link_id)

    def handling_at(self, mode: Mode, where: HandlingWhere) -> Handling | None:
        """The handling rate for `mode` at a terminal or on a port call, if the dataset has one."""
        return next((h for h in self.handling if h.mode is mode and h.where is where), None)

    def countries(self) -> set[str]:
        """Every country that has a node on the network."""
        return {n.country for n in self.nodes.values()}
