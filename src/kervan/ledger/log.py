"""The append-only ledger: per-document hash chains on top of one global RFC 9162 Merkle log.

`Ledger.append` records an event (its payload's digest, never the payload) as the next link of
the document's chain and the next leaf of the log (the node proves inclusion and consistency,
signs its tree heads, packs evidence bundles and audits its store in kervan.services, over the
Merkle tree of the stored leaves). Entries live behind the small `LedgerStore` protocol;
`InMemoryLedgerStore` is the embedded one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol

from kervan.errors import InvalidRequestError, LedgerIntegrityError
from kervan.ledger.chain import LedgerEntry, next_entry
from kervan.ledger.merkle import MerkleTree
from kervan.signatures.canonical import CanonicalJson
from kervan.signatures.keys import Signer


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
