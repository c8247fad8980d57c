"""The witnessed corridor log with three national nodes, each its own database and API: the
Kazakh node's log publishes checkpoints and consistency proofs, the Azerbaijani and Turkish
nodes witness it and co-sign; a rewritten history (a fork) is caught and not co-signed; a
checkpoint grows only with a consistency proof the witnesses check."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kervan.api.app import create_app
from kervan.ledger.checkpoint import (
    Checkpoint,
    check_consistent,
    cosigners,
    parse_signed_checkpoint,
    parse_verifier_key,
    sign_checkpoint,
    verify_log_signature,
)
from kervan.ledger.merkle import MerkleTree, leaf_hash, verify_consistency
from kervan.network.model import Network
from kervan.services.node import NodeContext
from kervan.services.witness import (
    AddWitness,
    WatchLog,
    add_witness,
    gather_cosignatures,
    watch_log,
)
from kervan.settings import Settings
from kervan.store.db import unit_of_work
from kervan.store.repositories.witness import LogWitness
from tests.databases import migrated_database

T0 = datetime(2026, 11, 24, 8, tzinfo=UTC)


@dataclass
class Node:
    name: str
    client: TestClient
    ctx: NodeContext


@pytest.fixture
def corridor(tmp_path: Path, shipped_network: Network) -> Iterator[dict[str, Node]]:
    nodes: dict[str, Node] = {}
    for country in ("KZ", "AZ", "TR"):
        (tmp_path / country).mkdir()
    with (
        migrated_database("sqlite", tmp_path / "KZ") as kz,
        migrated_database("sqlite", tmp_path / "AZ") as az,
        migrated_database("sqlite", tmp_path / "TR") as tr,
    ):
        clients = []
        for country, url in (("KZ", kz), ("AZ", az), ("TR", tr)):
            name = f"kervan-{country.lower()}"
            settings = Settings(
                environment="test",
                database_url=url,
                data_dir=tmp_path / country,
                secret_key="t" * 48,
                node_id=name,
                node_country=country,
            )
            app = create_app(settings, network=shipped_network)
            client = TestClient(app)
            client.__enter__()
            clients.append(client)
            nodes[country] = Node(name, client, app.state.node)
        try:
            yield nodes
        finally:
            for client in clients:
                client.__exit__(None, None, None)


def record(node: Node, count: int, start: int) -> None:
    """`count` events recorded in the node's ledger, as its documents' steps record them."""
    with unit_of_work(node.ctx.sessions) as session:
        ledger = node.ctx.ledger(session, node.name)
        for i in range(start, start + count):
            ledger.append(f"ecmr:KZ-{i}", "issue", {"n": i}, T0 + timedelta(minutes=i))


def text(node: Node, path: str) -> str:
    answer = node.client.get(path)
    assert answer.status_code == 200, answer.text
    return answer.text


def post_to(nodes: dict[str, Node]):  # type: ignore[no-untyped-def]
    by_name = {n.name: n for n in nodes.values()}

    def post(witness: LogWitness, body: bytes) -> tuple[int, str]:
        answer = by_name[witness.name].client.post("/v1/witness/add-checkpoint", content=body)
        return answer.status_code, answer.text

    return post


def test_witnesses_cosign_a_growing_log_and_refuse_a_fork(corridor: dict[str, Node]) -> None:
    kz, az, tr = corridor["KZ"], corridor["AZ"], corridor["TR"]
    log_vkey = text(kz, "/v1/log/key").strip()
    witness_keys = [parse_verifier_key(text(w, "/v1/witness/key")) for w in (az, tr)]
    for witness in (az, tr):
        assert watch_log(witness.ctx.unit_of_work(), WatchLog(log_vkey)) == "kervan-kz"
    for witness, key in zip((az, tr), witness_keys, strict=True):
        add_witness(kz.ctx.unit_of_work(), AddWitness(key.text(), f"http://{witness.name}"))

    record(kz, 3, 0)
    report = gather_cosignatures(kz.ctx.unit_of_work(), post_to(corridor))
    assert report.cosigned_by == ["kervan-az", "kervan-tr"], report.refused
    published = parse_signed_checkpoint(text(kz, "/v1/log/checkpoint"))
    assert published.checkpoint.size == 3
    verify_log_signature(published, parse_verifier_key(log_vkey))
    assert cosigners(published, witness_keys) == ["kervan-az", "kervan-tr"]

    # The log grows: each witness first says which size it co-signed last (409), then checks
    # the consistency proof from there and co-signs.
    record(kz, 2, 3)
    grown = gather_cosignatures(kz.ctx.unit_of_work(), post_to(corridor))
    assert grown.cosigned_by == ["kervan-az", "kervan-tr"], grown.refused
    newer = parse_signed_checkpoint(text(kz, "/v1/log/checkpoint"))
    assert newer.checkpoint.size == 5
    proof = kz.client.get("/v1/log/consistency", params={"old": 3, "new": 5}).json()
    hashes = [base64.b64decode(h) for h in proof["hashes"]]
    verify_consistency(3, 5, published.checkpoint.root_hash, newer.checkpoint.root_hash, hashes)

    # The Kazakh node rewrites its history: the same key signs a log whose first entry
    # changed. Both witnesses catch it and co-sign nothing.
    with unit_of_work(kz.ctx.sessions) as session:
        signer = kz.ctx.signer(session, kz.name)
    forged = MerkleTree(leaf_hash(b"rewritten %d" % i) for i in range(6))
    fork = sign_checkpoint(Checkpoint("kervan-kz", 6, forged.root(6)), signer, "kervan-kz")
    for proof_from in (forged.consistency_proof(5, 6), []):
        body = (
            "old 5\n"
            + "".join(base64.b64encode(h).decode() + "\n" for h in proof_from)
            + "\n"
            + fork.text()
        )
        for witness in (az, tr):
            answer = witness.client.post("/v1/witness/add-checkpoint", content=body.encode())
            assert answer.status_code == 422, answer.text
            assert "fork" in answer.json()["detail"]
    same_size = sign_checkpoint(Checkpoint("kervan-kz", 5, forged.root(5)), signer, "kervan-kz")
    answer = az.client.post(
        "/v1/witness/add-checkpoint", content=("old 5\n\n" + same_size.text()).encode()
    )
    assert answer.status_code == 422
    assert "two roots at size 5" in answer.json()["detail"]
    # A stale size is a conflict answered with the size last co-signed; an unknown log a 404.
    stale = az.client.post(
        "/v1/witness/add-checkpoint", content=("old 3\n\n" + newer.text()).encode()
    )
    assert (stale.status_code, stale.text) == (409, "5\n")
    unknown = sign_checkpoint(Checkpoint("kervan-xx", 1, forged.root(1)), signer, "kervan-xx")
    assert (
        az.client.post(
            "/v1/witness/add-checkpoint", content=("old 0\n\n" + unknown.text()).encode()
        ).status_code
        == 404
    )

    # A log that keeps growing honestly is still co-signed after the refused fork.
    record(kz, 1, 5)
    after = gather_cosignatures(kz.ctx.unit_of_work(), post_to(corridor))
    assert after.cosigned_by == ["kervan-az", "kervan-tr"], after.refused


def test_consistency_rules() -> None:
    tree = MerkleTree(leaf_hash(b"%d" % i) for i in range(8))
    newer = Checkpoint("kervan-kz", 8, tree.root(8))
    check_consistent(5, tree.root(5), newer, tree.consistency_proof(5, 8))
    with pytest.raises(Exception, match="went back"):
        check_consistent(8, tree.root(8), Checkpoint("kervan-kz", 5, tree.root(5)), [])
