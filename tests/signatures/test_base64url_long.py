"""Base64url of payload-sized data: one spelling per byte string, held against the stdlib.

`b64url_encode` must write what the standard library writes (without padding), and
`b64url_decode` must accept a text exactly when it is the canonical spelling of some bytes: the
stdlib decodes it and encoding those bytes gives the text back. Anything else (padding, "+" or
"/", whitespace, stray trailing bits, impossible lengths) is refused.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kervan.errors import SignatureError
from kervan.signatures.canonical import CanonicalJson
from kervan.signatures.encoding import b64url_decode, b64url_encode
from kervan.signatures.jws import sign_document, verify
from kervan.signatures.keys import Ed25519Signer
from kervan.signatures.trustlist import TrustList

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
LONG = 256  # characters: a payload segment is longer than this


def stdlib_spelling(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def strict_verdict(text: str) -> bytes | None:
    """The stdlib's answer held to one spelling (None: not the canonical spelling of any bytes)."""
    if any(c not in ALPHABET for c in text) or len(text) % 4 == 1:
        return None
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        return None
    return data if stdlib_spelling(data) == text else None


def verdict(text: str) -> bytes | None:
    try:
        return b64url_decode(text)
    except ValueError:
        return None


@settings(max_examples=400, deadline=None)
@given(st.binary(min_size=LONG - 8, max_size=4000) | st.binary(max_size=LONG))
def test_encode_and_decode_agree_with_the_stdlib_at_every_length(data: bytes) -> None:
    text = b64url_encode(data)
    assert text == stdlib_spelling(data)
    assert b64url_decode(text) == data
    assert strict_verdict(text) == data


@settings(max_examples=1500, deadline=None)
@given(
    st.binary(min_size=LONG, max_size=1200),
    st.integers(min_value=0, max_value=10**6),
    st.sampled_from(
        ["+", "/", "=", "==", " ", "\n", '"', "\\", "\\u0041", "\xe9", "A", "Q", "-", "_", ""]
    ),
    st.sampled_from(["replace", "insert", "append", "trim"]),
)
def test_long_texts_are_accepted_exactly_when_they_are_the_one_spelling(
    data: bytes, where: int, piece: str, how: str
) -> None:
    text = b64url_encode(data)
    at = where % (len(text) + 1)
    if how == "replace":
        changed = text[:at] + piece + text[at + 1 :]
    elif how == "insert":
        changed = text[:at] + piece + text[at:]
    elif how == "append":
        changed = text + piece
    else:
        changed = text[: len(text) - 1 - where % 3]
    assert verdict(changed) == strict_verdict(changed)


@pytest.mark.parametrize("tail", ["Q", "R", "QR", "QUJ", "QUK"])
def test_stray_trailing_bits_and_impossible_lengths_are_refused_when_long(tail: str) -> None:
    text = "QUJD" * (LONG // 4) + tail
    assert verdict(text) == strict_verdict(text)
    if tail in ("Q", "R", "QR", "QUK"):
        with pytest.raises(ValueError, match="base64url"):
            b64url_decode(text)


def test_non_strings_and_padding_are_refused_with_the_strict_messages() -> None:
    text = b64url_encode(bytes(LONG + 1))
    with pytest.raises(ValueError, match="not unpadded base64url"):
        b64url_decode(text + "=" * (-len(text) % 4))
    with pytest.raises(ValueError, match="not unpadded base64url"):
        b64url_decode(text.encode("ascii"))  # type: ignore[arg-type]


def test_a_signed_payload_spelled_another_way_is_refused_by_the_verifier() -> None:
    at = datetime(2025, 5, 1, 9, 0, tzinfo=UTC)
    signer = Ed25519Signer.generate("k-1", party="p-1")
    trust = TrustList()
    trust.add_signer(signer, not_before=at)
    # "~" is 0x7e and "?" 0x3f: their base64 has "+" and "/", base64url "-" and "_" instead.
    document = CanonicalJson({"marks": "~" * 600, "q": "??>" * 40})
    jws = sign_document(document, signer, "consignor", at)
    assert len(jws["payload"]) >= LONG
    assert "-" in jws["payload"]
    assert "_" in jws["payload"]
    assert [s.role for s in verify(jws, trust)] == ["consignor"]
    standard = jws["payload"].replace("-", "+").replace("_", "/")
    padded = jws["payload"] + "=" * (-len(jws["payload"]) % 4)
    for spelling in (standard, padded):
        assert spelling != jws["payload"]
        with pytest.raises(SignatureError, match="malformed"):
            verify(dict(jws, payload=spelling), trust)  # type: ignore[arg-type]
