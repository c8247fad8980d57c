"""e-Permit peer events on the wire, byte for byte as the reference implementation writes them.

Each event is its own fields in declaration order, then the common fields (event_producer,
event_consumer, event_timestamp, event_type, event_id, previous_event_id); null fields are left
out; no spaces; integers without decimals; and the HTML-safe escaping of the reference's JSON
library: <, >, &, =, ' written as \\u003c, \\u003e, \\u0026, \\u003d, \\u0027, the line and
paragraph separators U+2028 and U+2029 as \\u2028 and \\u2029, other non-ASCII as UTF-8. A
receiver re-serialises what it parsed and checks the detached proof on those bytes, so `serialise`
is what a sender must sign and what a receiver must verify.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError

from kervan.documents.epermit import EARLIEST_EVENT_TIMESTAMP
from kervan.errors import CanonicalJsonError, EpermitPeerError
from kervan.signatures.canonical import parse_json

_HTML_SAFE: Final = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "=": "\\u003d",
    "'": "\\u0027",
    # The line and paragraph separators are valid in JSON strings but not in JavaScript ones;
    # the reference's JSON library always escapes them, so the signed bytes carry the escapes.
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
PeerAuthority = Annotated[StrictStr, Field(pattern=r"^[A-Z]+$", min_length=2, max_length=16)]


class EventType(StrEnum):
    """The six e-Permit peer events; `path` is their URL segment under /events/."""

    QUOTA_CREATED = "QUOTA_CREATED"
    PERMIT_CREATED = "PERMIT_CREATED"
    PERMIT_USED = "PERMIT_USED"
    PERMIT_REVOKED = "PERMIT_REVOKED"
    KEY_CREATED = "KEY_CREATED"
    KEY_REVOKED = "KEY_REVOKED"

    @property
    def path(self) -> str:
        """e.g. "quota-created"."""
        return self.value.lower().replace("_", "-")

    @classmethod
    def from_path(cls, path: str) -> EventType:
        """The event type posted to /events/`path`; ValueError for any other path."""
        return cls(path.upper().replace("-", "_"))


class _Wire(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", strict=True)


class Common(_Wire):
    """The fields every event carries, after its own."""

    event_producer: PeerAuthority
    event_consumer: PeerAuthority
    event_timestamp: Annotated[StrictInt, Field(ge=EARLIEST_EVENT_TIMESTAMP)]
    event_type: Annotated[EventType, Field(strict=False)]  # a JSON string names the member
    event_id: Annotated[StrictStr, Field(min_length=16, max_length=100)]
    previous_event_id: Annotated[StrictStr, Field(min_length=1, max_length=100)]


class QuotaCreated(_Wire):
    """quota-created: produced by permit_issued_for (the quota authority) for permit_issuer."""

    permit_issuer: PeerAuthority
    permit_issued_for: PeerAuthority
    permit_year: Annotated[StrictInt, Field(ge=2000, le=9999)]
    permit_type: Annotated[StrictInt, Field(ge=1, le=4)]
    quantity: Annotated[StrictInt, Field(ge=1)]


class PermitCreated(_Wire):
    """permit-created: produced by permit_issuer for permit_issued_for."""

    permit_id: StrictStr
    permit_type: Annotated[StrictInt, Field(ge=1, le=4)]
    permit_issuer: PeerAuthority
    permit_issued_for: PeerAuthority
    permit_year: Annotated[StrictInt, Field(ge=2000, le=9999)]
    issued_at: Annotated[StrictStr, Field(pattern=r"^\d{2}/\d{2}/\d{4}$")]
    expires_at: Annotated[StrictStr, Field(pattern=r"^\d{2}/\d{2}/\d{4}$")]
    plate_number: StrictStr
    plate_number2: StrictStr | None = None
    company_name: StrictStr
    company_id: StrictStr
    departure_country: StrictStr | None = None
    arrival_country: StrictStr | None = None
    qr_code: StrictStr | None = None
    other_claims: dict[str, Any] | None = None


class PermitUsed(_Wire):
    """permit-used: produced by the control authority (issued_for side) for the issuer."""

    permit_id: StrictStr
    activity_type: Literal["ENTRANCE", "EXIT"]
    activity_timestamp: Annotated[StrictInt, Field(ge=EARLIEST_EVENT_TIMESTAMP)]
    activity_details: StrictStr | None = None


class PermitRevoked(_Wire):
    """permit-revoked: produced by the issuer for issued_for."""

    permit_id: StrictStr
    revoked_at: Annotated[StrictInt, Field(ge=EARLIEST_EVENT_TIMESTAMP)]


class KeyCreated(_Wire):
    """key-created: an authority announces a new public key (the JWK as a JSON string)."""

    authority: PeerAuthority
    kid: Annotated[StrictStr, Field(min_length=1, max_length=128)]
    jwk: StrictStr


class KeyRevoked(_Wire):
    """key-revoked: an authority withdraws one of its keys from `revoked_at`."""

    authority: PeerAuthority
    key_id: Annotated[StrictStr, Field(min_length=1, max_length=128)]
    revoked_at: Annotated[StrictInt, Field(ge=EARLIEST_EVENT_TIMESTAMP)]


EventBody = QuotaCreated | PermitCreated | PermitUsed | PermitRevoked | KeyCreated | KeyRevoked
MODELS: Final[dict[EventType, type[EventBody]]] = {
    EventType.QUOTA_CREATED: QuotaCreated,
    EventType.PERMIT_CREATED: PermitCreated,
    EventType.PERMIT_USED: PermitUsed,
    EventType.PERMIT_REVOKED: PermitRevoked,
    EventType.KEY_CREATED: KeyCreated,
    EventType.KEY_REVOKED: KeyRevoked,
}


def event_type_of(body: EventBody) -> EventType:
    """The event type whose own fields `body` holds."""
    for kind, model in MODELS.items():
        if type(body) is model:
            return kind
    raise TypeError(f"not an e-Permit event body: {type(body).__name__}")


def go_json(value: object) -> bytes:
    """JSON as the reference writes it: no spaces, UTF-8, and <, >, &, =, ', U+2028, U+2029
    escaped."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    # These characters cannot occur outside strings in JSON, so replacing them everywhere
    # only ever touches string contents.
    for char, escaped in _HTML_SAFE.items():
        text = text.replace(char, escaped)
    return text.encode("utf-8")


