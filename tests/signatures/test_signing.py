"""Signatures core: signers, trust list rules, multi-party JWS, QR tokens, detached proofs."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import pickle
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from joserfc import jwk as jose_jwk
from joserfc import jws as jose_jws
from joserfc.errors import BadSignatureError, SecurityWarning
from joserfc.jws import JWSRegistry

from kervan.errors import SignatureError, TrustListError
from kervan.signatures import (
    Ed25519Signer,
    Es256Signer,
    GeneralJws,
    KeyRing,
    TrustList,
    add_signature,
    jws_payload,
    load_signer_from_keystore_pem,
    sign_compact,
    sign_detached,
    sign_document,
    sign_version,
    verify,
    verify_compact,
    verify_detached,
)
from kervan.signatures.canonical import canonical_json
from kervan.signatures.encoding import b64url_decode, b64url_encode

T0 = datetime(2025, 5, 1, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
CMR: dict[str, Any] = {
    "id": "ecmr:KZ-2025-7",
    "consignor": "Shymkent Steel",
    "carrier": "ADY Logistics",
    "items": [{"hs": "7208", "gross_kg": 24000, "packages": 12}],
}


@pytest.fixture
def consignor() -> Ed25519Signer:
    return Ed25519Signer.generate("kz-shymkent-steel-1", party="kz:shymkent-steel")


@pytest.fixture
def carrier() -> Es256Signer:
    return Es256Signer.generate("az-ady-2025", party="carrier:AZ-ADY")


@pytest.fixture
def trust(consignor: Ed25519Signer, carrier: Es256Signer) -> TrustList:
    trust = TrustList()
    trust.add_signer(consignor, not_before=T0 - 24 * HOUR)
    trust.add_signer(carrier, not_before=T0 - 24 * HOUR)
    return trust


def two_party(consignor: Ed25519Signer, carrier: Es256Signer) -> GeneralJws:
    jws = sign_document(CMR, consignor, "consignor", T0)
    return add_signature(jws, carrier, "carrier", T0 + HOUR)


def reason_of(excinfo: pytest.ExceptionInfo[SignatureError]) -> tuple[str, int | None]:
    return excinfo.value.reason, excinfo.value.index


def forge(jws: GeneralJws, index: int, header: dict[str, Any], signature: bytes) -> GeneralJws:
    forged = copy.deepcopy(jws)
    protected = b64url_encode(json.dumps(header).encode())
    forged["signatures"][index] = {"protected": protected, "signature": b64url_encode(signature)}
    return forged


# --- multi-party JWS ------------------------------------------------------------------------


def test_two_parties_sign_one_version(
    consignor: Ed25519Signer, carrier: Es256Signer, trust: TrustList
) -> None:
    jws = two_party(consignor, carrier)
    assert b64url_decode(jws["payload"]) == canonical_json(CMR)
    assert jws_payload(jws) == CMR
    result = verify(jws, trust, document=CMR)
    assert [(v.party, v.role, v.kid, v.alg) for v in result] == [
        ("kz:shymkent-steel", "consignor", "kz-shymkent-steel-1", "EdDSA"),
        ("carrier:AZ-ADY", "carrier", "az-ady-2025", "ES256"),
    ]
    assert [v.signed_at for v in result] == [T0, T0 + HOUR]
    header = json.loads(b64url_decode(jws["signatures"][1]["protected"]))
    assert header == {"alg": "ES256", "kid": "az-ady-2025", "party": "carrier:AZ-ADY",
                      "role": "carrier", "iat": int((T0 + HOUR).timestamp())}  # fmt: skip


def test_the_header_names_the_step_and_version_so_two_steps_of_one_party_differ(
    carrier: Es256Signer, trust: TrustList
) -> None:
    # The carrier signs taking over and delivery of one version in the same second: the two
    # signatures differ, and each says which step it signs.
    taking_over = sign_version(CMR, carrier, "carrier", T0, step="take_over", version=2)
    delivery = sign_version(CMR, carrier, "carrier", T0, step="deliver", version=2)
    assert taking_over != delivery
    jws: GeneralJws = {"payload": b64url_encode(canonical_json(CMR)),
                       "signatures": [taking_over, delivery]}  # fmt: skip
    result = verify(jws, trust, document=CMR)
    assert [(v.role, v.step, v.version) for v in result] == [
        ("carrier", "take_over", 2),
        ("carrier", "deliver", 2),
    ]
    header = json.loads(b64url_decode(delivery["protected"]))
    assert header == {"alg": "ES256", "kid": "az-ady-2025", "party": "carrier:AZ-ADY",
                      "role": "carrier", "step": "deliver", "version": 2,
                      "iat": int(T0.timestamp())}  # fmt: skip
    # The step cannot be swapped after signing: the header is what is signed.
    header["step"] = "take_over"
    with pytest.raises(SignatureError) as excinfo:
        verify(forge(jws, 1, header, b64url_decode(delivery["signature"])), trust)
    assert reason_of(excinfo) == ("bad_signature", 1)


def test_a_legacy_signature_without_step_still_verifies_and_says_so(
    consignor: Ed25519Signer, trust: TrustList
) -> None:
    jws = sign_document(CMR, consignor, "consignor", T0)
    [verified] = verify(jws, trust)
    assert (verified.role, verified.step, verified.version) == ("consignor", None, None)


@pytest.mark.parametrize(
    ("step", "version"), [("deliver", None), (None, 1), ("", 1), ("deliver", 0)]
)
def test_a_step_needs_its_version_and_a_version_its_step(
    carrier: Es256Signer, step: str | None, version: int | None
) -> None:
    with pytest.raises(ValueError, match="step"):
        sign_version(CMR, carrier, "carrier", T0, step=step, version=version)


def test_a_header_with_a_step_but_a_bad_version_is_malformed(
    carrier: Es256Signer, trust: TrustList
) -> None:
    jws = sign_document(CMR, carrier, "carrier", T0)
    header = json.loads(b64url_decode(jws["signatures"][0]["protected"]))
    header |= {"step": "deliver", "version": "2"}
    with pytest.raises(SignatureError, match="version a positive integer") as excinfo:
        verify(forge(jws, 0, header, b"x" * 64), trust)
    assert reason_of(excinfo) == ("malformed", 0)


def test_sign_version_entry_fits_the_jws(
    consignor: Ed25519Signer, carrier: Es256Signer, trust: TrustList
) -> None:
    jws = sign_document(CMR, consignor, "consignor", T0)
    entry = sign_version(dict(reversed(list(CMR.items()))), carrier, "carrier", T0 + HOUR)
    jws["signatures"].append(entry)
    assert len(verify(jws, trust)) == 2


def test_changed_payload_is_named(
    consignor: Ed25519Signer, carrier: Es256Signer, trust: TrustList
) -> None:
    jws = two_party(consignor, carrier)
    with pytest.raises(SignatureError) as excinfo:
        verify(jws, trust, document=dict(CMR, carrier="Someone Else"))
    assert reason_of(excinfo) == ("payload_changed", 0)
    swapped = dict(jws, payload=b64url_encode(canonical_json(dict(CMR, carrier="X"))))
    with pytest.raises(SignatureError, match="signature 0") as excinfo:
        verify(swapped, trust)  # type: ignore[arg-type]
    assert reason_of(excinfo) == ("bad_signature", 0)


def test_corrupt_signature_names_its_index_and_kid(
    consignor: Ed25519Signer, carrier: Es256Signer, trust: TrustList
) -> None:
    jws = two_party(consignor, carrier)
    raw = bytearray(b64url_decode(jws["signatures"][1]["signature"]))
    raw[5] ^= 0x40
    jws["signatures"][1]["signature"] = b64url_encode(bytes(raw))
    with pytest.raises(SignatureError, match=r"signature 1 \(kid 'az-ady-2025'") as excinfo:
        verify(jws, trust)
    assert reason_of(excinfo) == ("bad_signature", 1)


def test_unknown_kid_and_wrong_party(
    consignor: Ed25519Signer, carrier: Es256Signer, trust: TrustList
) -> None:
    stranger = Ed25519Signer.generate("ge-unknown-1", party="ge:unknown")
    jws = add_signature(two_party(consignor, carrier), stranger, "consignee", T0 + 2 * HOUR)
    with pytest.raises(SignatureError) as excinfo:
        verify(jws, trust)
    assert reason_of(excinfo) == ("unknown_kid", 2)
    impostor = Ed25519Signer.generate("ge-unknown-1", party="kz:shymkent-steel")
    trust.add_signer(stranger, not_before=T0)
    jws = sign_document(CMR, impostor, "consignor", T0)
    with pytest.raises(SignatureError) as excinfo:
        verify(jws, trust)
    assert reason_of(excinfo) == ("party_mismatch", 0)


def test_unprotected_headers_and_unknown_members_are_refused(
    consignor: Ed25519Signer, trust: TrustList
) -> None:
    jws = sign_document(CMR, consignor, "consignor", T0)
    with_header: Any = copy.deepcopy(jws)
    with_header["signatures"][0]["header"] = {"role": "carrier"}
    with pytest.raises(SignatureError, match="unprotected") as excinfo:
        verify(with_header, trust)
    assert reason_of(excinfo) == ("malformed", 0)
    header = json.loads(b64url_decode(jws["signatures"][0]["protected"]))
    header["crit"] = ["b64"]
    with pytest.raises(SignatureError, match="exactly alg, kid, party, role, step, version, iat"):
        verify(forge(jws, 0, header, b"x" * 64), trust)
    with pytest.raises(SignatureError, match="at least one signature"):
        verify({"payload": jws["payload"], "signatures": []}, trust)


# --- key validity: rotation, revocation, not_before --------------------------------------------


def test_revocation_splits_signatures_at_the_revocation_time(
    consignor: Ed25519Signer, carrier: Es256Signer, trust: TrustList
) -> None:
    trust.revoke(carrier.kid, at=T0 + 2 * HOUR)
    assert len(verify(two_party(consignor, carrier), trust)) == 2  # signed an hour before
    at_revocation = add_signature(sign_document(CMR, consignor, "consignor", T0), carrier,
                                  "carrier", T0 + 2 * HOUR)  # fmt: skip
    with pytest.raises(SignatureError, match="at or after the key's revocation") as excinfo:
        verify(at_revocation, trust)
    assert reason_of(excinfo) == ("key_revoked", 1)
    after = sign_document(CMR, carrier, "carrier", T0 + 30 * HOUR)
    with pytest.raises(SignatureError) as excinfo:
        verify(after, trust)
    assert reason_of(excinfo) == ("key_revoked", 0)
    # A later revocation never moves the time forward again.
    trust.revoke(carrier.kid, at=T0 + 50 * HOUR)
    with pytest.raises(SignatureError):
        verify(after, trust)


def test_signature_before_not_before_is_invalid(consignor: Ed25519Signer, trust: TrustList) -> None:
    early = sign_document(CMR, consignor, "consignor", T0 - 25 * HOUR)
    with pytest.raises(SignatureError) as excinfo:
        verify(early, trust)
    assert reason_of(excinfo) == ("key_not_yet_valid", 0)


def rotated(trust: TrustList, old: Ed25519Signer, new: Ed25519Signer, at: datetime) -> TrustList:
    """The trust list after `old` was rotated out for `new` at `at`, as a node publishes it
    (SigningKeyRepository.trust_list: the keys' rows as JWKS, the old key's superseded_at)."""
    keys = trust.to_jwks()["keys"]
    moment = int(at.timestamp())
    for jwk in keys:
        if jwk["kid"] == old.kid:
            jwk["superseded_at"] = moment
    keys.append({**new.public_jwk(), "party": new.party, "not_before": moment})
    return TrustList.from_jwks({"keys": keys})


def test_rotation_keeps_old_signatures_and_moves_signing_to_the_new_key(
    consignor: Ed25519Signer, trust: TrustList
) -> None:
    before = sign_document(CMR, consignor, "consignor", T0)
    successor = Ed25519Signer.generate("kz-shymkent-steel-2", party="kz:shymkent-steel")
    trust = rotated(trust, consignor, successor, T0 + 10 * HOUR)
    assert verify(before, trust)[0].kid == consignor.kid
    assert verify(sign_document(CMR, successor, "consignor", T0 + 11 * HOUR), trust)
    with pytest.raises(SignatureError) as excinfo:
        verify(sign_document(CMR, consignor, "consignor", T0 + 11 * HOUR), trust)
    assert reason_of(excinfo) == ("key_superseded", 0)
    with pytest.raises(SignatureError) as excinfo:
        verify(sign_document(CMR, successor, "consignor", T0 + 9 * HOUR), trust)
    assert reason_of(excinfo) == ("key_not_yet_valid", 0)


def test_trust_list_refuses_nonsense(consignor: Ed25519Signer, trust: TrustList) -> None:
    with pytest.raises(TrustListError, match="already"):
        trust.add_signer(consignor, not_before=T0)
    with pytest.raises(TrustListError, match="not allowed"):
        trust.add({"kty": "oct", "k": "c2VjcmV0", "kid": "hmac", "alg": "HS256"},
                  party="x", not_before=T0)  # fmt: skip
    private = consignor.public_jwk() | {"kid": "leak", "d": "AAAA"}
    with pytest.raises(TrustListError, match="private"):
        trust.add(private, party="x", not_before=T0)
    with pytest.raises(TrustListError, match="unknown kid"):
        trust.revoke("nope", at=T0)
    assert KeyRing is TrustList


def test_jwks_round_trip_keeps_validity(
    consignor: Ed25519Signer, carrier: Es256Signer, trust: TrustList
) -> None:
    successor = Ed25519Signer.generate("kz-shymkent-steel-2", party="kz:shymkent-steel")
    trust = rotated(trust, consignor, successor, T0 + 10 * HOUR)
    trust.revoke(carrier.kid, at=T0 + 2 * HOUR)
    jwks = json.loads(json.dumps(trust.to_jwks()))
    again = TrustList.from_jwks(jwks)
    assert list(again) == list(trust)
    carrier_jwk = next(k for k in jwks["keys"] if k["kid"] == carrier.kid)
    assert carrier_jwk["party"] == "carrier:AZ-ADY"
    assert carrier_jwk["revoked_at"] == int((T0 + 2 * HOUR).timestamp())
    with pytest.raises(SignatureError, match="key_superseded"):
        verify(sign_document(CMR, consignor, "consignor", T0 + 11 * HOUR), again)
    jwks["keys"][0]["d"] = "AAAA"
    with pytest.raises(TrustListError, match="private"):
        TrustList.from_jwks(jwks)


# --- algorithm allow-list ---------------------------------------------------------------------


def test_alg_none_is_refused(consignor: Ed25519Signer, trust: TrustList) -> None:
    jws = sign_document(CMR, consignor, "consignor", T0)
    header = {"alg": "none", "kid": consignor.kid, "party": consignor.party,
              "role": "consignor", "iat": int(T0.timestamp())}  # fmt: skip
    with pytest.raises(SignatureError) as excinfo:
        verify(forge(jws, 0, header, b""), trust)
    assert reason_of(excinfo) == ("algorithm_not_allowed", 0)


def test_hs256_keyed_with_the_public_key_is_refused(carrier: Es256Signer, trust: TrustList) -> None:
    # The classic confusion attack: HMAC "signed" with the published public key as the secret.
    jws = sign_document(CMR, carrier, "carrier", T0)
    header = {"alg": "HS256", "kid": carrier.kid, "party": carrier.party, "role": "carrier",
              "iat": int(T0.timestamp())}  # fmt: skip
    protected = b64url_encode(json.dumps(header).encode())
    secret = json.dumps(carrier.public_jwk()).encode()
    mac = hmac.new(secret, f"{protected}.{jws['payload']}".encode(), hashlib.sha256).digest()
    with pytest.raises(SignatureError) as excinfo:
        verify(forge(jws, 0, header, mac), trust)
    assert reason_of(excinfo) == ("algorithm_not_allowed", 0)
    with pytest.raises(SignatureError, match="algorithm_not_allowed"):
        verify_compact(f"{protected}.{jws['payload']}.{b64url_encode(mac)}", trust)


def test_alg_must_match_the_key(consignor: Ed25519Signer, trust: TrustList) -> None:
    jws = sign_document(CMR, consignor, "consignor", T0)
    header = json.loads(b64url_decode(jws["signatures"][0]["protected"])) | {"alg": "ES256"}
    with pytest.raises(SignatureError) as excinfo:
        verify(forge(jws, 0, header, b"\x01" * 64), trust)
    assert reason_of(excinfo) == ("algorithm_mismatch", 0)


# --- private keys stay private ----------------------------------------------------------------


@pytest.mark.parametrize("make", [Ed25519Signer.generate, Es256Signer.generate])
def test_private_key_never_shows(make: Any, trust: TrustList) -> None:
    signer = make("k-1", party="kz-customs")
    pem = signer.export_private_pem_for_keystore()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    secret_b64 = "".join(pem.decode().splitlines()[1:-1])
    trust.add_signer(signer, not_before=T0)
    shown = [
        repr(signer),
        str(signer),
        json.dumps(signer.public_jwk()),
        json.dumps(trust.to_jwks()),
    ]
    for text in shown:
        assert secret_b64[-40:] not in text
        assert "PRIVATE" not in text
    assert (
        repr(signer)
        == f"{type(signer).__name__}(kid='k-1', party='kz-customs', alg='{signer.alg}')"
    )
    assert all("d" not in key for key in trust.to_jwks()["keys"])
    assert "d" not in signer.public_jwk()
    with pytest.raises(TypeError, match="not picklable"):
        pickle.dumps(signer)
    with pytest.raises(AttributeError):
        signer.__dict__  # noqa: B018  (slots: no attribute dictionary to dump)


@pytest.mark.parametrize("make", [Ed25519Signer.generate, Es256Signer.generate])
def test_keystore_pem_round_trip(make: Any, trust: TrustList) -> None:
    signer = make("k-2", party="tr-customs")
    trust.add_signer(signer, not_before=T0)
    for password in (None, b"correct horse"):
        pem = signer.export_private_pem_for_keystore(password)
        loaded = load_signer_from_keystore_pem(
            pem, kid="k-2", party="tr-customs", password=password
        )
        assert type(loaded) is type(signer)
        assert loaded.public_jwk() == signer.public_jwk()
        assert verify(sign_document(CMR, loaded, "issuer", T0), trust)[0].kid == "k-2"
    assert b"ENCRYPTED" in signer.export_private_pem_for_keystore(b"pw")


# --- interop with joserfc ---------------------------------------------------------------------

REGISTRY = JWSRegistry(algorithms=["EdDSA", "ES256"], strict_check_header=False)


def jose_public(signer: Ed25519Signer | Es256Signer) -> jose_jwk.Key:
    """The signer's public JWK as a joserfc key object."""
    return jose_jwk.import_key(dict[str, str | list[str]](signer.public_jwk()))


