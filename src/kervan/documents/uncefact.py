"""Standard exports: e-CMR as UN/CEFACT eCMR D23B JSON, CIM/SMGS as the D23B ConsignmentNote.

The output validates against the UN/CEFACT JSON Schemas (2020-12) of release D23B; those
schemas are test fixtures, never read here. Amounts and weights are decimal strings, as the
schemas' decimalType demands; dates ISO 8601 with their zone.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pycountry

from kervan.documents.cimsmgs import CimSmgsNote, CimSmgsStep, Station
from kervan.documents.ecmr import ChargeKind, Payer, Place
from kervan.documents.ecmr_lifecycle import Ecmr, EcmrStep
from kervan.documents.goods import Container, GoodsItem, Seal, SealCondition, SealingParty
from kervan.documents.parties import Party

Json = dict[str, Any]

ECMR_GUIDELINE = "urn:un:unece:uncefact:data:standard:eCMR:D23B"
CIM_SMGS_GUIDELINE = "urn:un:unece:uncefact:data:standard:CIM-SMGS-ConsignmentNote:D23B"
HS_AGENCY = "1"  # UNTDID 3055: CCC (Customs Co-operation Council), the WCO, keeper of the HS

_SEAL_CONDITION = {SealCondition.INTACT: "1", SealCondition.BROKEN: "4"}  # UNTDID 4517
_SEALING_PARTY = {
    SealingParty.CARRIER: "CA",
    SealingParty.CUSTOMS: "CU",
    SealingParty.SHIPPER: "SH",
}
_CHARGE_CATEGORY = {  # UNTDID 5237
    ChargeKind.CARRIAGE: "14",
    ChargeKind.SUPPLEMENTARY: "2",
    ChargeKind.CUSTOMS_DUTIES: "23",
    ChargeKind.OTHER: "12",
}
_PACKING_GROUP_LEVEL = {"I": "1", "II": "2", "III": "3"}  # UNTDID 8339
_MAIN_CARRIAGE_STAGE = ("21", "22", "23", "15", "16", "17", "18", "19")  # UNTDID 8051


def _text(value: str) -> Json:
    return {"content": value}


def _num(value: Decimal | int) -> str:
    text = format(Decimal(value), "f")
    return text.lstrip("+")


def _kg(value: Decimal) -> Json:
    return {"content": _num(value), "unitCode": "KGM"}


def _country_name(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code)
    return country.name if country is not None else code


def _party(party: Party, *, country_id: bool = True, address: bool = True) -> Json:
    """A trade party; some schema slots forbid the address's countryId, so it can be left out."""
    out: Json = {"id": [_text(party.id)], "name": [_text(party.name)]}
    if address:
        addr: Json = {
            "streetName": [_text(party.address.street)],
            "cityName": [_text(party.address.city)],
        }
        if party.address.postcode:
            addr["postcodeCode"] = [_text(party.address.postcode)]
        if country_id:
            addr["countryId"] = {"content": party.country}
        else:
            addr["countryName"] = [_text(_country_name(party.country))]
        out["postalTradeAddress"] = addr
    return out


def _place(place: Place, type_code: str) -> Json:
    out: Json = {"name": [_text(place.name)], "typeCode": [{"content": type_code}]}
    if place.unlocode:
        out["id"] = [_text(place.unlocode)]
    return out


def _seal(seal: Seal) -> Json:
    return {
        "id": [_text(seal.number)],
        "conditionCode": [{"content": _SEAL_CONDITION[seal.condition]}],
        "sealingPartyRoleCode": {"content": _SEALING_PARTY[seal.affixed_by]},
    }


def _rail_seal(seal: Seal) -> Json:
    """The CIM/SMGS note only codes a damaged seal and a shipper's seal; others stay uncoded."""
    out: Json = {"id": [_text(seal.number)]}
    if seal.condition is SealCondition.BROKEN:
        out["conditionCode"] = [{"content": "2"}]
    if seal.affixed_by is SealingParty.SHIPPER:
        out["sealingPartyRoleCode"] = {"content": "SH"}
    return out


def hs_note(hs_code: str, *, with_subject: bool) -> Json:
    """The consignment item's commodity code (HS 2022) as D23B can carry it: a note whose subject
    code is "HS" and whose content code is the HS code, kept by the Customs Co-operation Council
    (the WCO, agency "1" of UNTDID 3055).

    D23B's coded classification slots of a consignment item, its typeCode and (e-CMR only) its
    cargo's statisticalClassificationCode, take codes of UNTDID 7357, whose D23B list holds only
    "ZZZ" (mutually defined): an HS code there does not validate, and the CIM/SMGS note's cargo
    has no classification at all. The note is the one slot both schemas accept for it."""
    note: Json = {
        "subjectCode": [{"content": "HS"}],
        "contentCode": [{"content": hs_code, "listAgencyId": HS_AGENCY}],
    }
    if with_subject:
        note["subject"] = _text("Commodity code (Harmonized System 2022)")
    return note


