"""KZ -> AZ -> GE -> TR over real NATS JetStream, each node with its own store and connection,
and the faults of the acceptance: the broker gone for a while, a node killed mid-stream, a
message published twice, a message delivered again after a consumer died before acknowledging.
In every case: no message lost, none applied twice (each node forwards what it applies in the
same transaction, so a lost or doubled message anywhere shows at TR)."""

from __future__ import annotations

import shutil
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from kervan.exchange.bus import NatsJetStreamBroker
from kervan.exchange.node import Node
from kervan.exchange.outbox import pending_count
from kervan.exchange.status import gap_asks, held_gaps, note_operator_ask, rejections
from kervan.signatures.keys import Ed25519Signer
from kervan.signatures.trustlist import TrustList
from kervan.store.schema import upgrade
from kervan.store.tables.exchange import OutboxRow
from tests.exchange.conftest import (
    AZ,
    CORRIDOR,
    GE,
    KZ,
    TR,
    Corridor,
    Store,
    drop_corridor,
    forwarding_handler,
    nats_brokers,
    run,
    wait_for,
)

pytestmark = pytest.mark.nats


async def stop_nodes(corridor: Corridor | None) -> None:
    if corridor is not None:
        await corridor.stop()


def exactly_once(stores: dict[str, Store], count: int) -> None:
    for code in CORRIDOR[1:]:
        effects = stores[code].effects(code)
        assert len(effects) == count, code
        assert set(effects.values()) == {1}, code
        assert stores[code].numbers(code) == list(range(count)), code


def nothing_refused(stores: dict[str, Store]) -> None:
    for code in CORRIDOR[1:]:
        with stores[code].sessions.begin() as session:
            assert rejections(session, code) == [], code


def test_messages_flow_along_the_corridor_once(
    nats_url: str,
    corridor_name: str,
    stores: dict[str, Store],
    signers: dict[str, Ed25519Signer],
    trust: TrustList,
) -> None:
    async def scenario() -> None:
        brokers = await nats_brokers(nats_url, corridor_name, CORRIDOR)
        corridor = None
        try:
            corridor = Corridor(stores, signers, trust, brokers.__getitem__)
            corridor.start()
            corridor.send_from_kz(range(40))
            await wait_for(lambda: len(stores[TR].effects(TR)) >= 40, "40 messages at TR")
            await corridor.stop()
        finally:
            await stop_nodes(corridor)
            await drop_corridor(nats_url, corridor_name, brokers)

    run(scenario())
    exactly_once(stores, 40)
    with stores[TR].sessions.begin() as session:
        assert rejections(session, TR) == []


def test_broker_gone_for_a_while_loses_nothing(
    nats_url: str,
    corridor_name: str,
    stores: dict[str, Store],
    signers: dict[str, Ed25519Signer],
    trust: TrustList,
) -> None:
    async def scenario() -> None:
        brokers = await nats_brokers(nats_url, corridor_name, CORRIDOR)
        corridor = None
        try:
            corridor = Corridor(stores, signers, trust, brokers.__getitem__)
            corridor.start()
            corridor.send_from_kz(range(20))
            await wait_for(lambda: len(stores[GE].effects(GE)) >= 5, "traffic at GE")
            for broker in brokers.values():
                await broker.close()
            corridor.send_from_kz(range(20, 50))
            with stores[KZ].sessions.begin() as session:
                assert pending_count(session, KZ) >= 30  # kept while the broker is away
            for broker in brokers.values():
                await broker.connect()
            await wait_for(lambda: len(stores[TR].effects(TR)) >= 50, "50 messages at TR")
            await corridor.stop()
        finally:
            await stop_nodes(corridor)
            await drop_corridor(nats_url, corridor_name, brokers)

    run(scenario())
    exactly_once(stores, 50)
    nothing_refused(stores)


