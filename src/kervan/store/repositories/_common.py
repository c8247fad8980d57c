"""Helpers the repositories share: the caller's organisations, canonical text, DB errors."""

from __future__ import annotations

import hashlib
from collections.abc import Collection

from kervan.errors import InvalidRequestError
from kervan.signatures.canonical import canonical_json


def visible(org_ids: Collection[str]) -> list[str]:
    """Return the caller's organisation ids as a list for an SQL IN filter.

    Raises InvalidRequestError for a bare string (a classic slip that would filter by letters).
    """
    if isinstance(org_ids, str):
        raise InvalidRequestError("org_ids must be a collection of organisation ids, not a str")
    return sorted(set(org_ids))


def canonical_text(value: object) -> str:
    """Return the RFC 8785 canonical JSON of `value` as text, exactly as it is stored."""
    return canonical_json(value).decode("utf-8")


def sha256_hex(text: str) -> str:
    """Return SHA-256 of the UTF-8 bytes of `text` as lowercase hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
