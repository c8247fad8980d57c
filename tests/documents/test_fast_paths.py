"""Fast paths of the documents core give the very bytes (and refusals) of the careful ones.

Canonicalising once (`CanonicalJson`) and handing the bytes on, the sorted-copy RFC 8785 encoder,
the read-back canonical check, the per-signer protected header and the strict base64url decoder
are each checked here against a reference written plainly or against the rfc8785 package.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import rfc8785
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from kervan.errors import CanonicalJsonError, SignatureError
from kervan.signatures.canonical import (
    CanonicalJson,
    canonical_bytes,
    canonical_digest_hex,
    canonical_json,
    parse_canonical_json,
    parse_json,
)
from kervan.signatures.encoding import b64url_decode, b64url_encode, rfc3339
from kervan.signatures.jws import (
    add_signature,
    check_signatures,
    jws_payload,
    protected_header,
    sign_document,
    sign_version,
    verify,
)
from kervan.signatures.keys import Ed25519Signer
from kervan.signatures.trustlist import TrustList

T0 = datetime(2025, 5, 1, 9, 0, tzinfo=UTC)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.lists(children, max_size=3).map(tuple)
        | st.dictionaries(st.text(max_size=6), children, max_size=5)
    ),
    max_leaves=25,
)
json_objects = st.dictionaries(st.text(max_size=6), json_values, max_size=6)
plain_objects = st.dictionaries(
    st.text(max_size=8),
    st.recursive(
        st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(),
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(st.text(max_size=6), children, max_size=4)
        ),
        max_leaves=15,
    ),
    max_size=6,
)


def reference(value: object) -> bytes | None:
    """rfc8785's bytes, or None where it refuses the value."""
    try:
        return rfc8785.dumps(value)  # type: ignore[arg-type]
    except (rfc8785.CanonicalizationError, UnicodeEncodeError):
        return None


class Colour(enum.StrEnum):
    RED = "red"


class Size(enum.IntEnum):
    BIG = 7


# --- RFC 8785 bytes --------------------------------------------------------------------------


@settings(max_examples=500, deadline=None)
@given(json_values)
def test_canonical_json_and_canonical_json_object_give_the_reference_bytes(value: Any) -> None:
    expected = reference(value)
    if expected is None:
        with pytest.raises(CanonicalJsonError):
            canonical_json(value)
        with pytest.raises(CanonicalJsonError):
            CanonicalJson(value)
        return
    assert canonical_json(value) == expected
    once = CanonicalJson(value)
    assert once.data == canonical_bytes(once) == canonical_bytes(value) == expected
    assert once.digest() == hashlib.sha256(expected).digest()
    assert once.digest_hex() == canonical_digest_hex(value) == canonical_digest_hex(once)


@pytest.mark.parametrize(
    "value",
    [
        {"colour": Colour.RED, "size": Size.BIG},
        {"nested": ({"b": 1, "a": (True, None)},)},
        {"\U0001f600": 1, "\uff5e": {"\ud7ff": 2, "\ue000": 3}},
        {"ctl": '\x00\x1f\x7f\u2028\u2029"\\/'},
        {"big": 2**53 - 1, "small": -(2**53) + 1},
        {"float": 1.0, "tiny": 1e-7, "huge": 1e21},
    ],
)
def test_values_off_the_fast_path_still_give_the_reference_bytes(value: Any) -> None:
    assert canonical_json(value) == CanonicalJson(value).data == reference(value)


@pytest.mark.parametrize(
    "value",
    [
        {1: "int key"},
        {True: "bool key"},
        {"a": 1, 2: "mixed keys"},
        {"unsafe": 2**53},
        {"surrogate": "\ud800"},
        {"when": datetime(2025, 1, 1, tzinfo=UTC)},
        {"nan": float("nan")},
    ],
)
def test_what_the_fast_path_cannot_carry_is_refused_as_before(value: Any) -> None:
    with pytest.raises(CanonicalJsonError, match="canonicalise"):
        canonical_json(value)
    with pytest.raises(CanonicalJsonError):
        CanonicalJson(value)


