"""Signing keys: the `Signer` protocol, Ed25519 and P-256 signers, public JWKs, raw verification.

A signer holds its private key and only ever hands out signatures and the public half. The one
way out for the private key is `export_private_pem_for_keystore()`, meant for the key store that
writes it to disk; an HSM-backed signer implements the same protocol without that method.
Signatures are in JWS form (RFC 7518 §3.4: ES256 is the raw 64-byte r||s, not DER).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Final, NoReturn, Protocol, runtime_checkable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from kervan.signatures.encoding import b64url_decode, b64url_encode

EDDSA: Final = "EdDSA"
ES256: Final = "ES256"
#: The only JWS algorithms Kervan signs with or accepts; "none", HMAC and RSA are refused.
ALLOWED_ALGORITHMS: Final = frozenset({EDDSA, ES256})

PublicKey = Ed25519PublicKey | ec.EllipticCurvePublicKey
_P256_BYTES = 32


@runtime_checkable
class Signer(Protocol):
    """A party's signing key that never leaves this object.

    `kid` names the key in trust lists, `party` is the owner (e.g. "kz-customs"), `alg` is the JWS
    algorithm. `sign(data)` returns the JWS signature bytes over `data`; `public_jwk()` returns
    the public key as an RFC 7517 JWK with kid, alg and use.
    """

    @property
    def kid(self) -> str: ...

    @property
    def party(self) -> str: ...

    @property
    def alg(self) -> str: ...

    def sign(self, data: bytes) -> bytes: ...

    def public_jwk(self) -> dict[str, str]: ...


class _KeystoreSigner:
    """Shared behaviour of the file-backed signers: identity, safe repr, no pickling."""

    __slots__ = ("_kid", "_party")
    alg_name: ClassVar[str]

    def __init__(self, kid: str, party: str) -> None:
        if not kid or not isinstance(kid, str):
            raise ValueError("a signer needs a non-empty kid")
        if not party or not isinstance(party, str):
            raise ValueError("a signer needs a non-empty party id")
        self._kid = kid
        self._party = party

    @property
    def kid(self) -> str:
        """The key id published in trust lists and JWS headers."""
        return self._kid

    @property
    def party(self) -> str:
        """The party (organisation id) that owns this key."""
        return self._party

    @property
    def alg(self) -> str:
        """The JWS algorithm this key signs with."""
        return self.alg_name

    def __repr__(self) -> str:
        # Only public identity: a signer may end up in logs and tracebacks.
        return f"{type(self).__name__}(kid={self._kid!r}, party={self._party!r}, alg={self.alg!r})"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("signers are not picklable: the private key must not leave the signer")


class Ed25519Signer(_KeystoreSigner):
    """EdDSA (Ed25519) signer, Kervan's default for document signatures."""

    __slots__ = ("_key",)
    alg_name: ClassVar[str] = EDDSA

    def __init__(self, kid: str, party: str, private_key: Ed25519PrivateKey) -> None:
        super().__init__(kid, party)
        self._key = private_key

    @classmethod
    def generate(cls, kid: str, *, party: str) -> Ed25519Signer:
        """Return a signer with a freshly generated Ed25519 key."""
        return cls(kid, party, Ed25519PrivateKey.generate())

    def sign(self, data: bytes) -> bytes:
        """Return the 64-byte Ed25519 signature over `data`."""
        return self._key.sign(data)

    def public_jwk(self) -> dict[str, str]:
        """Return the public key as an OKP JWK (RFC 8037) with kid, alg and use."""
        return public_jwk(self._key.public_key(), kid=self.kid, alg=self.alg)

    def export_private_pem_for_keystore(self, password: bytes | None = None) -> bytes:
        """Return the private key as PKCS#8 PEM, for a key store to write to disk and nothing else.

        With `password` the PEM is encrypted with the best available scheme.
        """
        return _export_pem(self._key, password)


