"""Which documents a route needs: the rules on hand-built corridor journeys."""

from __future__ import annotations

from kervan.documents.kinds import DocumentKind
from kervan.network.model import Mode
from kervan.routing.requirements import (
    DocumentNeed,
    LegFacts,
    PermitType,
    documents_needed,
)


def road(a: str, b: str) -> LegFacts:
    return LegFacts(Mode.ROAD, a, b)


def rail(a: str, b: str, gauge: int, frm: str = "", to: str = "") -> LegFacts:
    return LegFacts(Mode.RAIL, a, b, gauge_mm=gauge, from_node=frm, to_node=to)


def ferry(a: str, b: str) -> LegFacts:
    return LegFacts(Mode.FERRY, a, b)


def permits(needs: list[DocumentNeed]) -> dict[str, PermitType | None]:
    """The e-Permits by the country entered; each is issued by the truck's own country."""
    found = [n for n in needs if n.kind is DocumentKind.EPERMIT]
    for need in found:
        assert need.issuer_country is not None
        assert need.issuer_country not in need.countries
        assert need.reason.startswith(f"a {need.issuer_country}-registered truck enters")
    return {n.countries[0]: n.permit_type for n in found}


def test_uzbek_truck_tashkent_to_istanbul_over_the_caspian() -> None:
    # Tashkent -> Turkmenabat -> Turkmenbashi, ferry to Alat, Georgia, Sarp, Istanbul.
    legs = [
        road("UZ", "TM"),
        road("TM", "TM"),
        ferry("TM", "AZ"),
        road("AZ", "GE"),
        road("GE", "TR"),
        road("TR", "TR"),
    ]
    needs = documents_needed(legs, truck_flag="UZ")
    kinds = [n.kind for n in needs]
    assert kinds.count(DocumentKind.ECMR) == 1
    assert kinds.count(DocumentKind.ETIR) == 1
    ecmr = next(n for n in needs if n.kind is DocumentKind.ECMR)
    assert ecmr.legs == (0, 1, 2, 3, 4, 5)  # the Ro-Ro ferry is part of the road carriage
    assert ecmr.countries == ("UZ", "TM", "AZ", "GE", "TR")
    assert permits(needs) == {
        "TM": PermitType.TRANSIT,
        "AZ": PermitType.TRANSIT,
        "GE": PermitType.TRANSIT,
        "TR": PermitType.BILATERAL,
    }
    assert DocumentKind.BILL_OF_LADING not in kinds


def test_turkish_truck_between_two_other_countries_needs_third_country_permits() -> None:
    needs = documents_needed([road("UZ", "TM"), road("TM", "AZ")], truck_flag="TR")
    assert permits(needs) == {
        "UZ": PermitType.THIRD_COUNTRY,
        "TM": PermitType.TRANSIT,
        "AZ": PermitType.THIRD_COUNTRY,
    }


def test_eu_truck_needs_no_permit_inside_the_eu() -> None:
    legs = [road("TR", "BG"), road("BG", "RO"), road("RO", "HU"), road("HU", "DE")]
    assert permits(documents_needed(legs, truck_flag="DE")) == {"TR": PermitType.BILATERAL}
    # A Turkish truck on the same trip needs one for every country it enters.
    turkish = permits(documents_needed(legs, truck_flag="TR"))
    assert turkish == {
        "BG": PermitType.TRANSIT,
        "RO": PermitType.TRANSIT,
        "HU": PermitType.TRANSIT,
        "DE": PermitType.BILATERAL,
    }


def test_truck_flag_defaults_to_the_country_where_the_road_run_starts() -> None:
    needs = documents_needed([road("AZ", "GE"), road("GE", "TR")])
    assert permits(needs) == {"GE": PermitType.TRANSIT, "TR": PermitType.BILATERAL}


def test_a_truck_needs_no_permit_for_its_own_country_and_its_authority_issues_the_others() -> None:
    # A Kazakh truck Almaty -> Aktau, the ferry to Baku, Georgia, Istanbul; then back loaded.
    legs = [
        road("KZ", "KZ"),
        ferry("KZ", "AZ"),
        road("AZ", "GE"),
        road("GE", "TR"),
        road("TR", "TR"),
    ]
    for flag in ("KZ", "kz"):
        needs = documents_needed(legs, truck_flag=flag)
        assert permits(needs) == {
            "AZ": PermitType.TRANSIT,
            "GE": PermitType.TRANSIT,
            "TR": PermitType.BILATERAL,
        }
        assert {n.issuer_country for n in needs if n.kind is DocumentKind.EPERMIT} == {"KZ"}
    back = [road("TR", "GE"), road("GE", "AZ"), ferry("AZ", "KZ"), road("KZ", "KZ")]
    assert permits(documents_needed(back, truck_flag="KZ")) == {
        "GE": PermitType.TRANSIT,
        "AZ": PermitType.TRANSIT,
        "TR": PermitType.BILATERAL,
    }


def test_bilateral_road_trip_needs_no_tir() -> None:
    needs = documents_needed([road("GE", "TR")], truck_flag="GE")
    assert [n.kind for n in needs] == [DocumentKind.ECMR, DocumentKind.EPERMIT]


def test_domestic_road_needs_no_international_documents() -> None:
    assert documents_needed([road("KZ", "KZ"), road("KZ", "KZ")]) == []


def test_rail_container_xian_to_kars_changes_law_at_dostyk_and_akhalkalaki() -> None:
    legs = [
        rail("CN", "CN", 1435, "CNXIY", "CNALK"),
        rail("CN", "KZ", 1435, "CNALK", "KZDKC"),
        rail("KZ", "KZ", 1520, "KZDKC", "KZAKX"),
        ferry("KZ", "AZ"),
        rail("AZ", "GE", 1520, "AZALT", "GE-AKHALKALAKI"),
        rail("GE", "TR", 1435, "GE-AKHALKALAKI", "TRKSY"),
    ]
    needs = documents_needed(legs)
    assert [n.kind for n in needs] == [DocumentKind.CIM_SMGS]
    note = needs[0]
    assert note.legs == (0, 1, 2, 3, 4, 5)
    assert note.countries == ("CN", "KZ", "AZ", "GE", "TR")
    assert note.law_change_at == ("KZDKC", "GE-AKHALKALAKI")


def test_sea_and_uncovered_ferry_legs_travel_on_a_bill_of_lading() -> None:
    legs = [LegFacts(Mode.SEA, "CN", "NL", via_countries=("EG",)), road("NL", "DE")]
    needs = documents_needed(legs, truck_flag="NL")
    assert [n.kind for n in needs] == [DocumentKind.BILL_OF_LADING, DocumentKind.ECMR]
    assert permits(needs) == {}
    alone = documents_needed([ferry("KZ", "AZ")])
    assert [n.kind for n in alone] == [DocumentKind.BILL_OF_LADING]
