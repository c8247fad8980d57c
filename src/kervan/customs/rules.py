"""Risk rules as data: the defaults and each customs authority's overrides, validated on load.

The shipped files live in `kervan/customs/rules/`: `default.toml` holds every rule; `KZ.toml`,
`AZ.toml`, ... override what an authority sets differently. An override's tables merge into the
defaults key by key; its array records (`source`, `sensitive_hs`, `value_reference`,
`currency_rate`) replace the default record with the same key or are added. A bad value raises
DatasetError naming the file, the record and the field. Every sensitive HS entry, value-per-kg
reference and currency rate names a source; an estimate's source says how it was made.
"""

from __future__ import annotations

import tomllib
from enum import StrEnum
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from kervan.documents.goods import hs2022_subheadings
from kervan.documents.parties import CountryCode, CurrencyCode
from kervan.errors import DatasetError
from kervan.network.model import Source

Folder = Path | Traversable
DEFAULT_FILE = "default.toml"
_RECORD_KEYS = {
    "source": "id",
    "sensitive_hs": "prefix",
    "value_reference": "prefix",
    "currency_rate": "code",
}


class Lane(StrEnum):
    """The customs lane: green (release), yellow (documents, maybe goods), red (inspection)."""

    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"

    @property
    def rank(self) -> int:
        return list(Lane).index(self)


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


Weight = Annotated[float, Field(ge=-100, le=100)]


class WeightedRule(_Strict):
    """A rule's weight in the score; `lane_at_least` puts the cargo in at least that lane."""

    weight: Weight
    lane_at_least: Lane | None = None


class AeoRule(WeightedRule):
    """Authorised economic operators whose certificate this authority recognises."""

    recognised_issuers: tuple[CountryCode, ...]


class InfringementRule(WeightedRule):
    """`weight` per infringement of a party within `lookback_days`, up to `cap` in all."""

    cap: Annotated[float, Field(ge=0, le=100)]
    lookback_days: Annotated[int, Field(ge=1, le=3650)]


class RecognitionRule(WeightedRule):
    """Control results of these member states are recognised (weight: usually negative)."""

    members: tuple[CountryCode, ...]


class Rules(_Strict):
    aeo: AeoRule
    dangerous_goods: WeightedRule
    seal_broken: WeightedRule
    seal_missing: WeightedRule
    seal_mismatch: WeightedRule
    route_deviation: WeightedRule
    undeclared_country: WeightedRule
    value_below_reference: WeightedRule
    value_above_reference: WeightedRule
    value_missing: WeightedRule
    infringements: InfringementRule
    recognised_control: RecognitionRule


class Lanes(_Strict):
    """Score thresholds: below `yellow_from` green, from `red_from` red."""

    yellow_from: Annotated[float, Field(gt=0)]
    red_from: Annotated[float, Field(gt=0)]

    @field_validator("red_from")
    @classmethod
    def _ordered(cls, value: float, info: ValidationInfo) -> float:
        yellow = info.data.get("yellow_from")
        if yellow is not None and value <= yellow:
            raise ValueError(f"red_from ({value:g}) must exceed yellow_from ({yellow:g})")
        return value


def _hs_prefix(value: str) -> str:
    if len(value) not in (2, 4, 6) or not value.isdigit():
        raise ValueError(f"{value!r} is not an HS chapter (2), heading (4) or subheading (6)")
    if not any(code.startswith(value) for code in hs2022_subheadings()):
        raise ValueError(f"{value!r} starts no subheading of the HS 2022 nomenclature")
    return value


class SensitiveHs(_Strict):
    """Goods an authority looks at more closely, by HS prefix, with why and on whose word."""

    prefix: str
    reason: Annotated[str, Field(min_length=1)]
    weight: Weight
    lane_at_least: Lane | None = None
    source: str

    _prefix = field_validator("prefix")(_hs_prefix)


