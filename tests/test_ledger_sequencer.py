"""Steps commit their ledger events as pending; the sequencer carries them into the log in batches.

The sequencing tests run on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from kervan.errors import InvalidRequestError
from kervan.ledger.chain import verify_chain
from kervan.ledger.merkle import MerkleTree
from kervan.services.ledger_sequencer import LedgerSequencer
from kervan.services.node import NodeContext
from kervan.signatures.canonical import canonical_digest_hex
from kervan.signatures.keys import Signer
from kervan.store.db import read_only, unit_of_work
from kervan.store.repositories.ledger import SqlLedgerStore
from kervan.store.repositories.ledger_pending import (
    INSERT_EVENT,
    PendingLedgerEvents,
    event_params,
)
from tests.databases import BACKENDS, migrated_database
from tests.nodes import another_worker, node_on, record_step_event

T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
ECMR_STEPS = ("issue", "sign_taking_over", "depart", "deliver")


def _step(ctx: NodeContext, document_id: str, step: int) -> None:
    """One signed step of an e-CMR, as sign_step records it: its event commits with it."""
    with unit_of_work(ctx.sessions) as session:
        record_step_event(
            ctx,
            session,
            ctx.settings.node_id,
            document_id,
            ECMR_STEPS[step],
            {"document": document_id, "step": step},
            T0 + timedelta(minutes=step),
        )


def _assert_log_holds(ctx: NodeContext, documents: list[str], steps: int) -> None:
    """Every document's chain holds its steps in order, once each; the log's leaves are the
    entries'; nothing is pending."""
    with read_only(ctx.sessions) as session:
        store = SqlLedgerStore(session, org_id="")
        assert PendingLedgerEvents(session).count() == 0
        assert store.count() == len(documents) * steps
        for document_id in documents:
            chain = store.entries_for_document(document_id)
            assert [e.event_type for e in chain] == list(ECMR_STEPS[:steps])
            payloads = [{"document": document_id, "step": n} for n in range(steps)]
            assert verify_chain(chain, payloads).ok
        leaves = list(store.leaf_hashes())
        entries = [store.get(index) for index in range(store.count())]
    assert [entry.leaf_hash() for entry in entries] == leaves
    with read_only(ctx.sessions) as session:
        committed = ctx.log.committed(SqlLedgerStore(session, org_id=""))
    assert committed.tree.root(committed.size) == MerkleTree(leaves).root()


