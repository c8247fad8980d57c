"""Booking a shipment from a plan: which documents it opens in draft, and what each says.

Pure: from a Plan (the route), the cargo and the parties, derive one draft per document the
plan needs: an e-CMR for each international road carriage, a CIM/SMGS note for each
international rail carriage (its sections split where the gauge or the railway law changes), an
e-TIR transport for each road transit under customs control, and one e-Permit request per
foreign country the truck enters. Bills of lading for sea legs are outside Kervan's documents.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from kervan.documents.cimsmgs import CimSmgsContent, Gauge, RailLaw, RailSection, Station, Wagon
from kervan.documents.ecmr import EcmrContent, Place
from kervan.documents.goods import Container, NonEmptyGoods, VehiclePlate
from kervan.documents.kinds import DocumentKind
from kervan.documents.limits import (
    MAX_CONTAINERS,
    MAX_WAGONS,
    ROAD_VEHICLE_MAX_GROSS_KG,
    ROAD_VEHICLE_WITH_CONTAINER_MAX_GROSS_KG,
    CorridorDate,
    check_gross_mass,
    container_max_gross_kg,
)
from kervan.documents.parties import Party
from kervan.errors import InvalidRequestError
from kervan.network.model import Network, Node
from kervan.network.modes import CargoUnit
from kervan.routing.plan import Leg, Plan

# Countries whose railways carry under SMGS law (OSJD members on the corridor); CIM elsewhere.
SMGS_COUNTRIES = frozenset({"CN", "KZ", "KG", "UZ", "TM", "TJ", "AZ", "GE", "RU", "BY", "MN", "UA"})


class ShipmentRole(StrEnum):
    """How an organisation takes part in a shipment (decides what it sees and signs)."""

    SHIPPER = "shipper"
    CONSIGNEE = "consignee"
    ROAD_CARRIER = "road_carrier"
    RAIL_CARRIER = "rail_carrier"
    GUARANTEE_CHAIN = "guarantee_chain"


class Cargo(BaseModel):
    """What travels: the goods, their containers (with seals), the truck's plates, wagons."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    goods: NonEmptyGoods
    containers: tuple[Container, ...] = Field(default=(), max_length=MAX_CONTAINERS)
    vehicle_plates: tuple[VehiclePlate, ...] = Field(default=(), max_length=4)
    wagons: tuple[Wagon, ...] = Field(default=(), max_length=MAX_WAGONS)
    date_of_taking_over: CorridorDate

    def check_mass(self, unit: CargoUnit) -> None:
        """Refuse goods heavier than the units carrying them may weigh (kervan.documents.limits):
        the containers listed (or, booked by the container, one 40 ft box), or one truck."""
        goods = sum((g.gross_weight_kg for g in self.goods), Decimal(0))
        if self.containers:
            limit = sum(container_max_gross_kg(c.size_type) for c in self.containers)
            carried_by = f"{len(self.containers)} container(s)"
        elif unit is CargoUnit.CONTAINER:
            limit, carried_by = container_max_gross_kg("4"), "one 40 ft container"
        else:
            limit, carried_by = 0, ""
        if unit is CargoUnit.TRUCK:
            road = (
                ROAD_VEHICLE_WITH_CONTAINER_MAX_GROSS_KG
                if self.containers
                else ROAD_VEHICLE_MAX_GROSS_KG
            )
            limit = min(limit, road) if limit else road
            carried_by = "one road vehicle (EU Directive 96/53/EC)"
        if limit:
            check_gross_mass(goods, limit, carried_by)


@dataclass(frozen=True)
class BookingParties:
    """The parties of a booking, as they will appear on the documents."""

    shipper: Party
    consignee: Party
    road_carrier: Party | None = None
    rail_carrier: Party | None = None
    guarantee_chain: Party | None = None


@dataclass(frozen=True)
class DraftDocument:
    """A document the booking opens: its kind, legs and countries, and its first content."""

    kind: DocumentKind
    legs: tuple[int, ...]
    countries: tuple[str, ...]
    reason: str
    ecmr: EcmrContent | None = None
    cimsmgs: CimSmgsContent | None = None
    permit_issuer_country: str | None = None
    permit_type: str | None = None


