"""The node keeps its Merkle tree in process: in step with the store, rebuilt after a rollback."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kervan.errors import LedgerIntegrityError
from kervan.ledger.merkle import MerkleTree
from kervan.ledger.sth import SignedTreeHead, verify_tree_head
from kervan.services.node import NodeContext
from kervan.store.db import read_only, unit_of_work
from kervan.store.repositories.ledger import SqlLedgerStore, TreeHeadRepository
from kervan.store.repositories.signing_keys import SigningKeyRepository
from tests.databases import BACKENDS, migrated_database
from tests.nodes import another_worker, node_on

T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


class RollbackError(Exception):
    pass


@pytest.mark.parametrize("backend", BACKENDS)
def test_cached_tree_stays_in_step_through_commits_and_rollbacks(
    backend: str, tmp_path: Path
) -> None:
    with migrated_database(backend, tmp_path) as url:
        ctx, engine = node_on(url, tmp_path)
        sessions, owner = ctx.sessions, ctx.settings.node_id
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
            other = another_worker(ctx)
            other.ledger(session, owner).append("DOC-C", "elsewhere", {"n": 7}, T0)
        with unit_of_work(sessions) as session:
            ledger = ctx.ledger(session, owner)
            stored = SqlLedgerStore(session, org_id=owner)
            assert ledger.size == stored.count() == 6
            assert ledger.root() == MerkleTree(stored.leaf_hashes()).root()
            assert [e.event_type for e in stored.entries_for_document("DOC-B")] == []
        engine.dispose()


def _append(ctx: NodeContext, document_id: str, events: int) -> None:
    with unit_of_work(ctx.sessions) as session:
        ledger = ctx.ledger(session, ctx.settings.node_id)
        for n in range(events):
            ledger.append(document_id, f"step-{n}", {"n": n}, T0 + timedelta(minutes=n))


@pytest.mark.parametrize("backend", BACKENDS)
def test_tree_heads_are_reused_while_they_cover_the_entry(backend: str, tmp_path: Path) -> None:
    with migrated_database(backend, tmp_path) as url:
        ctx, engine = node_on(url, tmp_path)
        _append(ctx, "DOC-A", 5)
        first, tree = ctx.tree_head_covering(2)
        assert first.tree_size == 5
        assert first.root_hash == tree.root(5)
        assert ctx.tree_head_covering(4) == (first, tree)  # covered: no new head
        _append(ctx, "DOC-B", 2)
        assert ctx.tree_head_covering(3)[0] == first  # still covered by the older head
        newer, tree = ctx.tree_head_covering(6)  # entry 6 is past it: a head at size 7
        assert newer.tree_size == 7
        with unit_of_work(ctx.sessions) as session:
            stored = TreeHeadRepository(session).all_heads(ctx.settings.node_id)
            trust = SigningKeyRepository(session).trust_list()
            leaves = list(SqlLedgerStore(session, org_id="").leaf_hashes())
        assert [h.tree_size for h in stored] == [5, 7]
        assert newer.root_hash == MerkleTree(leaves).root()
        for head in stored:
            verify_tree_head(head, trust)
        engine.dispose()


def test_a_reader_on_an_older_snapshot_sees_a_prefix(tmp_path: Path) -> None:
    """SQLite readers keep one snapshot: appends committed since are not theirs to prove."""
    with migrated_database("sqlite", tmp_path) as url:
        ctx, engine = node_on(url, tmp_path)
        _append(ctx, "DOC-A", 3)
        with read_only(ctx.sessions) as old:
            before = ctx.log.committed(SqlLedgerStore(old, org_id=""))
            assert before.size == 3
            _append(ctx, "DOC-B", 4)  # a writer commits while the reader's snapshot is open
            with read_only(ctx.sessions) as new:
                after = ctx.log.committed(SqlLedgerStore(new, org_id=""))
            stale = ctx.log.committed(SqlLedgerStore(old, org_id=""))
        assert after.size == 7
        assert stale.size == 3
        assert stale.tree is after.tree  # the older snapshot did not make the node rebuild
        assert stale.tree.root(3) == before.tree.root(3)
        engine.dispose()


def test_readers_do_not_wait_for_the_sqlite_writer(tmp_path: Path) -> None:
    with migrated_database("sqlite", tmp_path) as url:
        ctx, engine = node_on(url, tmp_path)
        _append(ctx, "DOC-A", 2)
        with unit_of_work(ctx.sessions) as writer:
            ctx.ledger(writer, ctx.settings.node_id).append("DOC-B", "pending", {"n": 1}, T0)
            # The write lock is held; a read-only unit of work reads the committed state at once.
            with read_only(ctx.sessions) as reader:
                assert SqlLedgerStore(reader, org_id="").count() == 2
        with read_only(ctx.sessions) as reader:
            assert SqlLedgerStore(reader, org_id="").count() == 3
        engine.dispose()


class RefusedStepError(Exception):
    pass


@pytest.mark.parametrize("backend", BACKENDS)
def test_events_recorded_for_commit_are_appended_with_it_or_not_at_all(
    backend: str, tmp_path: Path
) -> None:
    with migrated_database(backend, tmp_path) as url:
        ctx, engine = node_on(url, tmp_path)
        owner = ctx.settings.node_id
        with unit_of_work(ctx.sessions) as session:
            ctx.record_on_commit(session, owner, "DOC-A", "issue", {"n": 1}, T0)
            ctx.record_on_commit(session, owner, "DOC-A", "sign_taking_over", {"n": 2}, T0)
            # Nothing is in the ledger until the unit of work commits.
            assert SqlLedgerStore(session, org_id=owner).entries_for_document("DOC-A") == []

        def refused_step() -> None:
            with unit_of_work(ctx.sessions) as session:
                ctx.record_on_commit(session, owner, "DOC-B", "issue", {"n": 3}, T0)
                raise RefusedStepError

        with pytest.raises(RefusedStepError):
            refused_step()
        with read_only(ctx.sessions) as session:
            store = SqlLedgerStore(session, org_id=owner)
            chain = store.entries_for_document("DOC-A")
            assert [(e.seq, e.event_type) for e in chain] == [(1, "issue"), (2, "sign_taking_over")]
            assert store.entries_for_document("DOC-B") == []
            assert store.count() == 2
        engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_ledgers_of_one_unit_of_work_extend_one_tree(backend: str, tmp_path: Path) -> None:
    with migrated_database(backend, tmp_path) as url:
        ctx, engine = node_on(url, tmp_path)
        owner = ctx.settings.node_id
        _append(ctx, "DOC-A", 2)
        with unit_of_work(ctx.sessions) as session:
            ctx.ledger(session, owner).append("DOC-B", "one", {"n": 1}, T0)
            second = ctx.ledger(session, owner)
            assert second.size == 3
            assert second.append("DOC-B", "two", {"n": 2}, T0).log_index == 3
        session = ctx.sessions()  # one session, two transactions: each takes the lock anew
        try:
            for n in range(2):
                with session.begin():
                    entry = ctx.ledger(session, owner).append("DOC-C", f"s{n}", {"n": n}, T0)
                    assert entry.log_index == 4 + n
        finally:
            session.close()
        with read_only(ctx.sessions) as reader:
            store = SqlLedgerStore(reader, org_id=owner)
            assert [e.seq for e in store.entries_for_document("DOC-B")] == [1, 2]
            leaves = list(store.leaf_hashes())
        assert len(leaves) == 6
        head, tree = ctx.tree_head_covering(5)
        assert head.tree_size == 6
        assert head.root_hash == MerkleTree(leaves).root() == tree.root(6)
        engine.dispose()


class _RacingRepository(TreeHeadRepository):
    """Sees no stored head, as a worker that checked just before another one stored it."""

    def exists(self, head: SignedTreeHead) -> bool:
        return False


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_workers_storing_the_same_head_store_it_once(backend: str, tmp_path: Path) -> None:
    with migrated_database(backend, tmp_path) as url:
        ctx, engine = node_on(url, tmp_path)
        _append(ctx, "DOC-A", 3)
        head, _ = ctx.tree_head_covering(2)  # signed and stored by one worker
        with unit_of_work(ctx.sessions) as session:
            _RacingRepository(session).add_once(head)  # the other worker's identical head
            stored = TreeHeadRepository(session).all_heads(ctx.settings.node_id)
        assert stored == [head]
        forged = dataclasses.replace(head, root_hash=bytes(32))

        def store_forged() -> None:
            with unit_of_work(ctx.sessions) as session:
                _RacingRepository(session).add_once(forged)

        with pytest.raises(LedgerIntegrityError, match="another tree head"):
            store_forged()
        engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_starting_node_loads_its_tree_before_any_request(backend: str, tmp_path: Path) -> None:
    with migrated_database(backend, tmp_path) as url:
        ctx, engine = node_on(url, tmp_path)
        _append(ctx, "KZ-ECMR-0001", 3)
        _append(ctx, "UZ-ECMR-0002", 4)
        starting = another_worker(ctx)
        assert starting.load_ledger() == 7
        with read_only(ctx.sessions) as session:
            stored = SqlLedgerStore(session, org_id=ctx.settings.node_id)
            expected = MerkleTree(stored.leaf_hashes()).root()
        with read_only(ctx.sessions) as session:
            current = starting.log.committed(SqlLedgerStore(session, org_id=""))
        assert current.size == 7
        assert current.tree.root(7) == expected
        engine.dispose()
