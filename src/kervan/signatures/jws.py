"""JWS for Kervan: multi-party JSON General Serialization, compact tokens, detached proofs.

- A document version is signed by several parties as RFC 7515 §7.2.1 JSON General Serialization:
  payload = base64url(RFC 8785 canonical JSON of the version); each signature's protected header
  is {alg, kid, party, role, step, version, iat}: the lifecycle step it signs and the document
  version it covers are signed too, so a carrier's taking over cannot pass for its delivery.
  Signatures made before steps were named ({alg, kid, party, role, iat}) still verify; their
  `step` and `version` read None. Unprotected headers, `crit` and `b64` are refused. Signing
  takes the version as a mapping or as `CanonicalJson` (canonicalised once by the caller, who
  may hand the same object to `Ledger.append`).
- Compact JWS (`sign_compact`) carries claims, e.g. the e-Permit QR (ES256; id, iat, exp, pn, cn).
- Detached proofs sign given bytes: "header..signature" (RFC 7515 Appendix F) or the e-Permit
  peer protocol's "header.signature".
Every check is against a `TrustList`; failures raise `SignatureError` naming the signature and the
rule (see `kervan.signatures.trustlist` for the key validity rules).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final, Literal, TypedDict, TypeGuard

from kervan.errors import CanonicalJsonError, SignatureError
from kervan.signatures.canonical import (
    CanonicalJson,
    JsonValue,
    canonical_bytes,
    canonical_json,
    parse_canonical_json,
    parse_json,
)
from kervan.signatures.encoding import b64url_decode, b64url_encode, from_unix_seconds, unix_seconds
from kervan.signatures.keys import ALLOWED_ALGORITHMS, Signer, verify_raw
from kervan.signatures.trustlist import TrustList


class JwsSignature(TypedDict):
    """One entry of a JWS JSON General Serialization's `signatures` array."""

    protected: str
    signature: str


class GeneralJws(TypedDict):
    """RFC 7515 §7.2.1 JWS JSON General Serialization."""

    payload: str
    signatures: list[JwsSignature]


@dataclasses.dataclass(frozen=True, slots=True)
class VerifiedSignature:
    """A signature that passed: who signed, in which role, with which key, when."""

    index: int
    party: str
    role: str
    kid: str
    alg: str
    signed_at: datetime
    #: The lifecycle step and document version the header names; None on signatures made
    #: before headers named them.
    step: str | None = None
    version: int | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class SignatureCheck:
    """Outcome of one signature of a JWS: `verified` when it passed, else `error`."""

    index: int
    verified: VerifiedSignature | None
    error: SignatureError | None

    @property
    def ok(self) -> bool:
        """True when this signature verified."""
        return self.verified is not None


@dataclasses.dataclass(frozen=True, slots=True)
class VerifiedToken:
    """A compact token or detached proof that passed; `claims` is empty for a detached proof."""

    kid: str
    party: str
    alg: str
    claims: dict[str, JsonValue]
    signed_at: datetime | None


def sign_version(
    payload: Mapping[str, Any] | CanonicalJson,
    signer: Signer,
    role: str,
    at: datetime,
    *,
    step: str | None = None,
    version: int | None = None,
) -> JwsSignature:
    """Sign a document version as `role` at time `at`; return one JWS signature entry.

    The entry signs base64url(canonical JSON of `payload`) and fits any JWS whose payload is that.
    `payload` may be a `CanonicalJson` of the version (its bytes are used as they are). With
    `step` and `version` the protected header names the lifecycle step and the document version
    signed (both or neither).
    """
    return _sign_segment(_payload_segment(payload), signer, role, at, step, version)


def sign_document(
    payload: Mapping[str, Any] | CanonicalJson, signer: Signer, role: str, at: datetime
) -> GeneralJws:
    """Start a JWS JSON General Serialization of `payload` with `signer`'s signature as `role`.

    `payload` may be a `CanonicalJson` of the version: its bytes are signed as they are, not
    canonicalised again.
    """
    segment = _payload_segment(payload)
    return {"payload": segment, "signatures": [_sign_segment(segment, signer, role, at)]}


def add_signature(jws: GeneralJws, signer: Signer, role: str, at: datetime) -> GeneralJws:
    """Return a copy of `jws` with one more signature over the very same payload bytes.

    Raises SignatureError(malformed) if `jws` is not shaped as a Kervan document JWS. Whether
    the payload is canonical JSON is checked once, when the signatures are verified.
    """
    _check_shape(jws)
    entry = _sign_segment(jws["payload"], signer, role, at)
    return {"payload": jws["payload"], "signatures": [*jws["signatures"], entry]}


def jws_payload(jws: GeneralJws) -> dict[str, JsonValue]:
    """Return the signed document version (the decoded canonical JSON payload)."""
    return _decode_payload(jws)


