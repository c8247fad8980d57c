"""The trust list: which public key belongs to which party, and from when until when.

Rules a signature is judged by (signing time = the `iat` the signer put in the protected header):
- only EdDSA and ES256 are accepted, and the header's alg must be the key's alg;
- a signature made before the key's `not_before` is invalid;
- a signature made at or after the key's `revoked_at` is invalid; one made before stays valid;
- a key rotated out (`superseded_at`: `kervan org rotate-key`, `kervan epermit key rotate`)
  keeps verifying what it signed before the rotation, but a signature it makes at or after
  the rotation is invalid: a party signs with its current key.
Published as JWKS (RFC 7517) with extra members party, not_before, revoked_at, superseded_at
(Unix seconds).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from kervan.errors import SignatureError, TrustListError
from kervan.signatures.encoding import from_unix_seconds, unix_seconds
from kervan.signatures.keys import (
    ALLOWED_ALGORITHMS,
    PublicKey,
    Signer,
    public_key_from_jwk,
)

_PUBLIC_MEMBERS = ("kty", "crv", "x", "y")
_VALIDITY_MEMBERS = ("not_before", "revoked_at", "superseded_at")


# bench/documents.py: building a key once per key, not per verification, was part of 0.16 -> 0.36
@functools.lru_cache(maxsize=4096)
def _public_key(jwk_items: tuple[tuple[str, str], ...]) -> PublicKey:
    return public_key_from_jwk(dict(jwk_items))[0]


@dataclasses.dataclass(frozen=True, slots=True)
class TrustedKey:
    """One public key in the trust list; times are whole-second UTC datetimes."""

    kid: str
    party: str
    alg: str
    public_jwk: Mapping[str, str]
    not_before: datetime
    revoked_at: datetime | None = None
    superseded_at: datetime | None = None

    def public_key(self) -> PublicKey:
        """Return the cryptography public key object for verification (built once per key)."""
        return _public_key(tuple(self.public_jwk.items()))

    def to_jwk(self) -> dict[str, Any]:
        """Return this key as a JWK with the party and validity members (Unix seconds)."""
        out: dict[str, Any] = dict(self.public_jwk)
        out.update(kid=self.kid, alg=self.alg, use="sig", party=self.party)
        out["not_before"] = unix_seconds(self.not_before)
        if self.revoked_at is not None:
            out["revoked_at"] = unix_seconds(self.revoked_at)
        if self.superseded_at is not None:
            out["superseded_at"] = unix_seconds(self.superseded_at)
        return out


class TrustList:
    """Parties' public keys with their validity, a.k.a. the key ring; mutable, kid-unique."""

    def __init__(self) -> None:
        self._keys: dict[str, TrustedKey] = {}

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[TrustedKey]:
        return iter(self._keys.values())

    def __contains__(self, kid: object) -> bool:
        return kid in self._keys

    def __repr__(self) -> str:
        return f"TrustList({len(self._keys)} keys, parties={sorted(self.parties())!r})"

    def parties(self) -> set[str]:
        """Return the ids of every party with a key in the list."""
        return {key.party for key in self._keys.values()}

    def add(self, jwk: Mapping[str, object], *, party: str, not_before: datetime) -> TrustedKey:
        """Add a party's public JWK (must carry kid and alg) valid from `not_before`; return it.

        Raises TrustListError for a duplicate kid, private material, or an algorithm outside the
        allow-list.
        """
        kid = jwk.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TrustListError("a trusted key needs a non-empty string 'kid'")
        if kid in self._keys:
            raise TrustListError(f"kid {kid!r} is already in the trust list; kids are unique")
        if not party:
            raise TrustListError(f"key {kid!r} needs a party id")
        if jwk.get("alg") not in ALLOWED_ALGORITHMS:
            raise TrustListError(
                f"key {kid!r}: alg {jwk.get('alg')!r} is not allowed; use one of "
                f"{sorted(ALLOWED_ALGORITHMS)}"
            )
        try:
            _, alg = public_key_from_jwk(jwk)
        except ValueError as exc:
            raise TrustListError(f"key {kid!r}: {exc}") from exc
        public = {name: str(jwk[name]) for name in _PUBLIC_MEMBERS if name in jwk}
        key = TrustedKey(kid, party, alg, public, _whole_seconds(not_before))
        self._keys[kid] = key
        return key

    def add_signer(self, signer: Signer, *, not_before: datetime) -> TrustedKey:
        """Add the public half of `signer` under its own party; return the trusted key."""
        return self.add(signer.public_jwk(), party=signer.party, not_before=not_before)

    def get(self, kid: str) -> TrustedKey:
        """Return the key `kid`; raise SignatureError(unknown_kid) if the list does not hold it."""
        key = self._keys.get(kid)
        if key is None:
            raise SignatureError("unknown_kid", "no key with this kid in the trust list", kid=kid)
        return key

    def keys_of(self, party: str) -> list[TrustedKey]:
        """Return every key of `party`, oldest first."""
        return [key for key in self._keys.values() if key.party == party]

    def revoke(self, kid: str, *, at: datetime) -> TrustedKey:
        """Revoke `kid` from `at`: signatures made at or after `at` fail, earlier ones stand.

        Revoking twice keeps the earlier time (a revocation is never undone). Returns the key.
        """
        key = self._keys.get(kid)
        if key is None:
            raise TrustListError(f"cannot revoke unknown kid {kid!r}")
        when = _whole_seconds(at)
        if key.revoked_at is not None and key.revoked_at <= when:
            return key
        revoked = dataclasses.replace(key, revoked_at=when)
        self._keys[kid] = revoked
        return revoked

    def judge(
        self, *, kid: str, alg: object, party: object | None, signed_at: datetime | None
    ) -> TrustedKey:
        """Return the key that may verify a signature by `kid` made at `signed_at`.

        `party` is the party the signature claims (None when the format carries none);
        `signed_at` None means the signing time is unknown, which only a never-revoked key
        survives. Raises SignatureError naming the rule that failed.
        """
        if alg not in ALLOWED_ALGORITHMS:
            raise SignatureError(
                "algorithm_not_allowed",
                f"alg {alg!r} is not allowed; only {sorted(ALLOWED_ALGORITHMS)} are accepted",
                kid=kid,
            )
        key = self.get(kid)
        if alg != key.alg:
            raise SignatureError(
                "algorithm_mismatch",
                f"header says alg {alg!r} but the key is {key.alg}",
                kid=kid,
                party=key.party,
            )
        if party is not None and party != key.party:
            raise SignatureError(
                "party_mismatch",
                f"signature claims party {party!r} but the key belongs to {key.party!r}",
                kid=kid,
                party=key.party,
            )
        _check_validity(key, signed_at)
        return key

    def to_jwks(self) -> dict[str, list[dict[str, Any]]]:
        """Return the trust list as a JWKS document (public keys and validity only)."""
        return {"keys": [key.to_jwk() for key in self._keys.values()]}

    @classmethod
    def from_jwks(cls, jwks: Mapping[str, object]) -> TrustList:
        """Build a trust list from a JWKS made by `to_jwks`; raise TrustListError if malformed."""
        keys = jwks.get("keys")
        if not isinstance(keys, list):
            raise TrustListError("JWKS needs a 'keys' array")
        trust = cls()
        for position, jwk in enumerate(keys):
            if not isinstance(jwk, dict):
                raise TrustListError(f"JWKS key {position} is not an object")
            party = jwk.get("party")
            if not isinstance(party, str) or not party:
                raise TrustListError(f"JWKS key {position} needs a 'party' string")
            times = {name: _jwks_time(jwk, name, position) for name in _VALIDITY_MEMBERS}
            not_before = times["not_before"]
            if not_before is None:
                raise TrustListError(f"JWKS key {position} needs 'not_before' (Unix seconds)")
            key = trust.add(jwk, party=party, not_before=not_before)
            trust._keys[key.kid] = dataclasses.replace(
                key, revoked_at=times["revoked_at"], superseded_at=times["superseded_at"]
            )
        return trust


