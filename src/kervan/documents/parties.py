"""Who takes part in a transport document, and the evidence that one of them signed a step.

A `Party` is role-neutral: the same forwarder may be consignor on one e-CMR and consignee on
another. The role is given by where the party sits in a document and by the `PartyRole` of the
`SignatureEvidence` it presents. Cryptography is checked before a lifecycle sees the evidence
(kervan.signatures); the lifecycles only check that the right party signed, in the right
role, on the right version.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Final

import pycountry
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from kervan.documents.text import NON_BLANK_LINE_PATTERN

#: The ISO code lists, read once from pycountry's tables (validation looks codes up per field).
_COUNTRY_CODES: Final = frozenset(country.alpha_2 for country in pycountry.countries)
_CURRENCY_CODES: Final = frozenset(currency.alpha_3 for currency in pycountry.currencies)


def check_country_code(code: str) -> str:
    """Take an ISO 3166-1 alpha-2 code (any case); return it upper-cased, or raise ValueError."""
    upper = code.strip().upper()
    if upper not in _COUNTRY_CODES:
        raise PydanticCustomError(
            "country_code",
            "{code} is not an ISO 3166-1 alpha-2 country code (e.g. KZ, AZ, TR)",
            {"code": code},
        )
    return upper


def check_currency_code(code: str) -> str:
    """Take an ISO 4217 alphabetic code (any case); return it upper-cased, or raise ValueError."""
    upper = code.strip().upper()
    if upper not in _CURRENCY_CODES:
        raise PydanticCustomError(
            "currency_code",
            "{code} is not an ISO 4217 currency code (e.g. USD, KZT, AZN)",
            {"code": code},
        )
    return upper


CountryCode = Annotated[str, Field(pattern=r"^[A-Za-z]{2}$"), AfterValidator(check_country_code)]
"""ISO 3166-1 alpha-2 country code, stored upper-case."""

CurrencyCode = Annotated[str, Field(pattern=r"^[A-Za-z]{3}$"), AfterValidator(check_currency_code)]
"""ISO 4217 alphabetic currency code, stored upper-case."""

NonBlank = Annotated[str, Field(min_length=1, max_length=512, pattern=NON_BLANK_LINE_PATTERN)]
"""One line of text with something visible in it (no control characters, no line breaks)."""


class PartyRole(StrEnum):
    """The role in which a party acts on a document step."""

    CONSIGNOR = "consignor"
    CONSIGNEE = "consignee"
    CARRIER = "carrier"
    SUCCESSIVE_CARRIER = "successive_carrier"
    CUSTOMS_OFFICE = "customs_office"
    PERMIT_AUTHORITY = "permit_authority"
    GUARANTEE_CHAIN = "guarantee_chain"
    HOLDER = "holder"


class Address(BaseModel):
    """A postal address without its country (the country sits on the party or place)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    street: NonBlank
    city: NonBlank
    postcode: str | None = Field(default=None, max_length=16)


class Party(BaseModel):
    """A company, authority or person that can sign documents, independent of its role.

    `id` is the party's stable identifier in Kervan (e.g. a tax number, an EORI, a customs office
    code such as "KZ555555"); `country` is ISO 3166-1 alpha-2.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Annotated[
        str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$")
    ]
    name: NonBlank
    country: CountryCode
    address: Address


class SignatureEvidence(BaseModel):
    """A signature the caller has already verified cryptographically, presented for one step.

    In: who signed (`party_id`), in which role, when (`signed_at`, timezone-aware), on which
    version of the document (`document_version`), and a reference to the signature itself
    (`signature_ref`: the key id and JWS reference as the signing module reports them).
    The lifecycles compare it with what the step requires; they never re-verify the JWS.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    party_id: Annotated[str, Field(min_length=1, max_length=64)]
    role: PartyRole
    signed_at: AwareDatetime  # a time without a zone is ambiguous across borders
    document_version: Annotated[int, Field(ge=1)]
    signature_ref: Annotated[str, Field(min_length=1, max_length=4096)]
