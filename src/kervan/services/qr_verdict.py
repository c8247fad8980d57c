"""A verdict from a document's QR alone: the document id, its version digest and a checkpoint
of this node's log co-signed by the witnesses, checked when the evidence bundle is not at hand.

The verdict holds when the checkpoint is signed by this node's log and co-signed by at least
`WITNESS_QUORUM` of its witnesses, and the node's log recorded that version (by its digest)
before the checkpoint, with an inclusion proof leading to the checkpoint's root. Nothing else
about the document or its shipment is shown.
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from pydantic import BaseModel

from kervan.errors import KervanError
from kervan.ledger.checkpoint import (
    ED25519,
    CheckpointError,
    cosigners,
    parse_signed_checkpoint,
    parse_verifier_key,
    verifier_key,
    verify_log_signature,
)
from kervan.ledger.merkle import verify_inclusion
from kervan.ledger.witnessed import WITNESS_QUORUM
from kervan.signatures.encoding import b64url_decode, b64url_encode

if TYPE_CHECKING:
    from kervan.services.node import NodeUnitOfWork

_DIGEST: Final = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class QrClaim:
    """What a document's QR says: its id, its version's digest, a checkpoint (base64url)."""

    document_id: str
    digest: str
    checkpoint: str


class QrCheck(BaseModel):
    name: str
    ok: bool
    detail: str


class QrVerdict(BaseModel):
    """Whether the QR's claim holds, and each check behind the answer."""

    verified: bool
    document_id: str
    version: int | None
    checkpoint_size: int | None
    cosigned_by: list[str]
    checks: list[QrCheck]


def checkpoint_for_qr(note: str) -> str:
    """A checkpoint note as a QR carries it (base64url of the note's text)."""
    return b64url_encode(note.encode("utf-8"))


def qr_verdict(uow: NodeUnitOfWork, command: QrClaim) -> QrVerdict:
    """Check a document QR's claim against this node's log and witnesses. Read-only; never
    raises on bad input (a failed check says what was wrong)."""
    checks: list[QrCheck] = []
    # The verdict's lists are its own copies: it is filled in as the checks run and its checks
    # are set when it is returned.
    verdict = QrVerdict(
        verified=False,
        document_id=command.document_id,
        version=None,
        checkpoint_size=None,
        cosigned_by=[],
        checks=[],
    )
    try:
        note = b64url_decode(command.checkpoint).decode("utf-8")
        signed = parse_signed_checkpoint(note)
    except (ValueError, binascii.Error, UnicodeDecodeError, CheckpointError) as exc:
        detail = exc.detail if isinstance(exc, CheckpointError) else "not a checkpoint"
        checks.append(QrCheck(name="checkpoint_format", ok=False, detail=detail))
        return verdict.model_copy(update={"checks": checks})
    checkpoint = signed.checkpoint
    verdict.checkpoint_size = checkpoint.size
    with uow.for_reading():
        settings = uow.node.settings
        signer = uow.node.signer(uow.session, settings.node_id)
        log_key = verifier_key(settings.node_id, signer.public_jwk(), ED25519)
        witnesses = [parse_verifier_key(w.vkey) for w in uow.witness.witnesses()]
        try:
            verify_log_signature(signed, log_key)
            checks.append(
                QrCheck(name="checkpoint_log_signature", ok=True, detail=f"log {log_key.name}")
            )
        except CheckpointError as exc:
            checks.append(QrCheck(name="checkpoint_log_signature", ok=False, detail=exc.detail))
        verdict.cosigned_by = cosigners(signed, witnesses)
        checks.append(
            QrCheck(
                name="checkpoint_cosigned",
                ok=len(verdict.cosigned_by) >= WITNESS_QUORUM,
                detail=f"{len(verdict.cosigned_by)} of {WITNESS_QUORUM} witnesses needed: "
                f"{', '.join(verdict.cosigned_by) or 'none'}",
            )
        )
        digest = command.digest.strip().lower()
        entry = None
        if _DIGEST.fullmatch(digest):
            entry = next(
                (
                    e
                    for e in uow.ledger_store("").entries_for_document(command.document_id)
                    if e.event_type.startswith("version:") and e.payload_digest == digest
                ),
                None,
            )
        if entry is None:
            checks.append(
                QrCheck(
                    name="version_in_log",
                    ok=False,
                    detail="this node's log recorded no such version of the document",
                )
            )
            return verdict.model_copy(update={"checks": checks})
        verdict.version = int(entry.event_type.partition(":")[2])
        tree = uow.node.log.committed(uow.ledger_store("")).tree
        try:
            if not entry.log_index < checkpoint.size <= tree.size:
                raise CheckpointError(
                    f"entry {entry.log_index} is not among the {checkpoint.size} the checkpoint "
                    "covers: scan a newer QR"
                )
            proof = tree.inclusion_proof(entry.log_index, checkpoint.size)
            verify_inclusion(
                entry.log_index, checkpoint.size, entry.leaf_hash(), proof, checkpoint.root_hash
            )
            checks.append(
                QrCheck(
                    name="version_in_checkpoint",
                    ok=True,
                    detail=f"version {verdict.version} is entry {entry.log_index} of "
                    f"{checkpoint.size}",
                )
            )
        except KervanError as exc:
            checks.append(QrCheck(name="version_in_checkpoint", ok=False, detail=exc.message))
    return verdict.model_copy(update={"checks": checks, "verified": all(c.ok for c in checks)})