def test_joserfc_verifies_our_multi_party_jws(
    consignor: Ed25519Signer, carrier: Es256Signer
) -> None:
    jws = two_party(consignor, carrier)
    keys = jose_jwk.KeySet([jose_public(consignor), jose_public(carrier)])
    # joserfc warns that "EdDSA" is superseded by "Ed25519" (RFC 9864); the signature still counts.
    with pytest.warns(SecurityWarning, match="EdDSA"):
        obj = jose_jws.deserialize_json(jws, keys, registry=REGISTRY)  # type: ignore[arg-type]
    assert obj.payload == canonical_json(CMR)
    tampered = copy.deepcopy(jws)
    tampered["payload"] = b64url_encode(canonical_json(dict(CMR, carrier="X")))
    with pytest.warns(SecurityWarning), pytest.raises(BadSignatureError):
        jose_jws.deserialize_json(tampered, keys, registry=REGISTRY)  # type: ignore[arg-type]


def test_we_verify_a_jws_made_by_joserfc(carrier: Es256Signer, trust: TrustList) -> None:
    key = jose_jwk.import_key(carrier.export_private_pem_for_keystore(), "EC")
    header = {"alg": "ES256", "kid": carrier.kid, "party": carrier.party, "role": "carrier",
              "iat": int(T0.timestamp())}  # fmt: skip
    made = jose_jws.serialize_json(
        [{"protected": header}], canonical_json(CMR), key, registry=REGISTRY
    )
    assert verify(made, trust, document=CMR)[0].role == "carrier"  # type: ignore[arg-type]


