"""The witnessed corridor log as use cases: publish checkpoints and consistency proofs, witness
other nodes' logs, gather co-signatures.

Each national node's log publishes checkpoints (signed notes, origin = the node's id) and RFC
9162 consistency proofs. The other national nodes are its witnesses: a witness co-signs a
checkpoint only when the log's signature verifies and the checkpoint is consistent with the
last one it co-signed for that log (C2SP tlog-witness "add-checkpoint"), so no single country
can rewrite its log unseen. The log keeps each checkpoint with the co-signatures it gathered;
evidence bundles and document QR codes carry the latest one co-signed by at least
`MIN_COSIGNATURES` witnesses.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from pydantic import BaseModel

from kervan.errors import (
    CheckpointConflictError,
    InvalidRequestError,
    NotFoundError,
)
from kervan.ledger.checkpoint import (
    COSIGNATURE_V1,
    ED25519,
    Checkpoint,
    CheckpointError,
    NoteSignature,
    SignedCheckpoint,
    check_consistent,
    cosign,
    cosigners,
    parse_signed_checkpoint,
    parse_verifier_key,
    sign_checkpoint,
    verifier_key,
    verify_log_signature,
)
from kervan.ledger.merkle import MerkleTree, merkle_root
from kervan.signatures.keys import Ed25519Signer, Es256Signer
from kervan.store.repositories.witness import LogWitness

if TYPE_CHECKING:
    from kervan.services.node import NodeUnitOfWork

#: A checkpoint in a bundle or QR counts as witnessed with this many co-signatures.
MIN_COSIGNATURES: Final = 2
_MAX_PROOF: Final = 64


@dataclass(frozen=True, slots=True)
class ConsistencyRequest:
    """Sizes of two checkpoints of this node's log."""

    old_size: int
    new_size: int


class ConsistencyAnswer(BaseModel):
    """An RFC 9162 consistency proof between two sizes of the log (hashes in base64)."""

    origin: str
    old_size: int
    new_size: int
    hashes: list[str]


@dataclass(frozen=True, slots=True)
class AddCheckpoint:
    """A log's add-checkpoint request: "old <size>", the proof lines, a blank line, the note."""

    body: bytes


@dataclass(frozen=True, slots=True)
class WatchLog:
    """Witness a log, given by its verifier key."""

    vkey: str


@dataclass(frozen=True, slots=True)
class AddWitness:
    """Ask a witness, given by its verifier key and base URL, to co-sign this log."""

    vkey: str
    url: str


class CosignReport(BaseModel):
    """What gathering co-signatures gave: the note, who co-signed, who refused and why."""

    tree_size: int
    note: str
    cosigned_by: list[str]
    refused: dict[str, str]


#: How the log reaches a witness: (witness, request body) -> (HTTP status, answer text).
WitnessPost = Callable[[LogWitness, bytes], tuple[int, str]]


def _log_name(uow: NodeUnitOfWork) -> str:
    return uow.node.settings.node_id


def _node_signer(uow: NodeUnitOfWork) -> Ed25519Signer | Es256Signer:
    return uow.node.signer(uow.session, _log_name(uow))


def log_key(uow: NodeUnitOfWork) -> str:
    """This node's log verifier key (name+keyid+key, Ed25519 note signatures). Read-only."""
    with uow.for_reading():
        return verifier_key(_log_name(uow), _node_signer(uow).public_jwk(), ED25519).text()


def witness_key(uow: NodeUnitOfWork) -> str:
    """This node's verifier key as a witness (cosignature/v1). Read-only."""
    with uow.for_reading():
        signer = _node_signer(uow)
        return verifier_key(_log_name(uow), signer.public_jwk(), COSIGNATURE_V1).text()


def _current(uow: NodeUnitOfWork) -> tuple[Checkpoint, MerkleTree]:
    committed = uow.node.log.committed(uow.ledger_store(""))
    size = committed.size
    root = committed.tree.root(size) if size else merkle_root([])
    return Checkpoint(_log_name(uow), size, root), committed.tree


