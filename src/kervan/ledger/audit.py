"""Auditing a stored log: every entry, every chain, the Merkle tree and every signed tree head.

The audit reads what a store holds, recomputes everything that can be recomputed and names each
thing that does not hold as a `Finding` (the table, the row, what is wrong), never stopping at
the first. Entries are judged by their own fields: the stored entry and leaf hashes must be the
hashes of those fields, log indexes run 0, 1, 2, ... with no gap, each document's chain links,
and each stored tree head is signed by the log and has the root the recomputed tree has at its
size. Pure core: the rows come in as values, the trust list as an argument.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Final

from kervan.errors import KervanError
from kervan.ledger.chain import GENESIS_HASH, LedgerEntry
from kervan.ledger.merkle import MerkleTree
from kervan.ledger.sth import SignedTreeHead, verify_tree_head
from kervan.signatures.trustlist import TrustList

LEDGER_TABLE: Final = "ledger_entries"
TREE_HEAD_TABLE: Final = "signed_tree_heads"


@dataclasses.dataclass(frozen=True, slots=True, order=True)
class Finding:
    """One thing in the store that does not hold: `table`, the `row` (its key), the `problem`."""

    table: str
    row: str
    problem: str

    def line(self) -> str:
        """The finding as one line: `table[row]: problem`."""
        return f"{self.table}[{self.row}]: {self.problem}"

    def to_json(self) -> dict[str, str]:
        """Return {table, row, problem}."""
        return {"table": self.table, "row": self.row, "problem": self.problem}


@dataclasses.dataclass(frozen=True, slots=True)
class StoredEntry:
    """A ledger row as stored: the entry's fields, its owner and the hashes stored beside it."""

    entry: LedgerEntry
    org_id: str
    entry_hash: str
    leaf_hash: str


@dataclasses.dataclass(frozen=True, slots=True)
class StoredTreeHead:
    """A tree head row as stored (the root as stored text, which may not even be hex)."""

    log_id: str
    tree_size: int
    timestamp_text: str
    root_hash: str
    head: SignedTreeHead | None

    @property
    def key(self) -> str:
        """The row's key: log, size and time."""
        return f"{self.log_id}, size {self.tree_size}, {self.timestamp_text}"


def audit_log(
    entries: Sequence[StoredEntry],
    heads: Sequence[StoredTreeHead],
    trust_list: TrustList,
    log_id: str,
) -> tuple[list[Finding], MerkleTree]:
    """Check every stored entry, chain and tree head; return the findings and the tree rebuilt
    from the entries' own fields (so a changed stored leaf hash cannot hide a changed entry).

    `entries` in log-index order; `log_id` is the node whose key signs the tree heads.
    """
    findings: list[Finding] = []
    expected = 0
    for stored in entries:
        findings += _entry_findings(stored, expected)
        expected = max(expected, stored.entry.log_index + 1)
    findings += _chain_findings(entries)
    tree = MerkleTree(stored.entry.leaf_hash() for stored in entries)
    for head in heads:
        findings += _head_findings(head, tree, trust_list, log_id)
    return findings, tree


def _entry_findings(stored: StoredEntry, expected: int) -> Iterable[Finding]:
    """`expected` is the log index due next (one past the largest seen so far)."""
    entry = stored.entry
    row = f"log_index {entry.log_index}, document {entry.document_id}, seq {entry.seq}"
    if entry.log_index > expected:
        missing = (
            str(expected)
            if entry.log_index == expected + 1
            else f"{expected}..{entry.log_index - 1}"
        )
        yield Finding(LEDGER_TABLE, row, f"log index {missing} before it is missing")
    if stored.entry_hash != entry.entry_hash():
        yield Finding(LEDGER_TABLE, row, "the stored entry_hash is not the hash of the entry")
    if stored.leaf_hash != entry.leaf_hash().hex():
        yield Finding(LEDGER_TABLE, row, "the stored leaf_hash is not the leaf of the entry")


def _chain_findings(entries: Sequence[StoredEntry]) -> Iterable[Finding]:
    chains: dict[str, list[StoredEntry]] = {}
    for stored in entries:
        chains.setdefault(stored.entry.document_id, []).append(stored)
    for document_id, chain in chains.items():
        owners = sorted({stored.org_id for stored in chain})
        if len(owners) > 1:
            yield Finding(
                LEDGER_TABLE,
                f"document {document_id}",
                f"the chain is recorded for several organisations: {', '.join(owners)}",
            )
        previous: LedgerEntry | None = None
        for expected_seq, stored in enumerate(sorted(chain, key=lambda s: s.entry.seq), 1):
            entry = stored.entry
            row = f"log_index {entry.log_index}, document {document_id}, seq {entry.seq}"
            if entry.seq != expected_seq:
                yield Finding(
                    LEDGER_TABLE,
                    row,
                    f"seq {entry.seq} where {expected_seq} was due: an entry of the chain is "
                    f"missing or renumbered",
                )
            link = GENESIS_HASH if previous is None else previous.entry_hash()
            if entry.previous_entry_hash != link:
                yield Finding(
                    LEDGER_TABLE,
                    row,
                    "previous_entry_hash is not the hash of the chain's entry before it",
                )
            if previous is not None:
                if entry.log_index <= previous.log_index:
                    yield Finding(LEDGER_TABLE, row, "the chain's entries are out of log order")
                if entry.recorded_at < previous.recorded_at:
                    yield Finding(
                        LEDGER_TABLE, row, "recorded_at is earlier than the entry before it"
                    )
            previous = entry


def _head_findings(
    stored: StoredTreeHead, tree: MerkleTree, trust_list: TrustList, log_id: str
) -> Iterable[Finding]:
    head = stored.head
    if head is None:
        yield Finding(TREE_HEAD_TABLE, stored.key, f"root_hash {stored.root_hash!r} is not hex")
        return
    if head.log_id != log_id:
        yield Finding(TREE_HEAD_TABLE, stored.key, f"a tree head of another log than {log_id}")
    try:
        verify_tree_head(head, trust_list)
    except KervanError as exc:
        yield Finding(
            TREE_HEAD_TABLE, stored.key, f"the signature does not cover this head: {exc.message}"
        )
    if head.tree_size > tree.size:
        yield Finding(
            TREE_HEAD_TABLE,
            stored.key,
            f"signed for {head.tree_size} entries but the log holds {tree.size}: entries "
            f"were deleted",
        )
    elif tree.root(head.tree_size) != head.root_hash:
        yield Finding(
            TREE_HEAD_TABLE,
            stored.key,
            "the stored entries rebuild another root at this size than the head holds",
        )
