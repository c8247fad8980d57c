"""Demand on the corridor: flows of cargo by origin-destination and cargo unit, as data files.

A demand file holds `[demand]` (id, title, year), `[[source]]` for estimates it makes and
`[[flow]]` records: origin and destination node ids, the cargo unit, modes to avoid (to pin a
flow to rail, say), how many cargo units travel together as one shipment (a block train of 41
FEU, a bulk train of 3,000 t, one truck) and exactly one of `teu_per_year`, `tonnes_per_year` or
`shipments_per_year`. Shipments of a flow arrive as a Poisson process at that rate.
"""

from __future__ import annotations

import tomllib
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from kervan.errors import DatasetError
from kervan.network.model import CargoUnit, Mode, Network, Source

HOURS_PER_YEAR = 8760.0
TONNES_PER_TEU = 10.0  # average load of a loaded TEU (network source est-cargo-units)
MAX_SHIPMENTS_PER_YEAR = 500_000.0  # one flow above this is a data error, not a corridor

M = TypeVar("M", bound=BaseModel)
DataFile = Path | Traversable


class Flow(BaseModel):
    """Cargo between two nodes: how it is packed into shipments and how much a year."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1)
    origin: str
    destination: str
    unit: CargoUnit
    avoid_modes: tuple[Mode, ...] = ()
    units_per_shipment: float = Field(gt=0)
    teu_per_year: float | None = Field(default=None, gt=0)
    tonnes_per_year: float | None = Field(default=None, gt=0)
    shipments_per_year: float | None = Field(default=None, gt=0)
    # the route its shippers use today: the planner's fastest, or the fastest that crosses the
    # Caspian from a Kazakh port (flows counted in the Trans-Caspian volume)
    route_today: Literal["fastest", "trans-caspian"] = "fastest"
    sources: dict[str, str] = Field(default_factory=dict)
    note: str | None = None

    @model_validator(mode="after")
    def _one_quantity(self) -> Flow:
        given = [
            q for q in ("teu_per_year", "tonnes_per_year", "shipments_per_year") if getattr(self, q)
        ]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of teu_per_year, tonnes_per_year, shipments_per_year"
            )
        if self.origin == self.destination:
            raise ValueError("origin and destination are the same node")
        return self

    @property
    def quantity_field(self) -> str:
        for q in ("teu_per_year", "tonnes_per_year", "shipments_per_year"):
            if getattr(self, q) is not None:
                return q
        raise AssertionError("validated: one quantity is set")


class ShipmentSize(BaseModel):
    """What one shipment of a flow carries."""

    model_config = ConfigDict(frozen=True)

    teu: float
    tonnes: float

    @property
    def teu_equivalent(self) -> float:
        """TEU, or tonnes at an average TEU load for cargo that is not in containers."""
        return self.teu if self.teu > 0 else self.tonnes / TONNES_PER_TEU


class Demand(BaseModel):
    """A validated demand file."""

    model_config = ConfigDict(frozen=True)

    id: str
    file: str
    title: str
    year: int
    flows: tuple[Flow, ...]
    sources: dict[str, Source]


class _Header(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1)
    title: str = Field(min_length=1)
    year: int = Field(ge=1990, le=2100)
    note: str | None = None


def read_toml(path: DataFile, name: str) -> dict[str, Any]:
    """Parse a TOML file; DatasetError names the file when it is missing or malformed."""
    if not path.is_file():
        raise DatasetError(name, "-", "-", "file is missing")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise DatasetError(name, "-", "-", f"not valid TOML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise DatasetError(name, "-", "-", f"not UTF-8 text: {exc}") from exc


def validate_record(model: type[M], item: Any, file: str, label: str) -> M:
    """Validate one record; DatasetError names the file, record and the first bad field."""
    if not isinstance(item, dict):
        raise DatasetError(file, label, "-", "must be a table")
    try:
        return model.model_validate(item)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "-"
        raise DatasetError(file, label, field, err["msg"]) from exc


def validate_records(raw: dict[str, Any], table: str, model: type[M], file: str) -> list[M]:
    """Validate every [[table]] of a parsed file, refusing duplicate ids."""
    items = raw.get(table, [])
    if not isinstance(items, list):
        raise DatasetError(file, "-", table, f"must be an array of tables ([[{table}]])")
    out: list[M] = []
    seen: set[str] = set()
    for index, item in enumerate(items, start=1):
        label = str(item.get("id", f"#{index}")) if isinstance(item, dict) else f"#{index}"
        record = validate_record(model, item, file, label)
        ident = getattr(record, "id", None)
        if isinstance(ident, str):
            if ident in seen:
                raise DatasetError(file, ident, "id", f"duplicate {table} id")
            seen.add(ident)
        out.append(record)
    return out


def check_sources(
    sources: dict[str, str],
    figures: tuple[str, ...],
    known: dict[str, Source],
    file: str,
    label: str,
    record: BaseModel,
) -> None:
    """Every figure present must name a known source (network or this file's own)."""
    for field, source_id in sources.items():
        if source_id not in known:
            raise DatasetError(file, label, f"sources.{field}", f"unknown source {source_id!r}")
    for field in figures:
        if getattr(record, field, None) is None:
            continue
        if field not in sources and "*" not in sources:
            raise DatasetError(file, label, f"sources.{field}", "figure names no source")


def load_demand(path: DataFile, name: str, network: Network) -> Demand:
    """Read and check a demand file against the network: nodes exist, figures name sources."""
    raw = read_toml(path, name)
    header = validate_record(_Header, raw.get("demand"), name, "demand")
    own = validate_records(raw, "source", Source, name)
    known = {**network.sources, **{s.id: s for s in own}}
    flows = validate_records(raw, "flow", Flow, name)
    if not flows:
        raise DatasetError(name, header.id, "flow", "no [[flow]] records")
    for flow in flows:
        for field in ("origin", "destination"):
            node = getattr(flow, field)
            if node not in network.nodes:
                raise DatasetError(name, flow.id, field, f"unknown node {node!r}")
        figures = ("units_per_shipment", flow.quantity_field)
        check_sources(flow.sources, figures, known, name, flow.id, flow)
        if shipments_per_year(flow, network) > MAX_SHIPMENTS_PER_YEAR:
            raise DatasetError(
                name,
                flow.id,
                flow.quantity_field,
                f"more than {MAX_SHIPMENTS_PER_YEAR:,.0f} shipments a year: pack more units per "
                "shipment or check the figure",
            )
    return Demand(
        id=header.id,
        file=name,
        title=header.title,
        year=header.year,
        flows=tuple(flows),
        sources={s.id: s for s in own},
    )


def shipment_size(flow: Flow, network: Network) -> ShipmentSize:
    """TEU and tonnes one shipment of the flow carries (from the network's cargo unit profile)."""
    profile = network.cargo_units[flow.unit]
    return ShipmentSize(
        teu=profile.teu * flow.units_per_shipment, tonnes=profile.tonnes * flow.units_per_shipment
    )


def shipments_per_year(flow: Flow, network: Network) -> float:
    """How many shipments of the flow a year, whichever quantity the file gives."""
    if flow.shipments_per_year is not None:
        return flow.shipments_per_year
    size = shipment_size(flow, network)
    if flow.teu_per_year is not None:
        return flow.teu_per_year / size.teu_equivalent
    assert flow.tonnes_per_year is not None
    return flow.tonnes_per_year / size.tonnes


def arrival_times(per_year: float, horizon_hours: float, rng: np.random.Generator) -> np.ndarray:
    """Arrival times (hours) of a Poisson process at `per_year` over [0, horizon_hours)."""
    rate = per_year / HOURS_PER_YEAR
    expected = rate * horizon_hours
    count = int(expected + 6.0 * np.sqrt(expected) + 16.0)
    times = np.cumsum(rng.exponential(1.0 / rate, size=count))
    while times[-1] < horizon_hours:  # astronomically rare: draw more
        more = times[-1] + np.cumsum(rng.exponential(1.0 / rate, size=count))
        times = np.concatenate([times, more])
    result: np.ndarray = times[times < horizon_hours]
    return result