def _place(node: Node) -> Place:
    return Place(name=node.name, country=node.country, unlocode=node.id if node.unlocode else None)


def _station(node: Node) -> Station:
    return Station(name=node.name, code=node.id, country=node.country)


def _law(country: str, gauge: int | None) -> RailLaw:
    return RailLaw.SMGS if gauge == 1520 or country in SMGS_COUNTRIES else RailLaw.CIM


def rail_sections(network: Network, legs: list[Leg], railway: Party) -> tuple[RailSection, ...]:
    """Sections of a rail run: a new one wherever the gauge or the applicable law changes."""
    sections: list[RailSection] = []
    start = legs[0]
    for i, leg in enumerate(legs):
        nxt = legs[i + 1] if i + 1 < len(legs) else None
        law = _law(leg.from_country, leg.gauge_mm)
        closes = nxt is None or (
            nxt.gauge_mm != leg.gauge_mm or _law(nxt.from_country, nxt.gauge_mm) is not law
        )
        if closes:
            gauge = Gauge(start.gauge_mm or leg.gauge_mm or 1435)
            sections.append(
                RailSection(
                    railway=railway,
                    from_station=_station(network.nodes[start.from_node]),
                    to_station=_station(network.nodes[leg.to_node]),
                    gauge=gauge,
                    law=_law(start.from_country, start.gauge_mm),
                )
            )
            if nxt is not None:
                start = nxt
    return tuple(sections)


def draft_documents(
    network: Network, plan: Plan, cargo: Cargo, parties: BookingParties
) -> list[DraftDocument]:
    """The drafts a booking opens for `plan`. Raises InvalidRequestError if a party is missing."""
    drafts: list[DraftDocument] = []
    for need in plan.documents:
        legs = [plan.legs[i] for i in need.legs]
        first, last = network.nodes[legs[0].from_node], network.nodes[legs[-1].to_node]
        if need.kind is DocumentKind.ECMR:
            carrier = _required(parties.road_carrier, "road_carrier", "an e-CMR")
            if not cargo.vehicle_plates:
                raise InvalidRequestError("a road carriage needs the truck's vehicle_plates")
            content = EcmrContent(
                consignor=parties.shipper,
                consignee=parties.consignee,
                carrier=carrier,
                place_of_issue=_place(first),
                place_of_taking_over=_place(first),
                date_of_taking_over=cargo.date_of_taking_over,
                place_of_delivery=_place(last),
                goods=cargo.goods,
                containers=cargo.containers,
                vehicle_plates=cargo.vehicle_plates,
            )
            drafts.append(
                DraftDocument(need.kind, need.legs, need.countries, need.reason, ecmr=content)
            )
        elif need.kind is DocumentKind.CIM_SMGS:
            railway = _required(parties.rail_carrier, "rail_carrier", "a CIM/SMGS note")
            rail_legs = [leg for leg in legs if leg.gauge_mm is not None]
            note = CimSmgsContent(
                consignor=parties.shipper,
                consignee=parties.consignee,
                route=rail_sections(network, rail_legs, railway),
                goods=cargo.goods,
                wagons=cargo.wagons,
                containers=cargo.containers,
            )
            drafts.append(
                DraftDocument(need.kind, need.legs, need.countries, need.reason, cimsmgs=note)
            )
        elif need.kind is DocumentKind.ETIR:
            _required(parties.road_carrier, "road_carrier", "an e-TIR transport (its holder)")
            _required(parties.guarantee_chain, "guarantee_chain", "an e-TIR transport")
            drafts.append(DraftDocument(need.kind, need.legs, need.countries, need.reason))
        elif need.kind is DocumentKind.EPERMIT:
            _required(parties.road_carrier, "road_carrier", "an e-Permit")
            drafts.append(
                DraftDocument(
                    need.kind,
                    need.legs,
                    need.countries,
                    need.reason,
                    permit_issuer_country=need.issuer_country,
                    permit_type=need.permit_type.value if need.permit_type else None,
                )
            )
    return drafts


def _required(party: Party | None, field: str, what: str) -> Party:
    if party is None:
        raise InvalidRequestError(f"this route needs {what}: name the {field} in the booking")
    return party
