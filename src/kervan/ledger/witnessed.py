"""Evidence that no single country can rewrite: a bundle's entry in a checkpoint co-signed by the
witnesses, checked offline with the log's and the witnesses' verifier keys.

An evidence bundle may carry the latest checkpoint of the node's log that at least
`WITNESS_QUORUM` witnesses co-signed, with the inclusion proof of the bundle's entry at that
checkpoint's size. An older bundle can also be checked against a newer co-signed checkpoint the
verifier fetched: the consistency proof from the bundle's tree head to that checkpoint shows the
entry is still in the log the witnesses saw.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, Final

from kervan.errors import KervanError
from kervan.ledger.chain import LedgerEntry
from kervan.ledger.checkpoint import (
    COSIGNATURE_V1,
    ED25519,
    CheckpointError,
    SignedCheckpoint,
    VerifierKey,
    cosigners,
    parse_signed_checkpoint,
    verify_log_signature,
)
from kervan.ledger.merkle import ConsistencyProof, verify_consistency, verify_inclusion
from kervan.ledger.report import Check
from kervan.ledger.sth import SignedTreeHead
from kervan.signatures.encoding import hex32_decode

#: Co-signatures a checkpoint needs to count as witnessed: more than one country.
WITNESS_QUORUM: Final = 2


@dataclasses.dataclass(frozen=True, slots=True)
class WitnessedCheckpoint:
    """A co-signed checkpoint (signed note text) and the entry's inclusion proof at its size."""

    note: str
    inclusion: tuple[bytes, ...]

    def to_json(self) -> dict[str, Any]:
        """{note, inclusion_proof: [hex]}."""
        return {"note": self.note, "inclusion_proof": [h.hex() for h in self.inclusion]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> WitnessedCheckpoint:
        """Parse `to_json` output strictly; ValueError naming what is malformed."""
        if not isinstance(data, Mapping) or set(data) != {"note", "inclusion_proof"}:
            raise ValueError("a bundle's checkpoint has exactly note and inclusion_proof")
        proof = data["inclusion_proof"]
        if not isinstance(data["note"], str) or not isinstance(proof, list):
            raise ValueError("checkpoint note is text and inclusion_proof a list of hex hashes")
        return cls(data["note"], tuple(hex32_decode(h) for h in proof))


def _witnessed(
    name: str, signed: SignedCheckpoint, origin: str, keys: Sequence[VerifierKey]
) -> list[Check]:
    """The log's signature and the witnesses' quorum on `signed`, as two checks."""
    checks = []
    log_keys = [k for k in keys if k.algorithm == ED25519 and k.name == origin]
    if not log_keys:
        why = f"no verifier key of log {origin} given (--log-keys): the checkpoint is not checked"
        checks.append(Check(f"{name}_log_signature", False, why))
    else:
        try:
            verify_log_signature(signed, log_keys[0])
            checks.append(Check(f"{name}_log_signature", True, f"signed by log {origin}"))
        except CheckpointError as exc:
            checks.append(Check(f"{name}_log_signature", False, exc.detail))
    witnesses = [k for k in keys if k.algorithm == COSIGNATURE_V1 and k.name != origin]
    found = cosigners(signed, witnesses)
    checks.append(
        Check(
            f"{name}_cosigned",
            len(found) >= WITNESS_QUORUM,
            f"co-signed by {len(found)} witnesses ({', '.join(found) or 'none'}); "
            f"{WITNESS_QUORUM} needed",
        )
    )
    return checks


def checkpoint_checks(
    entry: LedgerEntry,
    head: SignedTreeHead,
    witnessed: WitnessedCheckpoint,
    keys: Sequence[VerifierKey],
) -> list[Check]:
    """Checks of the checkpoint a bundle carries: the log signed it, enough witnesses
    co-signed it, and the bundle's entry is in it."""
    try:
        signed = parse_signed_checkpoint(witnessed.note)
    except CheckpointError as exc:
        return [Check("checkpoint_format", False, exc.detail)]
    checks = _witnessed("checkpoint", signed, head.log_id, keys)
    checkpoint = signed.checkpoint
    try:
        if checkpoint.origin != head.log_id:
            raise CheckpointError(
                f"checkpoint of log {checkpoint.origin}, tree head of {head.log_id}"
            )
        verify_inclusion(
            entry.log_index,
            checkpoint.size,
            entry.leaf_hash(),
            witnessed.inclusion,
            checkpoint.root_hash,
        )
        checks.append(
            Check("entry_in_checkpoint", True, f"entry {entry.log_index} of {checkpoint.size}")
        )
    except KervanError as exc:
        checks.append(Check("entry_in_checkpoint", False, exc.message))
    return checks


def newer_checkpoint_checks(
    head: SignedTreeHead,
    note: str,
    proof: ConsistencyProof,
    keys: Sequence[VerifierKey],
) -> list[Check]:
    """Checks of an older bundle against a newer co-signed checkpoint: the checkpoint is
    witnessed, and the consistency proof leads from the bundle's tree head to it (so the entry
    the tree head holds is in the log the witnesses saw)."""
    try:
        signed = parse_signed_checkpoint(note)
    except CheckpointError as exc:
        return [Check("newer_checkpoint_format", False, exc.detail)]
    checks = _witnessed("newer_checkpoint", signed, head.log_id, keys)
    checkpoint = signed.checkpoint
    try:
        if (proof.size1, proof.size2) != (head.tree_size, checkpoint.size):
            raise CheckpointError(
                f"the proof is from {proof.size1} to {proof.size2}; the tree head is at "
                f"{head.tree_size} and the checkpoint at {checkpoint.size}"
            )
        verify_consistency(
            head.tree_size, checkpoint.size, head.root_hash, checkpoint.root_hash, proof.hashes
        )
        checks.append(
            Check(
                "tree_head_consistent_with_checkpoint",
                True,
                f"size {head.tree_size} extends to {checkpoint.size}",
            )
        )
    except KervanError as exc:
        checks.append(Check("tree_head_consistent_with_checkpoint", False, exc.message))
    return checks
