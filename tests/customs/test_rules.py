"""Risk rule files: the shipped ones load, bad values are refused naming file, record, field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kervan.customs.rules import Lane, load_rules, shipped_rules
from kervan.errors import DatasetError
from kervan.network.model import SourceKind


@pytest.fixture
def rules_copy(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(str(shipped_rules()), target)
    return target


def test_shipped_rules_load_for_every_country() -> None:
    countries = ["AZ", "GE", "KZ", "TR", "UZ"]
    shipped = sorted(
        entry.name for entry in shipped_rules().iterdir() if entry.name.endswith(".toml")
    )
    assert shipped == [*(f"{c}.toml" for c in countries), "default.toml"]
    for country in [None, *countries]:
        rules = load_rules(country)
        assert rules.lanes.yellow_from < rules.lanes.red_from
        sources = {s.id: s for s in rules.source}
        named = [
            *(r.source for r in rules.sensitive_hs),
            *(r.source for r in rules.value_reference),
            *(r.source for r in rules.currency_rate),
        ]
        for source_id in named:
            source = sources[source_id]
            assert source.kind is SourceKind.PUBLISHED or source.method
    assert load_rules("KZ").files == ("default.toml", "KZ.toml")
    assert load_rules("KZ").permits.usage_rule == "max_entries_per_country"
    assert load_rules("UZ").lanes.red_from == 65.0
    assert "GE" in load_rules("TR").rules.recognised_control.members
    assert "GE" not in load_rules("AZ").rules.recognised_control.members
    tobacco = {s.prefix: s.weight for s in load_rules("TR").sensitive_hs}["24"]
    assert tobacco == 40.0
    assert {s.prefix: s.weight for s in load_rules().sensitive_hs}["24"] == 30.0
    assert load_rules("CN").authority == "CN"  # no file: the defaults
    assert load_rules("CN").rules == load_rules().rules
    assert load_rules().value_reference_for("520100") is not None
    assert load_rules().value_reference_for("520100").prefix == "5201"  # type: ignore[union-attr]
    assert [s.prefix for s in load_rules().sensitivities("930190")] == ["93"]
    assert load_rules().sensitivities("930190")[0].lane_at_least is Lane.RED


def append(folder: Path, name: str, text: str) -> None:
    path = folder / name
    path.write_text(path.read_text(encoding="utf-8") + "\n" + text, encoding="utf-8")


@pytest.mark.parametrize(
    ("file", "text", "record", "field", "problem"),
    [
        (
            "AZ.toml",
            "[rules.seal_broken]\nweight = 500.0\n",
            "rules.seal_broken",
            "weight",
            "less than or equal to 100",
        ),
        ("UZ.toml", "", "lanes", "red_from", "must exceed yellow_from"),
        (
            "AZ.toml",
            "[rules.aeo]\nrecognised_issuers = ['ZZ']\n",
            "rules.aeo",
            "recognised_issuers.0",
            "ISO 3166",
        ),
        (
            "KZ.toml",
            "[rules.dangerous_goods]\nlane_at_least = 'purple'\n",
            "rules.dangerous_goods",
            "lane_at_least",
            "green",
        ),
        (
            "KZ.toml",
            "[rules.seal_broken]\nwieght = 5.0\n",
            "rules.seal_broken",
            "wieght",
            "Extra inputs",
        ),
        (
            "TR.toml",
            "[[sensitive_hs]]\nprefix = '9999'\nreason = 'x'\nweight = 1.0\n"
            "source = 'un-att-2013'\n",
            "sensitive_hs 9999",
            "prefix",
            "HS 2022",
        ),
        (
            "TR.toml",
            "[[sensitive_hs]]\nprefix = '93'\nreason = 'arms'\nweight = 1.0\nsource = 'nowhere'\n",
            "sensitive_hs 93",
            "source",
            "nowhere",
        ),
        (
            "default.toml",
            "[[value_reference]]\nprefix = '10'\nusd_per_kg_min = 5.0\nusd_per_kg_max = 1.0\n"
            "source = 'est-value-bands'\n",
            "value_reference 10",
            "usd_per_kg_max",
            "must exceed",
        ),
        (
            "KZ.toml",
            "[[currency_rate]]\ncode = 'KZT'\nusd = -1.0\nsource = 'est-fx-2024'\n",
            "currency_rate KZT",
            "usd",
            "greater than 0",
        ),
        (
            "KZ.toml",
            "[[source]]\nid = 'kz-guess'\ntitle = 'a guess'\npublisher = 'KZ'\nyear = 2025\n"
            "kind = 'estimate'\n",
            "source kz-guess",
            "-",
            "method",
        ),
        (
            "AZ.toml",
            "[permits]\nusage_rule = 'unlimited'\n",
            "permits",
            "usage_rule",
            "one_round_trip",
        ),
    ],
)
def test_bad_values_are_refused_naming_file_record_and_field(
    rules_copy: Path, file: str, text: str, record: str, field: str, problem: str
) -> None:
    if file == "UZ.toml" and not text:
        (rules_copy / file).write_text(
            (rules_copy / file)
            .read_text(encoding="utf-8")
            .replace("red_from = 65.0", "red_from = 20.0"),
            encoding="utf-8",
        )
    else:
        append(rules_copy, file, text)
    country = file.removesuffix(".toml") if file != "default.toml" else "KZ"
    with pytest.raises(DatasetError) as caught:
        load_rules(country, rules_copy)
    err = caught.value
    assert (err.file, err.record, err.field) == (file, record, field), err.message
    assert problem in err.problem


def test_unreadable_files_are_named(rules_copy: Path) -> None:
    (rules_copy / "AZ.toml").write_text("[lanes\nyellow_from = 1", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"^AZ.toml: .*not valid TOML"):
        load_rules("AZ", rules_copy)
    (rules_copy / "default.toml").unlink()
    with pytest.raises(DatasetError, match=r"default\.toml.*missing"):
        load_rules(None, rules_copy)


def test_an_authority_changes_its_rules_by_editing_its_file(rules_copy: Path) -> None:
    append(rules_copy, "GE.toml", "[lanes]\nyellow_from = 10.0\n")
    assert load_rules("GE", rules_copy).lanes.yellow_from == 10.0
    assert load_rules("GE", rules_copy).lanes.red_from == 60.0  # still the default
    assert load_rules("GE").lanes.yellow_from == 30.0
