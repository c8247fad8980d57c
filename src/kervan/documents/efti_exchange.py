"""The platform side of the eFTI exchange: an authority's queries in, the gate's answers out.

A competent authority reaches a platform through its national gate with two eDelivery messages
(edelivery/gate.xsd):

- `identifierQuery`: which consignments use this vehicle, trailer, wagon or container? The
  identifier matches a transport means (eFTI618), a transport equipment (eFTI374) or a carried
  equipment (eFTI448) id, case-insensitively, restricted to the kinds named in `type` when given;
  `registrationCountryCode` must be the matched means' or equipment's country (carried equipment
  has none, so it is not filtered by country), `modeCode` and `dangerousGoodsIndicator` those of a
  main-carriage movement (the matched means' own movement). The answer (`identifierResponse`)
  lists each match in the identifier subset with its UIL.
- `uilQuery`: the data set behind a UIL (gate, platform, dataset id); the answer (`uilResponse`)
  holds the common data set, or status 404 with a description.

Queries are parsed without DTDs, entities or network access and checked against the shipped
gate schema; answers are checked against it before they leave. The matching rules are those of
the reference implementation's identifier-query test cases.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any, Final, cast

from lxml import etree

from kervan.documents.efti import (
    EDELIVERY_NS,
    IDENTIFIER_NS,
    Consignment,
    common_dataset,
    identifier_subset,
    schema,
    to_bytes,
)

IDENTIFIER_TYPES: Final = frozenset({"means", "equipment", "carried"})
_ID = f"{{{IDENTIFIER_NS}}}"
_ED = f"{{{EDELIVERY_NS}}}"
_PARSER: Final = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
)


class EftiMessageError(ValueError):
    """An eDelivery message that is not XML or not valid against the gate schema."""


@dataclasses.dataclass(frozen=True, slots=True)
class Uil:
    """A unique identifier link: which gate, which platform, which data set."""

    gate_id: str
    platform_id: str
    dataset_id: str


@dataclasses.dataclass(frozen=True, slots=True)
class IdentifierQuery:
    """An authority's identifier query (absent filters are None; no types means all three)."""

    request_id: str | None
    identifier: str
    types: frozenset[str]
    registration_country: str | None = None
    mode: str | None = None
    dangerous_goods: bool | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class UilQuery:
    """An authority's request for the data set behind a UIL, in the named subsets."""

    request_id: str
    uil: Uil
    subsets: tuple[str, ...]


