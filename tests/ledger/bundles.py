"""Evidence bundles over a core ledger in memory, packed as a node packs them
(kervan.services.documents.assemble_evidence): the entry and its inclusion proof at a tree head
the log's key signed. For tests of what verifies a bundle (`kervan verify`, verify_bundle)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from kervan.ledger import EvidenceBundle, Ledger, SignedTreeHead, sign_tree_head
from kervan.signatures.jws import GeneralJws
from kervan.signatures.keys import Signer


def tree_head(
    ledger: Ledger, signer: Signer, at: datetime, tree_size: int | None = None
) -> SignedTreeHead:
    """The head of `ledger` at `tree_size` (default: now) signed by the log's `signer`."""
    size = ledger.size if tree_size is None else tree_size
    return sign_tree_head(size, ledger.root(size), at, signer)


def evidence_bundle(
    ledger: Ledger,
    document: Mapping[str, Any],
    jws: GeneralJws,
    entry_index: int,
    head: SignedTreeHead,
) -> EvidenceBundle:
    """`document`, its JWS, its entry `entry_index` and the proof of that entry to `head`."""
    return EvidenceBundle(
        document=dict(document),
        jws=jws,
        entry=ledger.entry(entry_index),
        inclusion=ledger.inclusion_proof(entry_index, head.tree_size),
        tree_head=head,
    )
