"""The append-only ledger: tree heads, proofs, audits, offline evidence bundles under tampering."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kervan.errors import InvalidRequestError, MerkleProofError
from kervan.ledger import (
    EvidenceBundle,
    InMemoryLedgerStore,
    Ledger,
    LedgerEntry,
    verify_bundle,
    verify_bundle_json,
    verify_chain,
    verify_consistent_heads,
    verify_inclusion,
    verify_tree_head,
)
from kervan.signatures.jws import GeneralJws, add_signature, sign_document
from kervan.signatures.keys import Ed25519Signer, Es256Signer
from kervan.signatures.trustlist import TrustList
from tests.ledger.bundles import evidence_bundle, tree_head

T0 = datetime(2025, 4, 1, 6, 0, tzinfo=UTC)
DOCUMENT: dict[str, Any] = {
    "id": "ecmr:KZ-2025-0042",
    "consignor": {"name": "Almaty Cotton LLP", "country": "KZ"},
    "consignee": {"name": "Poti Trading", "country": "GE"},
    "goods": [{"description": "cotton yarn", "gross_kg": 19850.5, "packages": 40}],
    "remarks": "Şirket – Алматы → Poti",
}


@dataclasses.dataclass
class World:
    ledger: Ledger
    store: InMemoryLedgerStore
    trust: TrustList
    consignor: Ed25519Signer
    carrier: Es256Signer
    log_signer: Ed25519Signer
    jws: GeneralJws
    entry: LedgerEntry


@pytest.fixture
def world() -> World:
    consignor = Ed25519Signer.generate("kz-almaty-cotton-1", party="kz:almaty-cotton")
    carrier = Es256Signer.generate("az-ady-1", party="carrier:AZ-ADY")
    log_signer = Ed25519Signer.generate("log-kz-1", party="ledger:kz-node")
    trust = TrustList()
    for signer in (consignor, carrier, log_signer):
        trust.add_signer(signer, not_before=T0 - timedelta(days=30))
    store = InMemoryLedgerStore()
    ledger = Ledger(store, log_signer)
    for i in range(6):
        ledger.append(f"ecmr:other-{i % 3}", "issued", {"n": i}, T0 + timedelta(minutes=i))
    jws = sign_document(DOCUMENT, consignor, "consignor", T0 + timedelta(hours=1))
    jws = add_signature(jws, carrier, "carrier", T0 + timedelta(hours=2))
    entry = ledger.append(DOCUMENT["id"], "signed", DOCUMENT, T0 + timedelta(hours=2))
    for i in range(4):
        ledger.append("ecmr:later", "event", {"n": i}, T0 + timedelta(hours=3))
    return World(ledger, store, trust, consignor, carrier, log_signer, jws, entry)


def bundle_of(w: World) -> EvidenceBundle:
    head = tree_head(w.ledger, w.log_signer, T0 + timedelta(hours=4))
    return evidence_bundle(w.ledger, DOCUMENT, w.jws, w.entry.log_index, head)


def failed(report: Any) -> set[str]:
    return {check.name for check in report.failures}


def test_append_links_chain_and_log(world: World) -> None:
    assert world.ledger.size == 11
    assert world.entry.log_index == 6
    assert world.entry.seq == 1
    second = world.ledger.append(DOCUMENT["id"], "delivered", {"at": "Poti"}, T0 + timedelta(5))
    assert (second.seq, second.previous_entry_hash) == (2, world.entry.entry_hash())
    chain = world.store.entries_for_document(DOCUMENT["id"])
    assert verify_chain(chain, [DOCUMENT, {"at": "Poti"}]).ok
    assert world.ledger.entry(6) == world.entry


def test_bundle_verifies_offline_and_says_what_passed(world: World) -> None:
    report = verify_bundle(bundle_of(world), world.trust)
    assert report.ok, report.summary()
    names = [c.name for c in report.checks]
    assert names == [
        "document_canonical",
        "jws_payload_is_document",
        "signature[0]",
        "signature[1]",
        "entry_digest_is_document",
        "proof_is_for_entry",
        "proof_at_tree_head_size",
        "entry_in_tree_head",
        "tree_head_signature",
    ]
    assert "carrier:AZ-ADY as carrier" in report.check("signature[1]").detail
    assert report.to_json()["ok"] is True


def test_bundle_survives_a_json_round_trip(world: World) -> None:
    bundle = bundle_of(world)
    again = EvidenceBundle.from_json(json.loads(bundle.to_bytes()))
    assert again == bundle
    assert verify_bundle_json(json.dumps(bundle.to_json(), indent=2), world.trust).ok


def test_flipping_any_bit_of_any_byte_of_a_bundle_is_caught(world: World) -> None:
    raw = bundle_of(world).to_bytes()
    assert verify_bundle_json(raw, world.trust).ok
    missed = []
    for position in range(len(raw)):
        for bit in (0x01, 0x20):
            tampered = bytearray(raw)
            tampered[position] ^= bit
            if verify_bundle_json(bytes(tampered), world.trust).ok:
                missed.append((position, raw[position : position + 1]))
    assert missed == []


def test_changed_document_is_named(world: World) -> None:
    bundle = bundle_of(world)
    forged = dict(DOCUMENT, remarks="changed after signing")
    report = verify_bundle(dataclasses.replace(bundle, document=forged), world.trust)
    assert failed(report) == {"jws_payload_is_document", "entry_digest_is_document"}
    # The signatures themselves are intact: the report says the document is what changed.
    assert report.check("signature[0]").ok


def test_changed_signature_is_named(world: World) -> None:
    bundle = bundle_of(world)
    jws = json.loads(json.dumps(bundle.jws))
    sig = jws["signatures"][1]["signature"]
    jws["signatures"][1]["signature"] = ("A" if sig[0] != "A" else "B") + sig[1:]
    report = verify_bundle(dataclasses.replace(bundle, jws=jws), world.trust)
    assert failed(report) == {"signature[1]"}
    assert "bad_signature" in report.check("signature[1]").detail


def test_changed_entry_is_named(world: World) -> None:
    bundle = bundle_of(world)
    entry = dataclasses.replace(bundle.entry, event_type="cancelled")
    report = verify_bundle(dataclasses.replace(bundle, entry=entry), world.trust)
    assert failed(report) == {"entry_in_tree_head"}


def test_changed_tree_head_is_named(world: World) -> None:
    bundle = bundle_of(world)
    head = dataclasses.replace(bundle.tree_head, root_hash=bytes(32))
    report = verify_bundle(dataclasses.replace(bundle, tree_head=head), world.trust)
    assert failed(report) == {"entry_in_tree_head", "tree_head_signature"}
    assert "root_hash" in report.check("tree_head_signature").detail
    other_size = dataclasses.replace(bundle.tree_head, tree_size=bundle.tree_head.tree_size + 1)
    report = verify_bundle(dataclasses.replace(bundle, tree_head=other_size), world.trust)
    assert {"proof_at_tree_head_size", "tree_head_signature"} <= failed(report)


def test_revoked_signer_is_named(world: World) -> None:
    bundle = bundle_of(world)
    world.trust.revoke(world.carrier.kid, at=T0 + timedelta(hours=2))
    report = verify_bundle(bundle, world.trust)
    assert failed(report) == {"signature[1]"}
    assert "key_revoked" in report.check("signature[1]").detail
    world.trust.revoke(world.carrier.kid, at=T0)
    assert failed(verify_bundle(bundle, world.trust)) == {"signature[1]"}


def test_unknown_log_key_is_named(world: World) -> None:
    stranger = TrustList()
    stranger.add_signer(world.consignor, not_before=T0 - timedelta(days=1))
    stranger.add_signer(world.carrier, not_before=T0 - timedelta(days=1))
    report = verify_bundle(bundle_of(world), stranger)
    assert failed(report) == {"tree_head_signature"}
    assert "unknown_kid" in report.check("tree_head_signature").detail


def test_malformed_bundle_reports_format(world: World) -> None:
    report = verify_bundle_json(b"{not json", world.trust)
    assert not report.ok
    assert [c.name for c in report.checks] == ["bundle_format"]
    data = bundle_of(world).to_json()
    data["format"] = "something-else/1"
    assert failed(verify_bundle_json(data, world.trust)) == {"bundle_format"}


def test_tampered_store_is_found_by_audit(world: World) -> None:
    head = tree_head(world.ledger, world.log_signer, T0 + timedelta(hours=5))
    assert world.ledger.audit(world.trust, [head]).ok
    stored = world.store._entries
    stored[2] = dataclasses.replace(stored[2], payload_digest="f" * 64)
    report = world.ledger.audit(world.trust, [head])
    assert {"entry[2]", "chain[ecmr:other-2]", "merkle_root", "tree_head[11]"} <= failed(report)
    assert "does not hash to its leaf" in report.check("entry[2]").detail


def test_reopened_ledger_has_the_same_root(world: World) -> None:
    reopened = Ledger(world.store, world.log_signer)
    assert reopened.root() == world.ledger.root()
    assert reopened.size == world.ledger.size


def test_inclusion_and_consistency_proofs(world: World) -> None:
    led = world.ledger
    for size in range(1, led.size + 1):
        for index in range(size):
            proof = led.inclusion_proof(index, size)
            verify_inclusion(
                index, size, led.entry(index).leaf_hash(), proof.hashes, led.root(size)
            )
    old = tree_head(led, world.log_signer, T0 + timedelta(hours=4), tree_size=5)
    led.append("ecmr:new", "issued", {}, T0 + timedelta(hours=5))
    new = tree_head(led, world.log_signer, T0 + timedelta(hours=6))
    verify_consistent_heads(old, new, led.consistency_proof(5), world.trust)
    verify_tree_head(old, world.trust)


def test_a_rewritten_history_fails_consistency(world: World) -> None:
    old = tree_head(world.ledger, world.log_signer, T0 + timedelta(hours=4), tree_size=5)
    # The same log key signing a tree whose entry 3 differs: a fork of history.
    fork = Ledger(InMemoryLedgerStore(), world.log_signer)
    for i in range(12):
        fork.append("ecmr:x", "e", {"forked": i}, T0 + timedelta(minutes=i))
    forged = tree_head(fork, world.log_signer, T0 + timedelta(hours=6))
    with pytest.raises(MerkleProofError):
        verify_consistent_heads(old, forged, fork.consistency_proof(5), world.trust)


def test_tree_head_after_log_key_revocation_is_refused(world: World) -> None:
    world.trust.revoke(world.log_signer.kid, at=T0 + timedelta(hours=4))
    verify_tree_head(
        tree_head(world.ledger, world.log_signer, T0 + timedelta(hours=3)), world.trust
    )
    late = tree_head(world.ledger, world.log_signer, T0 + timedelta(hours=4))
    report = verify_bundle(
        evidence_bundle(world.ledger, DOCUMENT, world.jws, world.entry.log_index, late), world.trust
    )
    assert failed(report) == {"tree_head_signature"}
    assert "key_revoked" in report.check("tree_head_signature").detail


def test_bad_appends_are_refused(world: World) -> None:
    with pytest.raises(InvalidRequestError, match="back in time"):
        world.ledger.append(DOCUMENT["id"], "late", {}, T0)
    with pytest.raises(InvalidRequestError, match="aware"):
        world.ledger.append("d", "e", {}, datetime(2025, 1, 1))
