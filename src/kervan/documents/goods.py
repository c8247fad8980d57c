"""Goods, containers, vehicles and seals: what every transport document describes the same way.

HS codes are checked against the HS 2022 nomenclature shipped in `data/hs2022.csv` (ODC-PDDL,
see `data/hs2022.SOURCE.md`); container numbers against the ISO 6346 check digit.
"""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from kervan.documents.limits import MAX_GOODS_ITEMS, MAX_SEALS
from kervan.documents.parties import CountryCode, CurrencyCode, NonBlank
from kervan.documents.text import FreeText, Line

_HS_DATA = "hs2022.csv"


@cache
def hs2022_subheadings() -> dict[str, str]:
    """Read the shipped HS 2022 table once; return {6-digit subheading: description}.

    Comtrade's "99"/"999999" (commodities not specified) and "TOTAL" rows are not HS headings
    and are left out.
    """
    text = resources.files("kervan.documents").joinpath("data", _HS_DATA).read_text("utf-8")
    return {
        row["hscode"]: row["description"]
        for row in csv.DictReader(io.StringIO(text))
        if row["level"] == "6" and row["section"] != "TOTAL"
    }


def check_hs_code(code: str) -> str:
    """Take an HS code (6 digits, or a national 8/10/12-digit code; dots and spaces allowed).

    Returns the digits only; raises ValueError if it is not digits or its first six digits are
    not an HS 2022 subheading.
    """
    digits = re.sub(r"[.\s]", "", code)
    if not re.fullmatch(r"\d{6}(\d{2}){0,3}", digits):
        raise PydanticCustomError(
            "hs_code_format",
            "{code} is not an HS code: give 6 digits (HS subheading) or a national 8, 10 or "
            "12-digit code",
            {"code": code},
        )
    if digits[:6] not in hs2022_subheadings():
        raise PydanticCustomError(
            "hs_code_unknown",
            "{subheading} is not a subheading of the HS 2022 nomenclature",
            {"subheading": digits[:6]},
        )
    return digits


def hs_description(code: str) -> str:
    """Take a valid HS code; return the HS 2022 description of its 6-digit subheading."""
    return hs2022_subheadings()[check_hs_code(code)[:6]]


#: What an HS code looks like as typed: digits, with dots or spaces between groups.
HS_CODE_PATTERN = r"^[0-9]{4}[. ]?[0-9]{2}([. ]?[0-9]{2}){0,3}$"
HsCode = Annotated[str, Field(pattern=HS_CODE_PATTERN), AfterValidator(check_hs_code)]

# ISO 6346 letter values: 10 upwards, skipping multiples of 11.
_LETTER_VALUES: dict[str, int] = {}
_value = 10
for _letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
    if _value % 11 == 0:
        _value += 1
    _LETTER_VALUES[_letter] = _value
    _value += 1


def iso6346_check_digit(first_ten: str) -> int:
    """Take owner code, category identifier and serial (e.g. "CSQU305438"); return the check digit.

    Raises ValueError if the ten characters are not 3 letters, U/J/Z, and 6 digits.
    """
    body = first_ten.upper()
    if not re.fullmatch(r"[A-Z]{3}[UJZ]\d{6}", body):
        raise ValueError(
            f"{first_ten!r} is not an ISO 6346 owner code, category (U, J or Z) and 6-digit serial"
        )
    total = sum((_LETTER_VALUES[ch] if ch.isalpha() else int(ch)) << i for i, ch in enumerate(body))
    return total % 11 % 10


def check_container_number(number: str) -> str:
    """Take an ISO 6346 container number (spaces allowed); return it compact and upper-case.

    Raises ValueError when its format is wrong or its check digit does not match.
    """
    compact = re.sub(r"\s", "", number).upper()
    if not re.fullmatch(r"[A-Z]{3}[UJZ]\d{7}", compact):
        raise PydanticCustomError(
            "container_number_format",
            "{number} is not an ISO 6346 container number like CSQU3054383",
            {"number": number},
        )
    expected = iso6346_check_digit(compact[:10])
    if int(compact[10]) != expected:
        raise PydanticCustomError(
            "container_check_digit",
            "{number} fails the ISO 6346 check digit: it ends in {given}, the owner code and "
            "serial give {expected}",
            {"number": number, "given": compact[10], "expected": expected},
        )
    return compact


#: An ISO 6346 number as written: owner code and category, serial, check digit, with a space
#: between the groups or none (the printed "CSQU 305438 3" and the compact "CSQU3054383").
CONTAINER_NUMBER_PATTERN = r"^[A-Za-z]{3}[UJZujz] ?[0-9]{6} ?[0-9]$"
ContainerNumber = Annotated[
    str, Field(pattern=CONTAINER_NUMBER_PATTERN), AfterValidator(check_container_number)
]


class SealCondition(StrEnum):
    """The state of a seal when last checked."""

    INTACT = "intact"
    BROKEN = "broken"


class SealingParty(StrEnum):
    """Who affixed a seal (UN/EDIFACT 9303 roles)."""

    CARRIER = "carrier"
    CUSTOMS = "customs"
    SHIPPER = "shipper"


