"""A dataset with any bad value is refused with the file, record and field named."""

from __future__ import annotations

from pathlib import Path

import pytest

from kervan.errors import DatasetError
from kervan.network.dataset import load_network
from kervan.network.model import CargoUnit, Mode, Network


def edit(folder: Path, name: str, old: str, new: str) -> None:
    path = folder / name
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_mini_dataset_loads(mini_network: Network) -> None:
    assert set(mini_network.nodes) >= {"CNXIY", "KZDKC", "AZALT", "TRIST"}
    dostyk = next(t for t in mini_network.transfers if t.node == "KZDKC")
    assert dostyk.capacity_teu_per_day == 760
    assert mini_network.crossing_on("alashankou-dostyk") is not None
    assert mini_network.crossing_on("dostyk-aktau") is None
    assert mini_network.cargo_units[CargoUnit.TRUCK].tonnes == 20.0
    assert mini_network.links["aktau-alat-ferry"].mode is Mode.FERRY


@pytest.mark.parametrize(
    ("file", "old", "new", "record", "field", "problem"),
    [
        (
            "links/main.toml",
            'to_node = "KZDKC"',
            'to_node = "KZXXX"',
            "alashankou-dostyk",
            "to_node",
            "unknown node",
        ),
        (
            "links/main.toml",
            "hours = { p50 = 72, p90 = 96 }",
            "hours = { p50 = -72, p90 = 96 }",
            "xian-alashankou",
            "hours.p50",
            "greater than or equal to 0",
        ),
        (
            "links/main.toml",
            "hours = { p50 = 72, p90 = 96 }",
            "hours = { p50 = 72, p90 = 50 }",
            "xian-alashankou",
            "hours",
            "p90 (50.0) is below p50 (72.0)",
        ),
        ("nodes.toml", 'country = "CN"', 'country = "XX"', "CNXIY", "country", "no ISO 3166"),
        ("nodes.toml", 'country = "CN"', 'country = "china"', "CNXIY", "country", "pattern"),
        (
            "crossings.toml",
            "dwell_hours = { p50 = 48.6, p90 = 67.4 }",
            "dwell_hours = { p50 = 67.4, p90 = 48.6 }",
            "CN-KZ-alashankou-dostyk-rail",
            "dwell_hours",
            "below p50",
        ),
        (
            "links/main.toml",
            'sources = { "*" = "est-link" }',
            'sources = { "*" = "rumour" }',
            "xian-alashankou",
            "sources.*",
            "unknown source 'rumour'",
        ),
        (
            "links/main.toml",
            'sources = { "*" = "est-link" }',
            'sources = { distance_km = "est-link" }',
            "xian-alashankou",
            "sources.hours",
            "figure names no source",
        ),
        (
            "links/main.toml",
            "gauge_mm = 1435\nheadway_hours = 24",
            "gauge_mm = 1520\nheadway_hours = 24",
            "xian-alashankou",
            "gauge_mm",
            "no 1520 mm track",
        ),
        (
            "crossings.toml",
            'countries = ["CN", "KZ"]',
            'countries = ["CN", "RU"]',
            "CN-KZ-alashankou-dostyk-rail",
            "countries",
            "joins",
        ),
        (
            "transfers.toml",
            'node = "KZDKC"',
            'node = "KZNOPE"',
            "KZNOPE:rail-rail",
            "node",
            "unknown node",
        ),
        (
            "links/main.toml",
            'status = "planned"\nopens_year = 2031',
            'status = "planned"',
            "moscow-istanbul",
            "-",
            "planned link needs opens_year",
        ),
        (
            "links/main.toml",
            "cost_usd = { container = 1800, bulk = 40 }",
            "cost_usd = { container = 1800, truck = 900 }",
            "xian-alashankou",
            "cost_usd",
            "rail links do not carry trucks",
        ),
    ],
)
def test_broken_value_is_named(
    mini_copy: Path, file: str, old: str, new: str, record: str, field: str, problem: str
) -> None:
    edit(mini_copy, file, old, new)
    with pytest.raises(DatasetError) as caught:
        load_network(mini_copy)
    error = caught.value
    assert (error.file, error.record, error.field) == (file, record, field)
    assert problem in error.problem
    assert file in str(error)
    assert record in str(error)


def test_international_link_without_crossing_is_refused(mini_copy: Path) -> None:
    edit(mini_copy, "crossings.toml", 'link = "dostyk-moscow"', 'link = "dostyk-aktau"')
    with pytest.raises(DatasetError) as caught:
        load_network(mini_copy)
    # dostyk-aktau is domestic, so the crossing record itself is wrong first.
    assert caught.value.record == "KZ-RU-rail"
    assert caught.value.field == "countries"


def test_missing_crossing_is_refused(mini_copy: Path) -> None:
    text = (mini_copy / "crossings.toml").read_text(encoding="utf-8")
    kept = text.split("[[crossing]]")
    (mini_copy / "crossings.toml").write_text(
        "[[crossing]]".join(part for part in kept if "KZ-RU-rail" not in part), encoding="utf-8"
    )
    with pytest.raises(DatasetError) as caught:
        load_network(mini_copy)
    assert caught.value.record == "dostyk-moscow"
    assert "no border crossing" in caught.value.problem


def test_duplicate_id_names_both_places(mini_copy: Path) -> None:
    extra = (mini_copy / "links" / "main.toml").read_text(encoding="utf-8").split("[[link]]")[1]
    (mini_copy / "links" / "more.toml").write_text("[[link]]" + extra, encoding="utf-8")
    with pytest.raises(DatasetError) as caught:
        load_network(mini_copy)
    assert caught.value.file == "links/more.toml"
    assert caught.value.record == "xian-alashankou"
    assert "also in links/main.toml" in caught.value.problem


def test_estimate_without_method_is_refused(mini_copy: Path) -> None:
    edit(
        mini_copy,
        "sources.toml",
        'method = "average loaded FEU payload from typical corridor cargo"\n',
        "",
    )
    with pytest.raises(DatasetError) as caught:
        load_network(mini_copy)
    assert (caught.value.file, caught.value.record) == ("sources.toml", "est-units")
    assert "method" in caught.value.problem


def test_bad_toml_names_the_file(mini_copy: Path) -> None:
    edit(mini_copy, "nodes.toml", 'name = "Dostyk"', 'name = "Dostyk')
    with pytest.raises(DatasetError) as caught:
        load_network(mini_copy)
    assert caught.value.file == "nodes.toml"
    assert "not valid TOML" in caught.value.problem


def test_missing_file_is_named(mini_copy: Path) -> None:
    (mini_copy / "transfers.toml").unlink()
    with pytest.raises(DatasetError) as caught:
        load_network(mini_copy)
    assert caught.value.file == "transfers.toml"
    assert "missing" in caught.value.problem


def test_unknown_field_is_refused(mini_copy: Path) -> None:
    edit(mini_copy, "nodes.toml", 'name = "Dostyk"', 'name = "Dostyk"\nmayor = "nobody"')
    with pytest.raises(DatasetError) as caught:
        load_network(mini_copy)
    assert (caught.value.record, caught.value.field) == ("KZDKC", "mayor")