def check_signatures(
    jws: GeneralJws,
    trust_list: TrustList,
    *,
    document: Mapping[str, Any] | CanonicalJson | None = None,
) -> list[SignatureCheck]:
    """Check every signature of `jws` and return one outcome per signature, never raising.

    With `document` (a mapping or its `CanonicalJson`), a payload that differs from canonical
    JSON of `document` fails every signature with reason payload_changed. A JWS that cannot be
    parsed at all yields a single failed check (index -1).
    """
    try:
        _decode_payload(jws)
        if document is not None and jws["payload"] != b64url_encode(canonical_bytes(document)):
            why = "the signed payload is not the canonical JSON of the document"
            return [
                SignatureCheck(i, None, SignatureError("payload_changed", why, index=i))
                for i in range(len(jws["signatures"]))
            ]
    except SignatureError as exc:
        return [SignatureCheck(-1, None, exc)]
    except CanonicalJsonError as exc:
        return [SignatureCheck(-1, None, SignatureError("malformed", exc.message))]
    checks = []
    for index, entry in enumerate(jws["signatures"]):
        try:
            checks.append(SignatureCheck(index, _verify_entry(jws, index, entry, trust_list), None))
        except SignatureError as exc:
            checks.append(SignatureCheck(index, None, exc))
    return checks


def verify(
    jws: GeneralJws,
    trust_list: TrustList,
    *,
    document: Mapping[str, Any] | CanonicalJson | None = None,
) -> list[VerifiedSignature]:
    """Verify every signature of `jws` against `trust_list`; return them in order.

    Raises SignatureError for the first signature that fails, with its index, kid and reason.
    """
    result = []
    for check in check_signatures(jws, trust_list, document=document):
        if check.error is not None:
            raise check.error
        if check.verified is not None:
            result.append(check.verified)
    return result


def sign_compact(claims: Mapping[str, Any], signer: Signer) -> str:
    """Return a compact JWS "header.payload.signature" over canonical JSON of `claims`.

    Header {alg, kid}; for the e-Permit QR use an ES256 signer and claims id, iat, exp, pn, cn.
    """
    header = b64url_encode(canonical_json({"alg": signer.alg, "kid": signer.kid}))
    signing_input = f"{header}.{b64url_encode(canonical_json(claims))}"
    return f"{signing_input}.{b64url_encode(signer.sign(signing_input.encode('ascii')))}"


def verify_compact(
    token: str, trust_list: TrustList, *, now: datetime | None = None
) -> VerifiedToken:
    """Verify a compact JWS made by `sign_compact`; return its claims and signer.

    The claim `iat` is the signing time for the key rules; with `now`, a token whose `exp` is
    at or before `now` raises SignatureError(expired).
    """
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3 or not parts[1]:
        raise SignatureError("malformed", "a compact JWS has three non-empty dot-separated parts")
    claims = _json_object(parts[1], "payload")
    iat = claims.get("iat")
    signed_at = _seconds(iat, "iat") if iat is not None else None
    verified = _verify_compact_parts(parts[0], parts[1], parts[2], trust_list, signed_at)
    exp = claims.get("exp")
    if now is not None and exp is not None and now >= _seconds(exp, "exp"):
        raise SignatureError("expired", f"token expired at exp={exp}", kid=verified.kid)
    return dataclasses.replace(verified, claims=claims)


def sign_detached(
    payload: bytes, signer: Signer, *, form: Literal["rfc7515", "epermit"] = "rfc7515"
) -> str:
    """Return a detached proof over `payload` bytes: header {alg, kid}, payload left out.

    `form="rfc7515"` gives "header..signature"; `form="epermit"` gives "header.signature" as the
    e-Permit peer protocol sends it in "Authorization: Bearer <proof>".
    """
    header = b64url_encode(canonical_json({"alg": signer.alg, "kid": signer.kid}))
    signing_input = f"{header}.{b64url_encode(payload)}".encode("ascii")
    signature = b64url_encode(signer.sign(signing_input))
    return f"{header}..{signature}" if form == "rfc7515" else f"{header}.{signature}"


def verify_detached(
    proof: str, payload: bytes, trust_list: TrustList, *, signed_at: datetime | None = None
) -> VerifiedToken:
    """Verify a detached proof (either form) over `payload`; return the signer.

    `signed_at` is when the proof was made (e.g. the event timestamp) for the key rules; without
    it only a never-revoked key passes.
    """
    parts = proof.split(".") if isinstance(proof, str) else []
    if len(parts) == 3 and parts[1] == "":
        header, signature = parts[0], parts[2]
    elif len(parts) == 2:
        header, signature = parts
    else:
        raise SignatureError(
            "malformed", "a detached proof is 'header..signature' or 'header.signature'"
        )
    return _verify_compact_parts(header, b64url_encode(payload), signature, trust_list, signed_at)