def _parse(message: bytes, root_name: str) -> etree._Element:
    try:
        root = etree.fromstring(message, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise EftiMessageError(f"the message is not well-formed XML: {exc}") from None
    docinfo: Any = root.getroottree().docinfo  # lxml's stubs lack DocInfo's members
    if docinfo.doctype:
        # No DTD is ever needed: refusing them keeps entities (and their files) out entirely.
        raise EftiMessageError("a DTD is not accepted in an eDelivery message")
    gate = schema("gate")
    if not gate.validate(root):
        first = str(gate.error_log).splitlines()[0].rpartition(": ")[2]
        raise EftiMessageError(f"the message is not valid against gate.xsd: {first}")
    if root.tag != f"{_ED}{root_name}":
        raise EftiMessageError(
            f"expected an eDelivery {root_name}, got {etree.QName(root).localname}"
        )
    return root


def _text(element: etree._Element | None) -> str | None:
    if element is None or element.text is None:
        return None
    return " ".join(element.text.split())  # xsd:token: collapsed whitespace


def query_from_element(query: etree._Element) -> IdentifierQuery:
    """An identifier query from its element (an `identifierQuery`, or a test case's query of
    that type); the element's children are in the eDelivery namespace."""
    identifier = query.find(f"{_ED}identifier")
    text = _text(identifier)
    if identifier is None or not text:
        raise EftiMessageError("an identifier query needs a non-empty identifier")
    types = frozenset((identifier.get("type") or "").split())
    dangerous = _text(query.find(f"{_ED}dangerousGoodsIndicator"))
    return IdentifierQuery(
        request_id=query.get("requestId"),
        identifier=text,
        types=types & IDENTIFIER_TYPES,
        registration_country=_text(query.find(f"{_ED}registrationCountryCode")),
        mode=_text(query.find(f"{_ED}modeCode")),
        dangerous_goods=None if dangerous is None else dangerous in ("true", "1"),
    )


def parse_identifier_query(message: bytes) -> IdentifierQuery:
    """An `identifierQuery` message, checked against the gate schema (EftiMessageError)."""
    return query_from_element(_parse(message, "identifierQuery"))


def parse_uil_query(message: bytes) -> UilQuery:
    """A `uilQuery` message, checked against the gate schema (EftiMessageError)."""
    root = _parse(message, "uilQuery")
    uil = root.find(f"{_ED}uil")
    parts = [_text(uil.find(f"{_ED}{name}")) if uil is not None else None
             for name in ("gateId", "platformId", "datasetId")]  # fmt: skip
    gate_id, platform_id, dataset_id = (part or "" for part in parts)
    subsets = tuple(s.text or "" for s in root.findall(f"{_ED}subsetId"))
    return UilQuery(root.get("requestId", ""), Uil(gate_id, platform_id, dataset_id), subsets)


def _same(a: str | None, b: str) -> bool:
    return a is not None and a.casefold() == b.casefold()


def _country(element: etree._Element) -> str | None:
    return _text(element.find(f"{_ID}registrationCountry/{_ID}code"))


def _movement_fits(movement: etree._Element, query: IdentifierQuery) -> bool:
    if query.mode is not None and _text(movement.find(f"{_ID}modeCode")) != query.mode:
        return False
    if query.dangerous_goods is not None:
        flag = _text(movement.find(f"{_ID}dangerousGoodsIndicator"))
        if flag is None or (flag in ("true", "1")) != query.dangerous_goods:
            return False
    return True


def _country_fits(element: etree._Element, query: IdentifierQuery) -> bool:
    wanted = query.registration_country
    return wanted is None or _same(_country(element), wanted)


def matches(consignment: etree._Element, query: IdentifierQuery) -> bool:
    """True when a consignment's identifier subset (its children in the identifier namespace)
    answers `query`."""
    types = query.types or IDENTIFIER_TYPES
    movements = consignment.findall(f"{_ID}mainCarriageTransportMovement")
    any_movement = any(_movement_fits(m, query) for m in movements) or (
        query.mode is None and query.dangerous_goods is None
    )
    if "means" in types:
        for movement in movements:
            for means in movement.findall(f"{_ID}usedTransportMeans"):
                if (
                    _same(_text(means.find(f"{_ID}id")), query.identifier)
                    and _country_fits(means, query)
                    and _movement_fits(movement, query)
                ):
                    return True
    equipment = consignment.findall(f"{_ID}usedTransportEquipment")
    if "equipment" in types and any_movement:
        for item in equipment:
            if _same(_text(item.find(f"{_ID}id")), query.identifier) and _country_fits(item, query):
                return True
    if "carried" in types and any_movement:
        for item in equipment:
            for carried in item.findall(f"{_ID}carriedTransportEquipment"):
                if _same(_text(carried.find(f"{_ID}id")), query.identifier):
                    return True
    return False


def answers(consignment: Consignment, query: IdentifierQuery) -> bool:
    """True when a consignment the platform holds answers `query`."""
    return matches(identifier_subset(consignment), query)


def _checked(root: etree._Element) -> bytes:
    gate = schema("gate")
    if not gate.validate(root):  # a bug of ours, never the caller's: say so loudly
        raise AssertionError(f"an eFTI answer is not valid against gate.xsd: {gate.error_log}")
    return to_bytes(root)


def _response(
    name: str, request_id: str | None, status: str, nsmap: dict[str, str]
) -> etree._Element:
    root = etree.Element(f"{_ED}{name}", nsmap=nsmap)
    root.set("status", status)
    if request_id:
        root.set("requestId", request_id)
    return root


def identifier_response(request_id: str | None, found: Iterable[tuple[Consignment, Uil]]) -> bytes:
    """The `identifierResponse` listing each consignment found in the identifier subset, with
    its UIL (status 200, possibly with no consignment)."""
    root = _response(
        "identifierResponse",
        request_id,
        "200",
        cast("dict[str, str]", {"ed": EDELIVERY_NS, None: IDENTIFIER_NS}),
    )
    for consignment, uil in found:
        element = etree.SubElement(root, f"{_ED}consignment")
        for child in list(identifier_subset(consignment)):
            element.append(child)
        _uil(element, uil)
    return _checked(root)


def uil_response(request_id: str, consignment: Consignment | None, description: str) -> bytes:
    """The `uilResponse`: the common data set of the consignment (status 200), or status 404
    with `description` when the platform holds no such data set."""
    root = _response(
        "uilResponse", request_id, "200" if consignment else "404", {"ed": EDELIVERY_NS}
    )
    if consignment is None:
        etree.SubElement(root, f"{_ED}description").text = description
    else:
        root.append(common_dataset(consignment))
    return _checked(root)


def _uil(parent: etree._Element, uil: Uil) -> None:
    element = etree.SubElement(parent, f"{_ED}uil")
    etree.SubElement(element, f"{_ED}gateId").text = uil.gate_id
    etree.SubElement(element, f"{_ED}platformId").text = uil.platform_id
    etree.SubElement(element, f"{_ED}datasetId").text = uil.dataset_id