def _consignment_item(index: int, item: GoodsItem, *, with_subject: bool) -> Json:
    """A goods item, with its HS code in a note (see `hs_note`)."""
    package: Json = {
        "itemQuantity": {"content": str(item.packages)},
        "typeCode": [{"content": item.package_kind}],
    }
    out: Json = {
        "sequenceNumeric": {"content": str(index)},
        "grossWeight": [_kg(item.gross_weight_kg)],
        "natureIdCargo": [{"id": [_text(item.description)]}],
        "applicableNote": [hs_note(item.hs_code, with_subject=with_subject)],
    }
    if item.value is not None and item.currency is not None:
        out["invoiceAmount"] = [{"content": _num(item.value), "currencyId": item.currency}]
    if item.dangerous_goods is not None:
        dg = item.dangerous_goods
        danger: Json = {
            "undgIdCode": {"content": dg.un_number.removeprefix("UN")},
            "regulationCode": {"content": "ADR"},
            "technicalName": [_text(f"{item.description} (class {dg.hazard_class})")],
        }
        if dg.packing_group is not None:
            danger["packagingDangerLevelCode"] = {"content": _PACKING_GROUP_LEVEL[dg.packing_group]}
        out["applicableDangerousGoods"] = [danger]
    if item.marks:
        package["physicalLogisticsShippingMarks"] = [{"marking": [_text(item.marks)]}]
    out["transportLogisticsPackage"] = [package]
    return out


def _container(container: Container) -> Json:
    out: Json = {"id": _text(container.number), "categoryCode": {"content": "CN"}}
    if container.seals:
        out["isOrHasSealed"] = True
        out["affixedLogisticsSeal"] = [_seal(s) for s in container.seals]
    return out


def ecmr_to_uncefact(note: Ecmr) -> Json:
    """In: an e-CMR (any state). Out: its current version as UN/CEFACT eCMR D23B JSON, with the
    taking over and delivery as events certified by the signatories, reservations as notes."""
    content = note.content
    issued = note.acts_of(EcmrStep.ISSUE)
    issue_time = issued[0].evidence.signed_at if issued else note.current.created_at
    goods = content.goods
    consignment: Json = {
        "id": [_text(note.note_id)],
        "grossWeight": [_kg(content.gross_weight_kg)],
        "consignmentItemQuantity": {"content": str(len(goods))},
        "consignor": _party(content.consignor),
        "consignee": _party(content.consignee),
        "carrier": _party(content.carrier, country_id=False),
        "carrierAcceptanceLogisticsLocation": _place(content.place_of_taking_over, "10"),
        "consigneeReceiptLogisticsLocation": _place(content.place_of_delivery, "4"),
        "includedConsignmentItem": [
            _consignment_item(i, g, with_subject=True) for i, g in enumerate(goods, start=1)
        ],
        "mainCarriageLogisticsTransportMovement": [_movement(note)],
    }
    if content.successive_carriers:
        consignment["connectingCarrier"] = [
            _party(c, country_id=False) for c in content.successive_carriers
        ]
    equipment = [_container(c) for c in content.containers]
    equipment += [
        {"id": _text(p.number), "categoryCode": {"content": "SM"}}
        for p in content.vehicle_plates[1:]
    ]
    if equipment:
        consignment["utilizedLogisticsTransportEquipment"] = equipment
    if content.charges:
        consignment["applicableLogisticsServiceCharge"] = [
            {
                "paymentArrangementCode": {"content": "P" if c.payer is Payer.CONSIGNOR else "C"},
                "categoryCode": {"content": _CHARGE_CATEGORY[c.kind]},
                "appliedAmount": [{"content": _num(c.amount), "currencyId": c.currency}],
                "payingPartyRoleCode": {"content": "CZ" if c.payer is Payer.CONSIGNOR else "CN"},
            }
            for c in content.charges
        ]
    if content.consignor_instructions:
        consignment["consignorProvidedBorderClearanceInstructions"] = [
            {"description": [_text(content.consignor_instructions)]}
        ]
    taking_over = note.acts_of(EcmrStep.SIGN_TAKING_OVER)
    if taking_over:
        pick_up: Json = {
            "actualOccurrenceDateTime": max(a.evidence.signed_at for a in taking_over).isoformat(),
            "occurrenceLogisticsLocation": {"name": [_text(content.place_of_taking_over.name)]},
            "certifying": [{"id": [_text(a.evidence.party_id)]} for a in taking_over],
        }
        if note.carrier_reservations:
            pick_up["applicableNote"] = _reservation_notes(note.carrier_reservations, "carrier")
        consignment["pickUpEvent"] = pick_up
    delivered = note.acts_of(EcmrStep.DELIVER)
    if delivered:
        delivery: Json = {
            "actualOccurrenceDateTime": delivered[-1].evidence.signed_at.isoformat(),
            "occurrenceLogisticsLocation": {"name": [_text(content.place_of_delivery.name)]},
            "certifying": [{"id": [_text(delivered[-1].evidence.party_id)]}],
        }
        if note.consignee_reservations:
            delivery["applicableNote"] = _reservation_notes(
                note.consignee_reservations, "consignee"
            )
        consignment["deliveryEvent"] = delivery
    return {
        "exchangedDocumentContext": {
            "businessProcessSpecifiedDocumentContextParameter": [{"id": _text("eCMR")}],
            "guidelineSpecifiedDocumentContextParameter": [{"id": _text(ECMR_GUIDELINE)}],
        },
        "exchangedDocument": {
            "id": _text(f"{note.note_id}/v{note.current.number}"),
            "typeCode": {"content": "730"},
            "issueDateTime": issue_time.isoformat(),
            "remarks": [_text(f"state: {note.state.value}")],
            "issueLogisticsLocation": {"name": [_text(content.place_of_issue.name)]},
            "issuer": {
                "id": [_text(content.consignor.id)],
                "name": [_text(content.consignor.name)],
            },
            "recipient": [
                {"id": [_text(content.consignee.id)], "name": [_text(content.consignee.name)]}
            ],
        },
        "specifiedConsignment": [consignment],
    }


