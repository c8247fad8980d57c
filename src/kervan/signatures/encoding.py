"""Strict encodings shared by signatures and the ledger: base64url, hex digests, Unix seconds.

Decoders here accept exactly one spelling per value (no padding, no stray bits, lowercase hex) so
that flipping a character of a signed artefact can never leave it meaning the same thing.
"""

from __future__ import annotations

import binascii
import re
from datetime import UTC, datetime

_B64URL_VALUE = {
    c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
}
_URL_TO_STANDARD = bytes.maketrans(b"-_", b"+/")
_STANDARD_TO_URL = bytes.maketrans(b"+/", b"-_")
_PADDING = (b"", b"", b"==", b"=")
_HEX64 = re.compile(r"[0-9a-f]{64}")


def b64url_encode(data: bytes) -> str:
    """Return base64url of `data` without padding (RFC 7515 §2)."""
    encoded = binascii.b2a_base64(data, newline=False).translate(_STANDARD_TO_URL)
    return encoded.rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode unpadded base64url `text`; raise ValueError unless it is the canonical spelling."""
    if not isinstance(text, str) or not text.isascii() or len(text) % 4 == 1:
        raise ValueError("not unpadded base64url")
    raw = text.encode("ascii")
    # The standard alphabet's "+" and "/", and padding, would pass the decoder below: they are
    # dropped here, so a text holding any of them comes out shorter.
    standard = raw.translate(_URL_TO_STANDARD, b"+/=")
    if len(standard) != len(raw):
        raise ValueError("not unpadded base64url")
    try:
        # strict_mode refuses any character outside the alphabet (whitespace included).
        data = binascii.a2b_base64(standard + _PADDING[len(raw) % 4], strict_mode=True)
    except binascii.Error as exc:
        raise ValueError("not unpadded base64url") from exc
    # Unused trailing bits would let two strings decode to the same bytes: the last character
    # of a 2- or 3-character tail must leave them zero.
    tail = len(text) % 4
    if tail and _B64URL_VALUE[text[-1]] & (0x0F if tail == 2 else 0x03):
        raise ValueError("non-canonical base64url (stray trailing bits)")
    return data


def hex32_decode(text: str) -> bytes:
    """Decode a 32-byte hash written as 64 lowercase hex characters; raise ValueError otherwise."""
    if not isinstance(text, str) or _HEX64.fullmatch(text) is None:
        raise ValueError("not a 64-character lowercase hex SHA-256 hash")
    return bytes.fromhex(text)


def require_aware(moment: datetime, what: str) -> datetime:
    """Return `moment` in UTC; raise ValueError if it carries no time zone."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be a time-zone aware datetime")
    return moment.astimezone(UTC)


def unix_seconds(moment: datetime) -> int:
    """Return whole Unix seconds of an aware `moment` (rounded down, as JWS `iat` is)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        require_aware(moment, "time")  # raises
    # An aware datetime's timestamp is the same whatever its zone: no conversion to UTC first.
    return int(moment.timestamp() // 1)


def from_unix_seconds(seconds: int) -> datetime:
    """Return the UTC datetime of whole Unix `seconds`."""
    return datetime.fromtimestamp(seconds, tz=UTC)


def rfc3339(moment: datetime) -> str:
    """Return an aware `moment` as an RFC 3339 UTC string ending in Z (microseconds if any)."""
    if moment.tzinfo is not UTC:
        moment = require_aware(moment, "time")
    return moment.isoformat().replace("+00:00", "Z")


def parse_rfc3339(text: str) -> datetime:
    """Parse a string written by `rfc3339`; raise ValueError for any other spelling."""
    if not isinstance(text, str) or not text.endswith("Z"):
        raise ValueError("not an RFC 3339 UTC time ending in Z")
    moment = datetime.fromisoformat(text)
    if rfc3339(moment) != text:
        raise ValueError("non-canonical RFC 3339 time")
    return moment
