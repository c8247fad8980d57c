"""The append-only ledger: per-document hash chains on top of one global RFC 9162 Merkle log.

`Ledger.append` records an event (its payload's digest, never the payload) as the next link of
the document's chain and the next leaf of the log. The log proves inclusion of any entry and
consistency between any two sizes, and audits its store (the node signs its tree heads and packs
evidence bundles in kervan.services). Entries live behind the small `LedgerStore` protocol;
`InMemoryLedgerStore` is the embedded one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from kervan.errors import InvalidRequestError, KervanError, LedgerIntegrityError
from kervan.ledger.chain import LedgerEntry, next_entry, verify_chain
from kervan.ledger.merkle import ConsistencyProof, InclusionProof, MerkleTree
from kervan.ledger.report import Check, VerificationReport
from kervan.ledger.sth import SignedTreeHead, verify_tree_head
from kervan.signatures.canonical import CanonicalJson
from kervan.signatures.keys import Signer
from kervan.signatures.trustlist import TrustList


class LedgerStore(Protocol):
    """Where ledger entries and their leaf hashes are kept (memory here, SQL in an adapter)."""

    def append(self, entry: LedgerEntry, leaf_hash: bytes) -> None:
        """Store `entry` at index entry.log_index == count(), with its Merkle leaf hash."""

    def get(self, index: int) -> LedgerEntry:
        """Return the entry at `index`; raise IndexError if there is none."""

    def count(self) -> int:
        """Return how many entries are stored."""

    def leaf_hashes(self) -> Iterable[bytes]:
        """Return the stored leaf hashes in index order."""

    def entries_for_document(self, document_id: str) -> list[LedgerEntry]:
        """Return the document's entries in seq order (empty if none)."""


class InMemoryLedgerStore:
    """A `LedgerStore` in process memory: the embedded default and the test double."""

    def __init__(self) -> None:
        self._entries: list[LedgerEntry] = []
        self._leaves: list[bytes] = []
        self._by_document: dict[str, list[int]] = {}

    def append(self, entry: LedgerEntry, leaf_hash: bytes) -> None:
        """Store `entry` with its leaf hash; raise LedgerIntegrityError if out of order."""
        if entry.log_index != len(self._entries):
            raise LedgerIntegrityError(
                "append", f"entry index {entry.log_index} but the store holds {len(self._entries)}"
            )
        self._entries.append(entry)
        self._leaves.append(leaf_hash)
        self._by_document.setdefault(entry.document_id, []).append(entry.log_index)

    def get(self, index: int) -> LedgerEntry:
        """Return the entry at `index`; raise IndexError if there is none."""
        if not 0 <= index < len(self._entries):
            raise IndexError(f"no ledger entry {index}")
        return self._entries[index]

    def count(self) -> int:
        """Return how many entries are stored."""
        return len(self._entries)

    def leaf_hashes(self) -> Iterable[bytes]:
        """Return the stored leaf hashes in index order."""
        return list(self._leaves)

    def entries_for_document(self, document_id: str) -> list[LedgerEntry]:
        """Return the document's entries in seq order (empty if none)."""
        return [self._entries[i] for i in self._by_document.get(document_id, [])]


