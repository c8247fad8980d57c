"""eFTI for the EU leg: a consignment note as the eFTI common data set and its identifier subset.

EU Regulation 2020/1056 lets operators keep freight information on an eFTI platform that
authorities query through their national gate. Kervan is such a platform for the notes it holds:
an e-CMR (road, mode 3) or a CIM/SMGS note (rail, mode 2) becomes

- the common data set (namespace http://efti.eu/v1/consignment/common, consignment-common.xsd):
  parties, places, dates, goods, transport means and equipment with seals, the e-CMR number as
  the transport contract document;
- the identifier subset (http://efti.eu/v1/consignment/identifier): what a gate indexes to find a
  consignment by a vehicle, trailer, wagon or container (eFTI618, eFTI374, eFTI448).

Elements are written in the schemas' order (alphabetical within each type). The schemas ship in
`data/efti` (see its SOURCE.md); `schema()` loads one for validation. The common data set has no
slot for an HS code: the UN/CEFACT export carries those.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Final, Literal, cast

from lxml import etree

from kervan.documents.cimsmgs import CimSmgsNote, CimSmgsStep
from kervan.documents.ecmr import Place
from kervan.documents.ecmr_lifecycle import Ecmr, EcmrStep
from kervan.documents.goods import GoodsItem, Seal, SealCondition, SealingParty
from kervan.documents.parties import Party

COMMON_NS: Final = "http://efti.eu/v1/consignment/common"
IDENTIFIER_NS: Final = "http://efti.eu/v1/consignment/identifier"
EDELIVERY_NS: Final = "http://efti.eu/v1/edelivery"

ROAD, RAIL = "3", "2"  # UN/ECE Recommendation 19 transport mode codes
_ROAD_CONSIGNMENT_NOTE, _RAIL_CONSIGNMENT_NOTE = "730", "720"  # UNTDID 1001
_SEAL_CONDITION = {SealCondition.INTACT: "1", SealCondition.BROKEN: "4"}  # UNTDID 4517
_SEALING_PARTY = {
    SealingParty.CARRIER: "CA",
    SealingParty.CUSTOMS: "CU",
    SealingParty.SHIPPER: "SH",
}
_UNLOCODE_AGENCY = "6"  # UNTDID 3055: UN/ECE, keeper of UN/LOCODE

Schema = Literal["common", "identifier", "gate"]
_SCHEMA_FILES: Final[dict[Schema, str]] = {
    "common": "consignment-common.xsd",
    "identifier": "consignment-identifier.xsd",
    "gate": "edelivery/gate.xsd",
}


@cache
def schema(name: Schema) -> etree.XMLSchema:
    """The shipped eFTI schema `name` (common data set, identifier subset, or the gate's
    eDelivery messages), parsed once."""
    folder = resources.files("kervan.documents").joinpath("data", "efti")
    with resources.as_file(folder) as path:
        return etree.XMLSchema(etree.parse(str(path / _SCHEMA_FILES[name])))


@dataclasses.dataclass(frozen=True, slots=True)
class Means:
    """A main-carriage movement and its transport means (a road tractor by its plate; a rail
    section names no locomotive, so its means has no id)."""

    mode: str
    id: str | None
    country: str | None
    dangerous_goods: bool


@dataclasses.dataclass(frozen=True, slots=True)
class Equipment:
    """A trailer, wagon or container used, with the containers it carries."""

    category: str  # UN/ECE Recommendation 21 / D23A transport equipment category: TE, RR, CN
    id: str
    country: str | None = None
    carried: tuple[str, ...] = ()
    seals: tuple[Seal, ...] = ()
    size_type: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Consignment:
    """What one consignment note tells an eFTI platform, whatever its regime."""

    note_id: str
    document_type: str
    mode: str
    issued_at: datetime
    issue_place: Place | None
    consignor: Party
    consignee: Party
    carrier: Party | None
    connecting_carriers: tuple[Party, ...]
    acceptance_at: datetime | date
    acceptance_place: str
    acceptance_country: str
    acceptance_unlocode: str | None
    delivered_at: datetime | None
    delivery_place: str
    delivery_country: str
    delivery_unlocode: str | None
    goods: tuple[GoodsItem, ...]
    means: tuple[Means, ...]
    equipment: tuple[Equipment, ...]
    instructions: str | None = None

    @property
    def dangerous_goods(self) -> bool:
        """True when any goods item carries dangerous goods data."""
        return any(g.dangerous_goods is not None for g in self.goods)


def from_ecmr(note: Ecmr) -> Consignment:
    """An e-CMR's current version for eFTI: the first plate is the tractor (the transport
    means), further plates are trailers; containers ride on the first trailer when there is one."""
    content = note.content
    issued = note.acts_of(EcmrStep.ISSUE)
    taking_over = note.acts_of(EcmrStep.SIGN_TAKING_OVER)
    delivered = note.acts_of(EcmrStep.DELIVER)
    dangerous = any(g.dangerous_goods is not None for g in content.goods)
    tractor, *trailers = content.vehicle_plates
    # The identifier subset needs a registration country for each piece of equipment; a note
    # does not give one for a container, so the country of the carrier operating it is given.
    operator = content.carrier.country
    containers = tuple(
        Equipment("CN", c.number, operator, seals=c.seals, size_type=c.size_type)
        for c in content.containers
    )
    equipment: tuple[Equipment, ...]
    if trailers:
        carried = tuple(c.number for c in content.containers)
        first = Equipment("TE", trailers[0].number, trailers[0].country, carried)
        equipment = (first, *(Equipment("TE", t.number, t.country) for t in trailers[1:]))
        # A container on a trailer is carried equipment (carried equipment has no seals in
        # the schema): a sealed one is listed as equipment of its own too, with its seals.
        equipment += tuple(c for c in containers if c.seals)
    else:
        equipment = containers
    return Consignment(
        note_id=note.note_id,
        document_type=_ROAD_CONSIGNMENT_NOTE,
        mode=ROAD,
        issued_at=issued[0].evidence.signed_at if issued else note.current.created_at,
        issue_place=content.place_of_issue,
        consignor=content.consignor,
        consignee=content.consignee,
        carrier=content.carrier,
        connecting_carriers=content.successive_carriers,
        acceptance_at=(
            max(a.evidence.signed_at for a in taking_over)
            if taking_over
            else content.date_of_taking_over
        ),
        acceptance_place=content.place_of_taking_over.name,
        acceptance_country=content.place_of_taking_over.country,
        acceptance_unlocode=content.place_of_taking_over.unlocode,
        delivered_at=delivered[-1].evidence.signed_at if delivered else None,
        delivery_place=content.place_of_delivery.name,
        delivery_country=content.place_of_delivery.country,
        delivery_unlocode=content.place_of_delivery.unlocode,
        goods=content.goods,
        means=(Means(ROAD, tractor.number, tractor.country, dangerous),),
        equipment=equipment,
        instructions=content.consignor_instructions,
    )


def from_cimsmgs(note: CimSmgsNote) -> Consignment:
    """A CIM/SMGS note for eFTI: one rail movement per section (a note names wagons, not
    locomotives, so the movements carry no means), the wagons and containers as equipment."""
    content = note.content
    acts = {step: [a for a in note.acts if a.step is step] for step in CimSmgsStep}
    issued, accepted = acts[CimSmgsStep.ISSUE], acts[CimSmgsStep.ACCEPT]
    delivered = acts[CimSmgsStep.DELIVER]
    dangerous = any(g.dangerous_goods is not None for g in content.goods)
    first, last = content.forwarding_station, content.destination_station
    means = tuple(Means(RAIL, None, None, dangerous) for _ in content.route)
    # A note names no registration country for its wagons and containers (the identifier
    # subset needs one): the country of the forwarding railway operating them is given.
    operator = content.route[0].railway.country
    wagons = tuple(Equipment("RR", w.number, operator, seals=w.seals) for w in content.wagons)
    containers = tuple(
        Equipment("CN", c.number, operator, seals=c.seals, size_type=c.size_type)
        for c in content.containers
    )
    return Consignment(
        note_id=note.note_id,
        document_type=_RAIL_CONSIGNMENT_NOTE,
        mode=RAIL,
        issued_at=issued[0].evidence.signed_at if issued else note.created_at,
        issue_place=None,
        consignor=content.consignor,
        consignee=content.consignee,
        carrier=content.route[0].railway,
        connecting_carriers=tuple(s.railway for s in content.route[1:]),
        acceptance_at=accepted[0].evidence.signed_at if accepted else note.created_at,
        acceptance_place=first.name,
        acceptance_country=first.country,
        acceptance_unlocode=None,
        delivered_at=delivered[-1].evidence.signed_at if delivered else None,
        delivery_place=last.name,
        delivery_country=last.country,
        delivery_unlocode=None,
        goods=content.goods,
        means=means,
        equipment=wagons + containers,
    )


# --- writing XML -------------------------------------------------------------------------------


def _add(
    parent: etree._Element, name: str, text: str | None = None, **attrs: str
) -> etree._Element:
    namespace = etree.QName(parent).namespace
    child = etree.SubElement(parent, f"{{{namespace}}}{name}", attrs)
    if text is not None:
        child.text = text
    return child


def _clip(text: str, limit: int = 17) -> str:
    # The schemas bound identifiers and names (Identifier17, LimitedString35/70/256).
    return text if len(text) <= limit else text[:limit]


def _when(moment: datetime | date) -> tuple[str, str]:
    """An eFTI DateTime: (formatId, value); 205 = CCYYMMDDHHMMZHHMM in UTC, 102 = CCYYMMDD."""
    if isinstance(moment, datetime):
        return "205", moment.astimezone(UTC).strftime("%Y%m%d%H%M") + "+0000"
    return "102", moment.strftime("%Y%m%d")


def _date_time(parent: etree._Element, name: str, moment: datetime | date) -> None:
    format_id, value = _when(moment)
    _add(parent, name, value, formatId=format_id)


def _kg(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.001")), "f")


def _party(parent: etree._Element, name: str, party: Party) -> None:
    element = _add(parent, name)
    _add(element, "id", _clip(party.id))
    _add(element, "name", _clip(party.name, 70))
    address = _add(element, "postalAddress")
    _add(address, "cityName", _clip(party.address.city, 35))
    _add(address, "countryCode", party.country)
    if party.address.postcode:
        _add(address, "postcode", party.address.postcode)
    _add(address, "streetName", _clip(party.address.street, 35))


def _location(
    parent: etree._Element, name: str, place: str, country: str, unlocode: str | None
) -> None:
    element = _add(parent, name)
    if unlocode is not None:
        _add(element, "id", unlocode, schemeAgencyId=_UNLOCODE_AGENCY)
    _add(element, "name", _clip(place, 256))
    _add(_add(element, "postalAddress"), "countryCode", country)


def _seals(parent: etree._Element, seals: Iterable[Seal]) -> None:
    for seal in seals:
        element = _add(parent, "affixedSeal")
        _add(element, "conditionCode", _SEAL_CONDITION[seal.condition])
        _add(element, "id", seal.number)
        _add(element, "sealingPartyRoleCode", _SEALING_PARTY[seal.affixed_by])


def _goods_item(parent: etree._Element, item: GoodsItem) -> None:
    element = _add(parent, "includedConsignmentItem")
    _add(element, "goodsUnitQuantity", str(item.packages))
    dangerous = item.dangerous_goods
    if dangerous is not None:
        goods = _add(element, "transportDangerousGoods")
        _add(goods, "grossWeight", _kg(item.gross_weight_kg), unitId="KGM")
        _add(goods, "hazardClassificationID", dangerous.hazard_class)
        if dangerous.packing_group is not None:
            _add(goods, "packagingDangerLevelCode", dangerous.packing_group)
        _add(goods, "properShippingName", _clip(item.description, 256))
        _add(goods, "uNDGID", dangerous.un_number.removeprefix("UN"))


def common_dataset(consignment: Consignment) -> etree._Element:
    """The eFTI common data set of a consignment: a `consignment` element valid against
    consignment-common.xsd."""
    root = etree.Element(f"{{{COMMON_NS}}}consignment", nsmap=_default_namespace(COMMON_NS))
    c = consignment
    if c.carrier is not None:
        _party(root, "carrier", c.carrier)
    _date_time(root, "carrierAcceptanceDateTime", c.acceptance_at)
    _location(
        root,
        "carrierAcceptanceLocation",
        c.acceptance_place,
        c.acceptance_country,
        c.acceptance_unlocode,
    )
    for carrier in c.connecting_carriers:
        _party(root, "connectingCarrier", carrier)
    _party(root, "consignee", c.consignee)
    _location(
        root, "consigneeReceiptLocation", c.delivery_place, c.delivery_country, c.delivery_unlocode
    )
    _party(root, "consignor", c.consignor)
    if c.instructions:
        clearance = _add(root, "consignorProvidedBorderClearanceInstructions")
        text = c.instructions
        for start in range(0, len(text), 256):
            _add(clearance, "description", text[start : start + 256])
    if c.delivered_at is not None:
        _date_time(_add(root, "deliveryEvent"), "actualOccurrenceDateTime", c.delivered_at)
    total = sum((g.gross_weight_kg for g in c.goods), Decimal(0))
    _add(root, "grossWeight", _kg(total), unitId="KGM")
    for item in c.goods:
        _goods_item(root, item)
    _movements(root, c.means, with_sequence=True)
    cargo = _add(root, "natureIdentificationCargo")
    for item in c.goods:
        _add(cargo, "identificationText", _clip(item.description, 512))
    _add(root, "numberOfPackages", str(sum(g.packages for g in c.goods)))
    contract = _add(root, "transportContractDocument")
    _date_time(contract, "formattedIssueDateTime", c.issued_at)
    _add(contract, "id", _clip(c.note_id, 35))
    if c.issue_place is not None:
        place = c.issue_place
        _location(contract, "issueLocation", place.name, place.country, place.unlocode)
    _add(contract, "typeCode", c.document_type)
    _equipment(root, c.equipment, common=True)
    return root


def identifier_subset(consignment: Consignment, namespace: str = IDENTIFIER_NS) -> etree._Element:
    """The eFTI identifier subset of a consignment: a `consignment` element valid against
    consignment-identifier.xsd (`namespace` is that of the identifier subset)."""
    root = etree.Element(f"{{{namespace}}}consignment", nsmap=_default_namespace(namespace))
    fill_identifiers(root, consignment)
    return root


def fill_identifiers(root: etree._Element, consignment: Consignment) -> None:
    """Write the identifier subset's elements of `consignment` into `root` (a consignment
    element of the identifier subset's namespace, or a gate's consignment extending it)."""
    _date_time(root, "carrierAcceptanceDateTime", consignment.acceptance_at)
    if consignment.delivered_at is not None:
        _date_time(
            _add(root, "deliveryEvent"), "actualOccurrenceDateTime", consignment.delivered_at
        )
    _movements(root, consignment.means, with_sequence=False)
    _equipment(root, consignment.equipment, common=False)


def _movements(root: etree._Element, means: Iterable[Means], *, with_sequence: bool) -> None:
    for number, item in enumerate(means, start=1):
        movement = _add(root, "mainCarriageTransportMovement")
        _add(movement, "dangerousGoodsIndicator", "true" if item.dangerous_goods else "false")
        _add(movement, "modeCode", item.mode)
        if with_sequence:
            _add(movement, "sequenceNumber", str(number))
        if item.id is None:
            continue
        used = _add(movement, "usedTransportMeans")
        _add(used, "id", _clip(item.id))
        if item.country is not None:
            _add(_add(used, "registrationCountry"), "code", item.country)


def _equipment(root: etree._Element, equipment: Iterable[Equipment], *, common: bool) -> None:
    for number, item in enumerate(equipment, start=1):
        element = _add(root, "usedTransportEquipment")
        if common:
            _seals(element, item.seals)
        for place, carried in enumerate(item.carried, start=1):
            held = _add(element, "carriedTransportEquipment")
            _add(held, "id", carried)
            _add(held, "sequenceNumber", str(place))
        _add(element, "categoryCode", item.category)
        _add(element, "id", _clip(item.id))
        if item.country is not None:
            _add(_add(element, "registrationCountry"), "code", item.country)
        _add(element, "sequenceNumber", str(number))
        if common and item.size_type is not None:
            _add(element, "sizeTypeCode", item.size_type)


def _default_namespace(namespace: str) -> dict[str, str]:
    # lxml takes None as the key of the default namespace; its stubs only allow str keys.
    return cast("dict[str, str]", {None: namespace})


def to_bytes(element: etree._Element) -> bytes:
    """The element as a UTF-8 XML document with its declaration."""
    return etree.tostring(element, xml_declaration=True, encoding="UTF-8", pretty_print=True)