_MAX_SAFE_INTEGER: Final = 2**53 - 1


def _payload_segment(payload: Mapping[str, Any] | CanonicalJson) -> str:
    if isinstance(payload, CanonicalJson):
        if not payload.is_object():
            raise ValueError("a document payload is a JSON object")
        return b64url_encode(payload.data)
    return b64url_encode(canonical_json(payload))


def _sign_segment(
    payload_segment: str,
    signer: Signer,
    role: str,
    at: datetime,
    step: str | None = None,
    version: int | None = None,
) -> JwsSignature:
    if not role:
        raise ValueError("a document signature needs a role (e.g. consignor, carrier)")
    if (step is None) != (version is None):
        raise ValueError("a signature names both its lifecycle step and version, or neither")
    if step is not None and (not step or not _is_version(version)):
        raise ValueError("a step is a non-empty name and a version a positive integer")
    header = protected_header(signer.alg, signer.kid, signer.party, role, at, step, version)
    protected = b64url_encode(header)
    signature = signer.sign(f"{protected}.{payload_segment}".encode("ascii"))
    return {"protected": protected, "signature": b64url_encode(signature)}


def protected_header(
    alg: str,
    kid: str,
    party: str,
    role: str,
    at: datetime,
    step: str | None = None,
    version: int | None = None,
) -> bytes:
    """Return the canonical JSON of a document signature's header
    {alg, iat, kid, party, role[, step, version]}.

    Byte for byte `canonical_json` of that object; the members other than `iat` are
    canonicalised once per signer, role and step, and `iat` (whole Unix seconds of `at`) put
    between.
    """
    iat = unix_seconds(at)
    if not 0 <= iat <= _MAX_SAFE_INTEGER:
        header: dict[str, Any] = {"alg": alg, "kid": kid, "party": party, "role": role, "iat": iat}
        if step is not None:
            header |= {"step": step, "version": version}
        return canonical_json(header)
    before, after = _header_around_iat(alg, kid, party, role, step, version)
    return b"%s%d%s" % (before, iat, after)


# bench/documents.py: one of the signing fast paths that took the ratio from 0.36 to 0.50
@functools.lru_cache(maxsize=1024)
def _header_around_iat(
    alg: str, kid: str, party: str, role: str, step: str | None, version: int | None
) -> tuple[bytes, bytes]:
    # RFC 8785 sorts members by name: alg < iat < kid < party < role < step < version, so the
    # header is {"alg":...,"iat":N,"kid":...,...} and N a plain decimal integer.
    head = canonical_json({"alg": alg})
    members: dict[str, Any] = {"kid": kid, "party": party, "role": role}
    if step is not None:
        members |= {"step": step, "version": version}
    rest = canonical_json(members)
    return head[:-1] + b',"iat":', b"," + rest[1:]


def _is_version(value: object) -> bool:
    return type(value) is int and 1 <= value <= _MAX_SAFE_INTEGER


_JWS_MEMBERS: Final = frozenset({"payload", "signatures"})
_ENTRY_MEMBERS: Final = frozenset({"protected", "signature"})
#: A signature made before headers named the step and version has the legacy members only.
_LEGACY_HEADER_MEMBERS: Final = frozenset({"alg", "kid", "party", "role", "iat"})
_HEADER_MEMBERS: Final = _LEGACY_HEADER_MEMBERS | {"step", "version"}


def _is_mapping(value: object) -> TypeGuard[Mapping[str, Any]]:
    # A JWS is nearly always a plain dict; the ABC check is the slow way to say so.
    return type(value) is dict or isinstance(value, Mapping)


def _check_shape(jws: object) -> None:
    if not _is_mapping(jws) or jws.keys() != _JWS_MEMBERS:
        raise SignatureError(
            "malformed", "a JWS here has exactly the members payload and signatures"
        )
    signatures = jws["signatures"]
    if not isinstance(signatures, list) or not signatures:
        raise SignatureError("malformed", "a JWS needs at least one signature")
    if not isinstance(jws["payload"], str) or not jws["payload"]:
        raise SignatureError("malformed", "the payload is a base64url string")


def _decode_payload(jws: object) -> dict[str, JsonValue]:
    _check_shape(jws)
    assert _is_mapping(jws)
    return _json_object(jws["payload"], "payload", canonical=True)