def test_a_node_killed_mid_stream_and_restarted_loses_and_repeats_nothing(
    nats_url: str,
    corridor_name: str,
    stores: dict[str, Store],
    signers: dict[str, Ed25519Signer],
    trust: TrustList,
) -> None:
    async def scenario() -> None:
        brokers = await nats_brokers(nats_url, corridor_name, CORRIDOR)
        corridor = None
        try:
            corridor = Corridor(stores, signers, trust, brokers.__getitem__)
            corridor.start()
            corridor.send_from_kz(range(120))
            await wait_for(lambda: len(stores[AZ].effects(AZ)) >= 10, "AZ under way")
            # AZ dies: loops cancelled wherever they are, connection and engine gone.
            await corridor.nodes[AZ].kill()
            await brokers[AZ].close()
            stores[AZ].reopen()
            killed_at = len(stores[AZ].effects(AZ))
            corridor.send_from_kz(range(120, 150))
            brokers[AZ] = NatsJetStreamBroker(nats_url, corridor=corridor_name, ack_wait=2.0)
            await brokers[AZ].connect()
            corridor.nodes[AZ] = corridor.make_node(AZ)
            corridor.nodes[AZ].start()
            await wait_for(lambda: len(stores[TR].effects(TR)) >= 150, "150 messages at TR")
            assert killed_at < 150
            await corridor.stop()
        finally:
            await stop_nodes(corridor)
            await drop_corridor(nats_url, corridor_name, brokers)

    run(scenario())
    exactly_once(stores, 150)
    nothing_refused(stores)


def test_a_relay_that_dies_before_marking_publishes_again_and_nothing_doubles(
    nats_url: str,
    corridor_name: str,
    stores: dict[str, Store],
    signers: dict[str, Ed25519Signer],
    trust: TrustList,
) -> None:
    async def scenario() -> None:
        brokers = await nats_brokers(nats_url, corridor_name, (KZ, AZ))
        corridor = None
        try:
            corridor = Corridor(stores, signers, trust, brokers.__getitem__, (KZ, AZ))
            corridor.send_from_kz(range(10))
            assert await corridor.nodes[KZ].relay_once() == 10
            # The relay died after publishing and before its "sent" commit.
            with stores[KZ].sessions.begin() as session:
                session.execute(update(OutboxRow).values(sent_at=None))
            assert await corridor.nodes[KZ].relay_once() == 10
            assert brokers[KZ].duplicates == 10  # JetStream dropped them by Nats-Msg-Id
            while await corridor.nodes[AZ].consume_once():
                pass
            # Past JetStream's window (a fresh message id), the inbox still applies it once.
            with stores[KZ].sessions.begin() as session:
                first = session.scalars(select(OutboxRow.body).order_by(OutboxRow.seq)).first()
            assert first is not None
            await brokers[KZ].publish(AZ, "replay-after-window", first.encode())
            while await corridor.nodes[AZ].consume_once():
                pass
            corridor_counts.update(corridor.nodes[AZ].counts)
        finally:
            await stop_nodes(corridor)
            await drop_corridor(nats_url, corridor_name, brokers)

    corridor_counts: Counter[str] = Counter()
    run(scenario())
    effects = stores[AZ].effects(AZ)
    assert len(effects) == 10
    assert set(effects.values()) == {1}
    with stores[AZ].sessions.begin() as session:
        assert rejections(session, AZ) == []  # a duplicate, not a refusal
    assert corridor_counts["duplicate"] == 1


