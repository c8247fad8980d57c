"""A Kervan node for one authority, and the all-in-one mode with several in one process.

A `Node` owns the authority's outbox (messages written in its transactions), the relay that
publishes them, and the consumer that feeds its inbox; each loop survives broker outages by
waiting and retrying, so a message committed to the outbox eventually reaches the receiving
inbox. The consumer acknowledges a message to the broker only after the inbox transaction
committed; a node killed in between gets it again and the inbox counts it as a duplicate.

The inbox's database work runs in a worker thread, so a slow commit never stalls the event loop
(a stalled loop misses acknowledgements and the broker redelivers). A message whose processing
fails is asked for again, up to `max_deliveries` times, then dead-lettered and acknowledged.
With `resync_on_start`, the node first asks the stream again for what each sender sent after
the last message its store holds (`resync`: a store restored from a backup). A sequence gap
older than `gap_timeout` is asked for again from the sender's channel in the stream (when the
broker keeps one), then less and less often, and at once when an operator asks for it from the
authority's messages page; what is still missing stays visible as a held gap for the operator
to skip.
`trust` may be a `TrustListFile`: a new trust list written there applies to the messages
received from then on, without a restart.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Final, Protocol

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from kervan.errors import BrokerUnavailableError, KervanError
from kervan.exchange.bus import Broker, Delivery
from kervan.exchange.channels import Clock, utc_now
from kervan.exchange.envelope import CrossBorderMessage, MessageType
from kervan.exchange.inbox import Handler, Inbox, Receipt
from kervan.exchange.outbox import Outbox, OutboxRelay, OutgoingMessage
from kervan.exchange.status import (
    HeldGap,
    channel_heads,
    gaps_due,
    note_node_ask,
    rejections,
)
from kervan.exchange.worker import Worker
from kervan.signatures.canonical import JsonValue
from kervan.signatures.keys import Signer
from kervan.signatures.trustlist import TrustList
from kervan.store.commit_signals import listen_conninfo, listen_for_outbox_commits
from kervan.store.db import unit_of_work

log = logging.getLogger(__name__)
_MAX_BACKOFF: Final = 5.0
_HOUSEKEEPING: Final = 2.0


class TrustSource(Protocol):
    """Where a node takes the trust list in force from (re-read when it changes)."""

    def current(self) -> TrustList: ...


class _Fixed:
    def __init__(self, trust: TrustList) -> None:
        self._trust = trust

    def current(self) -> TrustList:
        return self._trust


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
        trust: TrustList | TrustSource,
        broker: Broker,
        handler: Handler = record_only,
        clock: Clock = utc_now,
        batch: int = 200,
        poll_interval: float = 0.02,
        fetch_timeout: float = 0.5,
        max_deliveries: int = 5,
        gap_timeout: float = 30.0,
        resync_on_start: bool = False,
    ) -> None:
        self.authority = authority
        self.sessions = sessions
        self.broker = broker
        self.trust = _Fixed(trust) if isinstance(trust, TrustList) else trust
        self.outbox = Outbox(authority, signer, clock=clock)
        self.inbox = Inbox(authority, self.trust.current(), handler, clock=clock)
        self.max_deliveries = max_deliveries
        self.clock = clock
        self.gap_timeout = gap_timeout
        self._resync_pending = resync_on_start
        self._gaps_checked = time.monotonic()
        self.counts: collections.Counter[str] = collections.Counter()
        self.broker_pending = 0
        # One worker: the node's inbox transactions run one after another, as on the loop.
        self._worker = Worker(f"{authority}-inbox")
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
        """Fetch one batch for this authority, run it through the inbox in one transaction
        (in a worker thread) and acknowledge each message after the commit; return how many
        were fetched.

        If that transaction fails, each message is tried in a transaction of its own; one that
        still fails is nak'ed (it comes again) and the error logged, or, on its
        `max_deliveries`th delivery, dead-lettered and acknowledged.
        """
        self.inbox.trust = self.trust.current()
        if self._resync_pending:
            await self.resync()
            self._resync_pending = False
        if time.monotonic() - self._gaps_checked >= _HOUSEKEEPING:
            self._gaps_checked = time.monotonic()
            await self._housekeeping()
        deliveries = await self.broker.fetch(
            self.authority, batch=self._batch, timeout=self._fetch_timeout
        )
        if not deliveries:
            return 0
        try:
            receipts = await self._worker.run(self._receive_all, [d.data for d in deliveries])
        except Exception:
            log.exception("%s: a batch failed; taking its messages one by one", self.authority)
        else:
            self._count(receipts)
            for delivery in deliveries:
                await delivery.ack()
            return len(deliveries)
        for delivery in deliveries:
            await self._one_by_one(delivery)
        return len(deliveries)

    async def _housekeeping(self) -> None:
        pending: Callable[[str], Awaitable[int]] | None = getattr(self.broker, "pending", None)
        if pending is not None:
            self.broker_pending = await pending(self.authority)
        await self.rerequest_gaps(older_than=self.gap_timeout)

    def broker_connected(self) -> bool:
        """Whether the broker can be reached now (as far as this process knows)."""
        return bool(getattr(self.broker, "connected", True))

    async def _one_by_one(self, delivery: Delivery) -> None:
        try:
            receipt = await self._worker.run(self._receive_all, [delivery.data])
        except Exception as exc:
            if delivery.deliveries < self.max_deliveries:
                log.exception("%s could not store a received message; asking again", self.authority)
                await delivery.nak()
                return
            await self._worker.run(self._dead_letter, delivery, exc)
            self.counts["dead_lettered"] += 1
            await delivery.ack()
            return
        self._count(receipt)
        await delivery.ack()

    def _receive_all(self, messages: list[bytes]) -> list[Receipt]:
        with unit_of_work(self.sessions) as session:
            return self.inbox.receive_all(session, messages)

    def _dead_letter(self, delivery: Delivery, exc: Exception) -> None:
        with unit_of_work(self.sessions) as session:
            self.inbox.dead_letter(
                session,
                delivery.data,
                "max_deliveries",
                f"failed on each of {delivery.deliveries} deliveries; last error {exc!r}",
                deliveries=delivery.deliveries,
            )

    def _count(self, receipts: list[Receipt]) -> None:
        self.receipts.extend(receipts)
        for receipt in receipts:
            self.counts[receipt.outcome] += 1

    async def rerequest_gaps(self, *, older_than: float = 0.0) -> int:
        """Ask the broker again for the messages missing before each held gap that is due (when
        it can read a sender's channel from its stream) and run them through the inbox; return
        how many messages came back.

        A gap is due once it is `older_than` seconds old, then after waits of `older_than`,
        twice that, four times... (at most an hour: each ask reads the sender's channel), and
        at once when an operator asked for it on the authority's messages page."""
        read: Callable[[str, str], Awaitable[list[bytes]]] | None = getattr(
            self.broker, "read_channel", None
        )
        if read is None:
            return 0
        # In the worker, as every database step of the loops: a query on the event loop would
        # hold up the acknowledgements and fetches waiting there.
        gaps = await self._worker.run(self._gaps_due, older_than)
        found = 0
        for gap in gaps:
            log.warning(
                "%s asks again for %s's messages %d..%d",
                self.authority,
                gap.sender,
                gap.missing.start,
                gap.missing.stop - 1,
            )
            self.counts["rerequested"] += 1
            messages: list[bytes] = await read(self.authority, gap.sender)
            wanted = [data for data in messages if _seq_of(data) in gap.missing]
            if wanted:
                self._count(await self._worker.run(self._receive_all, wanted))
                found += len(wanted)
            await self._worker.run(self._asked, gap, len(wanted))
        return found

    def _gaps_due(self, older_than: float) -> list[HeldGap]:
        now = self.clock()
        with unit_of_work(self.sessions) as session:
            return gaps_due(session, self.authority, now, first_after=older_than)

    def _asked(self, gap: HeldGap, found: int) -> None:
        with unit_of_work(self.sessions) as session:
            note_node_ask(session, self.authority, gap, self.clock(), found)

    async def resync(self) -> int:
        """Ask the stream again for each sender's messages numbered after the last one this
        node's store holds, and run them through the inbox; return how many came back.

        This is how a node restored from a backup catches up: the broker's consumer had its
        later messages acknowledged, the store no longer holds them, and no new message may
        come to open a gap. The senders are every party of the trust list and every channel
        the store knows; what the store holds already counts as a duplicate."""
        read: Callable[[str, str], Awaitable[list[bytes]]] | None = getattr(
            self.broker, "read_channel", None
        )
        if read is None:
            return 0
        with unit_of_work(self.sessions) as session:
            heads = channel_heads(session, self.authority)
            # A message refused before (a revoked key, say) is not judged, and refused, again.
            refused = {r.message_id for r in rejections(session, self.authority)}
        parties = {key.party for key in self.trust.current()}
        found = 0
        for sender in sorted((parties | set(heads)) - {self.authority}):
            head = heads.get(sender, 0)
            messages: list[bytes] = await read(self.authority, sender)
            wanted = [
                data
                for data in messages
                if (_seq_of(data) or 0) > head and _id_of(data) not in refused
            ]
            if wanted:
                log.warning(
                    "%s re-syncs %d message(s) from %s after number %d",
                    self.authority,
                    len(wanted),
                    sender,
                    head,
                )
                receipts = await self._worker.run(self._receive_all, wanted)
                self._count(receipts)
                self.counts["resynced"] += sum(r.outcome == "applied" for r in receipts)
                found += len(wanted)
        return found

    def start(self) -> None:
        """Start the relay and consumer loops as tasks of the running event loop."""
        if self._tasks:
            return
        self._stopping.clear()
        self._tasks = [
            asyncio.create_task(self._loop(self.relay_once, idle=self.relay.wait), name="relay"),
            asyncio.create_task(self._loop(self.consume_once, idle=None), name="consume"),
        ]
        bind = self.sessions.kw.get("bind")
        conninfo = listen_conninfo(bind) if isinstance(bind, Engine) else None
        if conninfo is not None:
            # Outbox rows another process commits wake the relay (else its poll finds them).
            self._tasks.append(
                asyncio.create_task(
                    listen_for_outbox_commits(conninfo, self._commit_signalled),
                    name="outbox-commits",
                )
            )

    def _commit_signalled(self, authority: str) -> None:
        if authority == self.authority:
            self.relay.wake()

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
        # A transaction under way in a worker ends (commits or rolls back) unacknowledged, as
        # in a crash after the commit; it must not outlive the node's store.
        await self._worker.settle()
        await self.relay.settle()

    async def _loop(
        self,
        step: Callable[[], Awaitable[int]],
        *,
        idle: Callable[[float], Awaitable[None]] | None,
    ) -> None:
        """Run `step` until stopped, backing off while it fails; when it found nothing to do,
        `idle(poll_interval)` waits for the next work."""
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
            if idle is not None and done == 0:
                await idle(self._poll)


def _id_of(data: bytes) -> str | None:
    try:
        return CrossBorderMessage.from_bytes(data).id
    except KervanError:
        return None


def _seq_of(data: bytes) -> int | None:
    try:
        return CrossBorderMessage.from_bytes(data).seq
    except KervanError:
        return None


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
