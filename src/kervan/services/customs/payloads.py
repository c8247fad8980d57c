"""Payloads of the customs corridor's messages: models as JSON values, and read back with a
refusal (DocumentValidationError) when a member is missing or invalid.

- PRE_ARRIVAL, trade side -> customs of every country on the route, when the cargo is taken
  over: {"shipment", "reference", "declaration": DeclarationVersion,
  "crossings": [AnnouncedCrossing]} (every border of the route, where and when it is expected).
- CONTROL_RESULT, customs -> customs of the countries still ahead, at release:
  {"shipment", "control": ControlResult}.
- BORDER_CROSSING, customs -> trade side, at arrival: {"shipment", "leg_index", "event":
  "border_arrival", "at"}; at release: {"shipment", "leg_index", "event": "border_release",
  "lane", "control": ControlResult}; recorded as that event on the shipment's timeline.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TypeVar, cast

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from kervan.errors import DocumentValidationError
from kervan.exchange.envelope import CrossBorderMessage
from kervan.signatures.canonical import JsonValue

Model = TypeVar("Model", bound=BaseModel)


class AnnouncedCrossing(BaseModel):
    """A border of the route as the pre-arrival declaration announces it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    leg_index: int = Field(ge=0, le=500)
    country: str = Field(pattern=r"^[A-Z]{2}$")
    entry_node: str = Field(min_length=1, max_length=32)
    entry_name: str = Field(min_length=1, max_length=128)
    expected_at: AwareDatetime | None = None


def as_json(model: BaseModel) -> JsonValue:
    """A model as JSON values for a payload."""
    return cast(JsonValue, json.loads(model.model_dump_json()))


def read(message: CrossBorderMessage, name: str, model: type[Model]) -> Model:
    """Member `name` of the payload as `model` (DocumentValidationError if missing or invalid)."""
    try:
        return model.model_validate(message.payload[name])
    except (KeyError, ValidationError) as exc:
        raise DocumentValidationError(
            f"{message.id}: payload member {name!r} is not a valid {model.__name__}: {exc}"
        ) from exc


def text(message: CrossBorderMessage, name: str) -> str:
    """Member `name` of the payload as a non-empty string (DocumentValidationError if not)."""
    value = message.payload.get(name)
    if not isinstance(value, str) or not value:
        raise DocumentValidationError(f"{message.id}: payload member {name!r} must be a string")
    return value


_MOMENT: TypeAdapter[AwareDatetime] = TypeAdapter(AwareDatetime)


def moment(message: CrossBorderMessage, name: str) -> datetime:
    """Member `name` of the payload as a time with its zone (DocumentValidationError if not)."""
    try:
        return _MOMENT.validate_python(message.payload.get(name))
    except ValidationError as exc:
        raise DocumentValidationError(
            f"{message.id}: payload member {name!r} must be a time with its zone"
        ) from exc


def whole(message: CrossBorderMessage, name: str) -> int:
    """Member `name` of the payload as a whole number >= 0 (DocumentValidationError if not)."""
    value = message.payload.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise DocumentValidationError(f"{message.id}: payload member {name!r} must be a number")
    return value


def crossings(message: CrossBorderMessage) -> list[AnnouncedCrossing]:
    """The crossings a PRE_ARRIVAL message announces (DocumentValidationError if invalid)."""
    found = message.payload.get("crossings")
    if not isinstance(found, list):
        raise DocumentValidationError(f"{message.id}: payload member 'crossings' must be a list")
    try:
        return [AnnouncedCrossing.model_validate(c) for c in found]
    except ValidationError as exc:
        raise DocumentValidationError(f"{message.id}: a crossing is not valid: {exc}") from exc
