"""The node's audit of the checkpoints of its log (the signed notes its witnesses co-sign).

A stored checkpoint must be a signed note of this log, at the size and under the name it is
stored with, signed by one of the node's Ed25519 keys (its trust list), and its root must be
the root of the node's entries at that size, rebuilt from the entries themselves. An edited,
swapped or forged checkpoint row is named.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from kervan.errors import KervanError
from kervan.ledger.audit import Finding
from kervan.ledger.checkpoint import (
    ED25519,
    VerifierKey,
    parse_signed_checkpoint,
    verifier_key,
    verify_log_signature,
)
from kervan.ledger.merkle import MerkleTree
from kervan.signatures.trustlist import TrustList
from kervan.store.repositories.audit import AuditedCheckpoint

_TABLE: Final = "log_checkpoints"


def checkpoint_findings(
    checkpoints: list[AuditedCheckpoint], tree: MerkleTree, trust: TrustList, log_id: str
) -> Iterable[Finding]:
    """Findings about the stored checkpoints (see the module's docstring); `tree` is the log
    rebuilt from its entries."""
    keys = _log_keys(trust, log_id)
    for stored in checkpoints:
        row = f"{stored.origin}, size {stored.tree_size}"
        try:
            signed = parse_signed_checkpoint(stored.note)
        except KervanError as exc:
            yield Finding(_TABLE, row, f"the note is not a signed checkpoint: {exc.message}")
            continue
        checkpoint = signed.checkpoint
        if (checkpoint.origin, checkpoint.size) != (stored.origin, stored.tree_size):
            yield Finding(
                _TABLE,
                row,
                f"the note is of {checkpoint.origin!r} at size {checkpoint.size}, not of the "
                f"row's log and size",
            )
        if not any(_signed_by(signed, key) for key in keys):
            yield Finding(_TABLE, row, f"the log's signature ({log_id}) does not verify")
        if checkpoint.size > tree.size:
            yield Finding(
                _TABLE,
                row,
                f"signed for {checkpoint.size} entries but the log holds {tree.size}: entries "
                f"were deleted",
            )
        elif tree.root(checkpoint.size) != checkpoint.root_hash:
            yield Finding(
                _TABLE, row, "the stored entries rebuild another root at this size than it holds"
            )


def _log_keys(trust: TrustList, log_id: str) -> list[VerifierKey]:
    keys = []
    for jwk in trust.to_jwks()["keys"]:
        if _party(jwk) == log_id and jwk.get("crv") == "Ed25519":
            keys.append(verifier_key(log_id, jwk, ED25519))
    return keys


def _party(jwk: dict[str, Any]) -> str | None:
    party = jwk.get("party")
    return party if isinstance(party, str) else None


def _signed_by(signed: Any, key: VerifierKey) -> bool:
    try:
        verify_log_signature(signed, key)
    except KervanError:
        return False
    return True
