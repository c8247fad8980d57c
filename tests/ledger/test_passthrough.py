"""The ledger over canonical bytes handed in: the same entries, leaves and roots as over values.

Also checks the directly written entry JSON against `canonical_json`, and the Merkle tree's kept
ragged subtrees against the RFC 9162 reference while the tree grows between proofs.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kervan.errors import CanonicalJsonError
from kervan.ledger import InMemoryLedgerStore, Ledger, LedgerEntry, verify_chain, verify_inclusion
from kervan.ledger.chain import GENESIS_HASH, next_entry
from kervan.ledger.merkle import MerkleTree, leaf_hash
from kervan.signatures.canonical import CanonicalJson, canonical_json
from kervan.signatures.keys import Ed25519Signer
from tests.ledger.test_merkle_properties import ref_mth, ref_path

T0 = datetime(2025, 4, 1, 6, 0, tzinfo=UTC)
SIGNER = Ed25519Signer.generate("ledger-test-1", party="ledger:test")

payloads = st.dictionaries(
    st.text(max_size=6),
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers(-(2**53) + 1, 2**53 - 1)
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(max_size=10),
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(st.text(max_size=4), children, max_size=3)
        ),
        max_leaves=10,
    ),
    max_size=5,
)


def carried(value: object) -> bool:
    try:
        canonical_json(value)
    except CanonicalJsonError:
        return False
    return True


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["ecmr:1", "ecmr:2", "ecmr:3"]), payloads), max_size=8))
def test_appending_canonical_bytes_records_what_appending_the_value_does(
    events: list[tuple[str, dict[str, Any]]],
) -> None:
    events = [(doc, payload) for doc, payload in events if carried(payload)]
    values, bytes_ = InMemoryLedgerStore(), InMemoryLedgerStore()
    by_value, by_bytes = Ledger(values, SIGNER), Ledger(bytes_, SIGNER)
    for i, (document_id, payload) in enumerate(events):
        at = T0 + timedelta(minutes=i)
        one = by_value.append(document_id, "signed", payload, at)
        other = by_bytes.append(document_id, "signed", CanonicalJson(payload), at)
        assert other == one
        assert other.leaf_hash() == one.leaf_hash()
    assert by_bytes.root() == by_value.root()
    for document_id in {doc for doc, _ in events}:
        mine = [CanonicalJson(p) for d, p in events if d == document_id]
        assert verify_chain(bytes_.entries_for_document(document_id), mine).ok
        assert verify_chain(values.entries_for_document(document_id), mine).ok


def test_a_changed_payload_still_breaks_the_chain() -> None:
    store = InMemoryLedgerStore()
    payload = {"id": "ecmr:1", "kg": 24000}
    Ledger(store, SIGNER).append("ecmr:1", "signed", CanonicalJson(payload), T0)
    changed = [CanonicalJson(dict(payload, kg=24001))]
    verdict = verify_chain(store.entries_for_document("ecmr:1"), changed)
    assert verdict.broken_seq == 1
    assert "payload changed" in (verdict.reason or "")


@settings(max_examples=400, deadline=None)
@given(
    st.integers(-(2**60), 2**60),
    st.integers(-(2**60), 2**60),
    st.text(max_size=10),
    st.text(max_size=10),
    st.text(max_size=64),
    st.datetimes(
        min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)
    ),
)
def test_entry_json_is_written_as_canonical_json_writes_it(
    log_index: int, seq: int, document_id: str, event_type: str, digest: str, at: datetime
) -> None:
    entry = LedgerEntry(log_index, document_id, seq, event_type, digest, GENESIS_HASH, at)
    try:
        expected = canonical_json(entry.to_json())
    except CanonicalJsonError:
        with pytest.raises(CanonicalJsonError):
            entry.canonical_bytes()
        return
    assert entry.canonical_bytes() == expected


def test_entry_json_off_the_direct_path() -> None:
    entry = next_entry(
        None, log_index=3, document_id="ecmr:1", event_type="signed", payload={}, recorded_at=T0
    )
    odd = dataclasses.replace(entry, log_index=True, seq=2**53)
    with pytest.raises(CanonicalJsonError):
        odd.canonical_bytes()
    flag = dataclasses.replace(entry, log_index=True)
    assert flag.canonical_bytes() == canonical_json(flag.to_json())


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=6), st.data())
def test_kept_ragged_subtrees_stay_right_as_the_tree_grows(
    growth: list[int], data: st.DataObject
) -> None:
    tree = MerkleTree()
    leaves: list[bytes] = []
    for step, count in enumerate(growth):
        for i in range(count):
            leaf = f"leaf-{step}-{i}".encode()
            leaves.append(leaf)
            tree.append(leaf)
        for _ in range(3):
            size = data.draw(st.integers(min_value=1, max_value=len(leaves)))
            index = data.draw(st.integers(min_value=0, max_value=size - 1))
            proof = tree.inclusion_proof(index, size)
            assert proof == ref_path(index, leaves[:size])
            assert tree.root(size) == ref_mth(leaves[:size])
            verify_inclusion(index, size, leaf_hash(leaves[index]), proof, tree.root(size))


def test_verify_chain_accepts_canonical_bytes() -> None:
    first = next_entry(
        None, log_index=0, document_id="d", event_type="e", payload={"a": 1}, recorded_at=T0
    )
    assert verify_chain([first], [CanonicalJson({"a": 1})]).ok
    assert not verify_chain([first], [CanonicalJson({"a": 2})]).ok
