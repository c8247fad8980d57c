"""Customs offices of the corridor, derived from the network: one per node that clears cargo.

A node with a `customs_office` clears cargo starting or ending there (departure, destination);
a node at either end of a border crossing is an en-route office (entry into or exit from its
country). Each office gets a stable code "<country>-<place>", e.g. "KZ-DOSTYK", "AZ-ALAT",
"TR-KARS", taken from the node's name; it names the office on control results.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from kervan.errors import CustomsRouteError
from kervan.network.model import Network, Node


class OfficeRole(StrEnum):
    """What an office may do for a shipment (an office may do several)."""

    DEPARTURE = "departure"
    EN_ROUTE = "en_route"  # entry into or exit from the country at a border crossing
    DESTINATION = "destination"


class CustomsOffice(BaseModel):
    """One customs office at one node of the network.

    `crossings` are the border crossings whose end lies at the office's node.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(pattern=r"^[A-Z]{2}-[A-Z0-9-]{2,40}$")
    name: str = Field(min_length=1)
    country: str = Field(pattern=r"^[A-Z]{2}$")
    node: str
    place: str
    crossings: tuple[str, ...] = ()
    roles: frozenset[OfficeRole]


def office_code(node: Node) -> str:
    """The stable code of the office at `node`: country, then the place name without
    parenthesised parts and without a trailing "port", e.g. "Aktau port" -> "KZ-AKTAU"."""
    place = node.name.split("(")[0].replace("'", "").upper()
    place = re.sub(r"\bPORT\s*$", "", place.strip())
    slug = re.sub(r"[^A-Z0-9]+", "-", place).strip("-")
    return f"{node.country}-{slug}"


class CustomsOffices:
    """Every customs office of a network, by code and by node."""

    def __init__(self, network: Network) -> None:
        self.network = network
        ends: dict[str, list[str]] = {}
        for crossing in network.crossings.values():
            link = network.links[crossing.link]
            for node_id in (link.from_node, link.to_node):
                ends.setdefault(node_id, []).append(crossing.id)
        self._by_code: dict[str, CustomsOffice] = {}
        self._by_node: dict[str, CustomsOffice] = {}
        for node in network.nodes.values():
            crossings = tuple(sorted(ends.get(node.id, ())))
            roles: set[OfficeRole] = set()
            if node.customs_office:
                roles |= {OfficeRole.DEPARTURE, OfficeRole.DESTINATION}
            if crossings:
                roles.add(OfficeRole.EN_ROUTE)
            if not roles:
                continue
            code = office_code(node)
            if code in self._by_code:  # two places of one name in a country: use the node id
                code = node.id if "-" in node.id else f"{node.country}-{node.id}"
            office = CustomsOffice(
                code=code,
                name=node.customs_office or f"{node.name} customs post",
                country=node.country,
                node=node.id,
                place=node.name,
                crossings=crossings,
                roles=frozenset(roles),
            )
            self._by_code[code] = office
            self._by_node[node.id] = office

    def __iter__(self) -> Iterator[CustomsOffice]:
        return iter(self._by_code.values())

    def __len__(self) -> int:
        return len(self._by_code)

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def get(self, code: str) -> CustomsOffice:
        """The office with `code`; CustomsRouteError names close codes when there is none."""
        office = self._by_code.get(code)
        if office is None:
            near = sorted(c for c in self._by_code if c[:2] == code[:2])
            raise CustomsRouteError(
                f"no customs office {code!r} on the network; offices in {code[:2]}: "
                f"{', '.join(near) or 'none'}"
            )
        return office

    def at_node(self, node_id: str) -> CustomsOffice:
        """The office at a node; a node where no office clears cargo is a route error."""
        office = self._by_node.get(node_id)
        if office is None:
            raise CustomsRouteError(f"no customs office clears cargo at node {node_id}")
        return office
