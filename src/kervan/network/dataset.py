"""Load and validate a corridor dataset: TOML files in one folder (the shipped one by default).

Layout of a dataset folder:
    dataset.toml        reference_year and [[cargo_unit]] profiles
    sources.toml        [[source]]: every figure names one of these
    nodes.toml          [[node]]
    links/*.toml        [[link]] (one file per region keeps them readable)
    transfers.toml      [[transfer]]
    crossings.toml      [[crossing]]

Any bad value raises `DatasetError` naming the file, the record and the field.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Iterator
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, TypeVar

import pycountry
from pydantic import BaseModel, ValidationError

from kervan.errors import DatasetError
from kervan.network.model import (
    BorderCrossing,
    CargoUnit,
    CargoUnitProfile,
    Handling,
    Link,
    Mode,
    Network,
    Node,
    Source,
    SourceKind,
    Transfer,
    TransferKind,
)

# The figures each record kind carries; every one present must name a source.
FIGURE_FIELDS: dict[type[BaseModel], tuple[str, ...]] = {
    Node: ("lat", "lon", "port_queue_hours"),
    Link: (
        "distance_km",
        "hours",
        "cost_usd",
        "co2_g_per_tkm",
        "capacity_tonnes_per_year",
        "capacity_teu_per_year",
        "headway_hours",
        "opens_year",
    ),
    Transfer: ("hours", "cost_usd", "capacity_teu_per_day"),
    BorderCrossing: ("dwell_hours", "cost_usd", "digital_dwell_factor", "green_lane_dwell_factor"),
    CargoUnitProfile: ("tonnes", "teu", "road_km_bound"),
    Handling: ("hours", "cost_usd"),
}

M = TypeVar("M", bound=BaseModel)
Folder = Path | Traversable


def shipped_dataset() -> Traversable:
    """The corridor dataset that ships inside the package."""
    return resources.files("kervan.network") / "data"


def load_network(folder: Folder | None = None) -> Network:
    """Read, validate and cross-check a dataset folder; the shipped one when `folder` is None."""
    root = shipped_dataset() if folder is None else folder
    header = _read(root, "dataset.toml")
    year = header.get("reference_year")
    if not isinstance(year, int):
        raise DatasetError("dataset.toml", "-", "reference_year", "must be a whole year")
    units = _parse_all(root, ["dataset.toml"], "cargo_unit", CargoUnitProfile, key="unit")
    sources = _parse_all(root, ["sources.toml"], "source", Source)
    nodes = _parse_all(root, ["nodes.toml"], "node", Node)
    link_files = sorted(
        f"links/{p.name}" for p in _entries(root, "links") if p.name.endswith(".toml")
    )
    if not link_files:
        raise DatasetError("links/", "-", "-", "no link files (links/*.toml)")
    links = _parse_all(root, link_files, "link", Link)
    crossings = _parse_all(root, ["crossings.toml"], "crossing", BorderCrossing)
    transfers = list(_parse(root, "transfers.toml", "transfer", Transfer))
    handling = list(_parse(root, "dataset.toml", "handling", Handling))
    network = Network(
        sources={s.id: s for s, _ in sources.values()},
        nodes={n.id: n for n, _ in nodes.values()},
        links={k.id: k for k, _ in links.values()},
        transfers=tuple(t for t, _ in transfers),
        crossings={c.id: c for c, _ in crossings.values()},
        cargo_units={CargoUnit(u.unit): u for u, _ in units.values()},
        handling=tuple(h for h, _ in handling),
        reference_year=year,
    )
    _check(network, nodes, links, crossings, transfers, units)
    return network


def _entries(root: Folder, name: str) -> Iterable[Traversable | Path]:
    folder = root / name
    return folder.iterdir() if folder.is_dir() else ()


def _read(root: Folder, name: str) -> dict[str, Any]:
    path = root / name
    if not path.is_file():
        raise DatasetError(name, "-", "-", "file is missing")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise DatasetError(name, "-", "-", f"not valid TOML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise DatasetError(name, "-", "-", f"not UTF-8 text: {exc}") from exc


def _parse(root: Folder, name: str, table: str, model: type[M]) -> Iterator[tuple[M, str]]:
    """Yield (record, file) for every [[table]] in a file, validating each."""
    raw = _read(root, name).get(table, [])
    if not isinstance(raw, list):
        raise DatasetError(name, "-", table, f"must be an array of tables ([[{table}]])")
    for index, item in enumerate(raw, start=1):
        label = str(item.get("id", f"#{index}")) if isinstance(item, dict) else f"#{index}"
        try:
            yield model.model_validate(item), name
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"]) or "-"
            raise DatasetError(name, label, field, err["msg"]) from exc


def _parse_all(
    root: Folder, files: list[str], table: str, model: type[M], key: str = "id"
) -> dict[str, tuple[M, str]]:
    out: dict[str, tuple[M, str]] = {}
    for name in files:
        for record, file in _parse(root, name, table, model):
            ident = str(getattr(record, key))
            if ident in out:
                raise DatasetError(file, ident, key, f"duplicate {key} (also in {out[ident][1]})")
            out[ident] = (record, file)
    return out


def _is_country(code: str) -> bool:
    return pycountry.countries.get(alpha_2=code) is not None


def _check_sources(net: Network, record: BaseModel, file: str, label: str) -> None:
    sources: dict[str, str] = getattr(record, "sources", {})
    for field, source_id in sources.items():
        if source_id not in net.sources:
            raise DatasetError(file, label, f"sources.{field}", f"unknown source {source_id!r}")
    for field in FIGURE_FIELDS[type(record)]:
        if getattr(record, field) is None:
            continue
        if field not in sources and "*" not in sources:
            raise DatasetError(file, label, f"sources.{field}", "figure names no source")


def _check(
    net: Network,
    nodes: dict[str, tuple[Node, str]],
    links: dict[str, tuple[Link, str]],
    crossings: dict[str, tuple[BorderCrossing, str]],
    transfers: list[tuple[Transfer, str]],
    units: dict[str, tuple[CargoUnitProfile, str]],
) -> None:
    for unit in CargoUnit:
        if unit not in net.cargo_units:
            raise DatasetError("dataset.toml", unit.value, "cargo_unit", "profile is missing")
    for profile, file in units.values():
        _check_sources(net, profile, file, profile.unit)
    for rate in net.handling:
        _check_sources(net, rate, "dataset.toml", f"{rate.mode.value} {rate.where.value}")
    for source in net.sources.values():
        if source.kind is SourceKind.ESTIMATE and not (source.method or "").strip():
            raise DatasetError("sources.toml", source.id, "method", "estimate says not how")
    for node, file in nodes.values():
        if not _is_country(node.country):
            raise DatasetError(file, node.id, "country", f"{node.country!r} is no ISO 3166 code")
        if any(g not in (1435, 1520) for g in node.gauge_mm):
            raise DatasetError(file, node.id, "gauge_mm", "gauges are 1435 or 1520 mm")
        _check_sources(net, node, file, node.id)
    for link, file in links.values():
        _check_link(net, link, file)
    covered: dict[str, str] = {}
    for crossing, file in crossings.values():
        _check_crossing(net, crossing, file)
        if crossing.link in covered:
            raise DatasetError(
                file, crossing.id, "link", f"also crossed by {covered[crossing.link]}"
            )
        covered[crossing.link] = crossing.id
    for link, file in links.values():
        a, b = net.nodes[link.from_node].country, net.nodes[link.to_node].country
        if a != b and link.id not in covered:
            raise DatasetError(file, link.id, "-", f"joins {a} and {b} but has no border crossing")
    for transfer, file in transfers:
        _check_transfer(net, transfer, file)


def _check_link(net: Network, link: Link, file: str) -> None:
    for field in ("from_node", "to_node"):
        node_id = getattr(link, field)
        if node_id not in net.nodes:
            raise DatasetError(file, link.id, field, f"unknown node {node_id!r}")
        node = net.nodes[node_id]
        if link.gauge_mm is not None and link.gauge_mm not in node.gauge_mm:
            raise DatasetError(
                file, link.id, "gauge_mm", f"{node_id} has no {link.gauge_mm} mm track"
            )
    for code in link.via_countries:
        if not _is_country(code):
            raise DatasetError(file, link.id, "via_countries", f"{code!r} is no ISO 3166 code")
    if link.mode is Mode.RAIL and CargoUnit.TRUCK in link.cost_usd:
        raise DatasetError(file, link.id, "cost_usd", "rail links do not carry trucks")
    _check_sources(net, link, file, link.id)


def _check_crossing(net: Network, crossing: BorderCrossing, file: str) -> None:
    link = net.links.get(crossing.link)
    if link is None:
        raise DatasetError(file, crossing.id, "link", f"unknown link {crossing.link!r}")
    ends = {net.nodes[link.from_node].country, net.nodes[link.to_node].country}
    if set(crossing.countries) != ends or len(ends) != 2:
        raise DatasetError(
            file, crossing.id, "countries", f"link {link.id} joins {sorted(ends)}, not these"
        )
    if crossing.mode is not link.mode:
        raise DatasetError(file, crossing.id, "mode", f"link {link.id} is {link.mode.value}")
    missing = set(link.cost_usd) - set(crossing.cost_usd)
    if missing:
        names = ", ".join(sorted(u.value for u in missing))
        raise DatasetError(file, crossing.id, "cost_usd", f"no cost for {names}")
    _check_sources(net, crossing, file, crossing.id)


def _check_transfer(net: Network, transfer: Transfer, file: str) -> None:
    label = f"{transfer.node}:{transfer.from_mode.value}-{transfer.to_mode.value}"
    node = net.nodes.get(transfer.node)
    if node is None:
        raise DatasetError(file, label, "node", f"unknown node {transfer.node!r}")
    if transfer.kind is TransferKind.GAUGE_CHANGE:
        for field in ("from_gauge_mm", "to_gauge_mm"):
            if getattr(transfer, field) not in node.gauge_mm:
                raise DatasetError(file, label, field, f"{node.id} has no such gauge")
    else:
        touching = {k.mode for k in net.links.values() if node.id in (k.from_node, k.to_node)}
        for field in ("from_mode", "to_mode"):
            if getattr(transfer, field) not in touching:
                raise DatasetError(
                    file, label, field, f"no {getattr(transfer, field).value} link at {node.id}"
                )
    _check_sources(net, transfer, file, label)