def _check_validity(key: TrustedKey, signed_at: datetime | None) -> None:
    if signed_at is None:
        if key.revoked_at is not None:
            raise SignatureError(
                "key_revoked",
                "the key is revoked and the signature carries no signing time to prove it "
                "was made before the revocation",
                kid=key.kid,
                party=key.party,
            )
        return
    when = _whole_seconds(signed_at)
    if when < key.not_before:
        raise SignatureError(
            "key_not_yet_valid",
            f"signed at {when.isoformat()}, before the key's not_before "
            f"{key.not_before.isoformat()}",
            kid=key.kid,
            party=key.party,
        )
    if key.revoked_at is not None and when >= key.revoked_at:
        raise SignatureError(
            "key_revoked",
            f"signed at {when.isoformat()}, at or after the key's revocation "
            f"{key.revoked_at.isoformat()}",
            kid=key.kid,
            party=key.party,
        )
    if key.superseded_at is not None and when >= key.superseded_at:
        raise SignatureError(
            "key_superseded",
            f"signed at {when.isoformat()}, at or after the key was rotated out "
            f"{key.superseded_at.isoformat()}; the party signs with its newer key",
            kid=key.kid,
            party=key.party,
        )


def _whole_seconds(moment: datetime) -> datetime:
    # Signing times travel as whole Unix seconds (iat), so validity is kept at that resolution.
    if moment.tzinfo is UTC and not moment.microsecond and not moment.fold:
        return moment  # already what the conversion would give (a decoded iat, say)
    return from_unix_seconds(unix_seconds(moment))


def _jwks_time(jwk: Mapping[str, object], name: str, position: int) -> datetime | None:
    value = jwk.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TrustListError(f"JWKS key {position}: {name!r} must be whole Unix seconds")
    return from_unix_seconds(value)
