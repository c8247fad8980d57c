"""A node's relay and consumer loops: a killed node stops, whatever its broker library does with
the cancellation."""

from __future__ import annotations

import asyncio

from kervan.errors import BrokerUnavailableError
from kervan.exchange.bus import Delivery, InProcessBroker
from kervan.exchange.node import Node
from kervan.signatures.keys import Ed25519Signer
from kervan.signatures.trustlist import TrustList
from tests.exchange.conftest import AZ, Store, run


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