def test_canonical_json_bytes_are_fixed_when_made() -> None:
    value: dict[str, Any] = {"id": "ecmr:1", "goods": [{"kg": 10}]}
    once = CanonicalJson(value)
    value["goods"][0]["kg"] = 11
    assert once.data == b'{"goods":[{"kg":10}],"id":"ecmr:1"}'
    assert once.is_object()
    assert not CanonicalJson([1, 2]).is_object()
    assert "bytes" in repr(once)


# --- reading canonical JSON back -------------------------------------------------------------


def careful_verdict(data: bytes) -> object:
    """What parse_canonical_json must answer, worked out with the stdlib and rfc8785 only."""
    try:
        value = json.loads(data.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, ValueError):
        return "refused"
    return value if reference(value) == data else "refused"


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len({key for key, _ in pairs}) != len(pairs):
        raise ValueError("duplicate")
    return dict(pairs)


def verdict(data: bytes) -> object:
    try:
        return parse_canonical_json(data)
    except CanonicalJsonError:
        return "refused"


@settings(max_examples=400, deadline=None)
@given(json_objects)
def test_canonical_bytes_read_back_as_their_value(value: dict[str, Any]) -> None:
    data = reference(value)
    assume(data is not None)
    assert data is not None
    expected = careful_verdict(data)
    assert verdict(data) == expected
    # Floats that write as integers past 2**53 (2.0**53, say) do not read back; all else does.
    assert expected in ("refused", json.loads(data))


@settings(max_examples=400, deadline=None)
@given(json_objects, st.sampled_from(["space", "swap", "escape", "float", "duplicate", "pretty"]))
def test_non_canonical_spellings_are_refused_like_the_careful_path(
    value: dict[str, Any], change: str
) -> None:
    data = reference(value)
    assume(data is not None and len(value) >= 1)
    assert data is not None
    text = data.decode("utf-8")
    compact = (",", ":")
    if change == "space":
        changed = "{ " + text[1:]
    elif change == "swap":
        swapped = dict(reversed(list(json.loads(text).items())))
        changed = json.dumps(swapped, ensure_ascii=False, separators=compact)
    elif change == "escape":
        changed = json.dumps(json.loads(text), sort_keys=True, separators=compact)
    elif change == "float":
        changed = text[:-1] + ',"~":1.0}' if text != "{}" else '{"~":1.0}'
    elif change == "duplicate":
        first = text[1:-1].split(",")[0] if text != "{}" else '"a":1'
        changed = "{" + first + "," + text[1:] if text != "{}" else '{"a":1,"a":1}'
    else:
        changed = json.dumps(json.loads(text), ensure_ascii=False, sort_keys=True, indent=1)
    candidate = changed.encode("utf-8", "surrogatepass")
    assert verdict(candidate) == careful_verdict(candidate)
    if candidate != data:
        assert verdict(candidate) == "refused"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (b'{"a":1,"a":1}', "duplicate"),
        (b'{"a":1.0}', "canonical"),
        (b'{"a":1e+16}', "canonical"),
        (b'{"a":9007199254740993}', "canonical"),
        (b'{"a":"\\u0041"}', "canonical"),
        (b'{"\\ud800":1}', "surrogate"),
        (b'{"a":Infinity}', ""),
        (b'{"a":1} ', "canonical"),
        (b'\xef\xbb\xbf{"a":1}', ""),
    ],
)
def test_read_back_refuses_what_is_not_canonical(text: bytes, why: str) -> None:
    with pytest.raises(CanonicalJsonError, match=why or None):
        parse_canonical_json(text)


def test_parse_json_still_refuses_duplicate_keys_and_constants() -> None:
    assert parse_json(b'{"alg":"EdDSA","kid":"k"}') == {"alg": "EdDSA", "kid": "k"}
    assert parse_json(b'{ "kid" : "k", "alg" : "EdDSA" }') == {"kid": "k", "alg": "EdDSA"}
    for text in (b'{"alg":"EdDSA","alg":"none"}', b'{"alg": "EdDSA", "alg": "none"}'):
        with pytest.raises(CanonicalJsonError, match="duplicate"):
            parse_json(text)
    with pytest.raises(CanonicalJsonError, match="NaN"):
        parse_json(b'{"a":NaN}')


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_parse_json_reads_what_the_stdlib_reads(value: Any) -> None:
    try:
        data = json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (UnicodeEncodeError, ValueError):
        return
    assert parse_json(data) == json.loads(data)


