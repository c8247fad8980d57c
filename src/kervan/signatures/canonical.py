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
from typing import Any, Final, TypeAlias

import pydantic_core
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


def _ordered_as_utf16(text: str) -> bool:
    """True when code-point order is UTF-16 order for every string in `text` (no U+D800+)."""
    return text.isascii() or _BEYOND_BMP_ORDER.search(text) is None


def _sorted_plain(value: Any) -> Any:
    """Return a copy of the dict or list `value` with every object's members in name order.

    Raises _NotPlainError unless `value` holds only dicts with str keys, lists, tuples, str,
    bool, None and ints within +-(2**53 - 1), each of exactly those types (a subclass such as
    an enum may encode differently); floats included. For such values compact JSON of the copy
    in member order is RFC 8785, up to the order of keys past U+D7FF (see `_ordered_as_utf16`).
    """
    if type(value) is dict:
        members: dict[str, Any] = {}
        for key in sorted(value):
            if type(key) is not str:
                raise _NotPlainError
            member = value[key]
            kind = type(member)
            if kind is str or member is None or kind is bool:
                members[key] = member
            elif kind is int:
                if not -_MAX_SAFE_INTEGER <= member <= _MAX_SAFE_INTEGER:
                    raise _NotPlainError
                members[key] = member
            else:
                members[key] = _sorted_plain(member)
        return members
    if type(value) is list or type(value) is tuple:
        items: list[Any] = []
        for member in value:
            kind = type(member)
            if kind is str or member is None or kind is bool:
                items.append(member)
            elif kind is int:
                if not -_MAX_SAFE_INTEGER <= member <= _MAX_SAFE_INTEGER:
                    raise _NotPlainError
                items.append(member)
            else:
                items.append(_sorted_plain(member))
        return items
    raise _NotPlainError


def _is_sorted_plain(value: Any) -> bool:
    """True when `value` (parsed JSON) is plain, as `_sorted_plain` says, with sorted members."""
    stack = [value]
    pop, push = stack.pop, stack.append
    while stack:
        item = pop()
        if type(item) is dict:
            names = list(item)
            if names != sorted(names):
                return False
            members = item.values()
        else:
            members = item
        for member in members:
            kind = type(member)
            if kind is str:  # most members, so tested first
                continue
            if kind is dict or kind is list:
                push(member)
            elif kind is int:
                if not -_MAX_SAFE_INTEGER <= member <= _MAX_SAFE_INTEGER:
                    return False
            elif member is not None and kind is not bool:
                return False
    return True


def _ordered_as_utf16_bytes(data: bytes) -> bool:
    return data.isascii() or _ordered_as_utf16(data.decode("utf-8"))


