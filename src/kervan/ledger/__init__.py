"""Kervan ledger.

The tamper-evident record of everything that happens to a document: each event is the next link
of its document's SHA-256 hash chain (`chain`) and the next leaf of one RFC 9162 Merkle log
(`merkle`). The log (`log.Ledger`) proves inclusion and consistency; its signed tree heads
(`sth`) and offline evidence bundles (`evidence`) let anyone holding the trust list verify a
document without a network or a database, getting a check-by-check report (`report`). Pure
core: entries live behind the `LedgerStore` protocol, time comes in as an argument.
"""

from kervan.ledger.chain import GENESIS_HASH, ChainVerdict, LedgerEntry, next_entry, verify_chain
from kervan.ledger.evidence import (
    BUNDLE_FORMAT,
    EvidenceBundle,
    verify_bundle,
    verify_bundle_json,
)
from kervan.ledger.log import InMemoryLedgerStore, Ledger, LedgerStore
from kervan.ledger.merkle import (
    EMPTY_ROOT,
    ConsistencyProof,
    InclusionProof,
    MerkleTree,
    leaf_hash,
    merkle_root,
    node_hash,
    root_from_inclusion_proof,
    verify_consistency,
    verify_inclusion,
)
from kervan.ledger.report import Check, VerificationReport
from kervan.ledger.sth import (
    SignedTreeHead,
    sign_tree_head,
    verify_consistent_heads,
    verify_tree_head,
)

__all__ = [
    "BUNDLE_FORMAT",
    "EMPTY_ROOT",
    "GENESIS_HASH",
    "ChainVerdict",
    "Check",
    "ConsistencyProof",
    "EvidenceBundle",
    "InMemoryLedgerStore",
    "InclusionProof",
    "Ledger",
    "LedgerEntry",
    "LedgerStore",
    "MerkleTree",
    "SignedTreeHead",
    "VerificationReport",
    "leaf_hash",
    "merkle_root",
    "next_entry",
    "node_hash",
    "root_from_inclusion_proof",
    "sign_tree_head",
    "verify_bundle",
    "verify_bundle_json",
    "verify_chain",
    "verify_consistency",
    "verify_consistent_heads",
    "verify_inclusion",
    "verify_tree_head",
]