def latest_checkpoint(uow: NodeUnitOfWork) -> str:
    """The signed note of this node's log at its committed size, with the co-signatures
    gathered for it (signed and stored when it is new)."""
    with uow:
        checkpoint, _ = _current(uow)
        stored = uow.witness.checkpoint(checkpoint.origin, checkpoint.size)
        if stored is not None:
            return stored
        note = sign_checkpoint(checkpoint, _node_signer(uow), checkpoint.origin).text()
        uow.witness.save_checkpoint(checkpoint.origin, checkpoint.size, note, 0, uow.clock())
        return note


def consistency_proof(uow: NodeUnitOfWork, command: ConsistencyRequest) -> ConsistencyAnswer:
    """The consistency proof of this node's log from `old_size` to `new_size` (both at most
    the committed size). Read-only."""
    with uow.for_reading():
        checkpoint, tree = _current(uow)
        old, new = command.old_size, command.new_size
        if not 0 <= old <= new <= checkpoint.size:
            raise InvalidRequestError(
                f"sizes must satisfy 0 <= old <= new <= {checkpoint.size} (the log's size)"
            )
        hashes = tree.consistency_proof(old, new) if 0 < old < new else []
        return ConsistencyAnswer(
            origin=checkpoint.origin,
            old_size=old,
            new_size=new,
            hashes=[base64.b64encode(h).decode("ascii") for h in hashes],
        )


def watch_log(uow: NodeUnitOfWork, command: WatchLog) -> str:
    """Start witnessing the log of `command.vkey` (the operator's `kervan witness add-log`);
    returns its origin. InvalidRequestError for a key that is not a log's."""
    try:
        key = parse_verifier_key(command.vkey)
    except CheckpointError as exc:
        raise InvalidRequestError(exc.detail) from None
    if key.algorithm != ED25519:
        raise InvalidRequestError("a log's verifier key signs notes (algorithm 0x01)")
    with uow:
        uow.witness.watch(key.name, key.text(), merkle_root([]).hex(), uow.clock())
    return key.name


def add_witness(uow: NodeUnitOfWork, command: AddWitness) -> str:
    """Ask the witness of `command.vkey` at `command.url` to co-sign this log (the operator's
    `kervan log add-witness`); returns its name."""
    try:
        key = parse_verifier_key(command.vkey)
    except CheckpointError as exc:
        raise InvalidRequestError(exc.detail) from None
    if key.algorithm != COSIGNATURE_V1:
        raise InvalidRequestError("a witness's verifier key co-signs (algorithm 0x04)")
    if not command.url.startswith(("http://", "https://")):
        raise InvalidRequestError("a witness answers at an http:// or https:// URL")
    with uow:
        uow.witness.add_witness(LogWitness(key.name, key.text(), command.url.rstrip("/")))
    return key.name


def _parse_request(body: bytes) -> tuple[int, list[bytes], SignedCheckpoint]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequestError("an add-checkpoint request is UTF-8 text") from None
    head, sep, note = text.partition("\n\n")
    lines = head.split("\n")
    if not sep or not lines[0].startswith("old ") or not lines[0][4:].isdigit():
        raise InvalidRequestError(
            'an add-checkpoint request is "old <size>", proof lines, a blank line, the note'
        )
    if len(lines) - 1 > _MAX_PROOF:
        raise InvalidRequestError(f"a consistency proof has at most {_MAX_PROOF} hashes")
    try:
        proof = [base64.b64decode(line, validate=True) for line in lines[1:]]
        signed = parse_signed_checkpoint(note)
    except binascii.Error:
        raise InvalidRequestError("each proof line is a base64 hash") from None
    except CheckpointError as exc:
        raise InvalidRequestError(exc.detail) from None
    return int(lines[0][4:]), proof, signed