def _movement(note: Ecmr) -> Json:
    plate = note.content.vehicle_plates[0]
    return {
        "stageCode": {"content": _MAIN_CARRIAGE_STAGE[0]},
        "modeCode": {"content": "3"},
        "usedLogisticsTransportMeans": {
            "id": [_text(plate.number)],
            "registrationTradeCountry": {"id": [{"content": plate.country}]},
        },
    }


def _reservation_notes(reservations: tuple[Any, ...], by: str) -> list[Json]:
    return [
        {
            "subject": _text(f"Reservations of the {by}"),
            "subjectCode": [{"content": r.subject.value}],
            "content": [_text(r.text)],
        }
        for r in reservations
    ]


def _station(station: Station) -> Json:
    return {"id": [_text(station.code)], "name": [_text(station.name)]}


def cimsmgs_to_uncefact(note: CimSmgsNote) -> Json:
    """In: a CIM/SMGS note (any state). Out: UN/CEFACT D23B CIM/SMGS ConsignmentNote JSON, one
    main-carriage movement per rail section (railway, gauge and law in its route description)
    and the change points as transshipment locations."""
    content = note.content
    issued = [a for a in note.acts if a.step is CimSmgsStep.ISSUE]
    accepted = [a for a in note.acts if a.step is CimSmgsStep.ACCEPT]
    document: Json = {
        "id": _text(note.note_id),
        "typeCode": {"content": "720"},
        "issueDateTime": (issued[0].evidence.signed_at if issued else note.created_at).isoformat(),
        "information": [_text(f"state: {note.state.value}")],
    }
    if issued:
        document["firstSignatoryDocumentAuthentication"] = {
            "actualDateTime": issued[0].evidence.signed_at.isoformat(),
            "statement": _text(f"signed by the consignor {issued[0].evidence.party_id}"),
        }
    if accepted:
        document["secondSignatoryDocumentAuthentication"] = {
            "statement": _text(
                f"accepted by the forwarding railway {accepted[0].evidence.party_id}"
            )
        }
    wagons = [
        {
            "id": _text(w.number),
            "categoryCode": {"content": "RR"},
            **({"affixedLogisticsSeal": [_rail_seal(s) for s in w.seals]} if w.seals else {}),
        }
        for w in content.wagons
    ]
    containers = [
        {
            "id": _text(c.number),
            "characteristicCode": {"content": c.size_type or "CN"},
            **({"affixedLogisticsSeal": [_rail_seal(s) for s in c.seals]} if c.seals else {}),
        }
        for c in content.containers
    ]
    consignment: Json = {
        "id": [_text(note.note_id)],
        "grossWeight": [_kg(sum((g.gross_weight_kg for g in content.goods), Decimal(0)))],
        "consignor": _party(content.consignor),
        "consignee": _party(content.consignee),
        "carrier": _party(content.route[0].railway),
        "carrierAcceptanceLogisticsLocation": _station(content.forwarding_station),
        "finalDestinationLogisticsLocation": {
            "id": [_text(content.destination_station.code)],
            "typeCode": [{"content": "28"}],
        },
        "includedConsignmentItem": [
            _consignment_item(i, g, with_subject=False) for i, g in enumerate(content.goods, 1)
        ],
        "utilizedLogisticsTransportEquipment": wagons + containers,
        "mainCarriageLogisticsTransportMovement": [
            {
                "stageCode": {"content": "20"},
                "modeCode": {"content": "2"},
                "id": _text(str(i)),
                "itineraryRoute": [
                    {
                        "id": _text(section.railway.id),
                        "description": _text(
                            f"{section.railway.name}: {section.from_station.name} - "
                            f"{section.to_station.name}, {int(section.gauge)} mm, "
                            f"{section.law.value}"
                        ),
                    }
                ],
            }
            for i, section in enumerate(content.route, start=1)
        ],
    }
    if content.change_points:
        consignment["transshipmentLogisticsLocation"] = [
            {"id": [_text(p.station.code)]} for p in content.change_points
        ]
    return {
        "exchangedDocumentContext": {
            "guidelineSpecifiedDocumentContextParameter": [{"id": _text(CIM_SMGS_GUIDELINE)}],
        },
        "exchangedDocument": document,
        "specifiedConsignment": [consignment],
    }
