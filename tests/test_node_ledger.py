"""The node keeps its Merkle tree in process: in step with the store, rebuilt after a rollback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kervan.ledger.merkle import MerkleTree
from kervan.network.dataset import load_network
from kervan.routing.planner import Planner
from kervan.services.node import NodeContext, ensure_node_organisation
from kervan.settings import Environment, Settings
from kervan.store.db import make_engine, make_session_factory, unit_of_work
from kervan.store.keyfiles import KeyFileStore
from kervan.store.repositories.ledger import SqlLedgerStore
from tests.databases import BACKENDS, migrated_database

T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


class RollbackError(Exception):
    pass


@pytest.mark.parametrize("backend", BACKENDS)
def test_cached_tree_stays_in_step_through_commits_and_rollbacks(
    backend: str, tmp_path: Path
) -> None:
    with migrated_database(backend, tmp_path) as url:
        settings = Settings(
            environment=Environment.DEVELOPMENT, data_dir=tmp_path, database_url=url
        )
        engine = make_engine(url)
        sessions = make_session_factory(engine)
        keys = KeyFileStore(settings.keys_dir)
        with unit_of_work(sessions) as session:
            ensure_node_organisation(session, keys, settings)
        network = load_network()
        ctx = NodeContext(settings, sessions, network, Planner(network), keys)
        owner = settings.node_id
        with unit_of_work(sessions) as session:
            ledger = ctx.ledger(session, owner)
            for n in range(5):
                ledger.append("DOC-A", f"step-{n}", {"n": n}, T0 + timedelta(minutes=n))

        def append_then_fail() -> None:
            with unit_of_work(sessions) as session:
                ledger = ctx.ledger(session, owner)
                ledger.append("DOC-B", "lost", {"n": 99}, T0 + timedelta(hours=1))
                assert ledger.size == 6
                raise RollbackError

        with pytest.raises(RollbackError):
            append_then_fail()
        # Another process (a second worker) appends behind the cached tree's back.
        with unit_of_work(sessions) as session:
            other = NodeContext(settings, sessions, network, Planner(network), keys)
            other.ledger(session, owner).append("DOC-C", "elsewhere", {"n": 7}, T0)
        with unit_of_work(sessions) as session:
            ledger = ctx.ledger(session, owner)
            stored = SqlLedgerStore(session, org_id=owner)
            assert ledger.size == stored.count() == 6
            assert ledger.root() == MerkleTree(stored.leaf_hashes()).root()
            assert [e.event_type for e in ledger.document_chain("DOC-B")] == []
        engine.dispose()
