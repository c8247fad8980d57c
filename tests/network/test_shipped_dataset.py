"""The shipped corridor dataset loads and covers the corridor the product reports on."""

from __future__ import annotations

import pytest

from kervan.network.dataset import load_network
from kervan.network.model import (
    CargoUnit,
    LinkStatus,
    Mode,
    Network,
    SourceKind,
    TransferKind,
)

# Coordinates published in the corridor facts file (lat, lon), by node id.
FACTS_COORDINATES: dict[str, tuple[float, float]] = {
    "KZ-DOSTYK": (45.2522, 82.4839),
    "CNAKL": (45.170, 82.570),
    "KZ-ALTYNKOL": (44.223, 80.385),  # Khorgos, Kazakh side
    "KZALA": (43.252, 76.912),
    "KZAAU": (43.5989, 51.2205),
    "KZKUR": (43.180, 51.681),
    "AZ-ALAT": (39.9774, 49.4448),
    "AZBAK": (40.3718, 49.8654),
    "TMKRW": (40.022, 52.955),
    "GEGAR": (41.460, 45.090),
    "GETBS": (41.691, 44.834),
    "GE-AKHALKALAKI": (41.405, 43.486),
    "TRKSY": (40.598, 43.085),
    "GEPTI": (42.1589, 41.6583),
    "GEBUS": (41.6488, 41.6574),
    "ROCND": (44.167, 28.650),
    "CN-KASHGAR": (39.467, 75.987),
    "UZ-ANDIJAN": (40.783, 72.351),
    "CNXIA": (34.258, 108.929),
    "CNLYG": (34.733, 119.450),
    "BY-BREST": (52.109, 23.717),
    "DEDUI": (51.432, 6.765),
    "TRIST": (41.014, 28.950),
}

REQUIRED_PLACES = {
    # China
    "CNXIA", "CNURM", "CNLYG", "CNAKL", "CNHRS", "CN-KASHGAR",
    # Kazakhstan
    "KZ-DOSTYK", "KZ-ALTYNKOL", "KZALA", "KZ-AKTOGAY", "KZ-SHU", "KZ-KYZYLORDA", "KZ-BEYNEU",
    "KZ-MANGYSTAU", "KZAAU", "KZKUR", "KZSRY", "KZPPK",
    # Kyrgyzstan, Uzbekistan, Turkmenistan
    "KG-MAKMAL", "KG-TORUGART", "KG-IRKESHTAM", "KG-OSH", "KGJLD", "KGFRU",
    "UZTAS", "UZ-KELES", "UZ-ANDIJAN", "UZ-BUKHARA", "UZ-NAVOI",
    "TMFAR", "TM-TURKMENABAT", "TM-ASHGABAT", "TMKRW",
    # Caucasus
    "AZ-ALAT", "AZBAK", "AZ-BOYUK-KESIK", "AZ-RED-BRIDGE",
    "GEGAR", "GETBS", "GE-AKHALKALAKI", "GEPTI", "GEBUS", "GE-SARPI",
    # Turkiye and Europe
    "TRKSY", "TRERZ", "TRVAS", "TRANK", "TRHAL", "TRIST", "TRKPU",
    "ROCND", "HUBUD", "DEDUI", "NLRTM", "DEHAM", "GRPIR",
    # Northern route
    "RUMOW", "RU-SMOLENSK", "RU-ILETSK", "BY-BREST", "PLMAA", "PLWAW",
}  # fmt: skip


@pytest.fixture(scope="module")
def net() -> Network:
    return load_network()


def test_enough_nodes_and_links(net: Network) -> None:
    assert len(net.nodes) >= 70
    assert len(net.links) >= 100
    assert {k.mode for k in net.links.values()} == set(Mode)


def test_named_places_exist(net: Network) -> None:
    missing = REQUIRED_PLACES - set(net.nodes)
    assert not missing, sorted(missing)


