"""Scenarios as data: what the corridor looks like in a simulated year, and what a reform changes.

A scenario file (TOML, shipped in `observatory/scenarios/` or given by path) holds:

    [scenario]   id, title, includes = [...], and whatever it sets: year, demand (a demand file),
                 demand_target_tonnes_per_year, digital_documents_share, green_lane_share,
                 warmup_days, with `sources` for each figure it sets
    [[source]]   estimates it makes (kind = "estimate" with a method) or publications it cites
    [[resource]] capacities: sailings, port_handling, gauge_change, border_lanes, track,
                 locomotives (a resource with the id of an earlier one replaces it)
    [[weather]]  random extra waits for sailings on given links

Includes are applied depth first, each file once, then the file itself, so a combination
(`includes = ["digital-documents", "cku-open"]`) gets both changes on one baseline. Everything is
checked before anything runs: unknown nodes, links, crossings or sources, negative capacities and
impossible demand raise `DatasetError` naming the file, the record and the field.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kervan.errors import DatasetError
from kervan.network.model import BorderCrossing, Link, Mode, Network, Node, Source, Transfer
from kervan.observatory.demand import (
    DataFile,
    Demand,
    check_sources,
    load_demand,
    read_toml,
    validate_record,
    validate_records,
)
from kervan.observatory.links import Additions, Opening, check_additions


class ResourceKind(StrEnum):
    SAILINGS = "sailings"  # a fleet sailing a ferry/ship link at a headway
    PORT_HANDLING = "port_handling"  # ship/ferry to rail or road at a port, per day
    GAUGE_CHANGE = "gauge_change"  # transhipment or bogie exchange, per day
    BORDER_LANES = "border_lanes"  # throughput of a border crossing point, per lane per day
    TRACK = "track"  # line capacity (single track: trains per day; or tonnes per day)
    LOCOMOTIVES = "locomotives"  # a pool of locomotives hauling trains over given links


class CapacityUnit(StrEnum):
    TEU = "teu"  # bulk counts at its TEU equivalent (10 t per TEU)
    TONNES = "tonnes"
    SHIPMENTS = "shipments"  # trains, trucks or lots


class ResourceSpec(BaseModel):
    """One capacity on the corridor. Which fields apply depends on `kind` (checked)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=3)
    kind: ResourceKind
    unit: CapacityUnit = CapacityUnit.SHIPMENTS
    node: str | None = None
    modes: tuple[Mode, ...] = ()
    crossing: str | None = None
    link: str | None = None
    links: tuple[str, ...] = ()
    capacity_per_day: float | None = Field(default=None, gt=0)
    lanes: int | None = Field(default=None, ge=1)
    headway_hours: float | None = Field(default=None, gt=0)
    capacity_per_sailing: float | None = Field(default=None, gt=0)
    count: int | None = Field(default=None, ge=1)
    turnaround_hours: float | None = Field(default=None, ge=0)
    sources: dict[str, str] = Field(default_factory=dict)
    note: str | None = None

    @model_validator(mode="after")
    def _fields_for_kind(self) -> ResourceSpec:
        needs: dict[ResourceKind, tuple[str, ...]] = {
            ResourceKind.SAILINGS: ("link", "headway_hours"),
            ResourceKind.PORT_HANDLING: ("node", "capacity_per_day"),
            ResourceKind.GAUGE_CHANGE: ("node", "capacity_per_day"),
            ResourceKind.BORDER_LANES: ("crossing", "lanes", "capacity_per_day"),
            ResourceKind.TRACK: ("links", "capacity_per_day"),
            ResourceKind.LOCOMOTIVES: ("links", "count", "turnaround_hours"),
        }
        for name in needs[self.kind]:
            if getattr(self, name) in (None, ()):
                raise ValueError(f"a {self.kind.value} resource needs {name}")
        return self

    @property
    def daily_capacity(self) -> float:
        """Capacity per day (border lanes: all lanes together)."""
        assert self.capacity_per_day is not None
        return self.capacity_per_day * (self.lanes or 1)

    def scaled(self, factor: float) -> ResourceSpec:
        """The same resource with `factor` times its capacity (for marginal-capacity reruns)."""
        update: dict[str, Any] = {}
        if self.kind is ResourceKind.LOCOMOTIVES:
            assert self.count is not None
            update["count"] = max(self.count + 1, round(self.count * factor))
        elif self.kind is ResourceKind.SAILINGS:
            if self.capacity_per_sailing is not None:
                update["capacity_per_sailing"] = self.capacity_per_sailing * factor
        else:
            assert self.capacity_per_day is not None
            update["capacity_per_day"] = self.capacity_per_day * factor
        return self.model_copy(update=update)


