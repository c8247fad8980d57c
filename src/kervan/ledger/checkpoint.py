"""Checkpoints of a node's log as transparency logs publish them, and witnesses' co-signatures.

Formats (C2SP specifications, as Go's sumdb/note and the transparency-dev witnesses use them):

- A checkpoint (tlog-checkpoint) is text: the log's origin line, the tree size in decimal, the
  root hash in base64, each line ending in a newline.
- A signed note is that text, a blank line, and one line per signature:
  "— <key name> <base64(4-byte key id || signature)>". The key id is the first four bytes of
  SHA-256(key name || "\\n" || algorithm byte || public key); Ed25519 is algorithm 0x01.
- A witness's co-signature (tlog-cosignature/v1, algorithm 0x04) signs
  "cosignature/v1\\ntime <unix seconds>\\n" followed by the checkpoint text, and its line holds
  key id || 8-byte big-endian time || Ed25519 signature.
- A verifier key (vkey) names a key as "<name>+<key id hex>+<base64(algorithm || public key)>".

A witness co-signs a checkpoint only when it verifies under the log's key and is consistent (an
RFC 9162 consistency proof) with the last checkpoint it co-signed for that origin, so a log
that rewrites its history (a fork) loses its witnesses.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import struct
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from kervan.errors import LedgerIntegrityError, MerkleProofError
from kervan.ledger.merkle import HASH_SIZE, verify_consistency
from kervan.signatures.encoding import b64url_decode
from kervan.signatures.keys import Signer

ED25519: Final = 0x01
COSIGNATURE_V1: Final = 0x04
_DASH: Final = "\u2014"
_MAX_LINE: Final = 1024


class CheckpointError(LedgerIntegrityError):
    """A checkpoint, signed note or verifier key that is malformed or does not verify."""

    def __init__(self, detail: str) -> None:
        super().__init__("checkpoint", detail)


@dataclasses.dataclass(frozen=True, slots=True)
class Checkpoint:
    """A log's statement "my first `size` entries hash to `root_hash`"."""

    origin: str
    size: int
    root_hash: bytes

    def text(self) -> bytes:
        """The checkpoint body: origin, size and base64 root hash, one per line."""
        root = base64.b64encode(self.root_hash).decode("ascii")
        return f"{self.origin}\n{self.size}\n{root}\n".encode()


@dataclasses.dataclass(frozen=True, slots=True)
class NoteSignature:
    """One signature line of a signed note: key name, key id and the signature bytes (for a
    co-signature, the 8-byte time and then the signature)."""

    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        blob = base64.b64encode(self.key_id + self.signature).decode("ascii")
        return f"{_DASH} {self.name} {blob}\n"


@dataclasses.dataclass(frozen=True, slots=True)
class VerifierKey:
    """A named Ed25519 public key of a log (algorithm 0x01) or a witness (0x04)."""

    name: str
    algorithm: int
    public_key: bytes

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.algorithm, self.public_key)

    def text(self) -> str:
        """The verifier key string: name+keyid+base64(algorithm || public key)."""
        blob = base64.b64encode(bytes([self.algorithm]) + self.public_key).decode("ascii")
        return f"{self.name}+{self.key_id.hex()}+{blob}"


@dataclasses.dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    """A checkpoint with its signature lines (the log's and the witnesses')."""

    checkpoint: Checkpoint
    signatures: tuple[NoteSignature, ...]

    def text(self) -> str:
        """The signed note."""
        lines = "".join(s.line() for s in self.signatures)
        return self.checkpoint.text().decode() + "\n" + lines

    def with_signatures(self, more: Iterable[NoteSignature]) -> SignedCheckpoint:
        """This checkpoint with `more` signature lines, each key id once."""
        known = {(s.name, s.key_id) for s in self.signatures}
        added = [s for s in more if (s.name, s.key_id) not in known]
        return dataclasses.replace(self, signatures=(*self.signatures, *added))


def key_id(name: str, algorithm: int, public_key: bytes) -> bytes:
    """The 4-byte key id of a named key."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([algorithm]) + public_key).digest()[:4]


def _check_name(name: str) -> str:
    if not name or any(c.isspace() for c in name) or "+" in name:
        raise CheckpointError(f"a key name has no spaces or '+': {name!r}")
    return name


def verifier_key(name: str, signer_jwk: dict[str, str], algorithm: int) -> VerifierKey:
    """The verifier key of an Ed25519 signer (given by its public JWK) under `name`."""
    if signer_jwk.get("crv") != "Ed25519":
        raise CheckpointError("checkpoints are signed with Ed25519 keys")
    return VerifierKey(_check_name(name), algorithm, b64url_decode(signer_jwk["x"]))


def parse_verifier_key(text: str) -> VerifierKey:
    """A verifier key string; CheckpointError when malformed or its key id does not match."""
    parts = text.strip().split("+", 2)  # the base64 key may hold "+" itself
    if len(parts) != 3:
        raise CheckpointError("a verifier key is name+keyid+base64key")
    name, hex_id, blob = parts
    try:
        raw = base64.b64decode(blob, validate=True)
        expected = bytes.fromhex(hex_id)
    except (binascii.Error, ValueError):
        raise CheckpointError("a verifier key's key id is hex and its key base64") from None
    if len(raw) != 33 or raw[0] not in (ED25519, COSIGNATURE_V1):
        raise CheckpointError("a verifier key holds an Ed25519 key (algorithm 0x01 or 0x04)")
    key = VerifierKey(_check_name(name), raw[0], raw[1:])
    if key.key_id != expected:
        raise CheckpointError(f"verifier key {name}: the key id does not match the key")
    return key


def sign_checkpoint(checkpoint: Checkpoint, signer: Signer, name: str) -> SignedCheckpoint:
    """The log signs its checkpoint as `name` with its Ed25519 key."""
    key = verifier_key(name, signer.public_jwk(), ED25519)
    signature = NoteSignature(name, key.key_id, signer.sign(checkpoint.text()))
    return SignedCheckpoint(checkpoint, (signature,))


def cosignature_message(checkpoint: Checkpoint, at: int) -> bytes:
    """What a witness signs: the cosignature/v1 header with its time, then the checkpoint."""
    return b"cosignature/v1\ntime %d\n" % at + checkpoint.text()


def cosign(checkpoint: Checkpoint, signer: Signer, name: str, at: datetime) -> NoteSignature:
    """A witness's co-signature line of `checkpoint` at time `at` (whole seconds)."""
    key = verifier_key(name, signer.public_jwk(), COSIGNATURE_V1)
    seconds = int(at.timestamp())
    signature = signer.sign(cosignature_message(checkpoint, seconds))
    return NoteSignature(name, key.key_id, struct.pack(">Q", seconds) + signature)