def test_unlocode_flag_only_on_locode_shaped_ids(net: Network) -> None:
    for node in net.nodes.values():
        if node.unlocode:
            assert len(node.id) == 5
            assert node.id[:2] == node.country, node.id


def test_facts_coordinates(net: Network) -> None:
    for node_id, (lat, lon) in FACTS_COORDINATES.items():
        node = net.nodes[node_id]
        assert node.lat == pytest.approx(lat, abs=0.05), node_id
        assert node.lon == pytest.approx(lon, abs=0.05), node_id


def test_cku_railway_is_planned_for_2030(net: Network) -> None:
    cku = [k for k in net.links.values() if k.id.startswith("CKU-")]
    assert cku
    for link in cku:
        assert link.mode is Mode.RAIL
        assert link.status is LinkStatus.PLANNED
        assert link.opens_year == 2030
        assert not link.open_in(2026)
        assert link.open_in(2030)
    assert sum(k.distance_km for k in cku) == pytest.approx(523)
    standard = sum(k.distance_km for k in cku if k.gauge_mm == 1435)
    assert standard == pytest.approx(344)
    makmal = [
        t for t in net.transfers if t.node == "KG-MAKMAL" and t.kind is TransferKind.GAUGE_CHANGE
    ]
    assert makmal


def test_btk_sections_match_published_lengths(net: Network) -> None:
    def section(prefix: str) -> float:
        return sum(k.distance_km for k in net.links.values() if k.id.startswith(prefix))

    assert section("BTK-AZ-") == pytest.approx(504)
    assert section("BTK-GE-") == pytest.approx(263)
    assert section("BTK-TR-") == pytest.approx(79)
    assert section("BTK-") == pytest.approx(846)
    assert net.links["BTK-TR-KARTSAKHI-KSY"].gauge_mm == 1435
    assert net.links["BTK-GE-TBS-AKHALKALAKI"].gauge_mm == 1520
    assert set(net.nodes["GE-AKHALKALAKI"].gauge_mm) == {1435, 1520}


def test_dostyk_gauge_change_capacity(net: Network) -> None:
    dostyk = [
        t for t in net.transfers if t.node == "KZ-DOSTYK" and t.kind is TransferKind.GAUGE_CHANGE
    ]
    assert len(dostyk) == 1
    assert dostyk[0].capacity_teu_per_day == 760
    assert {dostyk[0].from_gauge_mm, dostyk[0].to_gauge_mm} == {1435, 1520}


def test_every_estimate_says_how(net: Network) -> None:
    estimates = [s for s in net.sources.values() if s.kind is SourceKind.ESTIMATE]
    assert estimates
    for source in estimates:
        assert source.method is not None, source.id
        assert source.method.strip(), source.id
    assert any(s.kind is SourceKind.PUBLISHED for s in net.sources.values())


def test_every_international_link_has_a_crossing(net: Network) -> None:
    for link in net.links.values():
        a = net.nodes[link.from_node].country
        b = net.nodes[link.to_node].country
        crossing = net.crossing_on(link.id)
        if a == b:
            assert crossing is None, link.id
        else:
            assert crossing is not None, link.id
            assert set(crossing.countries) == {a, b}
            assert crossing.mode is link.mode


def test_units_each_mode_carries(net: Network) -> None:
    for link in net.links.values():
        units = set(link.cost_usd)
        if link.mode is Mode.RAIL:
            assert CargoUnit.TRUCK not in units, link.id
        if link.mode is Mode.SEA:
            assert units <= {CargoUnit.CONTAINER, CargoUnit.BULK}, link.id
        if link.mode is Mode.FERRY:
            assert link.headway_hours is not None, link.id


def test_suez_and_cape_alternatives(net: Network) -> None:
    suez = net.links["SEA-LYG-RTM-SUEZ"]
    cape = net.links["SEA-LYG-RTM-CAPE"]
    assert "EG" in suez.via_countries
    assert "EG" not in cape.via_countries
    assert cape.hours.p50 > suez.hours.p50
