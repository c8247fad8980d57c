"""RFC 9162 §2.1 Merkle tree: tree hash, inclusion and consistency proofs, and their verification.

Hashing is SHA-256 with the RFC 6962/9162 domain separation: a leaf is SHA-256(0x00 || data), an
interior node SHA-256(0x01 || left || right), the empty tree SHA-256("").

`MerkleTree` keeps every complete, aligned subtree (sizes 1, 2, 4, ...) as it grows, which is
about two hashes per leaf. Any subtree the RFC's recursion asks for is then either one of those
(O(1)) or the tree's ragged right edge, built from at most log2(n) of them. Appending is O(1)
amortised; a root, an inclusion proof or a consistency proof at any size up to the current one
costs O(log n) hashes.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from kervan.errors import MerkleProofError
from kervan.signatures.encoding import hex32_decode

HASH_SIZE: Final = 32
LEAF_PREFIX: Final = b"\x00"
NODE_PREFIX: Final = b"\x01"
EMPTY_ROOT: Final = hashlib.sha256(b"").digest()
_HASH_SIZE_IS: Final = HASH_SIZE.__eq__


def leaf_hash(data: bytes) -> bytes:
    """Return the RFC 9162 leaf hash SHA-256(0x00 || data)."""
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the RFC 9162 interior node hash SHA-256(0x01 || left || right)."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


#: How many ragged subtrees a tree keeps (about 100 bytes each) before forgetting them all.
_RAGGED_KEPT: Final = 1 << 14


def _split(n: int) -> int:
    """Largest power of two strictly smaller than n (n >= 2): the RFC's k."""
    return 1 << ((n - 1).bit_length() - 1)