def test_a_consumer_that_dies_before_acknowledging_gets_the_messages_again_applied_once(
    nats_url: str,
    corridor_name: str,
    stores: dict[str, Store],
    signers: dict[str, Ed25519Signer],
    trust: TrustList,
) -> None:
    async def scenario() -> None:
        brokers = await nats_brokers(nats_url, corridor_name, (KZ, AZ), ack_wait=1.0)
        corridor = None
        try:
            corridor = Corridor(stores, signers, trust, brokers.__getitem__, (KZ, AZ))
            corridor.send_from_kz(range(8))
            await corridor.nodes[KZ].relay_once()
            inbox = corridor.nodes[AZ].inbox
            deliveries = await brokers[AZ].fetch(AZ, batch=8, timeout=5)
            assert len(deliveries) == 8
            for delivery in deliveries:
                with stores[AZ].sessions.begin() as session:
                    inbox.receive(session, delivery.data)
            # Committed, never acknowledged: the consumer dies here.
            await brokers[AZ].close()
            brokers[AZ] = NatsJetStreamBroker(nats_url, corridor=corridor_name, ack_wait=1.0)
            await brokers[AZ].connect()
            corridor.nodes[AZ] = corridor.make_node(AZ)
            again = 0
            for _ in range(200):  # bounded: redelivery comes after ack_wait (1 s)
                again += await corridor.nodes[AZ].consume_once()
                if again >= 8:
                    break
            assert again == 8
        finally:
            await stop_nodes(corridor)
            await drop_corridor(nats_url, corridor_name, brokers)

    run(scenario())
    assert set(stores[AZ].effects(AZ).values()) == {1}
    assert stores[AZ].numbers(AZ) == list(range(8))
    with stores[AZ].sessions.begin() as session:
        # Delivered again after the commit: duplicates, acknowledged, never refusals.
        assert rejections(session, AZ) == []


def test_a_gap_never_filled_is_asked_for_again_from_the_senders_channel(
    nats_url: str,
    corridor_name: str,
    stores: dict[str, Store],
    signers: dict[str, Ed25519Signer],
    trust: TrustList,
) -> None:
    async def scenario() -> None:
        brokers = await nats_brokers(nats_url, corridor_name, (KZ, AZ))
        corridor = None
        try:
            corridor = Corridor(stores, signers, trust, brokers.__getitem__, (KZ, AZ))
            corridor.send_from_kz(range(5))
            assert await corridor.nodes[KZ].relay_once() == 5
            # The first message is taken off AZ's consumer and acknowledged without reaching
            # the inbox (as a store restored from a backup taken before it would have lost it).
            (lost,) = await brokers[AZ].fetch(AZ, batch=1, timeout=5)
            assert b'"seq":1' in lost.data
            await lost.ack()
            node = corridor.nodes[AZ]
            while await node.consume_once():
                pass
            assert stores[AZ].numbers(AZ) == []  # message 1 is gone: 2..5 wait behind the gap
            assert await node.rerequest_gaps() == 1
            assert node.counts["rerequested"] == 1
        finally:
            await stop_nodes(corridor)
            await drop_corridor(nats_url, corridor_name, brokers)

    run(scenario())
    assert set(stores[AZ].effects(AZ).values()) == {1}
    assert stores[AZ].numbers(AZ) == list(range(5))
    with stores[AZ].sessions.begin() as session:
        assert rejections(session, AZ) == []
        assert held_gaps(session, AZ) == []


def test_a_gap_the_stream_cannot_fill_is_asked_for_less_often_and_at_once_for_an_operator(
    nats_url: str,
    corridor_name: str,
    stores: dict[str, Store],
    signers: dict[str, Ed25519Signer],
    trust: TrustList,
) -> None:
    """KZ's message 1 never reached the stream (marked sent, never published): AZ holds 2..5
    behind the gap. The node asks the stream once the gap is 30 s old, then after waits of
    30 s, 60 s, 120 s...; an operator's ask from the messages page has it ask at its next check
    (and counts as an ask)."""
    now = [datetime.now(UTC)]

    def clock() -> datetime:
        return now[0]

    async def scenario() -> None:
        brokers = await nats_brokers(nats_url, corridor_name, (KZ, AZ))
        corridor = None
        try:
            corridor = Corridor(stores, signers, trust, brokers.__getitem__, (KZ,))
            corridor.send_from_kz(range(5))
            with stores[KZ].sessions.begin() as session:
                session.execute(update(OutboxRow).where(OutboxRow.seq == 1).values(sent_at=clock()))
            assert await corridor.nodes[KZ].relay_once() == 4
            node = Node(AZ, sessions=stores[AZ].sessions, signer=signers[AZ], trust=trust,
                        broker=brokers[AZ], clock=clock, fetch_timeout=0.2)  # fmt: skip
            while await node.consume_once():
                pass
            asks: list[int] = []
            for step in (0, 30, 10, 25, 1, 60, 60):  # seconds: age 0, 30, 40, 65, 66, 126, 186
                now[0] += timedelta(seconds=step)
                if step == 1:
                    with stores[AZ].sessions.begin() as session:
                        assert note_operator_ask(session, AZ, KZ, "operator", clock())
                await node.rerequest_gaps(older_than=30)
                asks.append(node.counts["rerequested"])
            # Not yet; due at 30 s; 10 s later not; 35 s later (wait 30 s) due; the operator's
            # ask at once; after it, 60 s is not enough (the third wait is 120 s); 120 s is.
            assert asks == [0, 1, 1, 2, 3, 3, 4]
            with stores[AZ].sessions.begin() as session:
                (ask,) = gap_asks(session, AZ).values()
                assert (ask.sender, ask.first_held, ask.asks, ask.last_found) == (KZ, 2, 4, 0)
                assert ask.operator == "operator"
        finally:
            await stop_nodes(corridor)
            await drop_corridor(nats_url, corridor_name, brokers)

    run(scenario())
    assert stores[AZ].numbers(AZ) == []  # nothing applied out of order


