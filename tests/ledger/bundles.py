"""Evidence bundles over a ledger store in memory, packed as a node packs them
(kervan.services.documents.assemble_evidence): the entry and its inclusion proof, from the Merkle
tree of the stored leaves, at a tree head the log's key signed. For tests of what verifies a
bundle (`kervan verify`, verify_bundle)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from kervan.ledger import (
    EvidenceBundle,
    InclusionProof,
    LedgerStore,
    MerkleTree,
    SignedTreeHead,
    sign_tree_head,
)
from kervan.signatures.jws import GeneralJws
from kervan.signatures.keys import Signer


def tree_head(
    store: LedgerStore, signer: Signer, at: datetime, tree_size: int | None = None
) -> SignedTreeHead:
    """The head of the log in `store` at `tree_size` (default: now) signed by the log's
    `signer`."""
    tree = MerkleTree(store.leaf_hashes())
    size = tree.size if tree_size is None else tree_size
    return sign_tree_head(size, tree.root(size), at, signer)


def evidence_bundle(
    store: LedgerStore,
    document: Mapping[str, Any],
    jws: GeneralJws,
    entry_index: int,
    head: SignedTreeHead,
) -> EvidenceBundle:
    """`document`, its JWS, its entry `entry_index` and the proof of that entry to `head`."""
    tree = MerkleTree(store.leaf_hashes())
    proof = tuple(tree.inclusion_proof(entry_index, head.tree_size))
    return EvidenceBundle(
        document=dict(document),
        jws=jws,
        entry=store.get(entry_index),
        inclusion=InclusionProof(entry_index, head.tree_size, proof),
        tree_head=head,
    )