# --- compact tokens (e-Permit QR) and detached proofs -------------------------------------------

PERMIT_CLAIMS = {"id": "TR-UZ-2025-1-17", "iat": int(T0.timestamp()),
                 "exp": int((T0 + 24 * 90 * HOUR).timestamp()), "pn": "34ABC123",
                 "cn": "Anadolu Taşımacılık A.Ş."}  # fmt: skip


def test_permit_qr_round_trip(trust: TrustList) -> None:
    issuer = Es256Signer.generate("tr-permit-2025", party="TR")
    trust.add_signer(issuer, not_before=T0 - HOUR)
    token = sign_compact(PERMIT_CLAIMS, issuer)
    header = json.loads(b64url_decode(token.split(".")[0]))
    assert header == {"alg": "ES256", "kid": "tr-permit-2025"}
    result = verify_compact(token, trust, now=T0 + HOUR)
    assert result.claims == PERMIT_CLAIMS
    assert (result.party, result.alg, result.signed_at) == ("TR", "ES256", T0)
    theirs = jose_jws.deserialize_compact(token, jose_public(issuer), algorithms=["ES256"])
    assert theirs.payload == canonical_json(PERMIT_CLAIMS)
    with pytest.raises(SignatureError, match="expired"):
        verify_compact(token, trust, now=T0 + 24 * 91 * HOUR)
    head, payload, sig = token.split(".")
    forged = b64url_encode(canonical_json(dict(PERMIT_CLAIMS, pn="06XYZ999")))
    with pytest.raises(SignatureError, match="bad_signature"):
        verify_compact(f"{head}.{forged}.{sig}", trust)
    with pytest.raises(SignatureError, match="malformed"):
        verify_compact(f"{head}.{payload}", trust)
    trust.revoke(issuer.kid, at=T0)
    with pytest.raises(SignatureError, match="key_revoked"):
        verify_compact(token, trust)


