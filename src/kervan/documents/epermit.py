"""e-Permit: quotas, permits with standard ids, QR claims, usage records and revocation.

Follows the e-Permit specification used by TR, UZ, AZ, KZ and others (see the standards README):
permit ids ISSUER-ISSUEDFOR-YEAR-TYPE-SEQ, dates dd/MM/yyyy on the wire, usage ENTRANCE/EXIT
that is never revoked, and revocation of unused permits only. How many uses a permit allows is
the control authority's rule (`kervan.documents.permit_rules`).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from enum import IntEnum, StrEnum
from typing import Annotated, Any, Protocol

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    model_validator,
)

from kervan.documents.goods import PlateNumber
from kervan.documents.parties import CountryCode
from kervan.errors import DocumentValidationError, IllegalTransitionError, QuotaExhaustedError

PERMIT_ID_PATTERN = re.compile(r"^[A-Z]+-[A-Z]+-\d{4}-[0-9]+-[0-9]+$")
WIRE_DATE_FORMAT = "%d/%m/%Y"
EARLIEST_EVENT_TIMESTAMP = 1609459200  # 2021-01-01T00:00:00Z, the specification's lower bound

Authority = Annotated[str, Field(pattern=r"^[A-Z]+$", min_length=2, max_length=16)]
"""An e-Permit authority: ISO 3166 alpha-2 (TR, UZ) or an organisation code (BSEC, TRACECA)."""


def _parse_wire_date(value: object) -> object:
    if isinstance(value, str) and "/" in value:
        return datetime.strptime(value, WIRE_DATE_FORMAT).replace(tzinfo=UTC).date()
    return value


WireDate = Annotated[
    date,
    BeforeValidator(_parse_wire_date),
    PlainSerializer(lambda d: d.strftime(WIRE_DATE_FORMAT), return_type=str, when_used="json"),
]
"""A calendar date, dd/MM/yyyy in JSON (e.g. 31/12/2025)."""


class PermitType(IntEnum):
    BILATERAL = 1
    TRANSIT = 2
    THIRD_COUNTRY = 3
    UNLADEN_ENTRY_RETURN_LOAD = 4


class Quota(BaseModel):
    """How many permits of one type and year `permit_issuer` may issue to `permit_issued_for`
    (the quota authority is the issued_for side: it sets the quantity for its partner)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    permit_issuer: Authority
    permit_issued_for: Authority
    permit_year: Annotated[int, Field(ge=2000, le=9999)]
    permit_type: PermitType
    quantity: Annotated[int, Field(ge=0)]


def format_permit_id(issuer: str, issued_for: str, year: int, permit_type: int, seq: int) -> str:
    """Make a permit id, e.g. ("TR", "UZ", 2025, 1, 1) -> "TR-UZ-2025-1-1"."""
    permit_id = f"{issuer}-{issued_for}-{year:04d}-{int(permit_type)}-{seq}"
    if not PERMIT_ID_PATTERN.fullmatch(permit_id):
        raise DocumentValidationError(f"{permit_id!r} is not a permit id ISSUER-FOR-YEAR-TYPE-SEQ")
    return permit_id


def parse_permit_id(permit_id: str) -> tuple[str, str, int, PermitType, int]:
    """Split "TR-UZ-2025-1-1" into (issuer, issued_for, year, type, sequence); raise
    DocumentValidationError (wire code INVALID_PERMITID) when it is not of that form."""
    if not PERMIT_ID_PATTERN.fullmatch(permit_id):
        raise DocumentValidationError(
            f"{permit_id!r} is not a permit id of the form ISSUER-ISSUEDFOR-YEAR-TYPE-SEQ"
        )
    issuer, issued_for, year, kind, seq = permit_id.split("-")
    if int(kind) not in PermitType._value2member_map_ or int(seq) < 1:
        raise DocumentValidationError(f"{permit_id!r}: type must be 1-4 and the sequence >= 1")
    return issuer, issued_for, int(year), PermitType(int(kind)), int(seq)


def next_permit_sequence(quota: Quota, used: int) -> int:
    """In: the quota and how many of its permits are already issued. Out: the next sequence
    number (used + 1). Raises QuotaExhaustedError when the quota is used up. The store makes
    the count-and-insert atomic; this only says which number comes next."""
    if used < 0:
        raise DocumentValidationError("the count of permits already issued cannot be negative")
    if used >= quota.quantity:
        raise QuotaExhaustedError(
            f"quota {quota.permit_issuer}->{quota.permit_issued_for} {quota.permit_year} type "
            f"{int(quota.permit_type)} is used up: {used} of {quota.quantity} permits issued"
        )
    return used + 1


class Permit(BaseModel):
    """A road transport permit, with the fields of the e-Permit specification."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    permit_id: Annotated[str, Field(pattern=PERMIT_ID_PATTERN.pattern)]
    permit_type: PermitType
    permit_year: int
    permit_issuer: Authority
    permit_issued_for: Authority
    plate_number: PlateNumber
    plate_number2: PlateNumber | None = None
    issued_at: WireDate
    expires_at: WireDate
    company_name: Annotated[str, Field(min_length=1, max_length=256)]
    company_id: Annotated[str, Field(min_length=1, max_length=64)]
    departure_country: CountryCode | None = None
    arrival_country: CountryCode | None = None
    other_claims: dict[str, Any] | None = None
    qr_code: str | None = None  # the compact ES256 JWS over `qr_claims`, set by the signer

    @model_validator(mode="after")
    def _consistent(self) -> Permit:
        issuer, issued_for, year, kind, _ = parse_permit_id(self.permit_id)
        if (issuer, issued_for, year, kind) != (
            self.permit_issuer,
            self.permit_issued_for,
            self.permit_year,
            self.permit_type,
        ):
            raise ValueError("permit_id does not match issuer, issued_for, year and type")
        if self.issued_at >= self.expires_at:
            raise ValueError("issued_at must be before expires_at")
        return self

    def to_wire(self) -> dict[str, Any]:
        """The permit as the permit-created event carries it: snake_case, fields in the
        specification's order, dates dd/MM/yyyy, null fields left out."""
        order = (
            "permit_id",
            "permit_type",
            "permit_issuer",
            "permit_issued_for",
            "permit_year",
            "issued_at",
            "expires_at",
            "plate_number",
            "plate_number2",
            "company_name",
            "company_id",
            "departure_country",
            "arrival_country",
            "qr_code",
            "other_claims",
        )
        dumped = self.model_dump(mode="json")
        return {k: dumped[k] for k in order if dumped[k] is not None}


