"""A node's relay and consumer loops: a killed node stops, whatever its broker library does with
the cancellation; a message failing every delivery is dead-lettered; a new trust list file
applies without a restart; the node's /health, /ready and /metrics."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from kervan.cli.node_http import probe_app
from kervan.errors import BrokerUnavailableError
from kervan.exchange.bus import Delivery, InProcessBroker
from kervan.exchange.envelope import CrossBorderMessage, MessageType
from kervan.exchange.node import Node
from kervan.exchange.outbox import IDLE_POLL_MAX
from kervan.exchange.status import dead_letters, rejections
from kervan.exchange.trustfile import TrustListFile, write_atomically
from kervan.signatures.keys import Ed25519Signer
from kervan.signatures.trustlist import TrustList
from kervan.store.repositories.outbox import WaitingMessage
from tests.exchange.conftest import AZ, KZ, T0, Store, run


class CancellationSwallowingBroker(InProcessBroker):
    """The in-process broker behaving as nats-py does under a cancelled task: the CancelledError
    raised while a fetch waits comes out as a broker error instead."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting = asyncio.Event()

    async def fetch(self, receiver: str, *, batch: int, timeout: float) -> list[Delivery]:
        self.waiting.set()
        try:
            return await super().fetch(receiver, batch=batch, timeout=timeout)
        except asyncio.CancelledError:
            raise BrokerUnavailableError("the fetch was interrupted") from None


def test_a_killed_node_stops_even_when_its_broker_swallows_the_cancellation(
    stores: dict[str, Store], signers: dict[str, Ed25519Signer], trust: TrustList
) -> None:
    async def scenario() -> None:
        broker = CancellationSwallowingBroker()
        node = Node(
            AZ,
            sessions=stores[AZ].sessions,
            signer=signers[AZ],
            trust=trust,
            broker=broker,
            fetch_timeout=2.0,
        )
        node.start()
        await broker.waiting.wait()  # the consumer waits inside the broker's fetch
        try:
            await asyncio.wait_for(node.kill(), 10)  # bounded: a loop that goes on never ends
        finally:
            await node.stop()  # ends such a loop after its fetch, so the test fails, not hangs
        # Dead, it takes nothing more: a message for AZ stays with the broker.
        await broker.publish(AZ, "KZ-customs:AZ-customs:1", b"{}")
        await asyncio.sleep(0.2)
        assert broker.queued(AZ) == 1

    run(scenario())


def failing_handler(session: Session, message: CrossBorderMessage) -> None:
    """A handler with a fault (not a refusal): every try rolls back."""
    raise RuntimeError("the handler's database table is missing")


def test_a_message_failing_every_delivery_is_dead_lettered_and_the_next_one_flows(
    stores: dict[str, Store], signers: dict[str, Ed25519Signer], trust: TrustList
) -> None:
    async def scenario() -> None:
        broker = InProcessBroker()
        sender = Node(KZ, sessions=stores[KZ].sessions, signer=signers[KZ], trust=trust,
                      broker=broker)  # fmt: skip
        node = Node(AZ, sessions=stores[AZ].sessions, signer=signers[AZ], trust=trust,
                    broker=broker, handler=failing_handler, max_deliveries=3)  # fmt: skip
        with stores[KZ].sessions.begin() as session:
            sender.send(session, AZ, MessageType.PRE_ARRIVAL, {"n": 1})
        await sender.relay_once()
        for _ in range(3):
            assert await node.consume_once() == 1
        assert broker.queued(AZ) == 0  # acknowledged on the third delivery, not asked again
        assert node.counts["dead_lettered"] == 1

    run(scenario())
    with stores[AZ].sessions.begin() as session:
        (dead,) = dead_letters(session, AZ)
        assert (dead.reason, dead.message_id, dead.deliveries) == (
            "max_deliveries",
            f"{KZ}:{AZ}:1",
            3,
        )
        assert "handler's database table is missing" in dead.detail
        assert rejections(session, AZ) == []


WRITER_PROCESS = """
import sys
from kervan.exchange.envelope import MessageType
from kervan.exchange.outbox import Outbox, OutgoingMessage
from kervan.signatures.keys import Ed25519Signer
from kervan.store.db import make_engine, make_session_factory, unit_of_work

sessions = make_session_factory(make_engine(sys.argv[1]))
outbox = Outbox(sys.argv[2], Ed25519Signer.generate("other-process", party=sys.argv[2]))
with unit_of_work(sessions) as session:
    outbox.enqueue(session, OutgoingMessage(sys.argv[3], MessageType.PRE_ARRIVAL, {"n": 1}))
"""


