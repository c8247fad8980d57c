"""RFC 8785 (JSON Canonicalization Scheme) bytes and the SHA-256 digests taken over them.

Every signature and every ledger digest in Kervan is computed over these bytes, so two parties
that hold the same document always hash the same octets whatever their JSON library did to key
order, whitespace or number formatting.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import TypeAlias

import rfc8785

from kervan.errors import CanonicalJsonError

JsonValue: TypeAlias = (
    bool | int | float | str | Sequence["JsonValue"] | Mapping[str, "JsonValue"] | None
)
JsonObject: TypeAlias = dict[str, JsonValue]


_MAX_SAFE_INTEGER = 2**53 - 1
_FAST = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":"), check_circular=False
)
# Characters where code-point order and RFC 8785's UTF-16 order part, and lone surrogates.
_BEYOND_BMP_ORDER = re.compile("[\ud800-\U0010ffff]")


class _NotPlainError(Exception):
    """The fast encoding is not RFC 8785's for this value (a float or an unsafe integer)."""


def _refuse_float(_: str) -> float:
    raise _NotPlainError


def _check_int(text: str) -> int:
    value = int(text)
    if not -_MAX_SAFE_INTEGER <= value <= _MAX_SAFE_INTEGER:
        raise _NotPlainError
    return value


def canonical_json(value: object) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of a JSON-compatible `value`.

    Raises `CanonicalJsonError` for values JSON cannot carry exactly (NaN, infinities, integers
    outside +-(2**53 - 1), non-JSON types such as datetime or bytes). Keys are strings.
    """
    try:
        text = _FAST.encode(value)
    except (TypeError, ValueError):
        return _reference(value)  # says precisely what cannot be carried
    if _BEYOND_BMP_ORDER.search(text) is None:
        # Without floats, unsafe integers and characters beyond U+D7FF, RFC 8785 is exactly
        # sorted-key compact JSON: code-point order is UTF-16 order there and both escape the
        # same characters. Re-reading the text in C finds any float or unsafe integer, and
        # comparing it with `value` any key the encoder would have quietly turned into a string.
        try:
            if json.loads(text, parse_float=_refuse_float, parse_int=_check_int) == value:
                return text.encode("utf-8")
        except _NotPlainError:
            pass
    return _reference(value)


def _reference(value: object) -> bytes:
    try:
        return rfc8785.dumps(value)  # type: ignore[arg-type]
    except (rfc8785.CanonicalizationError, UnicodeEncodeError) as exc:
        raise CanonicalJsonError(f"cannot canonicalise as RFC 8785 JSON: {exc}") from exc


def canonical_digest(value: object) -> bytes:
    """Return the 32-byte SHA-256 digest of `canonical_json(value)`."""
    return hashlib.sha256(canonical_json(value)).digest()


def canonical_digest_hex(value: object) -> str:
    """Return the SHA-256 digest of `canonical_json(value)` as 64 lowercase hex characters."""
    return hashlib.sha256(canonical_json(value)).hexdigest()


def parse_json(data: bytes) -> JsonValue:
    """Parse UTF-8 JSON `data` strictly; return the value.

    Raises `CanonicalJsonError` for bad UTF-8 or JSON, a duplicate object key, or NaN/Infinity,
    none of which can be signed unambiguously.
    """
    return _parse(data)[0]


def _parse(data: bytes, *, duplicates_checked: bool = False) -> tuple[JsonValue, bool]:
    """The value, and whether it holds only what the fast encoder writes as RFC 8785 does.

    With `duplicates_checked` the caller compares the text with its canonical form afterwards,
    which a duplicate key can never match (the parsed object keeps one of them), so the slower
    duplicate-refusing hook is left out.
    """
    plain = True

    def on_float(text: str) -> float:
        nonlocal plain
        plain = False
        return float(text)

    def on_int(text: str) -> int:
        nonlocal plain
        value = int(text)
        if not -_MAX_SAFE_INTEGER <= value <= _MAX_SAFE_INTEGER:
            plain = False
        return value

    try:
        text = data.decode("utf-8")
        value: JsonValue = json.loads(
            text,
            object_pairs_hook=None if duplicates_checked else _reject_duplicates,
            parse_constant=_reject_constant,
            parse_float=on_float,
            parse_int=on_int,
        )
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CanonicalJsonError(f"not UTF-8 JSON: {exc}") from exc
    except ValueError as exc:
        raise CanonicalJsonError(str(exc)) from exc
    return value, plain and _BEYOND_BMP_ORDER.search(text) is None


def parse_canonical_json(data: bytes) -> JsonValue:
    """Parse `data` as JSON (see `parse_json`) and insist it is already in canonical form.

    Returns the parsed value. Raises `CanonicalJsonError` also when `data` differs from its own
    canonical form, so two byte strings never stand for one signed document.
    """
    value, plain = _parse(data, duplicates_checked=True)
    # Parsed keys are strings; with no float, unsafe integer or character past U+D7FF in the
    # text, the fast encoder's bytes are the canonical ones.
    canonical = _FAST.encode(value).encode("utf-8") if plain else _reference(value)
    if canonical != data:
        _parse(data)  # says "duplicate key" when that is why
        raise CanonicalJsonError("JSON is not in RFC 8785 canonical form")
    return value


def _reject_constant(name: str) -> JsonValue:
    raise ValueError(f"JSON constant {name} is not allowed")


def _reject_duplicates(pairs: list[tuple[str, JsonValue]]) -> dict[str, JsonValue]:
    # A duplicate key lets two readers see two documents behind one signature.
    seen: dict[str, JsonValue] = {}
    for key, val in pairs:
        if key in seen:
            raise ValueError(f"duplicate JSON object key {key!r}")
        seen[key] = val
    return seen