def test_a_node_restored_from_a_backup_resyncs_from_the_stream_by_sequence(
    nats_url: str,
    corridor_name: str,
    tmp_path: Path,
    signers: dict[str, Ed25519Signer],
    trust: TrustList,
) -> None:
    """AZ's store is backed up after messages 1..3; 4 and 5 are applied and acknowledged; the
    store is restored from the backup. Nothing is pending at the broker and KZ sends nothing
    more, so no gap would ever show: the node's start asks the stream for KZ's messages after
    number 3 and applies 4 and 5, once."""
    stores = {code: Store(migrated_sqlite(tmp_path / code)) for code in (KZ, AZ)}
    database = tmp_path / AZ / "kervan.sqlite3"
    backup = tmp_path / "az-backup.sqlite3"

    async def scenario() -> None:
        brokers = await nats_brokers(nats_url, corridor_name, (KZ, AZ))
        corridor = None
        try:
            corridor = Corridor(stores, signers, trust, brokers.__getitem__, (KZ, AZ))
            corridor.send_from_kz(range(3))
            assert await corridor.nodes[KZ].relay_once() == 3
            while await corridor.nodes[AZ].consume_once():
                pass
            assert stores[AZ].numbers(AZ) == [0, 1, 2]
            stores[AZ].engine.dispose()
            shutil.copyfile(database, backup)  # the nightly backup, node at rest
            corridor.send_from_kz(range(3, 5))
            assert await corridor.nodes[KZ].relay_once() == 2
            while await corridor.nodes[AZ].consume_once():
                pass
            assert stores[AZ].numbers(AZ) == [0, 1, 2, 3, 4]
            await corridor.nodes[AZ].stop()
            stores[AZ].engine.dispose()
            shutil.copyfile(backup, database)  # the store is lost and restored
            stores[AZ].reopen()
            assert stores[AZ].numbers(AZ) == [0, 1, 2]
            # Without a re-sync the node would wait for ever: the broker has nothing for it.
            plain = corridor.make_node(AZ)
            assert await plain.consume_once() == 0
            restored = Node(
                AZ,
                sessions=stores[AZ].sessions,
                signer=signers[AZ],
                trust=trust,
                broker=brokers[AZ],
                handler=forwarding_handler(lambda: restored, GE),
                fetch_timeout=0.2,
                resync_on_start=True,
            )
            await restored.consume_once()
            assert restored.counts["resynced"] == 2
            assert await restored.resync() == 0  # caught up: nothing more to read
        finally:
            await stop_nodes(corridor)
            await drop_corridor(nats_url, corridor_name, brokers)

    try:
        run(scenario())
        assert stores[AZ].numbers(AZ) == [0, 1, 2, 3, 4]
        assert set(stores[AZ].effects(AZ).values()) == {1}
        with stores[AZ].sessions.begin() as session:
            assert rejections(session, AZ) == []
            assert held_gaps(session, AZ) == []
    finally:
        for store in stores.values():
            store.engine.dispose()


def migrated_sqlite(folder: Path) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{folder / 'kervan.sqlite3'}"
    upgrade(url)
    return url
