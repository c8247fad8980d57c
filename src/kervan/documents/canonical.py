"""RFC 8785 (JSON Canonicalization Scheme) bytes and the SHA-256 digests taken over them.

Every signature and every ledger digest in Kervan is computed over these bytes, so two parties
that hold the same document always hash the same octets whatever their JSON library did to key
order, whitespace or number formatting.
"""

from __future__ import annotations

import hashlib
import json
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


def canonical_json(value: object) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of a JSON-compatible `value`.

    Raises `CanonicalJsonError` for values JSON cannot carry exactly (NaN, infinities, integers
    outside +-(2**53 - 1), non-string keys, non-JSON types such as datetime or bytes).
    """
    if _plain(value):
        # Without floats and with every key below U+D800, RFC 8785 is exactly sorted-key compact
        # JSON: code-point order equals UTF-16 order there, and the two escape the same
        # characters. The C encoder is several times faster than the general implementation.
        try:
            return _FAST.encode(value).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise CanonicalJsonError(f"cannot canonicalise as RFC 8785 JSON: {exc}") from exc
    try:
        return rfc8785.dumps(value)  # type: ignore[arg-type]
    except rfc8785.CanonicalizationError as exc:
        raise CanonicalJsonError(f"cannot canonicalise as RFC 8785 JSON: {exc}") from exc


def _plain(value: object) -> bool:
    """Whether `value` holds only strings, safe integers, booleans, None, lists and dicts with
    string keys below U+D800 (where the fast encoder's output is RFC 8785's)."""
    stack: list[object] = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str or kind is bool or item is None:
            continue
        if kind is int:
            assert isinstance(item, int)
            if not -_MAX_SAFE_INTEGER <= item <= _MAX_SAFE_INTEGER:
                return False
        elif kind is dict:
            assert isinstance(item, dict)
            for key, child in item.items():
                if type(key) is not str or (key and max(key) >= "\ud800"):
                    return False
                stack.append(child)
        elif kind is list or kind is tuple:
            assert isinstance(item, list | tuple)
            stack.extend(item)
        else:
            return False
    return True


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
    try:
        value: JsonValue = json.loads(
            data.decode("utf-8"),
            object_pairs_hook=_reject_duplicates,
            parse_constant=_reject_constant,
        )
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CanonicalJsonError(f"not UTF-8 JSON: {exc}") from exc
    except ValueError as exc:
        raise CanonicalJsonError(str(exc)) from exc
    return value


def parse_canonical_json(data: bytes) -> JsonValue:
    """Parse `data` as JSON (see `parse_json`) and insist it is already in canonical form.

    Returns the parsed value. Raises `CanonicalJsonError` also when `data` differs from its own
    canonical form, so two byte strings never stand for one signed document.
    """
    value = parse_json(data)
    if canonical_json(value) != data:
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