def serialise(body: EventBody, common: Common) -> bytes:
    """The exact bytes of an event: own fields in order, then the common ones, nulls left out."""
    if common.event_type is not event_type_of(body):
        raise ValueError(f"event_type {common.event_type} does not fit {type(body).__name__}")
    fields = body.model_dump(mode="json", exclude_none=True)
    fields.update(common.model_dump(mode="json"))
    return go_json(fields)


def parse_event(kind: EventType, data: bytes) -> tuple[EventBody, Common]:
    """Parse a posted event of type `kind`; raise EpermitPeerError (400, failing field names)
    when it is not JSON, misses or mistypes a field, or names another event type."""
    try:
        value = parse_json(data)
    except CanonicalJsonError as exc:
        raise EpermitPeerError(
            "VALIDATION_ERROR", f"not JSON: {exc.message}", status=400, fields=["body"]
        ) from exc
    if not isinstance(value, dict):
        raise EpermitPeerError(
            "VALIDATION_ERROR", "an event is a JSON object", status=400, fields=["body"]
        )
    fields: list[str] = []
    try:
        common = Common.model_validate(value)
    except ValidationError as exc:
        fields += _names(exc)
    try:
        body = MODELS[kind].model_validate(value)
    except ValidationError as exc:
        fields += _names(exc)
    if fields:
        raise EpermitPeerError(
            "VALIDATION_ERROR", f"invalid fields: {', '.join(fields)}", status=400, fields=fields
        )
    if common.event_type is not kind:
        raise EpermitPeerError(
            "VALIDATION_ERROR",
            f"event_type {common.event_type} posted to /events/{kind.path}",
            status=400,
            fields=["event_type"],
        )
    return body, common


def _names(error: ValidationError) -> list[str]:
    return sorted({".".join(str(part) for part in item["loc"]) for item in error.errors()})