@pytest.mark.parametrize("backend", BACKENDS)
def test_steps_committed_while_a_batch_runs_share_the_next_batch(
    backend: str, tmp_path: Path
) -> None:
    with migrated_database(backend, tmp_path) as url:
        ctx, engine = node_on(url, tmp_path)
        documents = [f"SHP-20261124-TASHKENT-{n}-ECMR-1" for n in range(6)]
        sequencer = ctx.sequencer
        # A batch in progress: the leader holds the sequencer while six steps commit.
        with sequencer._leader:
            threads = [threading.Thread(target=_step, args=(ctx, d, 0)) for d in documents]
            for thread in threads:
                thread.start()
            deadline = time.monotonic() + 30
            while True:
                with read_only(ctx.sessions) as session:
                    if PendingLedgerEvents(session).count() == len(documents):
                        break
                assert time.monotonic() < deadline, "the steps did not commit"
                time.sleep(0.01)
        for thread in threads:
            thread.join(timeout=30)
        assert sequencer.carried == (1, 6)  # one batch, one commit, for all six events
        _assert_log_holds(ctx, documents, 1)
        engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_workers_sequencing_at_once_record_every_step_once_in_order(
    backend: str, tmp_path: Path
) -> None:
    with migrated_database(backend, tmp_path) as url:
        first, engine = node_on(url, tmp_path)
        second = another_worker(first)
        documents = [f"SHP-20261124-KHORGOS-{n}-ECMR-1" for n in range(8)]
        errors: list[BaseException] = []

        def carrier(worker: NodeContext, document_id: str) -> None:
            try:
                for step in range(len(ECMR_STEPS)):
                    _step(worker, document_id, step)
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [
            threading.Thread(target=carrier, args=(first if n % 2 else second, d))
            for n, d in enumerate(documents)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert errors == []
        _assert_log_holds(first, documents, len(ECMR_STEPS))
        _assert_log_holds(second, documents, len(ECMR_STEPS))
        assert first.sequencer.carried[1] + second.sequencer.carried[1] == 32
        engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_events_a_crash_left_pending_are_carried_by_the_sweep(backend: str, tmp_path: Path) -> None:
    with migrated_database(backend, tmp_path) as url:
        ctx, engine = node_on(url, tmp_path)
        owner = ctx.settings.node_id
        document_id = "SHP-20261124-ALAT-1-ECMR-1"
        # Steps that committed before their process died, ahead of any batch.
        for step in range(3):
            with unit_of_work(ctx.sessions) as session:
                digest = canonical_digest_hex({"document": document_id, "step": step})
                at = T0 + timedelta(minutes=step)
                params = event_params(owner, document_id, ECMR_STEPS[step], digest, at)
                session.execute(INSERT_EVENT, params)
        restarted = another_worker(ctx)  # the node, started again
        assert restarted.sequencer.sweep_if_pending() == 3
        assert restarted.sequencer.sweep_if_pending() == 0
        _assert_log_holds(restarted, [document_id], 3)
        with read_only(ctx.sessions) as session:
            chain = SqlLedgerStore(session, org_id=owner).entries_for_document(document_id)
        assert [e.recorded_at for e in chain] == [T0 + timedelta(minutes=n) for n in range(3)]
        engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_failed_batch_leaves_the_steps_committed_and_the_next_batch_carries_them(
    backend: str, tmp_path: Path
) -> None:
    with migrated_database(backend, tmp_path) as url:
        ctx, engine = node_on(url, tmp_path)
        document_id = "SHP-20261124-POTI-1-ECMR-1"
        failures = [RuntimeError("the node's key store is unreachable")]

        def key(session: Session) -> Signer:
            if failures:
                raise failures.pop()
            return ctx.signer(session, ctx.settings.node_id)

        ctx._sequencer = LedgerSequencer(ctx.sessions, ctx.log, key)
        _step(ctx, document_id, 0)  # committed; its batch fails and is logged
        with read_only(ctx.sessions) as session:
            assert PendingLedgerEvents(session).count() == 1
            assert SqlLedgerStore(session, org_id="").count() == 0
        _step(ctx, document_id, 1)  # the next batch carries both, in step order
        _assert_log_holds(ctx, [document_id], 2)
        engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_clock_set_back_never_sends_a_chain_back_in_time(backend: str, tmp_path: Path) -> None:
    with migrated_database(backend, tmp_path) as url:
        ctx, engine = node_on(url, tmp_path)
        owner = ctx.settings.node_id
        document_id = "SHP-20261124-KARS-1-ECMR-1"
        late, early = T0 + timedelta(hours=2), T0 + timedelta(hours=1)
        for step, at in enumerate((late, early)):
            with unit_of_work(ctx.sessions) as session:
                record_step_event(
                    ctx, session, owner, document_id, ECMR_STEPS[step], {"n": step}, at
                )
        with read_only(ctx.sessions) as session:
            chain = SqlLedgerStore(session, org_id=owner).entries_for_document(document_id)
        assert [e.recorded_at for e in chain] == [late, late]
        assert verify_chain(chain).ok
        engine.dispose()


def test_a_blank_event_is_refused_before_anything_commits(tmp_path: Path) -> None:
    with migrated_database("sqlite", tmp_path) as url:
        ctx, engine = node_on(url, tmp_path)
        with pytest.raises(InvalidRequestError, match="event_type must be a non-blank string"):
            _record_blank(ctx)
        with read_only(ctx.sessions) as session:
            assert PendingLedgerEvents(session).count() == 0
        engine.dispose()


def _record_blank(ctx: NodeContext) -> None:
    with unit_of_work(ctx.sessions) as session:
        record_step_event(ctx, session, ctx.settings.node_id, "SHP-1-ECMR-1", " ", {}, T0)
