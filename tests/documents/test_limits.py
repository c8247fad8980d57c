"""The corridor's limits on what a document may say: UIC wagon check digits, ISO 6346 numbers as
printed, the date window, gross mass per unit and caps on list lengths."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, cast

import pytest
from pydantic import ValidationError
from pydantic_core import PydanticCustomError

from kervan.documents.cimsmgs import Wagon
from kervan.documents.goods import Container
from kervan.documents.limits import (
    ROAD_VEHICLE_MAX_GROSS_KG,
    check_moment,
    container_max_gross_kg,
    uic_check_digit,
)
from kervan.network.modes import CargoUnit
from kervan.services.demo_corridor import COTTON
from kervan.shipments.booking import Cargo

#: The one goods item of the demonstration cotton.
COTTON_ITEM: dict[str, Any] = cast("list[dict[str, Any]]", COTTON["goods"])[0]


def error_types(exc: pytest.ExceptionInfo[ValidationError]) -> set[str]:
    return {str(e["type"]) for e in exc.value.errors()}


def cargo(**changes: Any) -> dict[str, Any]:
    return {**COTTON, "date_of_taking_over": "2026-11-24", **changes}


def test_uic_check_digit_of_real_wagon_numbers() -> None:
    # UIC leaflet 920-1's worked example: 21 81 2471 217-3.
    assert uic_check_digit("21812471217") == 3
    assert Wagon(number="218124712173").number == "218124712173"
    # A 1520 mm wagon's 8-digit number carries the check over its first seven digits.
    assert Wagon(number="53765434").number == "53765434"
    with pytest.raises(ValidationError) as refused:
        Wagon(number="218124712174")
    assert error_types(refused) == {"wagon_check_digit"}
    assert "should be" not in str(refused.value)  # the node's own words, not pydantic's
    assert "other digits give 3" in str(refused.value)


def test_container_numbers_as_printed_and_compact() -> None:
    assert Container(number="CSQU 305438 3").number == "CSQU3054383"
    assert Container(number="csqu3054383").number == "CSQU3054383"
    with pytest.raises(ValidationError) as refused:
        Container(number="CSQU3054384")
    assert error_types(refused) == {"container_check_digit"}
    with pytest.raises(ValidationError) as malformed:
        Container(number="CSQU\t3054383")
    assert error_types(malformed) == {"string_pattern_mismatch"}


@pytest.mark.parametrize("day", ["1900-01-01", "9999-12-31", "1999-12-31", "2100-01-01"])
def test_dates_outside_the_window_are_refused(day: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Cargo.model_validate(cargo(date_of_taking_over=day))
    assert error_types(refused) == {"date_out_of_window"}


def test_moments_in_the_window_pass() -> None:
    at = datetime(2026, 11, 24, 8, tzinfo=UTC)
    assert check_moment(at) == at
    assert Cargo.model_validate(cargo(date_of_taking_over="2000-01-01")).date_of_taking_over == (
        date(2000, 1, 1)
    )


def test_container_ratings_by_size_code() -> None:
    assert container_max_gross_kg("22G1") == 30_480  # 20 ft, ISO 668
    assert container_max_gross_kg("45G1") == 32_500  # 40 ft high cube, plate rating
    assert container_max_gross_kg(None) == 32_500


def test_goods_heavier_than_their_units_are_refused() -> None:
    twenty_foot = [{"number": "CSQU3054383", "size_type": "22G1"}]
    heavy = [{**COTTON_ITEM, "gross_weight_kg": "999999999"}]
    with pytest.raises(PydanticCustomError) as refused:
        Cargo.model_validate(cargo(goods=heavy, containers=twenty_foot)).check_mass(
            CargoUnit.CONTAINER
        )
    assert refused.value.type == "gross_mass_over_limit"
    assert refused.value.context == {
        "goods": "999999999",
        "limit": 30_480,
        "carried_by": "1 container(s)",
    }
    fits = [{**COTTON_ITEM, "gross_weight_kg": "30480"}]
    Cargo.model_validate(cargo(goods=fits, containers=twenty_foot)).check_mass(CargoUnit.CONTAINER)
    # A truck: EU Directive 96/53/EC, 40 t; 44 t with a 40 ft container in combined transport.
    over_road = [{**COTTON_ITEM, "gross_weight_kg": str(ROAD_VEHICLE_MAX_GROSS_KG + 1)}]
    with pytest.raises(PydanticCustomError):
        Cargo.model_validate(cargo(goods=over_road)).check_mass(CargoUnit.TRUCK)
    forty_foot = [{"number": "CSQU3054383", "size_type": "42G1"}]
    Cargo.model_validate(cargo(goods=fits, containers=forty_foot)).check_mass(CargoUnit.TRUCK)
    # Bulk is booked by the tonne: no unit to weigh against.
    Cargo.model_validate(cargo(goods=heavy)).check_mass(CargoUnit.BULK)


def test_lists_are_capped() -> None:
    item = COTTON_ITEM
    with pytest.raises(ValidationError) as refused:
        Cargo.model_validate(cargo(goods=[item] * 100))
    assert error_types(refused) == {"too_long"}
    assert len(Cargo.model_validate(cargo(goods=[item] * 99)).goods) == 99


def test_masses_as_text_are_plain_digits() -> None:
    for text in ("1e3", " 10", "-5", "0", "0.000"):
        with pytest.raises(ValidationError):
            Cargo.model_validate(cargo(goods=[{**COTTON_ITEM, "gross_weight_kg": text}]))
    parsed = Cargo.model_validate(cargo(goods=[{**COTTON_ITEM, "gross_weight_kg": "0.5"}]))
    assert parsed.goods[0].gross_weight_kg == Decimal("0.5")
