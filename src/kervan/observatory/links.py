"""Planned links a scenario adds to the network, and openings whose year is uncertain.

A scenario file may hold `[[node]]`, `[[link]]`, `[[crossing]]` and `[[transfer]]` records (the
network dataset's own formats) for infrastructure the shipped network does not have, such as
the Zangezur corridor (Horadiz - Meghri - Nakhchivan - Kars), and `[[opening]]` records: links
that open in one of several years with given probabilities. Each replication draws its opening
years from its own seed, so the spread over replications includes the uncertainty of when the
link opens, and the same seed always draws the same years.

An opening may name `reentry` countries: a route over its links may leave such a country and
enter it again (Azerbaijan - Armenia - Nakhchivan, an exclave of Azerbaijan). The planner
otherwise refuses a route that enters a country twice; the simulator asks it for such routes
only for scenarios with such an opening and keeps only those whose second entry the opening
allows (`reentry_allowed`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from kervan.errors import DatasetError
from kervan.network.dataset import FIGURE_FIELDS
from kervan.network.model import BorderCrossing, Link, LinkStatus, Network, Node, Source, Transfer


class Opening(BaseModel):
    """Links that open together in one of `years`, with `probabilities` (summing to 1)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1)
    links: tuple[str, ...] = Field(min_length=1)
    years: tuple[int, ...] = Field(min_length=1)
    probabilities: tuple[float, ...] = Field(min_length=1)
    # countries a route over these links may enter twice (the links pass through an exclave)
    reentry: tuple[str, ...] = ()
    sources: dict[str, str] = Field(default_factory=dict)
    note: str | None = None

    @model_validator(mode="after")
    def _distribution(self) -> Opening:
        if len(self.years) != len(self.probabilities):
            raise ValueError("one probability per year")
        if any(p < 0 for p in self.probabilities) or abs(sum(self.probabilities) - 1.0) > 1e-6:
            raise ValueError("probabilities must be at least 0 and sum to 1")
        return self


class Additions(BaseModel):
    """What a scenario adds to the network."""

    model_config = ConfigDict(frozen=True)

    nodes: tuple[Node, ...] = ()
    links: tuple[Link, ...] = ()
    crossings: tuple[BorderCrossing, ...] = ()
    transfers: tuple[Transfer, ...] = ()
    openings: tuple[Opening, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.nodes or self.links or self.crossings or self.transfers or self.openings)


def check_additions(
    additions: Additions, network: Network, known: dict[str, Source], file: str
) -> None:
    """Added records join places the network (or the scenario) has and name their sources;
    a link between two countries has its border crossing; openings name known links."""
    nodes = {**network.nodes, **{n.id: n for n in additions.nodes}}
    links = {**network.links, **{k.id: k for k in additions.links}}
    records: list[tuple[BaseModel, str]] = [
        *((n, n.id) for n in additions.nodes),
        *((k, k.id) for k in additions.links),
        *((c, c.id) for c in additions.crossings),
        *((t, t.node) for t in additions.transfers),
    ]
    for record, label in records:
        sources: dict[str, str] = getattr(record, "sources", {})
        for field, source_id in sources.items():
            if source_id not in known:
                raise DatasetError(file, label, f"sources.{field}", f"unknown source {source_id!r}")
        for field in FIGURE_FIELDS.get(type(record), ()):
            if getattr(record, field) is not None and field not in sources and "*" not in sources:
                raise DatasetError(file, label, f"sources.{field}", "figure names no source")
    crossed = {c.link for c in network.crossings.values()} | {c.link for c in additions.crossings}
    for link in additions.links:
        for field in ("from_node", "to_node"):
            node = nodes.get(getattr(link, field))
            if node is None:
                raise DatasetError(file, link.id, field, f"unknown node {getattr(link, field)!r}")
            if link.gauge_mm is not None and link.gauge_mm not in node.gauge_mm:
                raise DatasetError(file, link.id, "gauge_mm", f"{node.id} has no such gauge")
        a, b = nodes[link.from_node].country, nodes[link.to_node].country
        if a != b and link.id not in crossed:
            raise DatasetError(file, link.id, "-", f"joins {a} and {b} but has no border crossing")
    for crossing in additions.crossings:
        if crossing.link not in links:
            raise DatasetError(file, crossing.id, "link", f"unknown link {crossing.link!r}")
    for transfer in additions.transfers:
        if transfer.node not in nodes:
            raise DatasetError(file, transfer.node, "node", "unknown node")
    for opening in additions.openings:
        for link_id in opening.links:
            if link_id not in links:
                raise DatasetError(file, opening.id, "links", f"unknown link {link_id!r}")
        if "years" not in opening.sources and "*" not in opening.sources:
            raise DatasetError(file, opening.id, "sources.years", "figure names no source")
        if opening.reentry:
            if "reentry" not in opening.sources and "*" not in opening.sources:
                raise DatasetError(file, opening.id, "sources.reentry", "names no source")
            on = {nodes[x].country for k in opening.links for x in _ends(links[k])}
            for country in opening.reentry:
                if country not in on:
                    raise DatasetError(
                        file, opening.id, "reentry", f"none of its links touches {country!r}"
                    )


def _ends(link: Link) -> tuple[str, str]:
    return link.from_node, link.to_node


def reentry_allowed(additions: Additions, entered: Sequence[str], link_ids: Sequence[str]) -> bool:
    """Whether a route entering `entered` countries in turn over `link_ids` enters a country
    twice only where an opening it uses allows it (a route entering none twice is allowed)."""
    repeated = {c for i, c in enumerate(entered) if c in entered[:i]}
    if not repeated:
        return True
    used = set(link_ids)
    allowed: set[str] = set()
    for opening in additions.openings:
        if used & set(opening.links):
            allowed.update(opening.reentry)
    return repeated <= allowed


def draw_openings(additions: Additions, seed: int) -> tuple[tuple[str, int], ...]:
    """The opening year of each opening for replication `seed` (its own random stream)."""
    out = []
    for index, opening in enumerate(additions.openings):
        rng = np.random.default_rng([seed, 3, index])
        pick = int(rng.choice(len(opening.years), p=np.asarray(opening.probabilities)))
        out.append((opening.id, opening.years[pick]))
    return tuple(out)


def extended(
    network: Network, additions: Additions, years: dict[str, int], sources: dict[str, Source]
) -> Network:
    """The network with the scenario's records added and each opening's links planned to
    open in its drawn year."""
    if not additions:
        return network
    links = {**network.links, **{k.id: k for k in additions.links}}
    for opening in additions.openings:
        year = years.get(opening.id, max(opening.years))
        for link_id in opening.links:
            links[link_id] = links[link_id].model_copy(
                update={"status": LinkStatus.PLANNED, "opens_year": year}
            )
    return Network(
        sources={**network.sources, **sources},
        nodes={**network.nodes, **{n.id: n for n in additions.nodes}},
        links=links,
        transfers=(*network.transfers, *additions.transfers),
        crossings={**network.crossings, **{c.id: c for c in additions.crossings}},
        cargo_units=network.cargo_units,
        reference_year=network.reference_year,
    )