class Es256Signer(_KeystoreSigner):
    """ES256 (ECDSA P-256, SHA-256) signer, for standards that require it such as e-Permit."""

    __slots__ = ("_key",)
    alg_name: ClassVar[str] = ES256

    def __init__(self, kid: str, party: str, private_key: ec.EllipticCurvePrivateKey) -> None:
        if not isinstance(private_key.curve, ec.SECP256R1):
            raise ValueError("ES256 needs a P-256 (secp256r1) key")
        super().__init__(kid, party)
        self._key = private_key

    @classmethod
    def generate(cls, kid: str, *, party: str) -> Es256Signer:
        """Return a signer with a freshly generated P-256 key."""
        return cls(kid, party, ec.generate_private_key(ec.SECP256R1()))

    def sign(self, data: bytes) -> bytes:
        """Return the 64-byte JWS ES256 signature (r||s, big-endian) over `data`."""
        r, s = decode_dss_signature(self._key.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(_P256_BYTES, "big") + s.to_bytes(_P256_BYTES, "big")

    def public_jwk(self) -> dict[str, str]:
        """Return the public key as an EC P-256 JWK with kid, alg and use."""
        return public_jwk(self._key.public_key(), kid=self.kid, alg=self.alg)

    def export_private_pem_for_keystore(self, password: bytes | None = None) -> bytes:
        """Return the private key as PKCS#8 PEM, for a key store to write to disk and nothing else.

        With `password` the PEM is encrypted with the best available scheme.
        """
        return _export_pem(self._key, password)


def load_signer_from_keystore_pem(
    pem: bytes, *, kid: str, party: str, password: bytes | None = None
) -> Ed25519Signer | Es256Signer:
    """Return the signer for a PKCS#8 PEM written by `export_private_pem_for_keystore`.

    The key type picks the class (Ed25519 -> EdDSA, P-256 -> ES256). Raises ValueError for any
    other key type or a wrong password.
    """
    key = serialization.load_pem_private_key(pem, password=password)
    if isinstance(key, Ed25519PrivateKey):
        return Ed25519Signer(kid, party, key)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return Es256Signer(kid, party, key)
    raise ValueError(f"unsupported private key type {type(key).__name__}; use Ed25519 or P-256")


def _export_pem(
    key: Ed25519PrivateKey | ec.EllipticCurvePrivateKey, password: bytes | None
) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def public_jwk(key: PublicKey, *, kid: str, alg: str) -> dict[str, str]:
    """Return `key` as a public JWK (RFC 7517) carrying `kid`, `alg` and use "sig"."""
    if isinstance(key, Ed25519PublicKey):
        raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(raw), "kid": kid, "alg": alg,
                "use": "sig"}  # fmt: skip
    numbers = key.public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": b64url_encode(numbers.x.to_bytes(_P256_BYTES, "big")),
        "y": b64url_encode(numbers.y.to_bytes(_P256_BYTES, "big")),
        "kid": kid,
        "alg": alg,
        "use": "sig",
    }


def public_key_from_jwk(jwk: Mapping[str, object]) -> tuple[PublicKey, str]:
    """Return (public key, JWS alg) for a public JWK.

    Accepts OKP/Ed25519 (alg EdDSA) and EC/P-256 (alg ES256). Raises ValueError for a JWK that
    carries private material ("d"), names another curve or algorithm, or holds a bad point.
    """
    if "d" in jwk:
        raise ValueError("JWK holds private key material ('d'); publish public keys only")
    kty, crv, alg = jwk.get("kty"), jwk.get("crv"), jwk.get("alg")
    if kty == "OKP" and crv == "Ed25519" and alg in (EDDSA, None):
        raw = b64url_decode(_text(jwk, "x"))
        if len(raw) != _P256_BYTES:
            raise ValueError("Ed25519 JWK 'x' must be 32 bytes")
        return Ed25519PublicKey.from_public_bytes(raw), EDDSA
    if kty == "EC" and crv == "P-256" and alg in (ES256, None):
        x, y = b64url_decode(_text(jwk, "x")), b64url_decode(_text(jwk, "y"))
        if len(x) != _P256_BYTES or len(y) != _P256_BYTES:
            raise ValueError("P-256 JWK 'x' and 'y' must be 32 bytes each")
        # from_encoded_point checks the point lies on the curve.
        point = b"\x04" + x + y
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point), ES256
    raise ValueError(
        f"unsupported JWK (kty={kty!r}, crv={crv!r}, alg={alg!r}); "
        f"only Ed25519/EdDSA and P-256/ES256 are accepted"
    )


def _text(jwk: Mapping[str, object], name: str) -> str:
    value = jwk.get(name)
    if not isinstance(value, str):
        raise ValueError(f"JWK member {name!r} must be a string")
    return value


def verify_raw(key: PublicKey, alg: str, data: bytes, signature: bytes) -> bool:
    """Return True when `signature` (JWS form) is valid for `data` under `key` and `alg`."""
    try:
        if alg == EDDSA and isinstance(key, Ed25519PublicKey):
            key.verify(signature, data)
            return True
        if alg == ES256 and isinstance(key, ec.EllipticCurvePublicKey):
            if len(signature) != 2 * _P256_BYTES:
                return False
            r = int.from_bytes(signature[:_P256_BYTES], "big")
            s = int.from_bytes(signature[_P256_BYTES:], "big")
            key.verify(encode_dss_signature(r, s), data, ec.ECDSA(hashes.SHA256()))
            return True
    except InvalidSignature:
        return False
    return False
