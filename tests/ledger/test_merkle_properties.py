"""Property tests of the Merkle tree against a naive RFC 9162 reference written here."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kervan.ledger.merkle as merkle
from kervan.errors import MerkleProofError
from kervan.ledger.merkle import (
    EMPTY_ROOT,
    ConsistencyProof,
    InclusionProof,
    MerkleTree,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)


def ref_mth(leaves: list[bytes]) -> bytes:
    """MTH straight from RFC 9162 §2.1.1, recursion and all."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + ref_mth(leaves[:k]) + ref_mth(leaves[k:])).digest()


def ref_path(m: int, leaves: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) straight from RFC 9162 §2.1.3.1."""
    n = len(leaves)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return [*ref_path(m, leaves[:k]), ref_mth(leaves[k:])]
    return [*ref_path(m - k, leaves[k:]), ref_mth(leaves[:k])]


def ref_subproof(m: int, leaves: list[bytes], whole: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b) straight from RFC 9162 §2.1.4.1."""
    n = len(leaves)
    if m == n:
        return [] if whole else [ref_mth(leaves)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return [*ref_subproof(m, leaves[:k], whole), ref_mth(leaves[k:])]
    return [*ref_subproof(m - k, leaves[k:], False), ref_mth(leaves[:k])]


def build(count: int) -> tuple[MerkleTree, list[bytes]]:
    leaves = [f"entry-{i}".encode() for i in range(count)]
    tree = MerkleTree()
    for leaf in leaves:
        tree.append(leaf)
    return tree, leaves


def flip(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


@given(st.integers(min_value=0, max_value=300))
def test_root_equals_reference_at_every_size(count: int) -> None:
    tree, leaves = build(count)
    assert tree.root() == ref_mth(leaves)
    for size in {0, 1, count // 2, max(count - 1, 0)}:
        if size <= count:
            assert tree.root(size) == ref_mth(leaves[:size])


def test_empty_tree_root_is_sha256_of_nothing() -> None:
    assert MerkleTree().root() == EMPTY_ROOT == hashlib.sha256(b"").digest()


@given(st.data())
@settings(max_examples=200, deadline=None)
def test_inclusion_proofs_match_reference_and_verify(data: st.DataObject) -> None:
    count = data.draw(st.integers(min_value=1, max_value=200))
    tree, leaves = build(count)
    size = data.draw(st.integers(min_value=1, max_value=count))
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    proof = tree.inclusion_proof(index, size)
    assert proof == ref_path(index, leaves[:size])
    verify_inclusion(index, size, leaf_hash(leaves[index]), proof, tree.root(size))


@given(st.data())
@settings(max_examples=200, deadline=None)
def test_consistency_proofs_match_reference_and_verify(data: st.DataObject) -> None:
    count = data.draw(st.integers(min_value=1, max_value=200))
    tree, leaves = build(count)
    size2 = data.draw(st.integers(min_value=1, max_value=count))
    size1 = data.draw(st.integers(min_value=1, max_value=size2))
    proof = tree.consistency_proof(size1, size2)
    expected = [] if size1 == size2 else ref_subproof(size1, leaves[:size2], True)
    assert proof == expected
    verify_consistency(size1, size2, tree.root(size1), tree.root(size2), proof)


@given(st.data())
@settings(max_examples=150, deadline=None)
def test_flipping_any_bit_of_an_inclusion_proof_fails(data: st.DataObject) -> None:
    count = data.draw(st.integers(min_value=2, max_value=130))
    tree, leaves = build(count)
    index = data.draw(st.integers(min_value=0, max_value=count - 1))
    proof = tree.inclusion_proof(index)
    leaf, root = leaf_hash(leaves[index]), tree.root()
    target = data.draw(st.integers(min_value=0, max_value=len(proof) + 1))
    bit = data.draw(st.integers(min_value=0, max_value=255))
    if target < len(proof):
        proof[target] = flip(proof[target], bit)
    elif target == len(proof):
        leaf = flip(leaf, bit)
    else:
        root = flip(root, bit)
    with pytest.raises(MerkleProofError):
        verify_inclusion(index, count, leaf, proof, root)


@given(st.data())
@settings(max_examples=150, deadline=None)
def test_flipping_any_bit_of_a_consistency_proof_fails(data: st.DataObject) -> None:
    count = data.draw(st.integers(min_value=2, max_value=130))
    tree, _ = build(count)
    size1 = data.draw(st.integers(min_value=1, max_value=count - 1))
    proof = tree.consistency_proof(size1)
    root1, root2 = tree.root(size1), tree.root()
    target = data.draw(st.integers(min_value=0, max_value=len(proof) + 1))
    bit = data.draw(st.integers(min_value=0, max_value=255))
    if target < len(proof):
        proof[target] = flip(proof[target], bit)
    elif target == len(proof):
        root1 = flip(root1, bit)
    else:
        root2 = flip(root2, bit)
    with pytest.raises(MerkleProofError):
        verify_consistency(size1, count, root1, root2, proof)


@given(st.data())
@settings(max_examples=100, deadline=None)
def test_wrong_index_or_size_fails(data: st.DataObject) -> None:
    count = data.draw(st.integers(min_value=3, max_value=100))
    tree, leaves = build(count)
    index = data.draw(st.integers(min_value=0, max_value=count - 1))
    proof = tree.inclusion_proof(index)
    other = data.draw(st.integers(min_value=0, max_value=count - 1).filter(lambda i: i != index))
    with pytest.raises(MerkleProofError):
        verify_inclusion(other, count, leaf_hash(leaves[index]), proof, tree.root())
    with pytest.raises(MerkleProofError):
        verify_inclusion(index, count, leaf_hash(leaves[index]), proof[:-1], tree.root())
    with pytest.raises(MerkleProofError):
        verify_inclusion(index, count, leaf_hash(leaves[index]), [*proof, proof[0]], tree.root())


def test_proof_cost_is_logarithmic(monkeypatch: pytest.MonkeyPatch) -> None:
    # Counting node hashes: a proof over a large tree must touch O(log n) nodes, not O(n).
    tree, _ = build(5000)
    calls = 0
    original = merkle.node_hash

    def counting(left: bytes, right: bytes) -> bytes:
        nonlocal calls
        calls += 1
        return original(left, right)

    monkeypatch.setattr(merkle, "node_hash", counting)
    tree.inclusion_proof(1234)
    tree.consistency_proof(3001)
    tree.root(4999)
    tree.append(b"one more")
    assert 0 < calls < 4 * 13 * 2


def test_proofs_round_trip_through_json() -> None:
    tree, _ = build(11)
    inclusion = InclusionProof(4, 11, tuple(tree.inclusion_proof(4)))
    assert InclusionProof.from_json(inclusion.to_json()) == inclusion
    consistency = ConsistencyProof(3, 11, tuple(tree.consistency_proof(3)))
    assert ConsistencyProof.from_json(consistency.to_json()) == consistency
    upper = inclusion.to_json()
    upper["hashes"][0] = upper["hashes"][0].upper()
    with pytest.raises(ValueError, match="hex"):
        InclusionProof.from_json(upper)


def test_bad_requests_are_refused() -> None:
    tree, _ = build(4)
    with pytest.raises(MerkleProofError):
        tree.inclusion_proof(4)
    with pytest.raises(MerkleProofError):
        tree.consistency_proof(0)
    with pytest.raises(MerkleProofError):
        tree.root(5)
    with pytest.raises(ValueError, match="32 bytes"):
        tree.append_leaf_hash(b"short")
