"""The e-CMR road consignment note: what it says (CMR Convention Art. 6) in signed versions.

The lifecycle lives in `kervan.documents.ecmr_lifecycle`; this module holds the content of one
version and the annotations the parties sign on it (reservations, charges, places).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from kervan.documents.goods import Container, NonEmptyGoods, VehiclePlate
from kervan.documents.parties import Address, CountryCode, CurrencyCode, NonBlank, Party


class Place(BaseModel):
    """A place named on a note: taking over, delivery, issue. UN/LOCODE when it has one."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: NonBlank
    country: CountryCode
    unlocode: str | None = Field(default=None, pattern=r"^[A-Z]{2}[A-Z2-9]{3}$")
    address: Address | None = None


class ChargeKind(StrEnum):
    """What a charge on the note pays for (CMR Art. 6(1)(i))."""

    CARRIAGE = "carriage"
    SUPPLEMENTARY = "supplementary"
    CUSTOMS_DUTIES = "customs_duties"
    OTHER = "other"


class Payer(StrEnum):
    """Who pays a charge: prepaid by the consignor or collected from the consignee."""

    CONSIGNOR = "consignor"
    CONSIGNEE = "consignee"


class Charge(BaseModel):
    """A charge from the making of the contract to delivery, and who pays it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ChargeKind
    amount: Annotated[Decimal, Field(ge=0, max_digits=15, decimal_places=2)]
    currency: CurrencyCode
    payer: Payer


class ReservationSubject(StrEnum):
    """What a reservation is about (CMR Art. 8 and 30)."""

    GOODS_CONDITION = "goods_condition"
    PACKAGING = "packaging"
    NUMBER_OF_PACKAGES = "number_of_packages"
    MARKS_AND_NUMBERS = "marks_and_numbers"
    LOSS_OR_DAMAGE = "loss_or_damage"


class Reservation(BaseModel):
    """A reservation entered on the note, with its reasons."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    subject: ReservationSubject
    text: NonBlank


Reservations = Annotated[tuple[Reservation, ...], Field(min_length=1)]


class EcmrContent(BaseModel):
    """Everything one version of an e-CMR says.

    In: the parties (consignor, consignee, carrier, successive carriers in the order they take
    over), places and the date of taking over, the goods, the transport equipment (containers by
    ISO 6346 number, vehicle plates), the consignor's instructions (customs and other
    formalities) and the charges.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    consignor: Party
    consignee: Party
    carrier: Party
    successive_carriers: tuple[Party, ...] = ()
    place_of_issue: Place
    place_of_taking_over: Place
    date_of_taking_over: date
    place_of_delivery: Place
    goods: NonEmptyGoods
    containers: tuple[Container, ...] = ()
    vehicle_plates: Annotated[tuple[VehiclePlate, ...], Field(min_length=1)]
    consignor_instructions: str | None = Field(default=None, max_length=2048)
    charges: tuple[Charge, ...] = ()

    @model_validator(mode="after")
    def _carriers_distinct(self) -> EcmrContent:
        ids = [self.carrier.id, *(c.id for c in self.successive_carriers)]
        if len(set(ids)) != len(ids):
            raise ValueError("the carrier and each successive carrier must be different parties")
        numbers = [c.number for c in self.containers]
        if len(set(numbers)) != len(numbers):
            raise ValueError("a container is listed twice")
        return self

    @property
    def gross_weight_kg(self) -> Decimal:
        """Total gross weight of the goods, kilograms."""
        return sum((g.gross_weight_kg for g in self.goods), Decimal(0))


class EcmrVersion(BaseModel):
    """One immutable version of the note: its number, content, when and why it was made."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    number: Annotated[int, Field(ge=1)]
    content: EcmrContent
    created_at: AwareDatetime
    reason: NonBlank
