"""Nodes for the exchange tests: KZ, AZ, GE and TR customs, each with its own store, keys and
(for NATS) its own connection; an effects table that shows how often each message was applied.

NATS comes from KERVAN_TEST_NATS_URL (default nats://127.0.0.1:4222); an unreachable server
skips those cases, except under CI=true, where it fails the run. Each test uses a corridor (a
JetStream stream) of its own, deleted afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import faulthandler
import os
import signal
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nats
import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from kervan.exchange.bus import Broker, NatsJetStreamBroker
from kervan.exchange.envelope import CrossBorderMessage, MessageType
from kervan.exchange.inbox import Handler
from kervan.exchange.node import Node
from kervan.signatures.keys import Ed25519Signer
from kervan.signatures.trustlist import TrustList
from kervan.store.db import make_engine, make_session_factory
from tests.databases import BACKENDS, migrated_database

NATS_URL_ENV = "KERVAN_TEST_NATS_URL"
KZ, AZ, GE, TR = "KZ-customs", "AZ-customs", "GE-customs", "TR-customs"
CORRIDOR = (KZ, AZ, GE, TR)
T0 = datetime.now(UTC) - timedelta(days=1)
WAIT = 60.0

EFFECTS_METADATA = MetaData()
EFFECTS = Table(
    "test_exchange_effects",
    EFFECTS_METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("authority", String(64), nullable=False),
    Column("message_id", String(200), nullable=False),
    Column("n", Integer, nullable=False),
)


HARD_LIMIT = 300


@pytest.fixture(autouse=True)
def hard_time_limit() -> Iterator[None]:
    """Fail a test that runs past HARD_LIMIT seconds even inside a blocking call (a signal
    interrupts the main thread), after dumping every thread's stack for the diagnosis."""

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"test exceeded its hard limit of {HARD_LIMIT} s")

    previous = signal.signal(signal.SIGALRM, expire)
    faulthandler.dump_traceback_later(HARD_LIMIT - 5)
    signal.alarm(HARD_LIMIT)
    try:
        yield
    finally:
        signal.alarm(0)
        faulthandler.cancel_dump_traceback_later()
        signal.signal(signal.SIGALRM, previous)


def run(coroutine: Awaitable[None], timeout: float = 120.0) -> None:
    """Run `coroutine` to the end, failing the test if it takes longer than `timeout`."""

    async def bounded() -> None:
        await asyncio.wait_for(coroutine, timeout)

    asyncio.run(bounded())