def add_checkpoint(uow: NodeUnitOfWork, command: AddCheckpoint) -> str:
    """As a witness: co-sign a log's checkpoint if its signature verifies and it is consistent
    with the last checkpoint co-signed for that log; return the co-signature line.

    NotFoundError for a log this node does not witness; CheckpointConflictError (409) when the
    request's old size is not the one last co-signed; CheckpointError (422) for a bad
    signature or an inconsistent checkpoint (a fork): nothing is co-signed then.
    """
    old_size, proof, signed = _parse_request(command.body)
    with uow:
        watched = uow.witness.watched(signed.checkpoint.origin, lock=True)
        if watched is None:
            raise NotFoundError("witnessed log", signed.checkpoint.origin)
        verify_log_signature(signed, parse_verifier_key(watched.vkey))
        if old_size != watched.tree_size:
            raise CheckpointConflictError(watched.origin, watched.tree_size)
        check_consistent(
            watched.tree_size, bytes.fromhex(watched.root_hash), signed.checkpoint, proof
        )
        at = uow.clock()
        line = cosign(signed.checkpoint, _node_signer(uow), _log_name(uow), at)
        uow.witness.advance(
            watched.origin, signed.checkpoint.size, signed.checkpoint.root_hash.hex(), at
        )
        return line.line()


def _request(old: int, proof: list[bytes], note: str) -> bytes:
    lines = [f"old {old}", *(base64.b64encode(h).decode("ascii") for h in proof)]
    return ("\n".join(lines) + "\n\n" + note).encode()


def gather_cosignatures(uow: NodeUnitOfWork, post: WitnessPost) -> CosignReport:
    """As a log: sign a checkpoint at the committed size and ask every witness to co-sign it
    (retrying once from the size a witness says it last co-signed); keep the note with the
    co-signatures that verify."""
    with uow:
        checkpoint, tree = _current(uow)
        origin = checkpoint.origin
        stored = uow.witness.checkpoint(origin, checkpoint.size)
        signed = (
            parse_signed_checkpoint(stored)
            if stored is not None
            else sign_checkpoint(checkpoint, _node_signer(uow), origin)
        )
        witnesses = uow.witness.witnesses()
    refused: dict[str, str] = {}
    lines: list[NoteSignature] = []
    for witness in witnesses:
        old = 0
        for _ in range(2):
            proof = (
                tree.consistency_proof(old, checkpoint.size) if 0 < old < checkpoint.size else []
            )
            status, answer = post(witness, _request(old, proof, signed.text()))
            if status == 409 and answer.strip().isdigit() and int(answer) <= checkpoint.size:
                old = int(answer)
                continue
            if status == 200:
                try:
                    lines.extend(parse_signed_checkpoint(
                        checkpoint.text().decode() + "\n" + answer
                    ).signatures)  # fmt: skip
                except CheckpointError as exc:
                    refused[witness.name] = exc.detail
            else:
                refused[witness.name] = f"HTTP {status}: {answer.strip()[:200]}"
            break
    keys = [parse_verifier_key(w.vkey) for w in witnesses]
    cosigned = signed.with_signatures(lines)
    names = cosigners(cosigned, keys)
    for witness in witnesses:
        if witness.name not in names and witness.name not in refused:
            refused[witness.name] = "no valid co-signature"
    # Only verified co-signatures are kept.
    valid = {(k.name, k.key_id) for k in keys if k.name in names}
    kept = SignedCheckpoint(
        cosigned.checkpoint,
        tuple(s for s in cosigned.signatures if s.name == origin or (s.name, s.key_id) in valid),
    )
    with uow.node.unit_of_work() as later:
        later.witness.save_checkpoint(
            origin, checkpoint.size, kept.text(), len(names), later.clock()
        )
    return CosignReport(
        tree_size=checkpoint.size, note=kept.text(), cosigned_by=names, refused=refused
    )
