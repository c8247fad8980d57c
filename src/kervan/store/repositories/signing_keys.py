"""Organisations' public signing keys with their validity: the trust list, persisted.

Only public JWKs are stored here (a JWK carrying private material is refused); private keys live
in the key files (`kervan.store.keyfiles`).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Final

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from kervan.errors import NotFoundError, TrustListError
from kervan.signatures.encoding import from_unix_seconds, unix_seconds
from kervan.signatures.keys import Signer
from kervan.signatures.trustlist import TrustedKey, TrustList
from kervan.store.repositories._common import canonical_text, visible
from kervan.store.tables import SigningKeyRow, table_of

_KEYS: Final = table_of(SigningKeyRow)
_CURRENT_KIDS: Final = (
    select(_KEYS.c.kid)
    .where(
        _KEYS.c.org_id == bindparam("org_id"),
        _KEYS.c.alg == bindparam("alg"),
        _KEYS.c.revoked_at.is_(None),
        _KEYS.c.superseded_at.is_(None),
    )
    .order_by(_KEYS.c.not_before.desc())
)


def _trusted(row: SigningKeyRow) -> TrustedKey:
    public = json.loads(row.public_jwk)
    return TrustedKey(
        kid=row.kid,
        party=row.org_id,
        alg=row.alg,
        public_jwk=public,
        not_before=row.not_before,
        revoked_at=row.revoked_at,
        superseded_at=row.superseded_at,
    )


class SigningKeyRepository:
    """Public keys by organisation. Reads of one key see only the caller's organisations;
    `trust_list()` is the node's published JWKS, public by design."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, org_id: str, jwk: Mapping[str, object], *, not_before: datetime) -> TrustedKey:
        """Store `org_id`'s public JWK (with kid and alg) valid from `not_before`; return it.

        Raises TrustListError for private material, an algorithm outside EdDSA/ES256, a bad key
        or a kid already stored (kids are unique across organisations).
        """
        # The core trust list does every check a JWK must pass; reuse it on a scratch list.
        key = TrustList().add(jwk, party=org_id, not_before=not_before)
        if self._session.scalars(
            select(SigningKeyRow.kid).where(SigningKeyRow.kid == key.kid)
        ).first():
            raise TrustListError(f"kid {key.kid!r} is already in the trust list; kids are unique")
        self._session.add(
            SigningKeyRow(
                org_id=org_id,
                kid=key.kid,
                alg=key.alg,
                public_jwk=canonical_text(dict(key.public_jwk)),
                not_before=key.not_before,
                revoked_at=None,
                superseded_at=None,
            )
        )
        self._session.flush()
        return key

    def add_signer(self, signer: Signer, *, not_before: datetime) -> TrustedKey:
        """Store the public half of `signer` under its party (organisation) id."""
        return self.add(signer.party, signer.public_jwk(), not_before=not_before)

    def get(self, kid: str, *, org_ids: Collection[str]) -> TrustedKey:
        """Return key `kid` if it belongs to one of the caller's organisations; else NotFound."""
        return _trusted(self._row(kid, org_ids))

    def keys_of(self, org_id: str, *, org_ids: Collection[str]) -> list[TrustedKey]:
        """Return `org_id`'s keys, oldest first (empty unless `org_id` is the caller's)."""
        rows = self._session.scalars(
            select(SigningKeyRow)
            .where(SigningKeyRow.org_id == org_id, SigningKeyRow.org_id.in_(visible(org_ids)))
            .order_by(SigningKeyRow.not_before, SigningKeyRow.kid)
        )
        return [_trusted(row) for row in rows]

    def supersede(self, kid: str, *, at: datetime, org_ids: Collection[str]) -> TrustedKey:
        """Stop `kid` signing from `at` (rotated out, not compromised: what it signed before
        stays valid); an earlier end stands."""
        row = self._row(kid, org_ids)
        when = from_unix_seconds(unix_seconds(at))
        if row.superseded_at is None or when < row.superseded_at:
            row.superseded_at = when
        self._session.flush()
        return _trusted(row)

    def revoke(self, kid: str, *, at: datetime, org_ids: Collection[str]) -> TrustedKey:
        """Revoke `kid` from `at` (an earlier revocation stands); return the key."""
        row = self._row(kid, org_ids)
        # Validity travels as whole Unix seconds, as in the core trust list.
        when = from_unix_seconds(unix_seconds(at))
        if row.revoked_at is None or when < row.revoked_at:
            row.revoked_at = when
        self._session.flush()
        return _trusted(row)

    def current_kids(self, org_id: str, alg: str) -> list[str]:
        """The ids of `org_id`'s current (neither revoked nor superseded) keys of `alg`,
        newest first."""
        return list(self._session.scalars(_CURRENT_KIDS, {"org_id": org_id, "alg": alg}))

    def trust_list(self) -> TrustList:
        """Return every organisation's public keys with their validity, as a TrustList."""
        rows = self._session.scalars(
            select(SigningKeyRow).order_by(SigningKeyRow.not_before, SigningKeyRow.kid)
        )
        jwks = [_trusted(row).to_jwk() for row in rows]
        return TrustList.from_jwks({"keys": jwks})

    def _row(self, kid: str, org_ids: Collection[str]) -> SigningKeyRow:
        row = self._session.scalars(
            select(SigningKeyRow).where(
                SigningKeyRow.kid == kid, SigningKeyRow.org_id.in_(visible(org_ids))
            )
        ).one_or_none()
        if row is None:
            raise NotFoundError("signing key", kid)
        return row
