"""UN/CEFACT D23B exports validate against the shared schemas and carry the note's facts."""

from __future__ import annotations

import copy

from kervan.documents.cimsmgs import CimSmgsNote
from kervan.documents.ecmr import Reservation, ReservationSubject
from kervan.documents.ecmr_lifecycle import Ecmr
from kervan.documents.goods import Seal, SealCondition
from kervan.documents.parties import PartyRole as R
from kervan.documents.uncefact import cimsmgs_to_uncefact, ecmr_to_uncefact
from tests.documents.corridor_samples import (
    ADY,
    CARRIER,
    CONSIGNEE,
    CONSIGNOR,
    COTTON_SHIPPER,
    GR,
    SUCCESSIVE,
    SUCCESSIVE_TR,
    T0,
    TCDD,
    btk_note,
    ecmr_content,
    sig,
)
from tests.shared_data import shared_data
from tests.uncefact_schemas import assert_valid, hs_codes, schema_errors, validator

SCHEMAS = shared_data("standards", "uncefact")
HS = "1"  # UNTDID 3055: the Customs Co-operation Council (WCO), keeper of the HS


def delivered_note() -> Ecmr:
    scratch = Reservation(subject=ReservationSubject.PACKAGING, text="Scratched pallet corner")
    note = Ecmr.draft("ECMR-CN-2025-000731", ecmr_content(), T0).issue(sig(CONSIGNOR, R.CONSIGNOR))
    note = note.add_carrier_reservations((scratch,), sig(CARRIER, R.CARRIER))
    note = note.sign_taking_over(sig(CARRIER, R.CARRIER))
    note = note.sign_taking_over(sig(CONSIGNOR, R.CONSIGNOR))
    note = note.accept_reservations(sig(CONSIGNOR, R.CONSIGNOR)).depart(sig(CARRIER, R.CARRIER))
    note = note.successive_carrier_takes_over(sig(SUCCESSIVE, R.SUCCESSIVE_CARRIER))
    note = note.successive_carrier_takes_over(sig(SUCCESSIVE_TR, R.SUCCESSIVE_CARRIER))
    return note.deliver(sig(CONSIGNEE, R.CONSIGNEE), reservations=(scratch,))


def test_ecmr_draft_and_delivered_validate() -> None:
    draft = Ecmr.draft("ECMR-CN-2025-000730", ecmr_content(), T0)
    assert_valid("UNECE-eCMR-D23B.json", ecmr_to_uncefact(draft))
    exported = ecmr_to_uncefact(delivered_note())
    assert_valid("UNECE-eCMR-D23B.json", exported)
    consignment = exported["specifiedConsignment"][0]
    assert exported["exchangedDocument"]["typeCode"] == {"content": "730"}
    assert consignment["consignor"]["postalTradeAddress"]["countryId"] == {"content": "CN"}
    assert consignment["carrier"]["name"] == [{"content": "ADY Container"}]
    assert [c["id"][0]["content"] for c in consignment["connectingCarrier"]] == [
        SUCCESSIVE.id,
        SUCCESSIVE_TR.id,
    ]
    item = consignment["includedConsignmentItem"][0]
    assert item["applicableDangerousGoods"][0]["undgIdCode"] == {"content": "3480"}
    assert hs_codes(exported) == [{"content": "850760", "listAgencyId": HS}]
    assert item["applicableNote"][0]["subject"] == {
        "content": "Commodity code (Harmonized System 2022)"
    }
    assert item["grossWeight"] == [{"content": "18400.000", "unitCode": "KGM"}]
    equipment = consignment["utilizedLogisticsTransportEquipment"]
    assert equipment[0]["id"] == {"content": "CSQU3054383"}
    assert equipment[1] == {"id": {"content": "10 TT 456"}, "categoryCode": {"content": "SM"}}
    assert "deliveryEvent" in consignment
    assert "pickUpEvent" in consignment
    assert consignment["pickUpEvent"]["applicableNote"][0]["content"] == [
        {"content": "Scratched pallet corner"}
    ]