def canonical_json(value: object) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of a JSON-compatible `value`.

    Raises `CanonicalJsonError` for values JSON cannot carry exactly (NaN, infinities, integers
    outside +-(2**53 - 1), non-JSON types such as datetime or bytes). Keys are strings.
    """
    # Fast: without floats, unsafe integers and keys beyond U+D7FF, RFC 8785 is exactly compact
    # JSON with every object's members in code-point order, and both escape the same
    # characters; pydantic-core writes that in Rust once the members are sorted.
    try:
        data = pydantic_core.to_json(_sorted_plain(value))
    except (_NotPlainError, TypeError, ValueError):
        pass  # not plain, a lone surrogate, or incomparable keys: the general path says
    else:
        if _ordered_as_utf16_bytes(data):
            return data
    try:
        text = _FAST.encode(value)
    except (TypeError, ValueError):
        return _reference(value)  # says precisely what cannot be carried
    if _ordered_as_utf16(text):
        # Other types (enum members, say) may still encode as RFC 8785 does: re-reading the
        # text in C finds any float or unsafe integer, and comparing it with `value` any key
        # the encoder turned into a string.
        try:
            if _PLAIN_DECODER.decode(text) == value:
                return text.encode("utf-8")
        except _NotPlainError:
            pass
    return _reference(value)


class CanonicalJson:
    """A JSON value's RFC 8785 bytes, computed once, to hand to signing and the ledger.

    `CanonicalJson(value)` canonicalises `value` (raising `CanonicalJsonError` as
    `canonical_json` does); `data` is then the canonical bytes. Functions that take a document
    (`sign_document`, `sign_version`, `Ledger.append`, ...) accept this in place of the value
    and use these bytes, so one document is encoded once however many steps it goes through.
    The bytes are fixed at construction: changing `value` afterwards does not change them.
    """

    __slots__ = ("_data", "_digest")

    def __init__(self, value: object) -> None:
        """Canonicalise `value`; raise CanonicalJsonError if JSON cannot carry it exactly."""
        self._data: Final = canonical_json(value)
        self._digest: bytes | None = None

    @classmethod
    def read(cls, data: bytes) -> tuple[CanonicalJson, JsonValue]:
        """Read bytes that must be canonical already (a stored version): the bytes as a
        `CanonicalJson`, checked once and not encoded again, and the value they hold.

        Raises `CanonicalJsonError` as `parse_canonical_json` does.
        """
        value = parse_canonical_json(data)
        canonical = cls.__new__(cls)
        object.__setattr__(canonical, "_data", bytes(data))
        object.__setattr__(canonical, "_digest", None)
        return canonical, value

    @property
    def data(self) -> bytes:
        """The RFC 8785 canonical UTF-8 bytes."""
        return self._data

    def digest(self) -> bytes:
        """SHA-256 of `data` (computed once)."""
        if self._digest is None:
            self._digest = hashlib.sha256(self._data).digest()
        return self._digest

    def digest_hex(self) -> str:
        """SHA-256 of `data` as 64 lowercase hex characters."""
        return self.digest().hex()

    def is_object(self) -> bool:
        """True when the value is a JSON object (what a document or ledger payload must be)."""
        return self._data[:1] == b"{"

    def __repr__(self) -> str:
        return f"CanonicalJson({len(self._data)} bytes, sha256={self.digest_hex()[:16]}...)"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("CanonicalJson is not picklable: canonicalise the value where it is used")


def _reference(value: object) -> bytes:
    try:
        return rfc8785.dumps(value)  # type: ignore[arg-type]
    except (rfc8785.CanonicalizationError, UnicodeEncodeError) as exc:
        raise CanonicalJsonError(f"cannot canonicalise as RFC 8785 JSON: {exc}") from exc


def canonical_bytes(value: object) -> bytes:
    """Return `value.data` for a `CanonicalJson`, else `canonical_json(value)`."""
    return value.data if isinstance(value, CanonicalJson) else canonical_json(value)


def canonical_digest_hex(value: object) -> str:
    """Return the SHA-256 digest of `canonical_json(value)` as 64 lowercase hex characters."""
    if isinstance(value, CanonicalJson):
        return value.digest_hex()
    return hashlib.sha256(canonical_json(value)).hexdigest()


def parse_json(data: bytes) -> JsonValue:
    """Parse UTF-8 JSON `data` strictly; return the value.

    Raises `CanonicalJsonError` for bad UTF-8 or JSON, a duplicate object key, or NaN/Infinity,
    none of which can be signed unambiguously.
    """
    try:
        fast: JsonValue = pydantic_core.from_json(data, allow_inf_nan=False, cache_strings="keys")
    except ValueError:
        pass
    else:
        # Compact JSON that writes back byte for byte holds no duplicate key (the value kept
        # one of them): no need for the duplicate-refusing read below.
        if pydantic_core.to_json(fast) == data:
            return fast
    try:
        value: JsonValue = _STRICT_DECODER.decode(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return _parse(data)[0]  # says what is wrong
    return value


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
    try:
        fast: JsonValue = pydantic_core.from_json(data, allow_inf_nan=False, cache_strings="keys")
    except ValueError:
        pass  # the careful path below reads it again and says what is wrong, if anything
    else:
        # Plain with sorted members, `data` is canonical exactly when it is the compact JSON of
        # what was read (which a duplicate key can never be: the parsed object keeps one).
        if (
            type(fast) is dict
            and _is_sorted_plain(fast)
            and pydantic_core.to_json(fast) == data
            and _ordered_as_utf16_bytes(data)
        ):
            return fast
    value, plain = _parse(data, duplicates_checked=True)
    # Parsed keys are strings; with no float, unsafe integer or character past U+D7FF in the
    # text, the fast encoder's bytes are the canonical ones.
    try:
        canonical = _FAST.encode(value).encode("utf-8") if plain else _reference(value)
    except UnicodeEncodeError as exc:  # an escaped lone surrogate, "\ud800"
        raise CanonicalJsonError(f"cannot canonicalise as RFC 8785 JSON: {exc}") from exc
    if canonical != data:
        _parse(data)  # says "duplicate key" when that is why
        raise CanonicalJsonError("JSON is not in RFC 8785 canonical form")
    return value


def _reject_constant(name: str) -> JsonValue:
    raise ValueError(f"JSON constant {name} is not allowed")


def _reject_duplicates(pairs: list[tuple[str, JsonValue]]) -> dict[str, JsonValue]:
    # A duplicate key lets two readers see two documents behind one signature.
    seen = dict(pairs)
    if len(seen) != len(pairs):
        names: set[str] = set()
        for key, _ in pairs:
            if key in names:
                raise ValueError(f"duplicate JSON object key {key!r}")
            names.add(key)
    return seen


# Built once (json.loads with hooks builds a decoder per call). Decoders keep no state between
# calls that matters here, so one serves every thread.
_PLAIN_DECODER: Final = json.JSONDecoder(
    parse_float=_refuse_float, parse_int=_check_int, parse_constant=_reject_constant
)
_STRICT_DECODER: Final = json.JSONDecoder(
    object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant
)
