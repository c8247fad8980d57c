"""A Kervan node for one authority, and the all-in-one mode with several in one process.

A `Node` owns the authority's outbox (messages written in its transactions), the relay that
publishes them, and the consumer that feeds its inbox; each loop survives broker outages by
waiting and retrying, so a message committed to the outbox eventually reaches the receiving
inbox. The consumer acknowledges a message to the broker only after the inbox transaction
committed; a node killed in between gets it again and the inbox refuses it as a replay.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Final

from sqlalchemy.orm import Session, sessionmaker

from kervan.errors import BrokerUnavailableError
from kervan.exchange.bus import Broker
from kervan.exchange.channels import Clock, utc_now
from kervan.exchange.envelope import CrossBorderMessage, MessageType
from kervan.exchange.inbox import Handler, Inbox, Receipt
from kervan.exchange.outbox import Outbox, OutboxRelay, OutgoingMessage
from kervan.signatures.canonical import JsonValue
from kervan.signatures.keys import Signer
from kervan.signatures.trustlist import TrustList
from kervan.store.db import unit_of_work

log = logging.getLogger(__name__)
_MAX_BACKOFF: Final = 2.0


def record_only(session: Session, message: CrossBorderMessage) -> None:  # noqa: ARG001
    """The handler of a node that only keeps what it receives: the inbox row is the record."""
    log.info("%s received %s (%s)", message.receiver, message.id, message.type.value)


class Node:
    """One authority's node: outbox, relay and inbox consumer over one store and one broker."""

    def __init__(
        self,
        authority: str,
        *,
        sessions: sessionmaker[Session],
        signer: Signer,
        trust: TrustList,
        broker: Broker,
        handler: Handler = record_only,
        clock: Clock = utc_now,
        batch: int = 200,
        poll_interval: float = 0.02,
        fetch_timeout: float = 0.5,
    ) -> None:
        self.authority = authority
        self.sessions = sessions
        self.broker = broker
        self.outbox = Outbox(authority, signer, clock=clock)
        self.inbox = Inbox(authority, trust, handler, clock=clock)
        self.relay = OutboxRelay(sessions, authority, broker, batch=batch, clock=clock)
        self._batch = batch
        self._poll = poll_interval
        self._fetch_timeout = fetch_timeout
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()
        self.receipts: collections.deque[Receipt] = collections.deque(maxlen=100_000)

    def send(
        self,
        session: Session,
        receiver: str,
        message_type: MessageType,
        payload: Mapping[str, JsonValue],
    ) -> CrossBorderMessage:
        """Put a signed message for `receiver` into `session`'s transaction (the outbox)."""
        return self.outbox.enqueue(session, OutgoingMessage(receiver, message_type, payload))

    async def relay_once(self) -> int:
        """Publish one batch of unsent outbox rows; return how many went."""
        return await self.relay.relay_once()

    async def consume_once(self) -> int:
        """Fetch one batch for this authority, run it through the inbox in one transaction and
        acknowledge each message after the commit; return how many were fetched.

        If that transaction fails, each message is tried in a transaction of its own; one that
        still fails is nak'ed (it comes again) and the error logged.
        """
        deliveries = await self.broker.fetch(
            self.authority, batch=self._batch, timeout=self._fetch_timeout
        )
        if not deliveries:
            return 0
        try:
            with unit_of_work(self.sessions) as session:
                receipts = [self.inbox.receive(session, d.data) for d in deliveries]
        except Exception:
            log.exception("%s: a batch failed; taking its messages one by one", self.authority)
        else:
            self.receipts.extend(receipts)
            for delivery in deliveries:
                await delivery.ack()
            return len(deliveries)
        for delivery in deliveries:
            try:
                with unit_of_work(self.sessions) as session:
                    receipt = self.inbox.receive(session, delivery.data)
            except Exception:
                log.exception("%s could not store a received message; asking again", self.authority)
                await delivery.nak()
                continue
            self.receipts.append(receipt)
            await delivery.ack()
        return len(deliveries)

    def start(self) -> None:
        """Start the relay and consumer loops as tasks of the running event loop."""
        if self._tasks:
            return
        self._stopping.clear()
        self._tasks = [
            asyncio.create_task(self._loop(self.relay_once, idle=True), name="relay"),
            asyncio.create_task(self._loop(self.consume_once, idle=False), name="consume"),
        ]

    async def stop(self) -> None:
        """Stop both loops after their current step."""
        self._stopping.set()
        await self.kill()

    async def kill(self) -> None:
        """Cancel both loops wherever they are (a crash, as far as the broker can tell)."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        if tasks:
            # asyncio.wait, not awaiting each task: a cancellation of kill() itself goes through.
            await asyncio.wait(tasks)

    async def _loop(self, step: Callable[[], Awaitable[int]], *, idle: bool) -> None:
        backoff = self._poll
        while not self._stopping.is_set():
            _end_if_cancelled()
            try:
                done = await step()
                backoff = self._poll
            except BrokerUnavailableError as exc:
                log.warning("%s: broker unavailable (%s); retrying", self.authority, exc.message)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF)
                continue
            except Exception:
                log.exception("%s: exchange step failed; retrying", self.authority)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF)
                continue
            if idle and done == 0:
                await asyncio.sleep(self._poll)


def _end_if_cancelled() -> None:
    """End the running task if it was cancelled, even when a library under it swallowed the
    CancelledError (nats-py turns one into a publish or fetch error, or drops it while
    flushing): without this a killed node's loop would go on retrying."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class AllInOne:
    """Several authorities' nodes in one process (the embedded default): one broker, and one
    store or several; started and stopped together."""

    def __init__(self, nodes: Sequence[Node]) -> None:
        codes = [node.authority for node in nodes]
        if len(set(codes)) != len(codes):
            raise ValueError(f"each authority runs once; got {codes}")
        self.nodes = {node.authority: node for node in nodes}

    def __getitem__(self, authority: str) -> Node:
        return self.nodes[authority]

    def start(self) -> None:
        """Start every node's loops."""
        for node in self.nodes.values():
            node.start()

    async def stop(self) -> None:
        """Stop every node's loops."""
        for node in self.nodes.values():
            await node.stop()