def test_an_idle_relay_polls_less_and_is_told_of_what_another_process_wrote(
    stores: dict[str, Store], signers: dict[str, Ed25519Signer], trust: TrustList
) -> None:
    seen: dict[str, int] = {}

    async def scenario() -> None:
        broker = InProcessBroker()
        node = Node(KZ, sessions=stores[KZ].sessions, signer=signers[KZ], trust=trust,
                    broker=broker)  # fmt: skip
        polls = 0
        look = node.relay._waiting

        def counted() -> list[WaitingMessage]:
            nonlocal polls
            polls += 1
            return look()

        node.relay._waiting = counted  # type: ignore[method-assign]
        wakes = 0
        wake = node.relay.wake

        def counted_wake() -> None:
            nonlocal wakes
            wakes += 1
            wake()

        node.relay.wake = counted_wake  # type: ignore[method-assign]
        node.start()
        try:
            await asyncio.sleep(1.5)
            idle_polls = polls
            # Written by another OS process: no wake-up of this process reaches the relay.
            writer = await asyncio.create_subprocess_exec(
                sys.executable, "-c", WRITER_PROCESS, stores[KZ].url, KZ, AZ
            )
            assert await writer.wait() == 0
            for _ in range(200):
                if broker.queued(AZ):
                    break
                await asyncio.sleep(0.05)
        finally:
            await node.stop()
        seen.update(idle_polls=idle_polls, relayed=broker.queued(AZ), wakes=wakes)

    run(scenario())
    # Polling every 20 ms would look 75 times in 1.5 s; backing off to IDLE_POLL_MAX, 8.
    assert 2 <= seen["idle_polls"] <= 1.5 / IDLE_POLL_MAX + 6
    assert seen["relayed"] == 1
    # PostgreSQL signals the other process's commit (NOTIFY): the relay is woken, not polled.
    # SQLite has no such signal: the poll found it.
    assert seen["wakes"] == (1 if stores[KZ].engine.dialect.name == "postgresql" else 0)


def test_a_new_trust_list_file_applies_without_a_restart_and_the_probes_answer(
    stores: dict[str, Store], signers: dict[str, Ed25519Signer], trust: TrustList, tmp_path: Path
) -> None:
    path = tmp_path / "trust-list.json"
    write_atomically(path, json.dumps(trust.to_jwks()))
    trust_file = TrustListFile(path, interval=0.0)

    async def scenario() -> None:
        broker = InProcessBroker()
        sender = Node(KZ, sessions=stores[KZ].sessions, signer=signers[KZ], trust=trust,
                      broker=broker)  # fmt: skip
        node = Node(AZ, sessions=stores[AZ].sessions, signer=signers[AZ], trust=trust_file,
                    broker=broker)  # fmt: skip
        probes = TestClient(probe_app([node]))
        assert probes.get("/health").json() == {"status": "ok", "authorities": [AZ]}
        assert probes.get("/ready").status_code == 200
        with stores[KZ].sessions.begin() as session:
            sender.send(session, AZ, MessageType.PRE_ARRIVAL, {"n": 1})
            sender.send(session, AZ, MessageType.PRE_ARRIVAL, {"n": 2})
        await sender.relay_once()
        deliveries = await broker.fetch(AZ, batch=1, timeout=1)  # 1 waits, unacknowledged
        assert await node.consume_once() == 1  # 2 is held behind the gap
        # KZ's key revoked in the file: the running node refuses KZ's next message.
        revoked = TrustList.from_jwks(trust.to_jwks())
        revoked.revoke(signers[KZ].kid, at=T0 + timedelta(hours=1))
        write_atomically(path, json.dumps(revoked.to_jwks()) + " ")
        await deliveries[0].nak()
        assert await node.consume_once() == 1
        assert trust_file.reloads == 1
        metrics = probes.get("/metrics").text
        assert (
            f'kervan_exchange_refusals_total{{authority="{AZ}",reason="key_revoked"}} 1.0'
            in metrics
        )
        assert f'kervan_exchange_held_messages{{authority="{AZ}",sender="{KZ}"}} 1.0' in metrics
        assert f'kervan_exchange_held_gaps{{authority="{AZ}"}} 1.0' in metrics
        assert f'kervan_exchange_received_total{{authority="{AZ}",outcome="held"}} 1.0' in metrics
        await broker.close()
        assert probes.get("/ready").status_code == 503
        assert "broker unreachable" in probes.get("/ready").text

    run(scenario())
