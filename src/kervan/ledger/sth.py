"""Signed tree heads (STH): the log's signed statement "my first tree_size entries hash to root".

The signature is a compact JWS by the log's signer over canonical JSON claims
{iat, log_id, root_hash (hex), tree_size}; the STH's own fields must equal those claims.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from kervan.errors import LedgerIntegrityError, MerkleProofError
from kervan.ledger.merkle import HASH_SIZE, ConsistencyProof, verify_consistency
from kervan.signatures.encoding import (
    from_unix_seconds,
    hex32_decode,
    parse_rfc3339,
    rfc3339,
    unix_seconds,
)
from kervan.signatures.jws import VerifiedToken, sign_compact, verify_compact
from kervan.signatures.keys import Signer
from kervan.signatures.trustlist import TrustList

_FIELDS: Final = frozenset({"tree_size", "root_hash", "timestamp", "log_id", "signature"})


@dataclasses.dataclass(frozen=True, slots=True)
class SignedTreeHead:
    """A tree size and root hash, when, which log, and the log's compact JWS over them."""

    tree_size: int
    root_hash: bytes
    timestamp: datetime
    log_id: str
    signature: str

    def claims(self) -> dict[str, Any]:
        """Return the claims the signature must cover, derived from this head's fields."""
        return {"iat": unix_seconds(self.timestamp), "log_id": self.log_id,
                "root_hash": self.root_hash.hex(), "tree_size": self.tree_size}  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        """Return {tree_size, root_hash (hex), timestamp (RFC 3339), log_id, signature}."""
        return {
            "tree_size": self.tree_size,
            "root_hash": self.root_hash.hex(),
            "timestamp": rfc3339(self.timestamp),
            "log_id": self.log_id,
            "signature": self.signature,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SignedTreeHead:
        """Parse `to_json` output strictly; raise ValueError if malformed."""
        if not isinstance(data, Mapping) or set(data) != _FIELDS:
            raise ValueError(f"a signed tree head has exactly the members {sorted(_FIELDS)}")
        size = data["tree_size"]
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValueError("tree_size must be a non-negative integer")
        if not isinstance(data["log_id"], str) or not isinstance(data["signature"], str):
            raise ValueError("log_id and signature must be strings")
        return cls(
            size,
            hex32_decode(data["root_hash"]),
            parse_rfc3339(data["timestamp"]),
            data["log_id"],
            data["signature"],
        )


def sign_tree_head(
    tree_size: int, root_hash: bytes, at: datetime, signer: Signer
) -> SignedTreeHead:
    """Return the STH for (`tree_size`, `root_hash`) signed by `signer` at `at` (whole seconds)."""
    if len(root_hash) != HASH_SIZE:
        raise ValueError(f"a root hash is {HASH_SIZE} bytes")
    moment = from_unix_seconds(unix_seconds(at))
    unsigned = SignedTreeHead(tree_size, root_hash, moment, signer.party, "")
    return dataclasses.replace(unsigned, signature=sign_compact(unsigned.claims(), signer))


def verify_tree_head(tree_head: SignedTreeHead, trust_list: TrustList) -> VerifiedToken:
    """Check the STH's signature against `trust_list` and that it covers exactly these fields.

    Returns the verified signer. Raises SignatureError (signature, key rules) or
    LedgerIntegrityError(tree_head) when a field differs from what the log signed or the key
    belongs to another party than log_id.
    """
    verified = verify_compact(tree_head.signature, trust_list)
    expected = tree_head.claims()
    for name, value in expected.items():
        if verified.claims.get(name) != value:
            raise LedgerIntegrityError(
                "tree_head", f"{name} in the tree head differs from what the log signed"
            )
    if set(verified.claims) != set(expected):
        raise LedgerIntegrityError("tree_head", "signed claims hold members a tree head has not")
    if verified.party != tree_head.log_id:
        raise LedgerIntegrityError(
            "tree_head", f"signed by party {verified.party!r}, not by the log {tree_head.log_id!r}"
        )
    return verified


def verify_consistent_heads(
    older: SignedTreeHead,
    newer: SignedTreeHead,
    proof: ConsistencyProof,
    trust_list: TrustList,
) -> None:
    """Check two STHs of one log are both genuine and the newer extends the older (append-only).

    Raises SignatureError, LedgerIntegrityError or MerkleProofError naming what failed.
    """
    verify_tree_head(older, trust_list)
    verify_tree_head(newer, trust_list)
    if older.log_id != newer.log_id:
        raise LedgerIntegrityError("tree_head", "the two tree heads come from different logs")
    if (proof.size1, proof.size2) != (older.tree_size, newer.tree_size):
        raise MerkleProofError("consistency_proof", "proof sizes differ from the tree heads'")
    verify_consistency(
        older.tree_size, newer.tree_size, older.root_hash, newer.root_hash, proof.hashes
    )
