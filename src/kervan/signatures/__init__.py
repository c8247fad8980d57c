"""The signing toolkit: canonical JSON, keys and signers, the trust list, JWS sign and verify.

The implementation lives in `keys` (signers, JWKs), `trustlist` (who may sign what, when) and
`jws` (multi-party JSON serialization, compact tokens, detached proofs).
"""

from __future__ import annotations

from kervan.signatures.jws import (
    GeneralJws,
    JwsSignature,
    SignatureCheck,
    VerifiedSignature,
    VerifiedToken,
    add_signature,
    check_signatures,
    jws_payload,
    sign_compact,
    sign_detached,
    sign_document,
    sign_version,
    verify,
    verify_compact,
    verify_detached,
)
from kervan.signatures.keys import (
    ALLOWED_ALGORITHMS,
    EDDSA,
    ES256,
    Ed25519Signer,
    Es256Signer,
    Signer,
    load_signer_from_keystore_pem,
    public_jwk,
    public_key_from_jwk,
)
from kervan.signatures.trustlist import TrustedKey, TrustList

KeyRing = TrustList

__all__ = [
    "ALLOWED_ALGORITHMS",
    "EDDSA",
    "ES256",
    "Ed25519Signer",
    "Es256Signer",
    "GeneralJws",
    "JwsSignature",
    "KeyRing",
    "SignatureCheck",
    "Signer",
    "TrustList",
    "TrustedKey",
    "VerifiedSignature",
    "VerifiedToken",
    "add_signature",
    "check_signatures",
    "jws_payload",
    "load_signer_from_keystore_pem",
    "public_jwk",
    "public_key_from_jwk",
    "sign_compact",
    "sign_detached",
    "sign_document",
    "sign_version",
    "verify",
    "verify_compact",
    "verify_detached",
]