def test_we_verify_a_qr_token_made_by_joserfc(trust: TrustList) -> None:
    issuer = Es256Signer.generate("uz-permit-1", party="UZ")
    trust.add_signer(issuer, not_before=T0 - HOUR)
    key = jose_jwk.import_key(issuer.export_private_pem_for_keystore(), "EC")
    header = {"kid": "uz-permit-1", "alg": "ES256"}
    token = jose_jws.serialize_compact(header, json.dumps(PERMIT_CLAIMS), key, algorithms=["ES256"])
    assert verify_compact(token, trust).claims["pn"] == "34ABC123"


@pytest.mark.parametrize("form", ["rfc7515", "epermit"])
def test_detached_proof_round_trip(form: Any, carrier: Es256Signer, trust: TrustList) -> None:
    event = b'{"permit_id":"TR-UZ-2025-1-17","event_type":"PERMIT_USED"}'
    proof = sign_detached(event, carrier, form=form)
    assert proof.count(".") == (2 if form == "rfc7515" else 1)
    assert verify_detached(proof, event, trust).party == "carrier:AZ-ADY"
    with pytest.raises(SignatureError, match="bad_signature"):
        verify_detached(proof, event.replace(b"USED", b"REVOKED"), trust)
    head, *_, sig = proof.split(".")
    attached = f"{head}.{b64url_encode(event)}.{sig}"
    theirs = jose_jws.deserialize_compact(attached, jose_public(carrier), algorithms=["ES256"])
    assert theirs.payload == event
    trust.revoke(carrier.kid, at=T0)
    with pytest.raises(SignatureError, match="no signing time"):
        verify_detached(proof, event, trust)
    assert verify_detached(proof, event, trust, signed_at=T0 - HOUR).kid == carrier.kid


def test_we_verify_an_epermit_proof_made_by_joserfc(carrier: Es256Signer, trust: TrustList) -> None:
    event = b'{"permit_id":"TR-UZ-2025-1-17","event_producer":"TR"}'
    key = jose_jwk.import_key(carrier.export_private_pem_for_keystore(), "EC")
    token = jose_jws.serialize_compact({"kid": carrier.kid, "alg": "ES256"}, event, key,
                                       algorithms=["ES256"])  # fmt: skip
    head, _, sig = token.split(".")
    assert verify_detached(f"{head}.{sig}", event, trust).kid == carrier.kid
    with pytest.raises(SignatureError, match="malformed"):
        verify_detached(f"{head}.x.{sig}", event, trust)
