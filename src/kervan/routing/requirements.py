"""Which documents a planned route needs, per leg and country.

The rules, in the corridor's terms:
- e-CMR for each international carriage by road (a run of road legs, with any Ro-Ro ferry the
  truck drives onto, that starts and ends in different countries: CMR Art. 1-2).
- CIM/SMGS consignment note for each international carriage by rail (a run of rail legs, with any
  rail ferry); the note names where CIM law (1435 mm) and SMGS law (1520 mm) meet.
- e-TIR for goods moving by road under customs control through at least one transit country:
  one TIR transport for the road run, with a TIR operation in every country of its itinerary.
- e-Permit for each foreign country a truck enters, by its flag: bilateral where the country is
  where the truck loads or unloads, transit where it only passes, third-country where it carries
  goods between two countries neither of which is its own. The permit authority of the truck's
  own country issues it, against the quota the country entered grants, and the country entered
  controls it at its border; a truck needs none for its own country. Trucks of EU member states
  need none inside the EU (Community licence).
- Sea legs, and ferry legs no road or rail carriage covers, travel on a bill of lading (the DCSA
  electronic bill of lading is the digital form).
- Customs offices: departure (where the goods are first cleared), one at each border crossed, and
  destination.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from itertools import pairwise

from kervan.documents.kinds import DocumentKind
from kervan.network.model import Mode, Network

EU_MEMBERS = frozenset(
    {"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE"}
    | {"IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"}
)


class PermitType(StrEnum):
    BILATERAL = "bilateral"
    TRANSIT = "transit"
    THIRD_COUNTRY = "third-country"


class OfficeRole(StrEnum):
    DEPARTURE = "departure"
    TRANSIT = "transit"
    DESTINATION = "destination"


@dataclass(frozen=True)
class LegFacts:
    """What the rules need to know about one leg of a plan."""

    mode: Mode
    from_country: str
    to_country: str
    via_countries: tuple[str, ...] = ()
    gauge_mm: int | None = None
    from_node: str = ""
    to_node: str = ""


@dataclass(frozen=True)
class DocumentNeed:
    """One document the shipment needs, which legs it covers and why."""

    kind: DocumentKind
    legs: tuple[int, ...]
    countries: tuple[str, ...]
    reason: str
    permit_type: PermitType | None = None
    issuer_country: str | None = None  # for permits: the truck's country, whose authority issues it
    law_change_at: tuple[str, ...] = ()  # for CIM/SMGS: nodes where CIM and SMGS law meet


@dataclass(frozen=True)
class CustomsOffice:
    role: OfficeRole
    country: str
    name: str
    node: str


def _runs(
    legs: list[LegFacts], carrier_modes: set[Mode], own: Mode, aboard: bool = False
) -> list[list[int]]:
    """Maximal runs of consecutive legs of mode `own` (plus ferries within the run).

    `aboard`: the vehicle itself rides the ferries (a truck on a Ro-Ro), so a run may start or
    end on one.
    """
    runs: list[list[int]] = []
    current: list[int] = []
    for i, leg in enumerate(legs):
        if leg.mode is own or (leg.mode in carrier_modes and (current or aboard)):
            current.append(i)
            continue
        if current:
            runs.append(current)
        current = []
    if current:
        runs.append(current)
    # A run ending on ferries without going on by its own mode ends at the last own-mode leg.
    if aboard:
        return runs
    trimmed = []
    for run in runs:
        end = len(run)
        while end and legs[run[end - 1]].mode is not own:
            end -= 1
        if end:
            trimmed.append(run[:end])
    return trimmed


def _countries(legs: list[LegFacts], run: list[int]) -> list[str]:
    order: list[str] = []
    for i in run:
        for c in (legs[i].from_country, *legs[i].via_countries, legs[i].to_country):
            if not order or order[-1] != c:
                order.append(c)
    return order


def _permits(legs: list[LegFacts], run: list[int], flag: str) -> list[DocumentNeed]:
    countries = _countries(legs, run)
    loading, unloading = countries[0], countries[-1]
    needs: list[DocumentNeed] = []
    seen: set[str] = set()
    for country in countries:
        if country == flag or country in seen:
            continue
        seen.add(country)
        if flag in EU_MEMBERS and country in EU_MEMBERS:
            continue
        if country in (loading, unloading):
            own_trip = flag in (loading, unloading)
            kind = PermitType.BILATERAL if own_trip else PermitType.THIRD_COUNTRY
        else:
            kind = PermitType.TRANSIT
        covered = tuple(
            i for i in run if country in (legs[i].from_country, legs[i].to_country)
        ) or tuple(run)
        needs.append(
            DocumentNeed(
                kind=DocumentKind.EPERMIT,
                legs=covered,
                countries=(country,),
                reason=f"a {flag}-registered truck enters {country} ({kind.value} permit)",
                permit_type=kind,
                issuer_country=flag,
            )
        )
    return needs


def documents_needed(
    legs: list[LegFacts], truck_flag: str | None = None, truck_aboard: bool = False
) -> list[DocumentNeed]:
    """The documents a route needs, in the order the shipment meets them.

    `truck_flag` is the registration country of the truck on road runs; by default the country
    where each road run starts. `truck_aboard`: the booked unit is a truck, which keeps its road
    documents (e-CMR, e-TIR, permits) on a Ro-Ro ferry even where the trip starts or ends on one.
    """
    needs: list[DocumentNeed] = []
    for run in _runs(legs, {Mode.FERRY}, Mode.ROAD, aboard=truck_aboard):
        countries = _countries(legs, run)
        if len(countries) < 2:
            continue
        span = tuple(run)
        route = " -> ".join(countries)
        needs.append(
            DocumentNeed(
                DocumentKind.ECMR, span, tuple(countries), f"international road carriage {route}"
            )
        )
        if len(countries) > 2:  # at least one country is crossed in transit
            needs.append(
                DocumentNeed(
                    DocumentKind.ETIR,
                    span,
                    tuple(countries),
                    f"transit by road under customs control through {', '.join(countries[1:-1])}; "
                    f"one TIR operation in each of {', '.join(countries)}",
                )
            )
        needs.extend(_permits(legs, run, (truck_flag or countries[0]).upper()))
    for run in _runs(legs, {Mode.FERRY}, Mode.RAIL):
        countries = _countries(legs, run)
        if len(countries) < 2:
            continue
        changes = tuple(
            legs[b].from_node
            for a, b in pairwise(run)
            if legs[a].gauge_mm and legs[b].gauge_mm and legs[a].gauge_mm != legs[b].gauge_mm
        )
        needs.append(
            DocumentNeed(
                DocumentKind.CIM_SMGS,
                tuple(run),
                tuple(countries),
                "international carriage by rail " + " -> ".join(countries),
                law_change_at=changes,
            )
        )
    in_a_run = {i for need in needs for i in need.legs}
    for i, leg in enumerate(legs):
        # Deep-sea legs, and ferry legs that no road or rail carriage takes on board.
        if leg.mode is Mode.SEA or (leg.mode is Mode.FERRY and i not in in_a_run):
            needs.append(
                DocumentNeed(
                    DocumentKind.BILL_OF_LADING,
                    (i,),
                    (leg.from_country, leg.to_country),
                    f"carriage by {leg.mode.value} {leg.from_country} -> {leg.to_country}",
                )
            )
    return sorted(needs, key=lambda n: (n.legs[0], list(DocumentKind).index(n.kind)))


def _entry_office(at_node: str | None, at_crossing: str | None) -> str | None:
    """The office that clears the cargo into the country entered: the entry place's own office,
    else the import side of the crossing's pair ("X (export) / Y (import)" -> "Y"), else the
    crossing's joint office; "" when the data names none; None where the data says no customs
    control happens ("none (Union State, no customs control)")."""
    if at_node:
        return at_node
    if not at_crossing:
        return ""
    if at_crossing.lower().startswith("none"):
        return None
    if at_crossing.endswith(" (import)") and " / " in at_crossing:
        return at_crossing.rsplit(" / ", 1)[1].removesuffix(" (import)")
    return at_crossing


def customs_offices(
    network: Network, legs: list[LegFacts], crossings: list[str | None]
) -> list[CustomsOffice]:
    """Customs offices of departure, of every border crossed (transit) and of destination.

    `crossings[i]` is the border crossing id on leg i, if it crosses one.
    """
    if not legs:
        return []
    first, last = network.nodes[legs[0].from_node], network.nodes[legs[-1].to_node]
    offices = [
        CustomsOffice(
            OfficeRole.DEPARTURE,
            first.country,
            first.customs_office or f"{first.name} customs",
            first.id,
        )
    ]
    for i, crossing_id in enumerate(crossings):
        node = network.nodes[legs[i].to_node]
        if crossing_id is None or node.id == last.id:
            continue  # the destination office clears cargo crossing straight into it
        name = _entry_office(node.customs_office, network.crossings[crossing_id].customs_office)
        if name is None:
            continue  # a border inside a customs union: nobody clears the cargo there
        offices.append(
            CustomsOffice(OfficeRole.TRANSIT, node.country, name or f"{node.name} customs", node.id)
        )
    offices.append(
        CustomsOffice(
            OfficeRole.DESTINATION,
            last.country,
            last.customs_office or f"{last.name} customs",
            last.id,
        )
    )
    return offices