def _verify_entry(
    jws: GeneralJws, index: int, entry: object, trust_list: TrustList
) -> VerifiedSignature:
    if not _is_mapping(entry) or entry.keys() != _ENTRY_MEMBERS:
        raise SignatureError(
            "malformed",
            "each signature has exactly protected and signature (no unprotected header)",
            index=index,
        )
    header = _json_object(entry["protected"], "protected header", index)
    kid, role, party = header.get("kid"), header.get("role"), header.get("party")
    if header.get("alg") not in ALLOWED_ALGORITHMS:
        _check_alg(header, index)  # raises, naming the algorithm
    # Key views compare with sets as sets do, without building one.
    if header.keys() != _HEADER_MEMBERS and header.keys() != _LEGACY_HEADER_MEMBERS:
        raise SignatureError(
            "malformed",
            "protected header must hold exactly alg, kid, party, role, step, version, iat "
            f"(or, signed before steps were named, no step and version); has {sorted(header)}",
            index=index,
            kid=kid if isinstance(kid, str) else None,
        )
    if not isinstance(kid, str) or not isinstance(role, str) or not isinstance(party, str):
        raise SignatureError("malformed", "kid, party and role must be strings", index=index)
    step, version = header.get("step"), header.get("version")
    if "step" in header and (not isinstance(step, str) or not step or not _is_version(version)):
        raise SignatureError(
            "malformed", "step must be a non-empty string, version a positive integer", index=index
        )
    iat = header["iat"]
    signed_at = (
        from_unix_seconds(iat) if type(iat) is int and iat >= 0 else _seconds(iat, "iat", index)
    )
    try:
        key = trust_list.judge(kid=kid, alg=header["alg"], party=party, signed_at=signed_at)
    except SignatureError as exc:
        raise SignatureError(exc.reason, exc.detail, index=index, kid=kid, party=party) from exc
    signature = _b64(entry["signature"], "signature", index)
    signing_input = f"{entry['protected']}.{jws['payload']}".encode("ascii")
    if not verify_raw(key.public_key(), key.alg, signing_input, signature):
        raise SignatureError(
            "bad_signature",
            "the signature does not match the protected header and payload "
            "(the document or the header changed after signing, or the signature is corrupt)",
            index=index,
            kid=kid,
            party=party,
        )
    return VerifiedSignature(
        index,
        key.party,
        role,
        kid,
        key.alg,
        signed_at,
        step if isinstance(step, str) else None,
        version if type(version) is int else None,
    )


def _verify_compact_parts(
    header_segment: str,
    payload_segment: str,
    signature_segment: str,
    trust_list: TrustList,
    signed_at: datetime | None,
) -> VerifiedToken:
    header = _json_object(header_segment, "protected header")
    _check_alg(header, None)
    kid = header.get("kid")
    if not isinstance(kid, str) or not set(header) <= {"alg", "kid", "typ"}:
        raise SignatureError("malformed", "header must hold a string kid, alg and at most typ")
    key = trust_list.judge(kid=kid, alg=header.get("alg"), party=None, signed_at=signed_at)
    signature = _b64(signature_segment, "signature", None)
    signing_input = f"{header_segment}.{payload_segment}".encode("ascii")
    if not verify_raw(key.public_key(), key.alg, signing_input, signature):
        raise SignatureError(
            "bad_signature",
            "the signature does not match the header and payload",
            kid=kid,
            party=key.party,
        )
    return VerifiedToken(kid, key.party, key.alg, {}, signed_at)


def _check_alg(header: Mapping[str, JsonValue], index: int | None) -> None:
    # First, so "none", HMAC or RSA is reported as such whatever else the header holds.
    if header.get("alg") not in ALLOWED_ALGORITHMS:
        kid = header.get("kid")
        raise SignatureError(
            "algorithm_not_allowed",
            f"alg {header.get('alg')!r} is not allowed; only {sorted(ALLOWED_ALGORITHMS)} are",
            index=index,
            kid=kid if isinstance(kid, str) else None,
        )


def _b64(segment: object, what: str, index: int | None) -> bytes:
    try:
        if not isinstance(segment, str):
            raise ValueError("not a string")
        return b64url_decode(segment)
    except ValueError as exc:
        raise SignatureError("malformed", f"{what}: {exc}", index=index) from exc


def _json_object(
    segment: object, what: str, index: int | None = None, *, canonical: bool = False
) -> dict[str, JsonValue]:
    # Only our document payloads must be canonical; headers and claims from peers' libraries
    # are signed as sent, so their key order does not matter.
    raw = _b64(segment, what, index)
    try:
        value = parse_canonical_json(raw) if canonical else parse_json(raw)
    except CanonicalJsonError as exc:
        raise SignatureError("malformed", f"{what}: {exc.message}", index=index) from exc
    if not isinstance(value, dict):
        raise SignatureError("malformed", f"{what} must be a JSON object", index=index)
    return value


def _seconds(value: object, what: str, index: int | None = None) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SignatureError(
            "malformed", f"{what} must be whole non-negative Unix seconds", index=index
        )
    return from_unix_seconds(value)