def parse_signed_checkpoint(text: str) -> SignedCheckpoint:
    """A signed note holding a checkpoint; CheckpointError when malformed (no signature is
    checked here)."""
    body, sep, rest = text.partition("\n\n")
    if not sep or not text.endswith("\n"):
        raise CheckpointError("a signed note is the text, a blank line and signature lines")
    lines = body.split("\n")
    if len(lines) < 3 or any(len(line) > _MAX_LINE for line in lines):
        raise CheckpointError("a checkpoint has an origin, a size and a root hash line")
    origin, size_text, root_text = lines[:3]
    if not origin or not size_text.isdigit() or (size_text != "0" and size_text[0] == "0"):
        raise CheckpointError("a checkpoint's size is a decimal number without leading zeros")
    try:
        root = base64.b64decode(root_text, validate=True)
    except binascii.Error:
        raise CheckpointError("a checkpoint's root hash is base64") from None
    if len(root) != HASH_SIZE:
        raise CheckpointError(f"a checkpoint's root hash is {HASH_SIZE} bytes")
    signatures = []
    for line in rest.split("\n")[:-1]:
        dash, _, remainder = line.partition(" ")
        name, _, blob = remainder.partition(" ")
        if dash != _DASH or not name or not blob:
            raise CheckpointError(f"not a signature line: {line[:80]!r}")
        try:
            raw = base64.b64decode(blob, validate=True)
        except binascii.Error:
            raise CheckpointError("a signature line's signature is base64") from None
        if len(raw) < 5:
            raise CheckpointError("a signature line holds a key id and a signature")
        signatures.append(NoteSignature(name, raw[:4], raw[4:]))
    if not signatures:
        raise CheckpointError("a signed note has at least one signature")
    return SignedCheckpoint(Checkpoint(origin, int(size_text), root), tuple(signatures))


def _ed25519_ok(public_key: bytes, message: bytes, signature: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def verify_log_signature(signed: SignedCheckpoint, log_key: VerifierKey) -> None:
    """Check the log's own signature; CheckpointError naming what failed."""
    if log_key.algorithm != ED25519:
        raise CheckpointError(f"{log_key.name} is not a log's (Ed25519 note) key")
    if signed.checkpoint.origin != log_key.name:
        raise CheckpointError(
            f"the checkpoint's origin {signed.checkpoint.origin!r} is not the log {log_key.name!r}"
        )
    for s in signed.signatures:
        if (s.name, s.key_id) == (log_key.name, log_key.key_id):
            if _ed25519_ok(log_key.public_key, signed.checkpoint.text(), s.signature):
                return
            raise CheckpointError(f"the signature of log {log_key.name} does not verify")
    raise CheckpointError(f"the checkpoint carries no signature of log {log_key.name}")


def cosigners(signed: SignedCheckpoint, witnesses: Sequence[VerifierKey]) -> list[str]:
    """The names of the `witnesses` whose co-signature on the checkpoint verifies."""
    found = []
    for witness in witnesses:
        if witness.algorithm != COSIGNATURE_V1:
            continue
        for s in signed.signatures:
            if (s.name, s.key_id) != (witness.name, witness.key_id) or len(s.signature) != 72:
                continue
            (seconds,) = struct.unpack(">Q", s.signature[:8])
            message = cosignature_message(signed.checkpoint, seconds)
            if _ed25519_ok(witness.public_key, message, s.signature[8:]):
                found.append(witness.name)
                break
    return found


def cosigned_at(signed: SignedCheckpoint, witness: VerifierKey) -> datetime | None:
    """When `witness` says it co-signed (None when it did not)."""
    for s in signed.signatures:
        if (s.name, s.key_id) == (witness.name, witness.key_id) and len(s.signature) == 72:
            return datetime.fromtimestamp(struct.unpack(">Q", s.signature[:8])[0], UTC)
    return None


def check_consistent(
    old_size: int, old_root: bytes, new: Checkpoint, proof: Sequence[bytes]
) -> None:
    """Check that `new` extends the log a witness last saw at (`old_size`, `old_root`);
    CheckpointError when it does not (a fork, or a log that shrank)."""
    if new.size < old_size:
        raise CheckpointError(
            f"log {new.origin} went back from size {old_size} to {new.size}: not co-signed"
        )
    if new.size == old_size:
        if new.root_hash != old_root:
            raise CheckpointError(
                f"log {new.origin} shows two roots at size {new.size}: a fork, not co-signed"
            )
        return
    if old_size == 0:
        return
    try:
        verify_consistency(old_size, new.size, old_root, new.root_hash, proof)
    except MerkleProofError as exc:
        raise CheckpointError(
            f"log {new.origin} at size {new.size} is not consistent with size {old_size} it "
            f"showed before ({exc.message}): a fork, not co-signed"
        ) from exc
