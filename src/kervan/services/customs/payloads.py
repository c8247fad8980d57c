"""Payloads of the customs corridor's messages: models as JSON values, and read back with a
refusal (DocumentValidationError) when a member is missing or invalid.

- PRE_ARRIVAL, trade side -> customs of every country on the route, when the cargo is taken
  over: {"shipment", "declaration": DeclarationVersion}.
- CONTROL_RESULT, customs -> customs of the countries still ahead, at release:
  {"shipment", "control": ControlResult}.
- BORDER_CROSSING, customs -> trade side, at release: {"shipment", "leg_index", "lane",
  "control": ControlResult}, recorded as the border_release event of the shipment.
"""

from __future__ import annotations

import json
from typing import TypeVar, cast

from pydantic import BaseModel, ValidationError

from kervan.errors import DocumentValidationError
from kervan.exchange.envelope import CrossBorderMessage
from kervan.signatures.canonical import JsonValue

Model = TypeVar("Model", bound=BaseModel)


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


def whole(message: CrossBorderMessage, name: str) -> int:
    """Member `name` of the payload as a whole number >= 0 (DocumentValidationError if not)."""
    value = message.payload.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise DocumentValidationError(f"{message.id}: payload member {name!r} must be a number")
    return value
