"""Parameters the routes share: the id of an object named in a path.

Declared once so the OpenAPI document states the bounds the node enforces on them: one line
of text, no control characters (the control character guard refuses those first), at most
128 characters.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from kervan.documents.text import LINE_PATTERN

ObjectId = Annotated[
    str,
    Path(min_length=1, max_length=128, pattern=LINE_PATTERN, description="The object's id"),
]
"""A shipment, document or permit id in a path."""

__all__ = ["ObjectId"]