# --- base64url and the protected header ------------------------------------------------------

_OLD_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_OLD_VALUE = {c: i for i, c in enumerate(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
)}  # fmt: skip


def old_b64url_decode(text: str) -> bytes | None:
    """The regex-checked decoder the strict binascii one replaced (None: refused)."""
    if _OLD_B64URL.fullmatch(text) is None or len(text) % 4 == 1:
        return None
    tail = len(text) % 4
    if tail and _OLD_VALUE[text[-1]] & (0x0F if tail == 2 else 0x03):
        return None
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_b64url_decode(text: str) -> bytes | None:
    try:
        return b64url_decode(text)
    except ValueError:
        return None


@settings(max_examples=1000, deadline=None)
@given(st.binary(max_size=80))
def test_base64url_round_trips_as_the_stdlib_spells_it(data: bytes) -> None:
    text = b64url_encode(data)
    assert text == base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
    assert b64url_decode(text) == data


@settings(max_examples=2000, deadline=None)
@given(
    st.text(
        alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", max_size=12
    )
    | st.text(alphabet="AQgw-_+/= \n.\xe9", max_size=12)
    | st.text(max_size=8)
)
def test_base64url_decoder_accepts_exactly_what_the_old_one_did(text: str) -> None:
    assert new_b64url_decode(text) == old_b64url_decode(text)


names = st.text(min_size=1, max_size=12)


