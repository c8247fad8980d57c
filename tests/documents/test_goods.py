"""Goods, containers, plates and seals with real corridor examples."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from kervan.documents.goods import (
    GoodsItem,
    VehiclePlate,
    check_container_number,
    check_hs_code,
    hs2022_subheadings,
    hs_description,
    iso6346_check_digit,
)


@pytest.mark.parametrize(
    ("number", "digit"),
    [("CSQU305438", 3), ("MSKU907032", 3)],  # ISO 6346 example (Wikipedia) and Maersk box
)
def test_iso6346_check_digit_of_published_examples(number: str, digit: int) -> None:
    assert iso6346_check_digit(number) == digit


def test_container_number_is_normalised_and_check_digit_enforced() -> None:
    assert check_container_number("csqu 305438 3") == "CSQU3054383"
    with pytest.raises(ValueError, match="check digit"):
        check_container_number("CSQU3054384")
    with pytest.raises(ValueError, match="ISO 6346"):
        check_container_number("CSQX3054383")


def test_hs_codes_against_hs2022() -> None:
    table = hs2022_subheadings()
    assert 5000 < len(table) < 6000
    assert "999999" not in table
    assert check_hs_code("8507.60") == "850760"
    assert check_hs_code("5201 00 1000") == "5201001000"  # a national 10-digit code
    assert hs_description("520100").startswith("Cotton; not carded or combed")
    assert "lithium-ion" in hs_description("850760")
    for bad in ("850799", "8507", "85076", "ABCDEF", "8507600"):
        with pytest.raises(ValueError, match="HS"):
            check_hs_code(bad)


def test_goods_item_rules() -> None:
    base = {
        "description": "Raw cotton fibre",
        "packages": 110,
        "package_kind": "BL",
        "gross_weight_kg": Decimal("24750"),
        "hs_code": "520100",
    }
    assert GoodsItem.model_validate(base).hs_code == "520100"
    for field, bad in [("gross_weight_kg", Decimal(0)), ("packages", 0), ("hs_code", "999999")]:
        with pytest.raises(ValidationError):
            GoodsItem.model_validate({**base, field: bad})
    with pytest.raises(ValidationError, match="together"):
        GoodsItem.model_validate({**base, "value": Decimal("100")})
    with pytest.raises(ValidationError):
        GoodsItem.model_validate({**base, "value": Decimal("100"), "currency": "XYZ"})
    dg = {"un_number": "UN3480", "hazard_class": "4.4"}
    with pytest.raises(ValidationError):
        GoodsItem.model_validate({**base, "dangerous_goods": dg})


def test_plates_of_the_corridor() -> None:
    assert VehiclePlate(number="01 a 123  bc", country="uz").number == "01 A 123 BC"
    assert VehiclePlate(number="34 ABC 123", country="TR").country == "TR"
    with pytest.raises(ValidationError):
        VehiclePlate(number="34 ABC 123", country="XX")
    with pytest.raises(ValidationError):
        VehiclePlate(number="А 123 ВС", country="KZ")  # Cyrillic letters
