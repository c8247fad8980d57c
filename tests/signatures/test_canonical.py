"""RFC 8785 canonical JSON: the examples of the RFC and the strict parser."""

from __future__ import annotations

import hashlib
import math

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from kervan.errors import CanonicalJsonError
from kervan.signatures.canonical import (
    CanonicalJson,
    canonical_digest_hex,
    canonical_json,
    parse_canonical_json,
    parse_json,
)


def test_rfc8785_section_3_2_2_example() -> None:
    # RFC 8785 §3.2.2: the input with literals, numbers and string escapes, and its output.
    value = {
        "numbers": [333333333.33333329, 1e30, 4.50, 2e-3, 0.000000000000000000000000001],
        "string": "\u20ac$\u000f\u000aA'\u0042\u0022\u005c\\\"/",
        "literals": [None, True, False],
    }
    expected = (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    )
    assert canonical_json(value) == expected.encode("utf-8")


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (0.0, "0"),
        (-0.0, "0"),
        (1.0, "1"),
        (-1.5, "-1.5"),
        (1e21, "1e+21"),
        (1e20, "100000000000000000000"),
        (1e-7, "1e-7"),
        (0.000001, "0.000001"),
        (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (9007199254740991, "9007199254740991"),
        (-9007199254740991, "-9007199254740991"),
        (0.1 + 0.2, "0.30000000000000004"),
    ],
)
def test_number_formatting_follows_ecmascript(number: float, text: str) -> None:
    # RFC 8785 §3.2.2.3 / Appendix B: numbers are written as ECMAScript's Number.toString.
    assert canonical_json(number) == text.encode()


def test_keys_sort_by_utf16_code_units() -> None:
    # RFC 8785 §3.2.3 example: sorting is on UTF-16 code units, so U+1F600 (surrogates D83D DE00)
    # sorts before U+FB33 although its code point is higher.
    value = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    names = [
        "Carriage Return",
        "One",
        "Control",
        "Latin Small Letter O With Diaeresis",
        "Euro Sign",
        "Emoji: Grinning Face",
        "Hebrew Letter Dalet With Dagesh",
    ]
    parsed = parse_json(canonical_json(value))
    assert isinstance(parsed, dict)
    assert list(parsed.values()) == names


def test_nested_objects_are_sorted_and_whitespace_free() -> None:
    value = {"b": {"z": 1, "a": [3, {"y": None, "x": "Алматы"}]}, "a": True}
    assert (
        canonical_json(value) == '{"a":true,"b":{"a":[3,{"x":"Алматы","y":null}],"z":1}}'.encode()
    )


def test_digests_are_sha256_of_the_canonical_bytes() -> None:
    a = {"weight_kg": 19850.5, "id": "KZ-1"}
    b = {"id": "KZ-1", "weight_kg": 19850.50}
    assert canonical_digest_hex(a) == canonical_digest_hex(b)
    assert canonical_digest_hex(a) == hashlib.sha256(canonical_json(a)).hexdigest()
    assert canonical_digest_hex({"id": "KZ-2"}) != canonical_digest_hex(a)


@pytest.mark.parametrize(
    "value", [math.nan, math.inf, 2**53, {1: "non-string key"}, {"when": object()}, b"bytes"]
)
def test_values_json_cannot_carry_are_refused(value: object) -> None:
    with pytest.raises(CanonicalJsonError, match="canonicalise"):
        canonical_json(value)


def test_parser_refuses_what_could_be_read_two_ways() -> None:
    assert parse_canonical_json(b'{"a":1,"b":[true]}') == {"a": 1, "b": [True]}
    for text, why in [
        (b'{"b":1,"a":2}', "canonical"),
        (b'{"a": 1}', "canonical"),
        (b'{"a":1.0}', "canonical"),
        (b'{"a":1,"a":2}', "duplicate"),
        (b'{"a":NaN}', "NaN"),
        (b"\xff", "UTF-8"),
    ]:
        with pytest.raises(CanonicalJsonError, match=why):
            parse_canonical_json(text)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_fast_path_is_byte_identical_to_the_reference_implementation(value: object) -> None:
    try:
        expected = rfc8785.dumps(value)  # type: ignore[arg-type]
    except (rfc8785.CanonicalizationError, UnicodeEncodeError):
        with pytest.raises(CanonicalJsonError):
            canonical_json(value)
        return
    assert canonical_json(value) == expected


def test_keys_beyond_the_bmp_sort_by_utf16_code_units() -> None:
    # U+1F600 sorts before U+FF5E in UTF-16 (surrogates D83D...) but after it by code point.
    value = {"\uff5e": 1, "\U0001f600": 2}
    assert canonical_json(value) == rfc8785.dumps(value)
    assert canonical_json(value).startswith('{"\U0001f600"'.encode())


def test_reading_stored_canonical_bytes_keeps_them_and_refuses_anything_else() -> None:
    note = {
        "consignor": {"country": "UZ", "name": "Tashkent Cotton Export"},
        "goods": [{"gross_weight_kg": 19850, "hs_code": "520100"}],
        "route": ["Tashkent", "Almaty", "Aktau", "Baku", "Tbilisi", "Istanbul"],
    }
    stored = canonical_json(note)
    canonical, value = CanonicalJson.read(stored)
    assert value == note
    assert canonical.data == stored == CanonicalJson(note).data
    assert canonical.digest_hex() == canonical_digest_hex(note)
    assert canonical.is_object()
    for not_canonical in (
        b'{"route": ["Tashkent"]}',  # whitespace
        b'{"route":["Tashkent"],"goods":[]}',  # members out of order
        b'{"goods":[],"goods":[]}',  # a duplicate member
    ):
        with pytest.raises(CanonicalJsonError):
            CanonicalJson.read(not_canonical)