class ValueReference(_Strict):
    """The range of declared value per kilogram (US dollars) expected for an HS prefix."""

    prefix: str
    usd_per_kg_min: Annotated[float, Field(gt=0)]
    usd_per_kg_max: Annotated[float, Field(gt=0)]
    source: str

    _prefix = field_validator("prefix")(_hs_prefix)

    @field_validator("usd_per_kg_max")
    @classmethod
    def _range(cls, value: float, info: ValidationInfo) -> float:
        low = info.data.get("usd_per_kg_min")
        if low is not None and value <= low:
            raise ValueError(f"usd_per_kg_max ({value:g}) must exceed usd_per_kg_min ({low:g})")
        return value


class CurrencyRate(_Strict):
    """US dollars per unit of a currency, to compare declared values."""

    code: CurrencyCode
    usd: Annotated[float, Field(gt=0)]
    source: str


class PermitRules(_Strict):
    """The control authority's e-Permit rules: which permit types it accepts for which trip,
    and how many uses a permit allows."""

    usage_rule: Literal["one_round_trip", "max_entries_per_country"]
    max_entries: Annotated[int, Field(ge=1, le=100)] = 2
    # The rule for one permit type where it differs from `usage_rule` (key: the type's number).
    type_rules: dict[
        Literal["1", "2", "3", "4"], Literal["one_round_trip", "max_entries_per_country"]
    ] = Field(default_factory=dict)
    bilateral_trip: tuple[Annotated[int, Field(ge=1, le=4)], ...]
    transit_trip: tuple[Annotated[int, Field(ge=1, le=4)], ...]
    third_country_trip: tuple[Annotated[int, Field(ge=1, le=4)], ...]


class Meta(_Strict):
    authority: Annotated[str, Field(min_length=2, max_length=16)]
    description: Annotated[str, Field(min_length=1)]


class RuleSet(_Strict):
    """The rules one customs authority applies (the defaults merged with its overrides)."""

    files: tuple[str, ...]
    meta: Meta
    lanes: Lanes
    rules: Rules
    permits: PermitRules
    source: tuple[Source, ...]
    sensitive_hs: tuple[SensitiveHs, ...] = ()
    value_reference: tuple[ValueReference, ...] = ()
    currency_rate: tuple[CurrencyRate, ...]

    @property
    def authority(self) -> str:
        return self.meta.authority

    def sensitivities(self, hs_code: str) -> list[SensitiveHs]:
        """Every sensitive entry whose prefix starts `hs_code`, longest prefix first."""
        hits = [s for s in self.sensitive_hs if hs_code.startswith(s.prefix)]
        return sorted(hits, key=lambda s: -len(s.prefix))

    def value_reference_for(self, hs_code: str) -> ValueReference | None:
        """The value-per-kg reference with the longest prefix of `hs_code`, if any."""
        hits = [r for r in self.value_reference if hs_code.startswith(r.prefix)]
        return max(hits, key=lambda r: len(r.prefix)) if hits else None

    def usd_per(self, currency: str) -> float | None:
        """US dollars per unit of `currency`, if the rules hold a rate."""
        return next((r.usd for r in self.currency_rate if r.code == currency), None)


# -- loading ------------------------------------------------------------------------------------


def shipped_rules() -> Traversable:
    """The folder of rule files shipped with Kervan."""
    return resources.files("kervan.customs").joinpath("rules")


def _read(folder: Folder, name: str) -> dict[str, Any]:
    path = folder / name
    if not path.is_file():
        raise DatasetError(name, "-", "-", "file is missing")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise DatasetError(name, "-", "-", f"not valid TOML: {exc}") from exc


