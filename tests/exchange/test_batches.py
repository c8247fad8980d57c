"""The exchange's hot path on both databases: a fetched batch judged in one transaction gets the
receipts the messages would get one by one, and a commit that writes outbox rows wakes the
relay instead of leaving them to its next poll."""

from __future__ import annotations

import asyncio
import contextlib
import json

from sqlalchemy import select

from kervan.exchange.bus import InProcessBroker
from kervan.exchange.envelope import MessageType
from kervan.exchange.inbox import Inbox
from kervan.exchange.node import Node
from kervan.exchange.status import held_gaps, rejections
from kervan.signatures.keys import Ed25519Signer
from kervan.signatures.trustlist import TrustList
from kervan.store.tables.exchange import ChannelRow, InboxRow
from tests.exchange.conftest import AZ, KZ, WAIT, Store, run
from tests.exchange.test_inbox import record, sent_by_kz

# Pre-arrival notices KZ customs sends AZ customs for containers leaving Aktau for Alat (Baku
# port): declared gross mass in kg of each.
MASSES = [24_180, 18_420, 26_500, 21_975, 19_300, 25_040]


def test_a_batch_in_one_transaction_gets_the_receipts_of_one_by_one(
    stores: dict[str, Store], signers: dict[str, Ed25519Signer], trust: TrustList
) -> None:
    first, second, third, fourth, fifth, sixth = sent_by_kz(stores[KZ], signers[KZ], MASSES)
    tampered = fourth.replace(b'"n":21975', b'"n":2197')
    inbox = Inbox(AZ, trust, record)
    batch = [first, third, third, second, tampered, fourth, first, b"\x00", sixth, fifth]
    with stores[AZ].sessions.begin() as session:
        receipts = inbox.receive_all(session, batch)
    assert [r.outcome for r in receipts] == [
        "applied",
        "held",  # 2 is missing
        "duplicate",  # the held message again
        "applied",  # 2, then the held 3 after it
        "rejected",  # a byte changed: the signature fails
        "applied",
        "duplicate",  # the applied message again
        "dead_lettered",  # not an envelope
        "held",  # 5 is missing
        "applied",  # 5, then the held 6
    ]
    assert receipts[3].applied == (f"{KZ}:{AZ}:2", f"{KZ}:{AZ}:3")
    assert receipts[9].applied == (f"{KZ}:{AZ}:5", f"{KZ}:{AZ}:6")
    # Each applied once, in channel order; the head is at 6; nothing held or left over.
    assert stores[AZ].numbers(AZ) == sorted(MASSES)
    assert stores[AZ].effects(AZ) == {f"{KZ}:{AZ}:{seq}": 1 for seq in range(1, 7)}
    with stores[AZ].sessions.begin() as session:
        rows = session.execute(select(InboxRow.seq, InboxRow.outcome).order_by(InboxRow.seq)).all()
        assert [tuple(row) for row in rows] == [(seq, "applied") for seq in range(1, 7)]
        head = session.get(ChannelRow, (AZ, "in", KZ))
        assert head is not None
        assert head.last_seq == 6
        assert held_gaps(session, AZ) == []
        assert [r.reason for r in rejections(session, AZ)] == ["forged"]
    # The same messages in a later batch: duplicates, acknowledged, never refusals.
    with stores[AZ].sessions.begin() as session:
        again = inbox.receive_all(session, [sixth, first, fifth])
    assert [r.outcome for r in again] == ["duplicate"] * 3
    assert stores[AZ].effects(AZ) == {f"{KZ}:{AZ}:{seq}": 1 for seq in range(1, 7)}


def test_a_gap_left_open_by_one_batch_is_closed_by_the_next(
    stores: dict[str, Store], signers: dict[str, Ed25519Signer], trust: TrustList
) -> None:
    messages = sent_by_kz(stores[KZ], signers[KZ], MASSES)
    inbox = Inbox(AZ, trust, record)
    with stores[AZ].sessions.begin() as session:
        held = inbox.receive_all(session, [messages[0], *messages[2:]])
    assert [r.outcome for r in held] == ["applied"] + ["held"] * 4
    assert stores[AZ].numbers(AZ) == [MASSES[0]]
    with stores[AZ].sessions.begin() as session:
        (closing,) = inbox.receive_all(session, [messages[1]])
    assert closing.applied == tuple(f"{KZ}:{AZ}:{seq}" for seq in range(2, 7))
    assert stores[AZ].numbers(AZ) == sorted(MASSES)


def test_a_commit_that_writes_the_outbox_wakes_the_relay(
    stores: dict[str, Store], signers: dict[str, Ed25519Signer], trust: TrustList
) -> None:
    broker = InProcessBroker()
    node = Node(KZ, sessions=stores[KZ].sessions, signer=signers[KZ], trust=trust, broker=broker)

    def declare(mass: int) -> None:
        with node.sessions.begin() as session:
            node.send(session, AZ, MessageType.PRE_ARRIVAL, {"n": mass})

    async def scenario() -> None:
        assert await node.relay_once() == 0  # nothing waits; the relay is ready to be woken
        # A wait far longer than the test may take: only the commit can end it.
        woken = asyncio.create_task(node.relay.wait(3600.0))
        await asyncio.to_thread(declare, MASSES[0])  # a writer thread, as a request's
        await asyncio.wait_for(woken, WAIT)
        assert await node.relay_once() == 1
        # A transaction that rolls back leaves nothing to relay.
        with contextlib.suppress(RuntimeError), node.sessions.begin() as session:
            node.send(session, AZ, MessageType.PRE_ARRIVAL, {"n": MASSES[1]})
            raise RuntimeError("the declaration is withdrawn")
        assert await node.relay_once() == 0
        (delivered,) = await broker.fetch(AZ, batch=10, timeout=1.0)
        assert json.loads(delivered.data)["payload"] == {"n": MASSES[0]}

    run(scenario())