class MerkleTree:
    """An append-only RFC 9162 Merkle tree over leaf hashes, provable at every past size."""

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        # _levels[h][i] is the hash of the complete subtree of 2**h leaves starting at i * 2**h.
        self._levels: list[list[bytes]] = [[]]
        # Ragged subtrees already built, by (start, end). Leaves are only ever appended, so a
        # subtree's hash never changes once its leaves exist: proofs at one tree size (every
        # proof against one signed tree head) share the right edge instead of rehashing it.
        self._ragged: dict[tuple[int, int], bytes] = {}
        for leaf in leaf_hashes:
            self.append_leaf_hash(leaf)

    @property
    def size(self) -> int:
        """Number of leaves."""
        return len(self._levels[0])

    def leaf(self, index: int) -> bytes:
        """The leaf hash at `index`."""
        return self._levels[0][index]

    def __len__(self) -> int:
        return self.size

    def append(self, data: bytes) -> int:
        """Append a leaf holding `data`; return its index."""
        return self.append_leaf_hash(leaf_hash(data))

    def append_leaf_hash(self, leaf: bytes) -> int:
        """Append an already hashed leaf (32 bytes); return its index."""
        if len(leaf) != HASH_SIZE:
            raise ValueError(f"a leaf hash is {HASH_SIZE} bytes, got {len(leaf)}")
        levels = self._levels
        index = len(levels[0])
        node = bytes(leaf)
        levels[0].append(node)
        # Each trailing 1 bit of the index closes a complete subtree one level further up.
        height, position = 0, index
        while position & 1:
            node = node_hash(levels[height][position - 1], node)
            height += 1
            position >>= 1
            if height == len(levels):
                levels.append([])
            levels[height].append(node)
        return index

    def root(self, size: int | None = None) -> bytes:
        """Return MTH of the first `size` leaves (default: all); EMPTY_ROOT for size 0."""
        size = self.size if size is None else size
        self._check_size(size)
        return EMPTY_ROOT if size == 0 else self._subtree(0, size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """Return PATH(index, D[size]) (RFC 9162 §2.1.3.1), the leaf's sibling first."""
        size = self.size if size is None else size
        self._check_size(size)
        if not 0 <= index < size:
            raise MerkleProofError(
                "inclusion_proof", f"leaf index {index} is outside a tree of size {size}"
            )
        # Bottom up: at each height the node holding the leaf is `position`, the tree's last
        # node `last`. A node with no right sibling moves up unchanged (RFC 9162's split at the
        # largest power of two makes exactly that tree); a left sibling is always complete, a
        # right one is complete unless it is the ragged right edge.
        path: list[bytes] = []
        levels = self._levels
        position, last, height = index, size - 1, 0
        while last:
            sibling = position ^ 1
            if sibling < position:
                path.append(levels[height][sibling])
            elif sibling <= last:
                start = sibling << height
                end = min(start + (1 << height), size)
                path.append(
                    levels[height][sibling]
                    if end - start == 1 << height
                    else self._subtree(start, end)
                )
            position >>= 1
            last >>= 1
            height += 1
        return path

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        """Return PROOF(size1, D[size2]) (RFC 9162 §2.1.4.1); empty when the sizes are equal.

        Raises MerkleProofError for size1 == 0 (nothing to prove) or size1 > size2.
        """
        size2 = self.size if size2 is None else size2
        self._check_size(size2)
        if not 0 < size1 <= size2:
            raise MerkleProofError(
                "consistency_proof", f"need 0 < size1 <= size2, got size1={size1} size2={size2}"
            )
        path: list[bytes] = []
        start, end, whole = 0, size2, True
        while True:
            n = end - start
            if size1 - start == n:
                if not whole:
                    path.append(self._subtree(start, end))
                break
            k = _split(n)
            if size1 - start <= k:
                path.append(self._subtree(start + k, end))
                end = start + k
            else:
                path.append(self._subtree(start, start + k))
                start += k
                whole = False
        path.reverse()
        return path

    def _subtree(self, start: int, end: int) -> bytes:
        n = end - start
        if n & (n - 1) == 0 and start % n == 0:
            height = n.bit_length() - 1
            return self._levels[height][start >> height]
        # Ragged right edge: the left part is complete and aligned, recurse on the right.
        known = self._ragged.get((start, end))
        if known is None:
            k = _split(n)
            known = node_hash(self._subtree(start, start + k), self._subtree(start + k, end))
            if len(self._ragged) >= _RAGGED_KEPT:
                self._ragged.clear()
            self._ragged[start, end] = known
        return known

    def _check_size(self, size: int) -> None:
        if not 0 <= size <= self.size:
            raise MerkleProofError("tree_size", f"size {size} is outside 0..{self.size}")


def merkle_root(leaf_hashes: Sequence[bytes]) -> bytes:
    """Return MTH over `leaf_hashes` (already hashed leaves)."""
    return MerkleTree(leaf_hashes).root()


def root_from_inclusion_proof(
    leaf_index: int, tree_size: int, leaf: bytes, proof: Sequence[bytes]
) -> bytes:
    """Return the root implied by an inclusion proof (RFC 9162 §2.1.3.2 steps 1-4).

    Raises MerkleProofError when the index is outside the tree, a hash is not 32 bytes, or the
    proof has the wrong length for (leaf_index, tree_size).
    """
    if not 0 <= leaf_index < tree_size:
        raise MerkleProofError(
            "inclusion_proof", f"leaf index {leaf_index} is outside a tree of size {tree_size}"
        )
    _check_hashes(leaf, proof)
    sha256 = hashlib.sha256
    fn, sn, result = leaf_index, tree_size - 1, leaf
    for sibling in proof:
        if sn == 0:
            raise MerkleProofError("inclusion_proof", "proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            result = sha256(NODE_PREFIX + sibling + result).digest()
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            result = sha256(NODE_PREFIX + result + sibling).digest()
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise MerkleProofError("inclusion_proof", "proof is shorter than the tree is deep")
    return result


def verify_inclusion(
    leaf_index: int, tree_size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that `leaf` (a leaf hash) sits at `leaf_index` in the tree of `tree_size` with `root`.

    Returns None on success; raises MerkleProofError saying what did not hold.
    """
    if root_from_inclusion_proof(leaf_index, tree_size, leaf, proof) != root:
        raise MerkleProofError(
            "inclusion_proof", f"proof for leaf {leaf_index} does not lead to the given root"
        )


def verify_consistency(
    size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree of `size2` with `root2` extends the tree of `size1` with `root1`.

    RFC 9162 §2.1.4.2. Equal sizes need an empty proof and equal roots; size1 = 0 is refused
    (a proof from the empty tree proves nothing). Raises MerkleProofError on any failure.
    """
    if not 0 < size1 <= size2:
        raise MerkleProofError(
            "consistency_proof", f"need 0 < size1 <= size2, got size1={size1} size2={size2}"
        )
    if size1 == size2:
        if proof:
            raise MerkleProofError("consistency_proof", "equal sizes need an empty proof")
        if root1 != root2:
            raise MerkleProofError("consistency_proof", "equal sizes but different roots")
        return
    if not proof:
        raise MerkleProofError("consistency_proof", "empty proof for different sizes")
    _check_hashes(root1, proof)
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    first = second = path[0]
    for node in path[1:]:
        if sn == 0:
            raise MerkleProofError("consistency_proof", "proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            first = node_hash(node, first)
            second = node_hash(node, second)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            second = node_hash(second, node)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise MerkleProofError("consistency_proof", "proof is shorter than the tree is deep")
    if first != root1:
        raise MerkleProofError("consistency_proof", "proof does not lead to the first root")
    if second != root2:
        raise MerkleProofError("consistency_proof", "proof does not lead to the second root")


def _check_hashes(first: bytes, proof: Sequence[bytes]) -> None:
    if len(first) == HASH_SIZE and all(map(_HASH_SIZE_IS, map(len, proof))):
        return  # the common case, checked without a Python-level loop
    for value in (first, *proof):
        if len(value) != HASH_SIZE:
            raise MerkleProofError(
                "hash_size", f"every hash is {HASH_SIZE} bytes, got one of {len(value)}"
            )


@dataclasses.dataclass(frozen=True, slots=True)
class InclusionProof:
    """Proof that leaf `leaf_index` is in the tree of `tree_size` (hashes leaf-side first)."""

    leaf_index: int
    tree_size: int
    hashes: tuple[bytes, ...]

    def to_json(self) -> dict[str, Any]:
        """Return {leaf_index, tree_size, hashes: [hex, ...]}."""
        return {"leaf_index": self.leaf_index, "tree_size": self.tree_size,
                "hashes": [h.hex() for h in self.hashes]}  # fmt: skip

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> InclusionProof:
        """Parse `to_json` output strictly; raise ValueError if malformed."""
        _exact_keys(data, {"leaf_index", "tree_size", "hashes"}, "inclusion proof")
        return cls(_int(data["leaf_index"]), _int(data["tree_size"]), _hashes(data["hashes"]))


@dataclasses.dataclass(frozen=True, slots=True)
class ConsistencyProof:
    """Proof that the tree of `size2` extends the tree of `size1`."""

    size1: int
    size2: int
    hashes: tuple[bytes, ...]

    def to_json(self) -> dict[str, Any]:
        """Return {size1, size2, hashes: [hex, ...]}."""
        return {"size1": self.size1, "size2": self.size2, "hashes": [h.hex() for h in self.hashes]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ConsistencyProof:
        """Parse `to_json` output strictly; raise ValueError if malformed."""
        _exact_keys(data, {"size1", "size2", "hashes"}, "consistency proof")
        return cls(_int(data["size1"]), _int(data["size2"]), _hashes(data["hashes"]))


def _exact_keys(data: object, keys: set[str], what: str) -> None:
    if not isinstance(data, Mapping) or set(data) != keys:
        raise ValueError(f"{what} must be an object with exactly {sorted(keys)}")


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("expected a non-negative integer")
    return value


def _hashes(value: object) -> tuple[bytes, ...]:
    if not isinstance(value, list):
        raise ValueError("hashes must be a list of hex strings")
    return tuple(hex32_decode(item) for item in value)