class _Merged:
    """Raw TOML merged file by file, remembering which file gave each value and record."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.leaf_file: dict[tuple[str, ...], str] = {}
        self.record_file: dict[tuple[str, int], str] = {}

    def add(self, name: str, raw: dict[str, Any]) -> None:
        for section, value in raw.items():
            if section in _RECORD_KEYS and isinstance(value, list):
                self._add_records(name, section, value)
            else:
                self._merge(name, (section,), value, self.data)

    def _merge(self, name: str, path: tuple[str, ...], value: Any, into: dict[str, Any]) -> None:
        key = path[-1]
        if isinstance(value, dict) and isinstance(into.get(key, {}), dict):
            target = into.setdefault(key, {})
            for k, v in value.items():
                self._merge(name, (*path, str(k)), v, target)
            self.leaf_file.setdefault(path, name)
        else:
            into[key] = value
            self.leaf_file[path] = name

    def _add_records(self, name: str, section: str, records: list[Any]) -> None:
        current: list[Any] = self.data.setdefault(section, [])
        key = _RECORD_KEYS[section]
        for record in records:
            ident = record.get(key) if isinstance(record, dict) else None
            index = next(
                (
                    i
                    for i, old in enumerate(current)
                    if ident is not None and isinstance(old, dict) and old.get(key) == ident
                ),
                len(current),
            )
            if index == len(current):
                current.append(record)
            else:
                current[index] = record
            self.record_file[(section, index)] = name

    def where(self, loc: tuple[int | str, ...]) -> tuple[str, str, str]:
        """(file, record, field) for a validation error location in the merged data."""
        if loc and loc[0] in _RECORD_KEYS and len(loc) > 1 and isinstance(loc[1], int):
            section, index = str(loc[0]), loc[1]
            record = self.data[section][index]
            ident = record.get(_RECORD_KEYS[section]) if isinstance(record, dict) else None
            label = f"{section} {ident}" if ident is not None else f"{section} #{index + 1}"
            field = ".".join(str(p) for p in loc[2:]) or "-"
            return self.record_file[(section, index)], label, field
        path = tuple(str(p) for p in loc)
        for end in range(len(path), 0, -1):
            if path[:end] in self.leaf_file:
                file = self.leaf_file[path[:end]]
                break
        else:
            file = DEFAULT_FILE
        # the field is the last key, with any list indexes after it ("recognised_issuers.0")
        start = len(loc) - 1
        while start > 0 and isinstance(loc[start], int):
            start -= 1
        record = ".".join(path[:start]) or "-"
        return file, record, ".".join(path[start:]) or "-"


def _check_sources(rules: RuleSet, merged: _Merged) -> None:
    known = {s.id for s in rules.source}
    for section in ("sensitive_hs", "value_reference", "currency_rate"):
        for index, record in enumerate(getattr(rules, section)):
            if record.source not in known:
                file, label, _ = merged.where((section, index, "source"))
                raise DatasetError(
                    file, label, "source", f"names source {record.source!r}, not in [[source]]"
                )


def load_rules(country: str | None = None, folder: Folder | None = None) -> RuleSet:
    """In: a country code (None: the defaults alone) and a folder of rule files (None: the
    shipped ones). Out: the validated rules that country's customs applies. A country
    without its own file applies the defaults. Raises DatasetError naming file, record, field."""
    if folder is None:
        return _shipped(country)
    return _load(country, folder)


@cache
def _shipped(country: str | None) -> RuleSet:
    return _load(country, shipped_rules())


def _load(country: str | None, folder: Folder) -> RuleSet:
    merged = _Merged()
    names = [DEFAULT_FILE]
    merged.add(DEFAULT_FILE, _read(folder, DEFAULT_FILE))
    if country is not None:
        name = f"{country}.toml"
        if (folder / name).is_file():
            merged.add(name, _read(folder, name))
            names.append(name)
        else:
            merged.add("-", {"meta": {"authority": country}})
    try:
        rules = RuleSet.model_validate({**merged.data, "files": tuple(names)})
    except ValidationError as exc:
        err = exc.errors()[0]
        file, record, field = merged.where(tuple(err["loc"]))
        raise DatasetError(file, record, field, err["msg"]) from exc
    _check_sources(rules, merged)
    return rules