def issue_permit(
    quota: Quota,
    used: int,
    *,
    plate_number: str,
    company_name: str,
    company_id: str,
    issued_at: date,
    expires_at: date,
    plate_number2: str | None = None,
    departure_country: str | None = None,
    arrival_country: str | None = None,
    other_claims: dict[str, Any] | None = None,
) -> Permit:
    """In: the quota, how many of it are already issued, the haulier's data and the dates.
    Out: the permit with the next sequence number (QuotaExhaustedError past the quota)."""
    seq = next_permit_sequence(quota, used)
    return Permit(
        permit_id=format_permit_id(
            quota.permit_issuer, quota.permit_issued_for, quota.permit_year, quota.permit_type, seq
        ),
        permit_type=quota.permit_type,
        permit_year=quota.permit_year,
        permit_issuer=quota.permit_issuer,
        permit_issued_for=quota.permit_issued_for,
        plate_number=plate_number,
        plate_number2=plate_number2,
        issued_at=issued_at,
        expires_at=expires_at,
        company_name=company_name,
        company_id=company_id,
        departure_country=departure_country,
        arrival_country=arrival_country,
        other_claims=other_claims,
    )


def _unix(day: date) -> int:
    return int(datetime.combine(day, time(0), tzinfo=UTC).timestamp())


def qr_claims(permit: Permit) -> dict[str, Any]:
    """The claims the issuing authority signs into the QR code (compact ES256 JWS):
    id, iat and exp (Unix seconds, 00:00 UTC of issued_at and expires_at), pn (plate),
    cn (company name)."""
    return {
        "id": permit.permit_id,
        "iat": _unix(permit.issued_at),
        "exp": _unix(permit.expires_at),
        "pn": permit.plate_number,
        "cn": permit.company_name,
    }


class ActivityType(StrEnum):
    ENTRANCE = "ENTRANCE"  # the prose says ENTRY; the reference implementation's enum ENTRANCE
    EXIT = "EXIT"


class PermitUsage(BaseModel):
    """A usage a control authority recorded at its border; never revoked."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    permit_id: Annotated[str, Field(pattern=PERMIT_ID_PATTERN.pattern)]
    control_authority: Authority
    activity_type: ActivityType
    activity_timestamp: Annotated[int, Field(ge=EARLIEST_EVENT_TIMESTAMP)]
    activity_details: str | None = Field(default=None, max_length=1024)


class PermitRecord(BaseModel):
    """A permit with its usages and revocation: the state a control authority checks."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    permit: Permit
    usages: tuple[PermitUsage, ...] = ()
    revoked_at: AwareDatetime | None = None

    @property
    def state(self) -> str:
        """ "revoked", "used" or "unused"."""
        if self.revoked_at is not None:
            return "revoked"
        return "used" if self.usages else "unused"

    def record_usage(self, usage: PermitUsage, rule: UsageRule) -> PermitRecord:
        """In: a usage and the control authority's rule. Out: the record with the usage added.
        Refused for a revoked permit, a usage outside the permit's validity, or when the rule
        says no (PermitUsageRefusedError)."""
        label = f"permit {self.permit.permit_id}"
        if self.revoked_at is not None:
            raise IllegalTransitionError(label, "record a usage", "revoked", [])
        if usage.permit_id != self.permit.permit_id:
            raise DocumentValidationError(f"{label}: the usage is for {usage.permit_id}")
        day = datetime.fromtimestamp(usage.activity_timestamp, tz=UTC).date()
        if not self.permit.issued_at <= day <= self.permit.expires_at:
            raise DocumentValidationError(
                f"{label}: used on {day:%d/%m/%Y}, valid "
                f"{self.permit.issued_at:%d/%m/%Y} to {self.permit.expires_at:%d/%m/%Y}"
            )
        rule.check(self.permit, self.usages, usage)
        return self.model_copy(update={"usages": (*self.usages, usage)})

    def revoke(self, at: AwareDatetime) -> PermitRecord:
        """Revoke an unused permit; a used or already revoked one raises IllegalTransitionError
        (wire codes PERMIT_USED, PERMIT_ALREADY_REVOKED)."""
        state = self.state
        if state != "unused":
            allowed = ["record a usage"] if state == "used" else []
            raise IllegalTransitionError(
                f"permit {self.permit.permit_id}", "revoke", state, allowed
            )
        return self.model_copy(update={"revoked_at": at})


class UsageRule(Protocol):
    """A control authority's rule on how often a permit may be used (see permit_rules)."""

    def check(self, permit: Permit, previous: tuple[PermitUsage, ...], usage: PermitUsage) -> None:
        """Raise PermitUsageRefusedError if `usage` may not follow `previous` on `permit`."""
        ...