RESOURCE_FIGURES = (
    "capacity_per_day",
    "lanes",
    "headway_hours",
    "capacity_per_sailing",
    "count",
    "turnaround_hours",
)


class WeatherSpec(BaseModel):
    """Storms and low water: a sailing on `links` is delayed with `probability` by an
    exponentially distributed extra wait of `mean_hours`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1)
    links: tuple[str, ...] = Field(min_length=1)
    probability: float = Field(ge=0, le=1)
    mean_hours: float = Field(gt=0)
    sources: dict[str, str] = Field(default_factory=dict)
    note: str | None = None


class _Header(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1)
    title: str = Field(min_length=1)
    description: str | None = None
    includes: tuple[str, ...] = ()
    year: int | None = Field(default=None, ge=2000, le=2100)
    demand: str | None = None
    demand_target_tonnes_per_year: float | None = Field(default=None, gt=0)
    digital_documents_share: float | None = Field(default=None, ge=0, le=1)
    green_lane_share: float | None = Field(default=None, ge=0, le=1)
    warmup_days: float | None = Field(default=None, ge=0, le=3650)
    investment_usd: float | None = Field(default=None, gt=0)
    sources: dict[str, str] = Field(default_factory=dict)
    note: str | None = None


_HEADER_FIGURES = (
    "investment_usd",
    "demand_target_tonnes_per_year",
    "digital_documents_share",
    "green_lane_share",
)


class Scenario(BaseModel):
    """A fully resolved, validated scenario: everything a simulation run needs but the network."""

    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    description: str
    files: tuple[str, ...]
    year: int
    demand: Demand
    demand_target_tonnes_per_year: float | None
    digital_documents_share: float
    green_lane_share: float
    warmup_days: float
    resources: tuple[ResourceSpec, ...]
    weather: tuple[WeatherSpec, ...]
    sources: dict[str, Source]
    years: float = Field(default=1.0, gt=0, le=50)
    # published investment of the reforms it includes (US$), and the reforms without one
    investment_usd: float = 0.0
    uncosted: tuple[str, ...] = ()
    additions: Additions = Additions()

    def with_years(self, years: float) -> Scenario:
        """The same scenario simulated over `years` (after the warm-up)."""
        if not 0 < years <= 50:
            raise DatasetError(self.files[-1], self.id, "years", "must be between 0 and 50")
        return self.model_copy(update={"years": years})


def scenario_folder() -> Traversable:
    """The scenarios shipped with Kervan."""
    return resources.files("kervan.observatory") / "scenarios"


def shipped_scenarios() -> list[str]:
    """Names of the shipped scenarios (demand files, flows-*.toml, excluded)."""
    return sorted(
        p.name.removesuffix(".toml")
        for p in scenario_folder().iterdir()
        if p.name.endswith(".toml") and not p.name.startswith("flows-")
    )


def _locate(name: str, near: DataFile | None) -> tuple[DataFile, str]:
    """A scenario or demand file by path, next to the including file, or shipped by name."""
    file = name if name.endswith(".toml") else f"{name}.toml"
    direct = Path(name)
    if name.endswith(".toml") and direct.is_file():
        return direct, str(direct)
    if near is not None:
        sibling = near / file
        if sibling.is_file():
            return sibling, str(sibling) if isinstance(sibling, Path) else file
    return scenario_folder() / file, file


def _folder_of(path: DataFile) -> DataFile:
    return path.parent if isinstance(path, Path) else scenario_folder()


class _File(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    folder: Any
    header: _Header
    resources: tuple[ResourceSpec, ...]
    weather: tuple[WeatherSpec, ...]
    sources: tuple[Source, ...]
    additions: Additions = Additions()


def _read(path: DataFile, name: str) -> _File:
    raw = read_toml(path, name)
    header = validate_record(_Header, raw.get("scenario"), name, "scenario")
    return _File(
        name=name,
        folder=_folder_of(path),
        header=header,
        resources=tuple(validate_records(raw, "resource", ResourceSpec, name)),
        weather=tuple(validate_records(raw, "weather", WeatherSpec, name)),
        sources=tuple(validate_records(raw, "source", Source, name)),
        additions=Additions(
            nodes=tuple(validate_records(raw, "node", Node, name)),
            links=tuple(validate_records(raw, "link", Link, name)),
            crossings=tuple(validate_records(raw, "crossing", BorderCrossing, name)),
            transfers=tuple(
                validate_record(Transfer, t, name, f"transfer #{i}")
                for i, t in enumerate(_list(raw, "transfer", name), start=1)
            ),
            openings=tuple(validate_records(raw, "opening", Opening, name)),
        ),
    )


def _list(raw: dict[str, Any], table: str, file: str) -> list[Any]:
    items = raw.get(table, [])
    if not isinstance(items, list):
        raise DatasetError(file, "-", table, f"must be an array of tables ([[{table}]])")
    return items


def _linearise(
    name: str, near: DataFile | None, seen: dict[str, _File], trail: tuple[str, ...]
) -> list[_File]:
    path, label = _locate(name, near)
    if label in trail:
        raise DatasetError(label, "scenario", "includes", f"include cycle: {' -> '.join(trail)}")
    if label in seen:
        return []
    this = _read(path, label)
    order: list[_File] = []
    for inc in this.header.includes:
        inc_path, _ = _locate(inc, this.folder)
        if not inc_path.is_file():
            raise DatasetError(label, this.header.id, "includes", f"no scenario {inc!r}")
        order += _linearise(inc, this.folder, seen, (*trail, label))
    seen[label] = this
    order.append(this)
    return order


def load_scenario(name: str, network: Network) -> Scenario:
    """Resolve a scenario (shipped name or path to a TOML file) and check it against the network."""
    path, label = _locate(name, None)
    if not path.is_file():
        raise DatasetError(label, "-", "-", f"no scenario file (shipped: {shipped_scenarios()})")
    return _resolve(_linearise(name, None, {}, ()), network)


def load_combination(names: Sequence[str], network: Network, ident: str, title: str) -> Scenario:
    """Several scenarios applied in turn on one another (as a file with `includes = names`)."""
    seen: dict[str, _File] = {}
    files: list[_File] = []
    for name in names:
        path, label = _locate(name, None)
        if not path.is_file():
            raise DatasetError(label, ident, "includes", f"no scenario {name!r}")
        files += _linearise(name, None, seen, ())
    header = _Header(id=ident, title=title, includes=tuple(names))
    files.append(
        _File(
            name=ident,
            folder=scenario_folder(),
            header=header,
            resources=(),
            weather=(),
            sources=(),
        )
    )
    return _resolve(files, network)


#: Scenario files that only set demand or the time frame: not reforms, carry no investment.
_NOT_REFORMS = frozenset({"baseline-2024", "demand-2030"})


def _resolve(files: list[_File], network: Network) -> Scenario:
    settings: dict[str, Any] = {}
    setting_file: dict[str, _File] = {}
    by_id: dict[str, tuple[ResourceSpec, str]] = {}
    weather: dict[str, WeatherSpec] = {}
    own_sources: dict[str, Source] = {}
    for f in files:
        for source in f.sources:
            own_sources[source.id] = source
        for key in (
            "year",
            "demand",
            "demand_target_tonnes_per_year",
            "digital_documents_share",
            "green_lane_share",
            "warmup_days",
        ):
            value = getattr(f.header, key)
            if value is not None:
                settings[key] = value
                setting_file[key] = f
        for spec in f.resources:
            by_id[spec.id] = (spec, f.name)
        for w in f.weather:
            weather[w.id] = w
    known = {**network.sources, **own_sources}
    top = files[-1]
    for f in files:
        check_sources(f.header.sources, _HEADER_FIGURES, known, f.name, f.header.id, f.header)
        for w in f.weather:
            check_sources(w.sources, ("probability", "mean_hours"), known, f.name, w.id, w)
            for link in w.links:
                if link not in network.links:
                    raise DatasetError(f.name, w.id, "links", f"unknown link {link!r}")
    additions = _merged_additions(files)
    if additions:
        check_additions(additions, network, known, top.name)
        network = network.model_copy(
            update={"links": {**network.links, **{k.id: k for k in additions.links}}}
        )
    for spec, file in by_id.values():
        check_resource(spec, network, known, file)
    for key in ("year", "demand"):
        if key not in settings:
            raise DatasetError(top.name, top.header.id, key, "set by neither it nor its includes")
    demand_path, demand_label = _locate(settings["demand"], setting_file["demand"].folder)
    demand = load_demand(demand_path, demand_label, network)
    return Scenario(
        id=top.header.id,
        title=top.header.title,
        description=top.header.description or "",
        files=tuple(f.name for f in files),
        year=settings["year"],
        demand=demand,
        demand_target_tonnes_per_year=settings.get("demand_target_tonnes_per_year"),
        digital_documents_share=settings.get("digital_documents_share", 0.0),
        green_lane_share=settings.get("green_lane_share", 0.0),
        warmup_days=settings.get("warmup_days", 30.0),
        resources=tuple(spec for spec, _ in by_id.values()),
        weather=tuple(weather.values()),
        sources={**own_sources, **demand.sources},
        additions=additions,
        investment_usd=sum(f.header.investment_usd or 0.0 for f in files),
        uncosted=tuple(
            f.header.id
            for f in files
            if f.header.investment_usd is None
            and f.header.id not in _NOT_REFORMS
            and (f.resources or f.header.year or f.header.digital_documents_share is not None)
        ),
    )


def _merged_additions(files: list[_File]) -> Additions:
    """Every file's additions, a later record replacing an earlier one with the same id."""
    nodes: dict[str, Node] = {}
    links: dict[str, Link] = {}
    crossings: dict[str, BorderCrossing] = {}
    transfers: list[Transfer] = []
    openings: dict[str, Opening] = {}
    for f in files:
        nodes.update({n.id: n for n in f.additions.nodes})
        links.update({k.id: k for k in f.additions.links})
        crossings.update({c.id: c for c in f.additions.crossings})
        transfers += [t for t in f.additions.transfers if t not in transfers]
        openings.update({o.id: o for o in f.additions.openings})
    return Additions(
        nodes=tuple(nodes.values()),
        links=tuple(links.values()),
        crossings=tuple(crossings.values()),
        transfers=tuple(transfers),
        openings=tuple(openings.values()),
    )


def check_resource(
    spec: ResourceSpec, network: Network, known: dict[str, Source], file: str
) -> None:
    """A resource names places the network has and a source for every figure."""
    if spec.node is not None and spec.node not in network.nodes:
        raise DatasetError(file, spec.id, "node", f"unknown node {spec.node!r}")
    if spec.crossing is not None and spec.crossing not in network.crossings:
        raise DatasetError(file, spec.id, "crossing", f"unknown border crossing {spec.crossing!r}")
    for link in (*((spec.link,) if spec.link else ()), *spec.links):
        if link not in network.links:
            raise DatasetError(file, spec.id, "links", f"unknown link {link!r}")
    if spec.kind is ResourceKind.SAILINGS:
        assert spec.link is not None
        if network.links[spec.link].mode not in (Mode.FERRY, Mode.SEA):
            raise DatasetError(file, spec.id, "link", f"{spec.link} is not a ferry or sea link")
    check_sources(spec.sources, RESOURCE_FIGURES, known, file, spec.id, spec)
