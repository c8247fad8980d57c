"""Brokers that carry signed messages from the outbox relay to the receiving node's inbox.

`Broker` is what the relay and the consumer need: publish to a receiving authority with the
message id, fetch a batch for an authority, acknowledge each message only after the inbox has
committed it (at-least-once; the inbox makes it exactly-once in effect).

- `InProcessBroker` (default, one process): queues per authority, de-duplication by message id,
  unacknowledged messages come back after `ack_wait` seconds.
- `NatsJetStreamBroker` (production): one stream per corridor (`KERVAN_<CORRIDOR>`, subjects
  `kervan.<corridor>.<authority>`), `Nats-Msg-Id` = message id for JetStream's de-duplication,
  a durable pull consumer per receiving authority with explicit acks.
"""

from __future__ import annotations

import asyncio
import collections
import re
import time
from typing import Final, Protocol

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StreamConfig

from kervan.errors import BrokerUnavailableError

_NAME: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")
_NATS_ERRORS: Final = (nats.errors.Error, nats.js.errors.Error, OSError, asyncio.TimeoutError)


class Delivery(Protocol):
    """One message handed to a consumer; `ack` after the inbox commit, `nak` to get it again."""

    @property
    def data(self) -> bytes: ...

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
    __slots__ = ("_broker", "_done", "_message_id", "_receiver", "data")

    def __init__(self, broker: InProcessBroker, receiver: str, message_id: str, data: bytes):
        self._broker = broker
        self._receiver = receiver
        self._message_id = message_id
        self._done = False
        self.data = data

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
            out.append(_InProcessDelivery(self, receiver, ident, data))
        return out

    def queued(self, receiver: str) -> int:
        """Messages waiting for `receiver` (not counting those handed out and unacknowledged)."""
        return len(self._queue(receiver))

    def _settle(self, receiver: str, message_id: str, *, requeue: bool) -> None:
        flight = self._in_flight.get(receiver, {}).pop(message_id, None)
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
    __slots__ = ("_msg", "data")

    def __init__(self, msg: Msg) -> None:
        self._msg = msg
        self.data = msg.data

    async def ack(self) -> None:
        try:
            await self._msg.ack()
        except _NATS_ERRORS as exc:
            # Unacknowledged, it comes back after ack_wait and the inbox sees it as replayed.
            raise BrokerUnavailableError(f"cannot acknowledge a NATS message: {exc!r}") from exc

    async def nak(self) -> None:
        try:
            await self._msg.nak()
        except _NATS_ERRORS as exc:
            raise BrokerUnavailableError(f"cannot nak a NATS message: {exc!r}") from exc


class NatsJetStreamBroker:
    """NATS JetStream as the broker (see the module docstring). Call `connect()` first;
    `close()` then `connect()` again is a broker outage and its end."""

    def __init__(
        self,
        url: str,
        *,
        corridor: str = "middle",
        ack_wait: float = 30.0,
        duplicate_window: float = 120.0,
        connect_timeout: float = 2.0,
    ) -> None:
        self.url = url
        self.corridor = _checked(corridor, "corridor")
        self.stream = f"KERVAN_{corridor.upper().replace('-', '_')}"
        self._ack_wait = ack_wait
        self._window = duplicate_window
        self._connect_timeout = connect_timeout
        self._nc: NatsClient | None = None
        self._js: JetStreamContext | None = None
        self._subscriptions: dict[str, JetStreamContext.PullSubscription] = {}
        self.duplicates = 0

    def subject(self, receiver: str) -> str:
        """The subject messages for `receiver` are published on."""
        return f"kervan.{self.corridor}.{_checked(receiver, 'authority')}"

    async def connect(self) -> None:
        """Connect and make sure the corridor's stream exists; BrokerUnavailableError if not."""
        if self._nc is not None and self._nc.is_connected:
            return
        try:
            self._nc = await nats.connect(
                self.url,
                connect_timeout=self._connect_timeout,
                max_reconnect_attempts=1,
                allow_reconnect=True,
                reconnect_time_wait=0.2,
            )
            self._js = self._nc.jetstream()
            config = StreamConfig(
                name=self.stream,
                subjects=[f"kervan.{self.corridor}.>"],
                duplicate_window=self._window,
            )
            try:
                await self._js.stream_info(self.stream)
            except nats.js.errors.NotFoundError:
                await self._js.add_stream(config)
        except _NATS_ERRORS as exc:
            await self.close()
            raise BrokerUnavailableError(f"NATS JetStream at {self.url}: {exc!r}") from exc

    async def close(self) -> None:
        """Close the connection; stored messages and durable consumers stay on the server."""
        nc, self._nc, self._js = self._nc, None, None
        self._subscriptions.clear()
        if nc is not None and not nc.is_closed:
            try:
                await nc.close()
            except _NATS_ERRORS:
                return

    async def delete_stream(self) -> None:
        """Delete the corridor's stream and its consumers (for tests and benchmarks)."""
        js = self._require()
        try:
            await js.delete_stream(self.stream)
        except nats.js.errors.NotFoundError:
            return

    async def publish(self, receiver: str, message_id: str, data: bytes) -> None:
        """Publish with `Nats-Msg-Id: message_id`; a duplicate within the window is dropped by
        JetStream (counted in `duplicates`)."""
        js = self._require()
        try:
            ack = await js.publish(
                self.subject(receiver), data, timeout=5.0, headers={"Nats-Msg-Id": message_id}
            )
        except _NATS_ERRORS as exc:
            raise BrokerUnavailableError(f"cannot publish {message_id}: {exc!r}") from exc
        if ack.duplicate:
            self.duplicates += 1

    async def fetch(self, receiver: str, *, batch: int, timeout: float) -> list[Delivery]:
        """Fetch from `receiver`'s durable pull consumer (explicit ack, `ack_wait`)."""
        js = self._require()
        try:
            subscription = self._subscriptions.get(receiver)
            if subscription is None:
                subscription = await js.pull_subscribe(
                    self.subject(receiver),
                    durable=_checked(receiver, "authority"),
                    stream=self.stream,
                    config=ConsumerConfig(
                        ack_policy=AckPolicy.EXPLICIT,
                        ack_wait=self._ack_wait,
                        deliver_policy=DeliverPolicy.ALL,
                        max_ack_pending=20_000,
                    ),
                )
                self._subscriptions[receiver] = subscription
            messages = await subscription.fetch(batch, timeout=timeout)
        except (TimeoutError, nats.errors.TimeoutError):
            # No message within `timeout` (nats-py raises either, depending on where it waited).
            return []
        except _NATS_ERRORS as exc:
            raise BrokerUnavailableError(f"cannot fetch for {receiver}: {exc!r}") from exc
        return [_NatsDelivery(message) for message in messages]

    def _require(self) -> JetStreamContext:
        if self._js is None or self._nc is None or not self._nc.is_connected:
            raise BrokerUnavailableError(f"not connected to NATS at {self.url}")
        return self._js
