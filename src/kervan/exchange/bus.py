"""Brokers that carry signed messages from the outbox relay to the receiving node's inbox.

`Broker` is what the relay and the consumer need: publish to a receiving authority with the
message id, fetch a batch for an authority, acknowledge each message only after the inbox has
committed it (at-least-once; the inbox makes it exactly-once in effect).

- `InProcessBroker` (default, one process): queues per authority, de-duplication by message id,
  unacknowledged messages come back after `ack_wait` seconds.
- `NatsJetStreamBroker` (production): one stream per corridor (`KERVAN_<CORRIDOR>`, subjects
  `kervan.<corridor>.<receiver>.<sender>`, so the server's permissions can let an authority
  publish only as itself), `Nats-Msg-Id` = message id for JetStream's de-duplication, a durable
  pull consumer per receiving authority (named after it) with explicit acks. The connection
  comes back by itself after an outage, for as long as it lasts (see `NatsJetStreamBroker`).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import re
import time
from collections.abc import Awaitable
from typing import Final, Protocol

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StreamConfig
from nats.js.errors import NotFoundError as JsNotFoundError

from kervan.errors import BrokerUnavailableError

log = logging.getLogger(__name__)
_NAME: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")
_NATS_ERRORS: Final = (nats.errors.Error, nats.js.errors.Error, OSError, asyncio.TimeoutError)


class Delivery(Protocol):
    """One message handed to a consumer; `ack` after the inbox commit, `nak` to get it again.
    `deliveries` counts this delivery and the ones before it (1 the first time)."""

    @property
    def data(self) -> bytes: ...

    @property
    def deliveries(self) -> int: ...

    async def ack(self) -> None: ...

    async def nak(self) -> None: ...


class Broker(Protocol):
    """Carries message bytes to receiving authorities, at least once."""

    async def publish(self, receiver: str, message_id: str, data: bytes) -> None:
        """Hand `data` to the broker for `receiver`; return once the broker has stored it.
        Raises BrokerUnavailableError when it cannot."""
        ...

    async def fetch(self, receiver: str, *, batch: int, timeout: float) -> list[Delivery]:
        """Return up to `batch` messages for `receiver`, waiting at most `timeout` seconds for
        the first; [] when none came. Raises BrokerUnavailableError when it cannot."""
        ...

    async def close(self) -> None:
        """Let go of connections (messages already stored stay with the broker)."""
        ...


def _checked(name: str, what: str) -> str:
    if _NAME.fullmatch(name) is None:
        raise ValueError(f"{what} {name!r} must be 1-64 letters, digits, '_' or '-'")
    return name


# -- in-process --------------------------------------------------------------------------------


class _InProcessDelivery:
    __slots__ = ("_broker", "_done", "_message_id", "_receiver", "data", "deliveries")

    def __init__(
        self, broker: InProcessBroker, receiver: str, message_id: str, data: bytes, deliveries: int
    ) -> None:
        self._broker = broker
        self._receiver = receiver
        self._message_id = message_id
        self._done = False
        self.data = data
        self.deliveries = deliveries

    async def ack(self) -> None:
        if not self._done:
            self._done = True
            self._broker._settle(self._receiver, self._message_id, requeue=False)

    async def nak(self) -> None:
        if not self._done:
            self._done = True
            self._broker._settle(self._receiver, self._message_id, requeue=True)


class InProcessBroker:
    """The default broker for nodes in one process (see the module docstring).

    `close()` makes publish and fetch fail with BrokerUnavailableError until `open()`, which is
    how an outage is simulated; stored messages survive it, as they would on a real broker.
    """

    def __init__(self, *, ack_wait: float = 30.0, duplicate_window: int = 1_000_000) -> None:
        self._ack_wait = ack_wait
        self._window = duplicate_window
        self._queues: dict[str, collections.deque[tuple[str, bytes]]] = {}
        self._in_flight: dict[str, dict[str, tuple[float, bytes]]] = {}
        self._seen: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._arrived: dict[str, asyncio.Event] = {}
        self._delivered: collections.Counter[tuple[str, str]] = collections.Counter()
        self._open = True
        self.duplicates = 0

    def open(self) -> None:
        """Accept publishes and fetches again after `close()`."""
        self._open = True

    async def close(self) -> None:
        """Refuse publishes and fetches until `open()` (messages stay queued)."""
        self._open = False

    async def publish(self, receiver: str, message_id: str, data: bytes) -> None:
        """Queue `data` for `receiver`, dropping a message id already seen (like JetStream)."""
        self._check_open()
        if message_id in self._seen:
            self.duplicates += 1
            return
        self._seen[message_id] = None
        if len(self._seen) > self._window:
            self._seen.popitem(last=False)
        self._queue(receiver).append((message_id, data))
        self._event(receiver).set()

    async def fetch(self, receiver: str, *, batch: int, timeout: float) -> list[Delivery]:
        """Return up to `batch` queued messages for `receiver` (unacknowledged ones whose
        `ack_wait` passed come first)."""
        self._check_open()
        self._requeue_expired(receiver)
        queue, event = self._queue(receiver), self._event(receiver)
        if not queue:
            event.clear()
            try:
                await asyncio.wait_for(event.wait(), timeout)
            except TimeoutError:
                return []
            self._check_open()
        flights = self._in_flight.setdefault(receiver, {})
        out: list[Delivery] = []
        deadline = time.monotonic() + self._ack_wait
        while queue and len(out) < batch:
            ident, data = queue.popleft()
            flights[ident] = (deadline, data)
            self._delivered[receiver, ident] += 1
            count = self._delivered[receiver, ident]
            out.append(_InProcessDelivery(self, receiver, ident, data, count))
        return out

    @property
    def connected(self) -> bool:
        """Whether publish and fetch work (False between `close()` and `open()`)."""
        return self._open

    async def pending(self, receiver: str) -> int:
        """Messages for `receiver` not yet acknowledged (queued or handed out)."""
        return self.queued(receiver) + len(self._in_flight.get(receiver, {}))

    def queued(self, receiver: str) -> int:
        """Messages waiting for `receiver` (not counting those handed out and unacknowledged)."""
        return len(self._queue(receiver))

    def _settle(self, receiver: str, message_id: str, *, requeue: bool) -> None:
        flight = self._in_flight.get(receiver, {}).pop(message_id, None)
        if not requeue:
            self._delivered.pop((receiver, message_id), None)
        if requeue and flight is not None:
            self._queue(receiver).appendleft((message_id, flight[1]))
            self._event(receiver).set()

    def _requeue_expired(self, receiver: str) -> None:
        flights = self._in_flight.get(receiver, {})
        now = time.monotonic()
        expired = sorted(ident for ident, (deadline, _) in flights.items() if deadline <= now)
        for ident in reversed(expired):
            self._queue(receiver).appendleft((ident, flights.pop(ident)[1]))

    def _check_open(self) -> None:
        if not self._open:
            raise BrokerUnavailableError("the in-process broker is closed")

    def _queue(self, receiver: str) -> collections.deque[tuple[str, bytes]]:
        return self._queues.setdefault(receiver, collections.deque())

    def _event(self, receiver: str) -> asyncio.Event:
        return self._arrived.setdefault(receiver, asyncio.Event())


# -- NATS JetStream ----------------------------------------------------------------------------


class _NatsDelivery:
    __slots__ = ("_msg", "data", "deliveries")

    def __init__(self, msg: Msg) -> None:
        self._msg = msg
        self.data = msg.data
        self.deliveries = int(msg.metadata.num_delivered or 1)

    async def ack(self) -> None:
        try:
            await self._msg.ack()
        except _NATS_ERRORS as exc:
            # Unacknowledged, it comes back after ack_wait and the inbox sees it as a duplicate.
            raise BrokerUnavailableError(f"cannot acknowledge a NATS message: {exc!r}") from exc

    async def nak(self) -> None:
        try:
            # Not at once: a message that failed is likely to fail again straight away.
            await self._msg.nak(delay=min(0.5 * self.deliveries, 10.0))
        except _NATS_ERRORS as exc:
            raise BrokerUnavailableError(f"cannot nak a NATS message: {exc!r}") from exc


def shown_url(url: str) -> str:
    """`url` without the password it may carry (nats://user:password@host -> nats://user@host)."""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at:
        return url
    return f"{scheme}{sep}{credentials.partition(':')[0]}@{host}"


def corridor_stream(corridor: str) -> str:
    """The JetStream stream of `corridor`, e.g. KERVAN_MIDDLE."""
    return f"KERVAN_{_checked(corridor, 'corridor').upper().replace('-', '_')}"


class NatsJetStreamBroker:
    """NATS JetStream as the broker (see the module docstring). Call `connect()` first;
    `close()` then `connect()` again is a broker outage and its end.

    An outage needs nobody: the client reconnects by itself (`reconnect_attempts` tries,
    `reconnect_wait` seconds apart, re-subscribing); if it gives up, the next publish or fetch
    opens a new connection, and the node's loops call again with backoff - for ever. Credentials
    come in the URL (nats://user:password@host:4222); `inbox_prefix` is where replies come back
    (the server's permissions give each authority its own).
    """

    def __init__(
        self,
        url: str,
        *,
        corridor: str = "middle",
        ack_wait: float = 30.0,
        duplicate_window: float = 120.0,
        connect_timeout: float = 2.0,
        max_deliver: int = 0,
        inbox_prefix: str = "_INBOX",
        reconnect_attempts: int = 10,
        reconnect_wait: float = 1.0,
    ) -> None:
        self._url = url
        self.url = shown_url(url)  # for messages and logs: never the password
        self.corridor = _checked(corridor, "corridor")
        self.stream = corridor_stream(corridor)
        self._ack_wait = ack_wait
        self._window = duplicate_window
        self._connect_timeout = connect_timeout
        self._max_deliver = max_deliver
        self._inbox_prefix = inbox_prefix
        self._reconnect_attempts = reconnect_attempts
        self._reconnect_wait = reconnect_wait
        self._nc: NatsClient | None = None
        self._js: JetStreamContext | None = None
        self._subscriptions: dict[str, JetStreamContext.PullSubscription] = {}
        self._closed_by_us = False
        self._connecting = asyncio.Lock()
        self.duplicates = 0
        self.reconnections = 0

    def subject(self, receiver: str, sender: str = "*") -> str:
        """The subject messages for `receiver` from `sender` are published on."""
        if sender != "*":
            _checked(sender, "authority")
        return f"kervan.{self.corridor}.{_checked(receiver, 'authority')}.{sender}"

    @property
    def connected(self) -> bool:
        """Whether the connection to the server is up right now."""
        return self._nc is not None and self._nc.is_connected

    async def connect(self) -> None:
        """Connect and make sure the corridor's stream exists; BrokerUnavailableError if not."""
        self._closed_by_us = False
        # One connection at a time: a loop asking while the operator reconnects must not open
        # a second client and orphan the first.
        async with self._connecting:
            if not self.connected:
                await self._open()

    async def _open(self) -> None:
        await self._drop()
        try:
            self._nc = await nats.connect(
                self._url,
                connect_timeout=self._connect_timeout,
                max_reconnect_attempts=self._reconnect_attempts,
                allow_reconnect=True,
                reconnect_time_wait=self._reconnect_wait,
                inbox_prefix=self._inbox_prefix,
                error_cb=self._on_error,
                disconnected_cb=self._on_disconnected,
                reconnected_cb=self._on_reconnected,
            )
            self._js = self._nc.jetstream()
            await self._ensure_stream(self._js)
        except _NATS_ERRORS as exc:
            await self._drop()
            raise BrokerUnavailableError(f"NATS JetStream at {self.url}: {exc!r}") from exc

    async def _ensure_stream(self, js: JetStreamContext) -> None:
        try:
            await js.stream_info(self.stream)
        except JsNotFoundError:
            await js.add_stream(
                StreamConfig(
                    name=self.stream,
                    subjects=[f"kervan.{self.corridor}.>"],
                    duplicate_window=self._window,
                )
            )

    async def _on_error(self, exc: Exception) -> None:
        log.warning("NATS at %s: %r", self.url, exc)

    async def _on_disconnected(self) -> None:
        if not self._closed_by_us:
            log.warning("disconnected from NATS at %s; reconnecting", self.url)

    async def _on_reconnected(self) -> None:
        self.reconnections += 1
        log.warning("reconnected to NATS at %s", self.url)

    async def close(self) -> None:
        """Close the connection; stored messages and durable consumers stay on the server."""
        self._closed_by_us = True
        await self._drop()

    async def _drop(self) -> None:
        nc, self._nc, self._js = self._nc, None, None
        self._subscriptions.clear()
        if nc is not None and not nc.is_closed:
            try:
                await nc.close()
            except _NATS_ERRORS:
                return

    async def delete_stream(self) -> None:
        """Delete the corridor's stream and its consumers (for tests and benchmarks)."""
        js = await self._require()
        try:
            await js.delete_stream(self.stream)
        except JsNotFoundError:
            return

    async def publish(self, receiver: str, message_id: str, data: bytes) -> None:
        """Publish with `Nats-Msg-Id: message_id` on the subject of the sender the id names;
        a duplicate within the window is dropped by JetStream (counted in `duplicates`)."""
        js = await self._require()
        sender = message_id.partition(":")[0]
        try:
            ack = await js.publish(
                self.subject(receiver, sender),
                data,
                timeout=5.0,
                headers={"Nats-Msg-Id": message_id},
            )
        except _NATS_ERRORS as exc:
            raise BrokerUnavailableError(f"cannot publish {message_id}: {exc!r}") from exc
        if ack.duplicate:
            self.duplicates += 1

    def consumer_config(self, receiver: str) -> ConsumerConfig:
        """The durable pull consumer of `receiver`, named after it: its own subjects only.
        Created with the name and filter in the API subject, which the server's permissions
        can allow for this authority alone."""
        return ConsumerConfig(
            name=_checked(receiver, "authority"),
            durable_name=receiver,
            filter_subject=f"kervan.{self.corridor}.{receiver}.>",
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self._ack_wait,
            deliver_policy=DeliverPolicy.ALL,
            max_ack_pending=20_000,
            max_deliver=self._max_deliver if self._max_deliver > 0 else -1,
        )

    async def ensure_consumer(self, receiver: str) -> None:
        """Create `receiver`'s durable consumer unless it exists (the operator's set-up does
        this for every authority of a topology before the nodes start)."""
        js = await self._require()
        try:
            try:
                await js.consumer_info(self.stream, receiver)
            except JsNotFoundError:
                await js.add_consumer(self.stream, self.consumer_config(receiver))
        except _NATS_ERRORS as exc:
            raise BrokerUnavailableError(
                f"cannot set up the consumer of {receiver}: {exc!r}"
            ) from exc

    async def fetch(self, receiver: str, *, batch: int, timeout: float) -> list[Delivery]:
        """Fetch from `receiver`'s durable pull consumer (explicit ack, `ack_wait`)."""
        js = await self._require()
        try:
            subscription = self._subscriptions.get(receiver)
            if subscription is None:
                await self.ensure_consumer(receiver)
                subscription = await js.pull_subscribe_bind(durable=receiver, stream=self.stream)
                self._subscriptions[receiver] = subscription
            messages = await _fetch_soon(subscription, batch, timeout)
        except (TimeoutError, nats.errors.TimeoutError):
            # No message within `timeout` (nats-py raises either, depending on where it waited).
            return []
        except _NATS_ERRORS as exc:
            # The consumer may be gone with a server that lost its store: subscribe afresh.
            dropped = self._subscriptions.pop(receiver, None)
            if dropped is not None:
                await _quietly(dropped.unsubscribe())
            raise BrokerUnavailableError(f"cannot fetch for {receiver}: {exc!r}") from exc
        return [_NatsDelivery(message) for message in messages]

    async def pending(self, receiver: str) -> int:
        """Messages for `receiver` the broker holds unacknowledged (waiting or handed out)."""
        js = await self._require()
        try:
            info = await js.consumer_info(self.stream, receiver)
        except JsNotFoundError:
            return 0
        except _NATS_ERRORS as exc:
            raise BrokerUnavailableError(
                f"cannot read the consumer of {receiver}: {exc!r}"
            ) from exc
        return int(info.num_pending or 0) + int(info.num_ack_pending or 0)

    async def read_channel(self, receiver: str, sender: str, *, batch: int = 500) -> list[bytes]:
        """Every message the stream still holds from `sender` for `receiver`, oldest first,
        read through a short-lived consumer `<receiver>-resync` of that one subject that
        acknowledges nothing: how a node asks again for messages it lost (a gap never filled,
        a restore from a backup)."""
        js = await self._require()
        name = f"{_checked(receiver, 'authority')}-resync"
        out: list[bytes] = []
        try:
            await _quietly(js.delete_consumer(self.stream, name))
            created = await js.add_consumer(
                self.stream,
                ConsumerConfig(
                    name=name,
                    filter_subject=self.subject(receiver, sender),
                    ack_policy=AckPolicy.NONE,
                    deliver_policy=DeliverPolicy.ALL,
                    inactive_threshold=60.0,
                ),
            )
            if not created.num_pending:
                await _quietly(js.delete_consumer(self.stream, name))
                return out
            subscription = await js.pull_subscribe_bind(name=name, stream=self.stream)
            try:
                while True:
                    try:
                        messages = await subscription.fetch(batch, timeout=2.0)
                    except (TimeoutError, nats.errors.TimeoutError):
                        break
                    out.extend(message.data for message in messages)
                    if not messages or messages[-1].metadata.num_pending == 0:
                        break
            finally:
                await _quietly(subscription.unsubscribe())
                await _quietly(js.delete_consumer(self.stream, name))
        except _NATS_ERRORS as exc:
            raise BrokerUnavailableError(f"cannot read {sender} -> {receiver}: {exc!r}") from exc
        return out

    async def _require(self) -> JetStreamContext:
        if self._closed_by_us:
            raise BrokerUnavailableError(f"the connection to NATS at {self.url} is closed")
        if self._nc is None or self._nc.is_closed:
            # The client gave up reconnecting (or never got through): a new connection.
            await self.connect()
        if self._js is None or self._nc is None or not self._nc.is_connected:
            raise BrokerUnavailableError(f"not connected to NATS at {self.url} (reconnecting)")
        return self._js


async def _fetch_soon(
    subscription: JetStreamContext.PullSubscription, batch: int, timeout: float
) -> list[Msg]:
    """Up to `batch` messages, returned as soon as the first is there: one is waited for (up
    to `timeout`), then exactly as many more as the server said were pending behind it.

    A single pull of `batch` waits after a lone message for the server to say no more came:
    2.4 ms more per message at a low rate (median of 40 lone messages, 3.3 against 0.9 ms
    from publish to fetched, loopback). At a high rate this costs one more round trip per
    batch."""
    messages = await subscription.fetch(1, timeout=timeout)
    behind = int(messages[-1].metadata.num_pending or 0) if messages else 0
    if behind and batch > 1:
        # Should they not all come in time, those that did are returned; the rest are
        # delivered to the subscription and the next fetch takes them first.
        with contextlib.suppress(TimeoutError, nats.errors.TimeoutError):
            messages.extend(await subscription.fetch(min(behind, batch - 1), timeout=_MORE_WAIT))
    return messages


_MORE_WAIT: Final = 0.05


async def _quietly(step: Awaitable[object]) -> None:
    try:
        await step
    except _NATS_ERRORS:
        return