@settings(max_examples=500, deadline=None)
@given(
    st.sampled_from(["EdDSA", "ES256"]),
    names,
    names,
    names,
    st.datetimes(
        min_value=datetime(1970, 1, 1), max_value=datetime(9999, 1, 1), timezones=st.just(UTC)
    ),
    st.one_of(st.none(), st.tuples(names, st.integers(1, 2**53 - 1))),
)
def test_protected_header_is_the_canonical_json_of_the_header(
    alg: str, kid: str, party: str, role: str, at: datetime, named: tuple[str, int] | None
) -> None:
    header: dict[str, object] = {"alg": alg, "kid": kid, "party": party, "role": role,
                                 "iat": int(at.timestamp() // 1)}  # fmt: skip
    step, version = named if named is not None else (None, None)
    if named is not None:
        header |= {"step": step, "version": version}
    expected = reference(header)
    if expected is None:
        with pytest.raises(CanonicalJsonError):
            protected_header(alg, kid, party, role, at, step, version)
        return
    assert protected_header(alg, kid, party, role, at, step, version) == expected


def test_protected_header_refuses_a_naive_time() -> None:
    with pytest.raises(ValueError, match="aware"):
        protected_header("EdDSA", "k", "p", "r", datetime(2025, 1, 1))


@settings(max_examples=200, deadline=None)
@given(
    st.datetimes(
        min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)
    )
    | st.datetimes(
        timezones=st.builds(
            timezone, st.timedeltas(min_value=-timedelta(hours=23), max_value=timedelta(hours=23))
        )
    )
)
def test_rfc3339_is_the_utc_isoformat(moment: datetime) -> None:
    try:
        expected = moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    except OverflowError:
        return
    assert rfc3339(moment) == expected


# --- signing the bytes handed on --------------------------------------------------------------


@pytest.fixture
def consignor() -> Ed25519Signer:
    return Ed25519Signer.generate("kz-shymkent-steel-1", party="kz:shymkent-steel")


@pytest.fixture
def carrier() -> Ed25519Signer:
    return Ed25519Signer.generate("az-ady-2025", party="carrier:AZ-ADY")


@pytest.fixture
def trust(consignor: Ed25519Signer, carrier: Ed25519Signer) -> TrustList:
    trust = TrustList()
    trust.add_signer(consignor, not_before=T0 - timedelta(days=1))
    trust.add_signer(carrier, not_before=T0 - timedelta(days=1))
    return trust


@settings(max_examples=60, deadline=None)
@given(plain_objects | json_objects)
def test_a_jws_of_canonical_bytes_is_byte_identical_to_one_of_the_value(
    document: dict[str, Any],
) -> None:
    # Ed25519 is deterministic, so the same key over the same bytes gives the same JWS.
    assume(reference(document) is not None)
    consignor = Ed25519Signer.generate("c", party="p:c")
    carrier = Ed25519Signer.generate("k", party="p:k")
    once = CanonicalJson(document)
    from_value = add_signature(sign_document(document, consignor, "consignor", T0), carrier,
                               "carrier", T0)  # fmt: skip
    from_bytes = add_signature(sign_document(once, consignor, "consignor", T0), carrier,
                               "carrier", T0)  # fmt: skip
    assert from_bytes == from_value
    assert sign_version(once, carrier, "carrier", T0) == sign_version(
        document, carrier, "carrier", T0
    )
    assert b64url_decode(from_bytes["payload"]) == once.data
    if careful_verdict(once.data) == "refused":
        return  # a float such as 2.0**53 signs but never reads back (see above)
    trust = TrustList()
    trust.add_signer(consignor, not_before=T0)
    trust.add_signer(carrier, not_before=T0)
    assert [v.role for v in verify(from_bytes, trust, document=once)] == ["consignor", "carrier"]
    assert jws_payload(from_bytes) == json.loads(once.data)


def test_a_payload_changed_after_signing_is_still_refused(
    consignor: Ed25519Signer, carrier: Ed25519Signer, trust: TrustList
) -> None:
    once = CanonicalJson({"id": "ecmr:1", "carrier": "ADY", "kg": 24000})
    jws = add_signature(sign_document(once, consignor, "consignor", T0), carrier, "carrier", T0)
    other = CanonicalJson({"id": "ecmr:1", "carrier": "XYZ", "kg": 24000})
    tampered = dict(jws, payload=b64url_encode(other.data))
    with pytest.raises(SignatureError) as excinfo:
        verify(tampered, trust)  # type: ignore[arg-type]
    assert (excinfo.value.reason, excinfo.value.index) == ("bad_signature", 0)
    with pytest.raises(SignatureError) as excinfo:
        verify(jws, trust, document=other)
    assert excinfo.value.reason == "payload_changed"


def test_a_non_canonical_payload_signed_by_a_trusted_key_is_refused(
    consignor: Ed25519Signer, trust: TrustList
) -> None:
    # Properly signed, but "two byte strings for one document": the verifier still says no.
    jws = sign_document({"b": 1, "a": 2}, consignor, "consignor", T0)
    sloppy = b64url_encode(b'{"b":1,"a":2}')
    entry = jws["signatures"][0]
    signature = consignor.sign(f"{entry['protected']}.{sloppy}".encode("ascii"))
    forged = {"payload": sloppy,
              "signatures": [{"protected": entry["protected"],
                              "signature": b64url_encode(signature)}]}  # fmt: skip
    with pytest.raises(SignatureError, match="canonical") as excinfo:
        verify(forged, trust)  # type: ignore[arg-type]
    assert excinfo.value.reason == "malformed"


def test_canonical_json_of_a_non_object_cannot_be_a_document(consignor: Ed25519Signer) -> None:
    with pytest.raises(ValueError, match="JSON object"):
        sign_document(CanonicalJson([1, 2]), consignor, "consignor", T0)


def test_checking_against_canonical_json_of_anything_never_raises(
    consignor: Ed25519Signer, trust: TrustList
) -> None:
    jws = sign_document({"a": 1}, consignor, "consignor", T0)
    checks = check_signatures(jws, trust, document=CanonicalJson([1]))
    assert [c.error.reason for c in checks if c.error] == ["payload_changed"]


def test_an_escaped_lone_surrogate_payload_is_malformed_not_a_crash(
    consignor: Ed25519Signer, trust: TrustList
) -> None:
    jws = sign_document({"a": 1}, consignor, "consignor", T0)
    broken = dict(jws, payload=b64url_encode(b'{"\\ud800":1}'))
    checks = check_signatures(broken, trust)  # type: ignore[arg-type]
    assert [(c.index, c.error.reason if c.error else None) for c in checks] == [(-1, "malformed")]