def test_export_is_refused_by_the_schema_when_broken() -> None:
    exported = ecmr_to_uncefact(delivered_note())
    exported["exchangedDocument"]["typeCode"] = {"content": "720"}  # a rail note's code
    assert list(validator("UNECE-eCMR-D23B.json").iter_errors(exported))


def test_cimsmgs_draft_and_delivered_validate() -> None:
    note = btk_note()
    states = [note]  # the draft and the delivered note: the two ends of what gets exported
    note = note.issue(sig(COTTON_SHIPPER, R.CONSIGNOR))
    note = note.accept(sig(ADY, R.CARRIER)).depart(sig(ADY, R.CARRIER))
    note = note.take_over(sig(GR, R.SUCCESSIVE_CARRIER)).take_over(sig(TCDD, R.SUCCESSIVE_CARRIER))
    states.append(note.deliver(sig(CONSIGNEE, R.CONSIGNEE)))
    for state in states:
        assert_valid("UNECE-CIM-SMGS-ConsignmentNote-D23B.json", cimsmgs_to_uncefact(state))
    exported = cimsmgs_to_uncefact(states[-1])
    consignment = exported["specifiedConsignment"][0]
    routes = [
        m["itineraryRoute"][0]["description"]["content"]
        for m in consignment["mainCarriageLogisticsTransportMovement"]
    ]
    assert routes[1].endswith("1520 mm, SMGS")
    assert routes[3].endswith("1435 mm, CIM")
    assert [t["id"][0]["content"] for t in consignment["transshipmentLogisticsLocation"]] == [
        "554105",
        "568904",
        "568919",
    ]
    assert exported["exchangedDocument"]["typeCode"] == {"content": "720"}
    assert hs_codes(exported) == [{"content": "520100", "listAgencyId": HS}]


def test_broken_seal_on_rail_is_coded_damaged() -> None:
    note = btk_note()
    wagon = note.content.wagons[0]
    broken = wagon.model_copy(
        update={"seals": (Seal(number="AZ778812", condition=SealCondition.BROKEN),)}
    )
    content = note.content.model_copy(update={"wagons": (broken,)})
    exported = cimsmgs_to_uncefact(
        CimSmgsNote(note_id="AZ-2025-000418", content=content, created_at=T0)
    )
    assert_valid("UNECE-CIM-SMGS-ConsignmentNote-D23B.json", exported)
    seal = exported["specifiedConsignment"][0]["utilizedLogisticsTransportEquipment"][0][
        "affixedLogisticsSeal"
    ][0]
    assert seal["conditionCode"] == [{"content": "2"}]


def test_the_hs_code_fits_no_classification_slot_of_d23b() -> None:
    """Why the HS code rides in the item's note: the schemas' coded classification slots of a
    consignment item (typeCode; on the e-CMR also the cargo's statisticalClassificationCode)
    take UNTDID 7357 codes, which in D23B are "ZZZ" only, and refuse an HS code."""
    ecmr = ecmr_to_uncefact(delivered_note())
    cim = cimsmgs_to_uncefact(btk_note())
    for name, exported, slot in (
        ("UNECE-eCMR-D23B.json", ecmr, ("natureIdCargo", "statisticalClassificationCode")),
        ("UNECE-eCMR-D23B.json", ecmr, ("typeCode",)),
        ("UNECE-CIM-SMGS-ConsignmentNote-D23B.json", cim, ("typeCode",)),
        (
            "UNECE-CIM-SMGS-ConsignmentNote-D23B.json",
            cim,
            ("natureIdCargo", "statisticalClassificationCode"),
        ),
    ):
        moved = copy.deepcopy(exported)
        item = moved["specifiedConsignment"][0]["includedConsignmentItem"][0]
        target = item["natureIdCargo"][0] if slot[0] == "natureIdCargo" else item
        target[slot[-1]] = {"content": hs_codes(exported)[0]["content"]}
        assert schema_errors(name, moved), (name, slot)