class Seal(BaseModel):
    """A seal on a container, trailer or wagon: its number, its identifier, its condition.

    `identifier` is the mark that says whose seal it is (e.g. the customs stamp "KZ-DOSTYK").
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    number: Annotated[str, Field(min_length=1, max_length=35, pattern=r"^[A-Za-z0-9-]+$")]
    identifier: Line | None = Field(default=None, max_length=64)
    affixed_by: SealingParty = SealingParty.SHIPPER
    condition: SealCondition = SealCondition.INTACT


def check_plate_number(plate: str) -> str:
    """Take a registration plate as written (e.g. "01 A 123 BC"); return it upper-case with
    single spaces, or raise ValueError if it holds anything but Latin letters, digits, spaces
    and hyphens or is not 2-15 characters long."""
    normal = " ".join(plate.split()).upper()
    if not re.fullmatch(r"[A-Z0-9][A-Z0-9 -]{0,13}[A-Z0-9]", normal):
        raise PydanticCustomError(
            "plate_format",
            "{plate} is not a registration plate (Latin letters, digits, 2-15)",
            {"plate": plate},
        )
    return normal


#: A plate as typed: Latin letters and digits, spaces and hyphens between them, 2-15 long
#: (the same rule check_plate_number applies, as a pattern for the API's schema).
PLATE_PATTERN = r"^ *[A-Za-z0-9][A-Za-z0-9 -]{0,13}[A-Za-z0-9] *$"
PlateNumber = Annotated[str, Field(pattern=PLATE_PATTERN), AfterValidator(check_plate_number)]


class VehiclePlate(BaseModel):
    """A road vehicle's (tractor's or trailer's) registration plate and registering country."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    number: PlateNumber
    country: CountryCode


class Container(BaseModel):
    """A container carried, with its ISO 6346 number, size-type code and seals."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    number: ContainerNumber
    size_type: str | None = Field(default=None, pattern=r"^[0-9A-Z]{4}$")  # ISO 6346, e.g. 45G1
    seals: tuple[Seal, ...] = Field(default=(), max_length=MAX_SEALS)


_ADR_CLASSES = frozenset(
    {"1", "2", "3", "4.1", "4.2", "4.3", "5.1", "5.2", "6.1", "6.2", "7", "8", "9"}
)


def _check_adr_class(value: str) -> str:
    if value not in _ADR_CLASSES:
        raise ValueError(f"{value!r} is not a dangerous goods class (1, 2, 3, 4.1 ... 9)")
    return value


class DangerousGoods(BaseModel):
    """Dangerous goods data of a goods item: UN number (e.g. UN3480) and ADR/RID class."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    un_number: Annotated[str, Field(pattern=r"^UN\d{4}$")]
    hazard_class: Annotated[
        str, Field(pattern=r"^[1-9](\.[1-3])?$"), AfterValidator(_check_adr_class)
    ]
    packing_group: str | None = Field(default=None, pattern=r"^(I|II|III)$")


#: A mass in kilograms as JSON text: up to nine whole digits and three decimals, not zero.
KILOGRAMS_PATTERN = r"^(?=[0-9.]*[1-9])[0-9]{1,9}(\.[0-9]{1,3})?$"


def _kilograms_text(value: object) -> object:
    """A mass given as text must be plain digits (no exponent, no sign, no spaces)."""
    if isinstance(value, str) and not re.fullmatch(KILOGRAMS_PATTERN, value):
        raise PydanticCustomError(
            "mass_format", "{value} is not a mass in kg like 18200.5", {"value": value}
        )
    return value


Kilograms = Annotated[
    Decimal,
    BeforeValidator(_kilograms_text),
    Field(gt=0, max_digits=12, decimal_places=3),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "exclusiveMinimum": 0, "maximum": 999_999_999.999},
                {"type": "string", "pattern": KILOGRAMS_PATTERN},
            ]
        }
    ),
]
"""A gross mass in kilograms, to the gram."""


#: An amount as JSON text: up to thirteen whole digits and two decimals.
MONEY_PATTERN = r"^[0-9]{1,13}(\.[0-9]{1,2})?$"


def _money_text(value: object) -> object:
    """An amount given as text must be plain digits (no exponent, no sign, no spaces)."""
    if isinstance(value, str) and not re.fullmatch(MONEY_PATTERN, value):
        raise PydanticCustomError(
            "money_format", "{value} is not an amount like 38000.00", {"value": value}
        )
    return value


Money = Annotated[
    Decimal,
    BeforeValidator(_money_text),
    Field(ge=0, max_digits=15, decimal_places=2),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0, "maximum": 9_999_999_999_999.99},
                {"type": "string", "pattern": MONEY_PATTERN},
            ]
        }
    ),
]
"""A goods value in its currency, to the cent."""


class GoodsItem(BaseModel):
    """One line of goods on a consignment note.

    `package_kind` is a UN/ECE Recommendation 21 (UNTDID 7065) code, e.g. "PX" pallet, "BL"
    bale, "CT" carton; `value` and `currency` come together or not at all.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    description: NonBlank
    packages: Annotated[int, Field(gt=0)]
    package_kind: Annotated[str, Field(pattern=r"^[0-9A-Z]{2}$")]
    marks: FreeText | None = Field(default=None, max_length=512)
    gross_weight_kg: Kilograms
    hs_code: HsCode
    dangerous_goods: DangerousGoods | None = None
    value: Money | None = None
    currency: CurrencyCode | None = None

    @model_validator(mode="after")
    def _value_with_currency(self) -> GoodsItem:
        if (self.value is None) != (self.currency is None):
            raise ValueError("value and currency go together: give both or neither")
        return self


NonEmptyGoods = Annotated[tuple[GoodsItem, ...], Field(min_length=1, max_length=MAX_GOODS_ITEMS)]
"""A consignment's goods: at least one item, at most MAX_GOODS_ITEMS."""

__all__ = [
    "Container",
    "ContainerNumber",
    "CountryCode",
    "DangerousGoods",
    "GoodsItem",
    "HsCode",
    "NonEmptyGoods",
    "PlateNumber",
    "Seal",
    "SealCondition",
    "SealingParty",
    "VehiclePlate",
    "check_container_number",
    "check_hs_code",
    "check_plate_number",
    "hs2022_subheadings",
    "hs_description",
    "iso6346_check_digit",
]
