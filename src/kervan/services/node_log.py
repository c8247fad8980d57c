"""The node's Merkle log held in process: kept in step with the committed ledger, and its heads.

Every append and every evidence read needs the Merkle tree over all of the node's ledger
entries. Rebuilding it from the store per request costs a read of every leaf, so the node keeps
one `MerkleTree` and brings it up to date with the leaves committed since (other workers append
too), checking that the leaves it already holds are the stored ones:

- An appender (under the append lock, so nothing else is mid-append) gets a tree whose size is
  exactly the committed count, and its `Ledger` extends that tree before the transaction
  commits. Leaves past the committed count are therefore "pending": they become committed when
  the store shows them, or are found out (rolled back, or taken by another worker) and the tree
  is rebuilt from the store.
- A reader never takes the append lock. It only uses the tree at sizes up to the committed count
  it read, where every leaf is a stored, committed one. Tree levels only grow, so a reader can
  work on the tree while an appender adds a pending leaf.

Evidence needs a signed tree head covering the entry. The node reuses its latest head while it
covers the entries asked about and signs a new one (at the committed size, stored in its own
unit of work) when it does not: heads are issued as needed, not one per request.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from kervan.errors import LedgerIntegrityError
from kervan.ledger.merkle import MerkleTree
from kervan.ledger.sth import SignedTreeHead
from kervan.store.db import unit_of_work
from kervan.store.repositories.ledger import SqlLedgerStore


class _GuardedTree(MerkleTree):
    """A Merkle tree whose appends take the node log's lock (its levels only ever grow, so
    reading at a size it already had needs no lock)."""

    def __init__(self, leaves: list[bytes], guard: threading.RLock) -> None:
        self._guard = guard
        super().__init__(leaves)

    def append_leaf_hash(self, leaf: bytes) -> int:
        with self._guard:
            return super().append_leaf_hash(leaf)


@dataclass(frozen=True, slots=True)
class CommittedTree:
    """The tree and how many of its leaves are committed in the store (read in this unit of
    work); use the tree at sizes up to `size` only."""

    tree: MerkleTree
    size: int


class NodeLog:
    """The node's Merkle tree and latest signed tree head, shared by the node's requests."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._tree: _GuardedTree | None = None
        self._committed = 0
        self._head: SignedTreeHead | None = None
        self._head_lock = threading.Lock()

    def for_append(self, store: SqlLedgerStore) -> MerkleTree:
        """The tree to append to, exactly the committed leaves (call under the append lock)."""
        with self._lock:
            current = self._catch_up(store)
            if current.tree.size != current.size:
                # Leaves past the committed count while nobody else may append: they were
                # appended by a transaction that rolled back.
                current = self._rebuild(store)
            store.known_count(current.size)
            return current.tree

    def committed(self, store: SqlLedgerStore) -> CommittedTree:
        """The tree in step with the leaves committed as `store`'s unit of work sees them."""
        with self._lock:
            return self._catch_up(store)

    def head_covering(
        self,
        index: int,
        sessions: sessionmaker[Session],
        sign: Callable[[int, bytes, Session], SignedTreeHead],
    ) -> tuple[SignedTreeHead, MerkleTree]:
        """A signed tree head that includes entry `index`, with the tree to prove it from.

        Reuses the latest head while it covers `index` and matches the tree. Otherwise, in a
        unit of work of its own, catches up with the store and has `sign(size, root, session)`
        sign (and store) a head at the committed size. Call it outside any unit of work: one
        request at a time signs, the others wait for its head without holding a connection.
        """
        head, tree = self._head, self._tree
        if head is not None and tree is not None and self._matches(head, tree, index):
            return head, tree
        with self._head_lock:
            head, tree = self._head, self._tree
            if head is not None and tree is not None and self._matches(head, tree, index):
                return head, tree
            with unit_of_work(sessions) as session:
                store = SqlLedgerStore(session, org_id="")
                current = self.committed(store)
                if index >= current.size:
                    raise LedgerIntegrityError(
                        "tree_head", f"entry {index} is not among the {current.size} committed"
                    )
                head = sign(current.size, current.tree.root(current.size), session)
            self._head = head
            return head, current.tree

    @staticmethod
    def _matches(head: SignedTreeHead, tree: MerkleTree, index: int) -> bool:
        return index < head.tree_size <= tree.size and tree.root(head.tree_size) == head.root_hash

    def _catch_up(self, store: SqlLedgerStore) -> CommittedTree:
        tree, committed = self._tree, self._committed
        if tree is None:
            return self._rebuild(store)
        start = max(committed - 1, 0)
        rows = store.leaves_from(start)
        expected = start
        if committed > 0 and not rows:
            seen = store.count()
            if seen < committed:
                # This unit of work reads an older snapshot: its leaves are a prefix of ours.
                return CommittedTree(tree, seen)
            return self._rebuild(store)
        if committed > 0 and rows[0][0] != start:
            return self._rebuild(store)
        for index, leaf in rows:
            if index != expected:
                return self._rebuild(store)
            if index < tree.size:
                if tree.leaf(index) != leaf:
                    return self._rebuild(store)
            else:
                tree.append_leaf_hash(leaf)
            expected += 1
        self._committed = expected
        return CommittedTree(tree, expected)

    def _rebuild(self, store: SqlLedgerStore) -> CommittedTree:
        tree = _GuardedTree(list(store.leaf_hashes()), self._lock)
        self._tree, self._committed = tree, tree.size
        return CommittedTree(tree, tree.size)