class Ledger:
    """The append-only ledger of one node; `signer` is the log's key (its party the log id)."""

    def __init__(self, store: LedgerStore, signer: Signer, tree: MerkleTree | None = None) -> None:
        """Open the ledger over `store`. The Merkle tree is rebuilt from the stored leaf hashes,
        unless the caller hands in `tree`, one it kept in step with the store (same leaves);
        appends then extend that tree."""
        self._store = store
        self._signer = signer
        self._tree = MerkleTree(store.leaf_hashes()) if tree is None else tree
        if self._tree.size != store.count():
            raise LedgerIntegrityError(
                "store", f"{store.count()} entries but {self._tree.size} leaf hashes"
            )

    def __repr__(self) -> str:
        return f"Ledger(log_id={self.log_id!r}, size={self.size})"

    @property
    def size(self) -> int:
        """Number of entries in the log."""
        return self._tree.size

    @property
    def log_id(self) -> str:
        """The party id the log signs its tree heads as."""
        return self._signer.party

    def append(
        self,
        document_id: str,
        event_type: str,
        payload: Mapping[str, Any] | CanonicalJson,
        recorded_at: datetime,
    ) -> LedgerEntry:
        """Record an event on `document_id`; return its entry (log index and chain link).

        Only SHA-256 of the payload's canonical JSON is kept; a `payload` given as its
        `CanonicalJson` (the object a signer signed, say) is not canonicalised again. Raises
        InvalidRequestError for a blank id or event type, a naive time, or a time before the
        document's previous entry.
        """
        return self._append(document_id, event_type, recorded_at, payload=payload)

    def append_digest(
        self, document_id: str, event_type: str, payload_digest: str, recorded_at: datetime
    ) -> LedgerEntry:
        """Record an event whose payload digest (SHA-256 of its canonical JSON, 64 lowercase
        hex) was taken earlier, as `append` does; raises InvalidRequestError as `append` does,
        and for a malformed digest."""
        return self._append(document_id, event_type, recorded_at, digest=payload_digest)

    def _append(
        self,
        document_id: str,
        event_type: str,
        recorded_at: datetime,
        payload: Mapping[str, Any] | CanonicalJson | None = None,
        digest: str | None = None,
    ) -> LedgerEntry:
        chain = self._store.entries_for_document(document_id)
        try:
            entry = next_entry(
                chain[-1] if chain else None,
                log_index=self.size,
                document_id=document_id,
                event_type=event_type,
                payload=payload,
                payload_digest=digest,
                recorded_at=recorded_at,
            )
        except ValueError as exc:
            raise InvalidRequestError(f"cannot record {event_type!r}: {exc}") from exc
        leaf = entry.leaf_hash()
        self._store.append(entry, leaf)
        self._tree.append_leaf_hash(leaf)
        return entry

    def entry(self, index: int) -> LedgerEntry:
        """Return the entry at log `index`; raise IndexError if there is none."""
        return self._store.get(index)

    def root(self, tree_size: int | None = None) -> bytes:
        """Return the Merkle root at `tree_size` (default: now)."""
        return self._tree.root(tree_size)

    def inclusion_proof(self, index: int, tree_size: int | None = None) -> InclusionProof:
        """Return the proof that entry `index` is in the log at `tree_size` (default: now)."""
        size = self.size if tree_size is None else tree_size
        return InclusionProof(index, size, tuple(self._tree.inclusion_proof(index, size)))

    def consistency_proof(self, size1: int, size2: int | None = None) -> ConsistencyProof:
        """Return the proof that the log at `size2` (default: now) extends the log at `size1`."""
        size = self.size if size2 is None else size2
        return ConsistencyProof(size1, size, tuple(self._tree.consistency_proof(size1, size)))

    def audit(
        self, trust_list: TrustList | None = None, tree_heads: Sequence[SignedTreeHead] = ()
    ) -> VerificationReport:
        """Re-read the whole store and report what holds: every stored entry against its leaf
        hash, every document chain, the Merkle root, and each given tree head (signature with
        `trust_list`, and root at its size). O(n); for auditors, not for every request.
        """
        checks: list[Check] = []
        leaves = list(self._store.leaf_hashes())
        entries = [self._store.get(i) for i in range(self._store.count())]
        for index, entry in enumerate(entries):
            if entry.log_index != index or entry.leaf_hash() != leaves[index]:
                checks.append(
                    Check(f"entry[{index}]", False, "stored entry does not hash to its leaf")
                )
        if not checks:
            checks.append(Check("entries", True, f"{len(entries)} entries hash to their leaves"))
        seen: dict[str, None] = dict.fromkeys(entry.document_id for entry in entries)
        for document_id in seen:
            verdict = verify_chain([e for e in entries if e.document_id == document_id])
            detail = (
                f"{verdict.length} entries linked"
                if verdict.ok
                else f"seq {verdict.broken_seq}: {verdict.reason}"
            )
            checks.append(Check(f"chain[{document_id}]", verdict.ok, detail))
        tree = MerkleTree(entry.leaf_hash() for entry in entries)
        same_root = tree.root() == self._tree.root()
        checks.append(
            Check(
                "merkle_root",
                same_root,
                "entries rebuild the log's root"
                if same_root
                else "entries rebuild a different root than the log holds",
            )
        )
        for head in tree_heads:
            checks.append(_audit_head(head, tree, trust_list))
        return VerificationReport(f"ledger {self.log_id}", tuple(checks))


def _audit_head(head: SignedTreeHead, tree: MerkleTree, trust_list: TrustList | None) -> Check:
    name = f"tree_head[{head.tree_size}]"
    if head.tree_size > tree.size:
        return Check(name, False, f"tree head size {head.tree_size} exceeds the log ({tree.size})")
    if tree.root(head.tree_size) != head.root_hash:
        return Check(name, False, "the log's root at this size differs from the signed root")
    if trust_list is not None:
        try:
            verify_tree_head(head, trust_list)
        except KervanError as exc:
            return Check(name, False, exc.message)
    return Check(name, True, "root matches" + (" and signature verifies" if trust_list else ""))