async def wait_for(condition: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    """Poll `condition` until it holds; fail naming `what` after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)


def nats_server_url() -> str:
    """The NATS server for tests; skips (or fails under CI=true) when it is unreachable."""
    url = os.environ.get(NATS_URL_ENV, "nats://127.0.0.1:4222")

    async def probe() -> None:
        client = await nats.connect(url, connect_timeout=2, allow_reconnect=False)
        try:
            await client.jetstream().account_info()
        finally:
            await client.close()

    try:
        asyncio.run(asyncio.wait_for(probe(), 5))
    except Exception as exc:
        reason = f"NATS JetStream at {url} is not reachable (set {NATS_URL_ENV}): {exc!r}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true needs NATS JetStream: {reason}")
        pytest.skip(reason)
    return url


@pytest.fixture
def nats_url() -> str:
    return nats_server_url()


@pytest.fixture
def corridor_name() -> str:
    """A corridor (stream) of this test's own."""
    return f"t{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def signers() -> dict[str, Ed25519Signer]:
    return {code: Ed25519Signer.generate(f"{code}-2026", party=code) for code in CORRIDOR}


@pytest.fixture
def trust(signers: dict[str, Ed25519Signer]) -> TrustList:
    """A fresh trust list with every corridor authority's key (tests may revoke in it)."""
    trust = TrustList()
    for signer in signers.values():
        trust.add_signer(signer, not_before=T0)
    return trust


class Store:
    """One node's database: its URL, engine and sessions."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = make_engine(url)
        EFFECTS_METADATA.create_all(self.engine)
        self.sessions: sessionmaker[Session] = make_session_factory(self.engine)

    def reopen(self) -> None:
        """Dispose the engine (a node killed) and open a new one (the node restarted)."""
        self.engine.dispose()
        self.engine = make_engine(self.url)
        self.sessions = make_session_factory(self.engine)

    def effects(self, authority: str) -> dict[str, int]:
        """How many times each message id was applied at `authority`."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(EFFECTS.c.message_id, func.count())
                .where(EFFECTS.c.authority == authority)
                .group_by(EFFECTS.c.message_id)
            ).all()
        return {str(ident): int(count) for ident, count in rows}

    def numbers(self, authority: str) -> list[int]:
        """The payload numbers applied at `authority`, sorted (duplicates kept)."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(EFFECTS.c.n).where(EFFECTS.c.authority == authority)
            ).all()
        return sorted(int(n) for (n,) in rows)


@pytest.fixture(params=BACKENDS)
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, Store]]:
    """A separate migrated store per corridor authority, on each backend."""
    with contextlib.ExitStack() as stack:
        opened = {
            code: Store(stack.enter_context(migrated_database(request.param, tmp_path / code)))
            for code in CORRIDOR
        }
        yield opened
        for store in opened.values():
            store.engine.dispose()


def forwarding_handler(node_of: Callable[[], Node], next_hop: str | None) -> Handler:
    """Record the effect and, if `next_hop`, pass the message on in the same transaction."""

    def handle(session: Session, message: CrossBorderMessage) -> None:
        number = message.payload["n"]
        assert isinstance(number, int)
        session.execute(
            insert(EFFECTS).values(authority=message.receiver, message_id=message.id, n=number)
        )
        if next_hop is not None:
            node_of().send(session, next_hop, MessageType.PRE_ARRIVAL, {"n": number})

    return handle


class Corridor:
    """KZ -> AZ -> GE -> TR: every node forwards what it applies to the next one."""

    def __init__(
        self,
        stores: dict[str, Store],
        signers: dict[str, Ed25519Signer],
        trust: TrustList,
        broker_for: Callable[[str], Broker],
        codes: tuple[str, ...] = CORRIDOR,
    ) -> None:
        self.stores = stores
        self.signers = signers
        self.trust = trust
        self.broker_for = broker_for
        self.nodes: dict[str, Node] = {}
        for code in codes:
            self.nodes[code] = self.make_node(code)

    def make_node(self, code: str) -> Node:
        index = CORRIDOR.index(code)
        next_hop = CORRIDOR[index + 1] if index + 1 < len(CORRIDOR) else None
        return Node(
            code,
            sessions=self.stores[code].sessions,
            signer=self.signers[code],
            trust=self.trust,
            broker=self.broker_for(code),
            handler=forwarding_handler(lambda: self.nodes[code], next_hop),
            batch=50,
            fetch_timeout=0.2,
        )

    def send_from_kz(self, numbers: range) -> None:
        node = self.nodes[KZ]
        with self.stores[KZ].sessions.begin() as session:
            for n in numbers:
                node.send(session, AZ, MessageType.PRE_ARRIVAL, {"n": n})

    def start(self) -> None:
        for node in self.nodes.values():
            node.start()

    async def stop(self) -> None:
        for node in self.nodes.values():
            await node.stop()


async def nats_brokers(
    url: str, corridor: str, codes: tuple[str, ...], ack_wait: float = 2.0
) -> dict[str, NatsJetStreamBroker]:
    """One connected broker (connection) per authority on `corridor`."""
    brokers = {}
    for code in codes:
        broker = NatsJetStreamBroker(url, corridor=corridor, ack_wait=ack_wait)
        await broker.connect()
        brokers[code] = broker
    return brokers


async def drop_corridor(url: str, corridor: str, brokers: dict[str, NatsJetStreamBroker]) -> None:
    """Close the test's connections and delete its stream."""
    for broker in brokers.values():
        await broker.close()
    cleaner = NatsJetStreamBroker(url, corridor=corridor)
    await cleaner.connect()
    await cleaner.delete_stream()
    await cleaner.close()
