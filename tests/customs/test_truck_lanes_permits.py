"""The UZ cotton truck Tashkent -> Istanbul: green lanes for the AEO haulier and e-Permit
control (its TIR operations run through the HTTP API: tests/api/test_shipment_flow.py)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from kervan.customs.offices import CustomsOffices
from kervan.customs.permits import Trip, check_permit, record_permit_use
from kervan.customs.route import customs_route
from kervan.customs.rules import Lane, load_rules
from kervan.documents.epermit import ActivityType, Permit, PermitRecord, PermitType, qr_claims
from kervan.documents.goods import VehiclePlate
from kervan.errors import PermitRefusedError
from kervan.routing.plan import Plan
from kervan.signatures.jws import sign_compact
from kervan.signatures.keys import Es256Signer
from kervan.signatures.trustlist import TrustList
from tests.customs.shipments import (
    T0,
    TRAILER,
    TRUCK,
    Journey,
    truck_declaration,
)

TRIP = Trip(truck_flag="UZ", loading_country="UZ", unloading_country="TR")


def truck_journey(plan: Plan, offices: CustomsOffices) -> Journey:
    route = customs_route(plan, offices, T0)
    return Journey.lodge(offices, truck_declaration(route), T0 - timedelta(hours=12))


def test_the_aeo_haulier_goes_green_and_each_country_recognises_the_last_control(
    tashkent_istanbul: Plan, offices: CustomsOffices
) -> None:
    j = truck_journey(tashkent_istanbul, offices)
    assert [p.country for p in j.content.route.passages] == ["UZ", "KZ", "AZ", "GE", "TR"]
    for country in ("UZ", "KZ", "AZ", "GE", "TR"):
        decision = j.arrive(country)
        # the AEO haulier with a sealed load of fairly valued cotton goes green
        assert decision.lane is Lane.GREEN, decision.reasons
        j.clear(country)
    assert j.lanes["UZ"].reasons[0].rule == "aeo"
    recognised = j.lanes["KZ"].recognised
    assert recognised is not None
    assert recognised.country == "UZ"


# -- e-Permits ------------------------------------------------------------------------------------


@pytest.fixture
def authorities() -> dict[str, Es256Signer]:
    return {
        c: Es256Signer.generate(f"{c.lower()}-permit-2025", party=c)
        for c in ("UZ", "KZ", "AZ", "GE", "TR")
    }


@pytest.fixture
def trust(authorities: dict[str, Es256Signer]) -> TrustList:
    trust = TrustList()
    for signer in authorities.values():
        trust.add_signer(signer, not_before=datetime(2025, 1, 1, tzinfo=T0.tzinfo))
    return trust


def permit(
    entering: str,
    kind: PermitType,
    signer: Es256Signer,
    plate: str = "01 A 123 BC",
    issuer: str = "UZ",
) -> PermitRecord:
    """A permit the authority of `issuer` (by default UZ, the truck's own) issued to its
    haulier for entering `entering`, against the quota `entering` granted."""
    p = Permit(
        permit_id=f"{issuer}-{entering}-2025-{int(kind)}-1",
        permit_type=kind,
        permit_year=2025,
        permit_issuer=issuer,
        permit_issued_for=entering,
        plate_number=plate,
        issued_at=date(2025, 1, 15),
        expires_at=date(2025, 6, 30),
        company_name="Samarkand Trans LLC",
        company_id="UZ-TIR-0457",
        departure_country="UZ",
        arrival_country="TR",
    )
    return PermitRecord(permit=p.model_copy(update={"qr_code": sign_compact(qr_claims(p), signer)}))


def use(
    record: PermitRecord,
    country: str,
    activity: ActivityType,
    at: datetime,
    trust: TrustList,
    vehicles: tuple[VehiclePlate, ...] = (TRUCK, TRAILER),
    qr: str | None = None,
) -> PermitRecord:
    return record_permit_use(
        record,
        qr or record.permit.qr_code or "",
        trust,
        activity=activity,
        control_country=country,
        at=at,
        vehicles=vehicles,
        trip=TRIP,
        rules=load_rules(country).permits,
    )


def test_permits_are_used_entering_and_leaving_each_country(
    tashkent_istanbul: Plan,
    offices: CustomsOffices,
    authorities: dict[str, Es256Signer],
    trust: TrustList,
) -> None:
    j = truck_journey(tashkent_istanbul, offices)
    kinds = {
        "KZ": PermitType.TRANSIT,
        "AZ": PermitType.TRANSIT,
        "GE": PermitType.TRANSIT,
        "TR": PermitType.BILATERAL,
    }
    for country, kind in kinds.items():
        record = permit(country, kind, authorities["UZ"])
        passage = j.content.route.passage(country)
        record = use(record, country, ActivityType.ENTRANCE, passage.expected_entry, trust)
        record = use(record, country, ActivityType.EXIT, passage.expected_exit, trust)
        assert [u.activity_type for u in record.usages] == [
            ActivityType.ENTRANCE,
            ActivityType.EXIT,
        ]
        assert record.state == "used"
    assert record.permit.permit_id == "UZ-TR-2025-1-1"


AT = datetime(2025, 3, 10, 9, 0, tzinfo=T0.tzinfo)


def refused(
    reason: str, record: PermitRecord, trust: TrustList, country: str = "TR", **kw: object
) -> str:
    with pytest.raises(PermitRefusedError) as caught:
        use(record, country, ActivityType.ENTRANCE, kw.pop("at", AT), trust, **kw)  # type: ignore[arg-type]
    assert caught.value.reason == reason, caught.value.message
    return caught.value.message


def test_forged_expired_wrong_plate_and_wrong_type_permits_are_refused(
    authorities: dict[str, Es256Signer], trust: TrustList
) -> None:
    good = permit("TR", PermitType.BILATERAL, authorities["UZ"])
    qr = good.permit.qr_code or ""
    head, _payload, sig = qr.split(".")
    forged_claims = sign_compact(
        dict(qr_claims(good.permit), pn="01 Z 999 ZZ"), authorities["UZ"]
    ).split(".")[1]
    assert "bad_signature" in refused(
        "qr_signature", good, trust, qr=f"{head}.{forged_claims}.{sig}"
    )
    stranger = Es256Signer.generate("uz-permit-fake", party="UZ")
    assert "unknown_kid" in refused(
        "qr_signature", good, trust, qr=sign_compact(qr_claims(good.permit), stranger)
    )
    by_az = sign_compact(qr_claims(good.permit), authorities["AZ"])
    assert "signed by AZ" in refused("qr_signer", good, trust, qr=by_az)
    other = permit("TR", PermitType.BILATERAL, authorities["UZ"], plate="01 B 555 CD")
    assert "pn" in refused("qr_claims", good, trust, qr=other.permit.qr_code)
    assert "30/06/2025" in refused(
        "expired", good, trust, at=datetime(2025, 7, 2, tzinfo=T0.tzinfo)
    )
    assert "15/01/2025" in refused(
        "not_yet_valid", good, trust, at=datetime(2025, 1, 2, tzinfo=T0.tzinfo)
    )
    wrong_plate = (VehiclePlate(number="10 K 777 KA", country="UZ"),)
    assert "01 A 123 BC" in refused("plate_mismatch", good, trust, vehicles=wrong_plate)
    transit_in_tr = permit("TR", PermitType.TRANSIT, authorities["UZ"])
    message = refused("permit_type", transit_in_tr, trust)
    assert "bilateral trip" in message
    assert "type 1" in message
    bilateral_in_kz = permit("KZ", PermitType.BILATERAL, authorities["UZ"])
    assert "transit trip" in refused("permit_type", bilateral_in_kz, trust, country="KZ")
    # A permit for entering TR does not open the Azerbaijani border; one the Kazakh authority
    # issued to a Kazakh haulier does not carry an Uzbek truck.
    assert "entering TR, not AZ" in refused("wrong_authority", good, trust, country="AZ")
    kazakh = permit("TR", PermitType.BILATERAL, authorities["KZ"], issuer="KZ")
    assert "the truck is from UZ" in refused("wrong_haulier_country", kazakh, trust)
    revoked = good.revoke(AT - timedelta(days=1))
    refused("revoked", revoked, trust)


def test_the_control_authoritys_usage_rule_applies(
    authorities: dict[str, Es256Signer], trust: TrustList
) -> None:
    tr = permit("TR", PermitType.BILATERAL, authorities["UZ"])
    tr = use(tr, "TR", ActivityType.ENTRANCE, AT, trust)
    tr = use(tr, "TR", ActivityType.EXIT, AT + timedelta(days=1), trust)
    assert "single round trip" in refused("usage_rule", tr, trust, at=AT + timedelta(days=5))
    kz = permit("KZ", PermitType.TRANSIT, authorities["UZ"])  # KZ allows two entries
    for day in (0, 10):
        kz = use(kz, "KZ", ActivityType.ENTRANCE, AT + timedelta(days=day), trust)
        kz = use(kz, "KZ", ActivityType.EXIT, AT + timedelta(days=day + 1), trust)
    assert "2 of 2 entries" in refused(
        "usage_rule", kz, trust, country="KZ", at=AT + timedelta(days=20)
    )
    ge = permit("GE", PermitType.TRANSIT, authorities["UZ"])
    ok = check_permit(
        ge,
        ge.permit.qr_code or "",
        trust,
        control_country="GE",
        at=AT,
        vehicles=(TRUCK,),
        trip=TRIP,
        rules=load_rules("GE").permits,
    )
    assert (ok.trip_kind.value, ok.signed_by) == ("transit", "uz-permit-2025")


def test_a_usage_rule_per_permit_type_overrides_the_authoritys_general_rule(
    authorities: dict[str, Es256Signer], trust: TrustList
) -> None:
    # KZ allows two entries per permit; an authority that spends transit permits after one
    # crossing says so for type 2 alone.
    kz_rules = load_rules("KZ").permits
    per_type = kz_rules.model_copy(update={"type_rules": {"2": "one_round_trip"}})
    kz = permit("KZ", PermitType.TRANSIT, authorities["UZ"])
    for activity, day in ((ActivityType.ENTRANCE, 0), (ActivityType.EXIT, 1)):
        kz = record_permit_use(
            kz, kz.permit.qr_code or "", trust, activity=activity, control_country="KZ",
            at=AT + timedelta(days=day), vehicles=(TRUCK, TRAILER), trip=TRIP, rules=per_type,
        )  # fmt: skip
    with pytest.raises(PermitRefusedError, match="single round trip"):
        record_permit_use(
            kz, kz.permit.qr_code or "", trust, activity=ActivityType.ENTRANCE,
            control_country="KZ", at=AT + timedelta(days=10), vehicles=(TRUCK, TRAILER),
            trip=TRIP, rules=per_type,
        )  # fmt: skip
    # Under the general rule the same permit enters a second time.
    again = use(kz, "KZ", ActivityType.ENTRANCE, AT + timedelta(days=10), trust)
    assert len(again.usages) == 3
