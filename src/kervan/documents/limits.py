"""The corridor's physical and calendar limits: what a transport document may plausibly say.

- Dates: every date and moment a caller gives lies in the years 2000-2099 (the corridor's
  digital documents start in the 2020s; nothing is booked for 9999 or happened in 1900).
- Wagon numbers: the UIC/OSJD check digit (UIC leaflet 920-1 / 438-1 for 12-digit numbers;
  8-digit 1520 mm wagon numbers carry the same check over their first seven digits).
- Gross mass per unit: a container's maximum gross mass by its ISO 6346 size code (ISO 668),
  a road vehicle's by EU Directive 96/53/EC; the goods of a booking may weigh no more than the
  units that carry them.

Refusals are `PydanticCustomError`s with a stable type (the web pages translate them by it).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Final

from pydantic import AfterValidator, AwareDatetime, WithJsonSchema
from pydantic_core import PydanticCustomError

EARLIEST_DATE: Final = date(2000, 1, 1)
LATEST_DATE: Final = date(2099, 12, 31)
#: The same window as a JSON Schema pattern on the ISO 8601 text (years 2000-2099).
WINDOW_PATTERN: Final = "^20[0-9]{2}-"


def check_date(day: date) -> date:
    """Take a date; return it, or refuse one outside 2000-01-01..2099-12-31."""
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise PydanticCustomError(
            "date_out_of_window",
            "{value} is outside the dates the corridor takes ({earliest} to {latest})",
            {"value": day.isoformat(), "earliest": "2000-01-01", "latest": "2099-12-31"},
        )
    return day


def check_moment(at: datetime) -> datetime:
    """Take an aware moment; return it, or refuse one whose date (in its own zone, as its text
    reads) is outside the date window."""
    check_date(at.date())
    return at


CorridorDate = Annotated[
    date,
    AfterValidator(check_date),
    WithJsonSchema({"type": "string", "format": "date", "pattern": WINDOW_PATTERN}),
]
"""A calendar date in 2000-2099."""

CorridorMoment = Annotated[
    AwareDatetime,
    AfterValidator(check_moment),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": WINDOW_PATTERN}),
]
"""A moment with its time zone, in 2000-2099."""


def uic_check_digit(digits: str) -> int:
    """The UIC check digit of a wagon number's first 11 (or, on 1520 mm wagons, 7) digits:
    digits weighted 2, 1, 2, 1 ... from the left, the digits of the products summed, and the
    check digit what brings the sum to a multiple of ten (UIC leaflet 920-1 / 438-1).

    >>> uic_check_digit("21812471217")
    3
    """
    total = 0
    for position, digit in enumerate(digits):
        product = int(digit) * (2 if position % 2 == 0 else 1)
        total += product // 10 + product % 10
    return (10 - total % 10) % 10


def check_wagon_number(number: str) -> str:
    """Take a 12-digit UIC (or 8-digit 1520 mm) wagon number; return it, or refuse it when
    its last digit is not the UIC check digit of the others."""
    expected = uic_check_digit(number[:-1])
    if int(number[-1]) != expected:
        raise PydanticCustomError(
            "wagon_check_digit",
            "{number} fails the UIC check digit: it ends in {given}, the other digits give "
            "{expected}",
            {"number": number, "given": number[-1], "expected": expected},
        )
    return number


# Maximum gross mass (container and goods) by the ISO 6346 size code's first character (length):
# ISO 668:2013 Table 1 rates series 1 containers (1CC 20 ft, 1AA 40 ft) at 30,480 kg; many
# 40 ft and 45 ft boxes in service carry 32,500 kg on their CSC plates (the highest rating in
# common service: an estimate from lessors' published specifications). The limit refuses only
# what no such container may carry.
CONTAINER_MAX_GROSS_KG: Final[dict[str, int]] = {
    "1": 10_160,  # 10 ft (1D), ISO 668:2013 Table 1
    "2": 30_480,  # 20 ft (1CC), ISO 668:2013 Table 1
    "3": 30_480,  # 30 ft (1BB), ISO 668:2013 Table 1
    "4": 32_500,  # 40 ft (1AA): 30,480 kg by ISO 668, 32,500 kg plates in service (estimate)
    "L": 32_500,  # 45 ft: as the 40 ft (estimate from lessors' specifications)
}
#: A container without a size code is taken at the largest rating (no known box exceeds it).
CONTAINER_DEFAULT_MAX_GROSS_KG: Final = max(CONTAINER_MAX_GROSS_KG.values())
#: EU Directive 96/53/EC, Annex I 2.2.2: an articulated vehicle of five or six axles 40 t, and
#: 44 t when it carries a 40-foot ISO container in combined transport.
ROAD_VEHICLE_MAX_GROSS_KG: Final = 40_000
ROAD_VEHICLE_WITH_CONTAINER_MAX_GROSS_KG: Final = 44_000


def container_max_gross_kg(size_type: str | None) -> int:
    """The most a container of this ISO 6346 size-type code (e.g. "45G1") may weigh loaded."""
    if size_type is None:
        return CONTAINER_DEFAULT_MAX_GROSS_KG
    return CONTAINER_MAX_GROSS_KG.get(size_type[0], CONTAINER_DEFAULT_MAX_GROSS_KG)


def check_gross_mass(goods_kg: Decimal, limit_kg: int, carried_by: str) -> None:
    """Refuse goods heavier than the units that carry them may weigh in all."""
    if goods_kg > limit_kg:
        raise PydanticCustomError(
            "gross_mass_over_limit",
            "the goods weigh {goods} kg, more than {carried_by} may carry ({limit} kg gross)",
            {"goods": f"{goods_kg:f}", "limit": limit_kg, "carried_by": carried_by},
        )


#: The most goods items, containers, wagons and seals one consignment note lists.
MAX_GOODS_ITEMS: Final = 99
MAX_CONTAINERS: Final = 50
MAX_WAGONS: Final = 100
MAX_SEALS: Final = 20

__all__ = [
    "CONTAINER_DEFAULT_MAX_GROSS_KG",
    "CONTAINER_MAX_GROSS_KG",
    "EARLIEST_DATE",
    "LATEST_DATE",
    "MAX_CONTAINERS",
    "MAX_GOODS_ITEMS",
    "MAX_SEALS",
    "MAX_WAGONS",
    "ROAD_VEHICLE_MAX_GROSS_KG",
    "ROAD_VEHICLE_WITH_CONTAINER_MAX_GROSS_KG",
    "WINDOW_PATTERN",
    "CorridorDate",
    "CorridorMoment",
    "check_date",
    "check_gross_mass",
    "check_moment",
    "check_wagon_number",
    "container_max_gross_kg",
    "uic_check_digit",
]
