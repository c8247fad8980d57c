"""Exchange benchmark: cross-border messages end to end over NATS JetStream on loopback.

Writes bench/results/exchange.json (--store sqlite, the default) or
bench/results/exchange-postgresql.json (--store postgresql). Two nodes, KZ customs and AZ
customs, each with its own store (a SQLite file, or a PostgreSQL schema of its own) and its own
NATS connection, run their loops with the product's settings: KZ writes signed messages into
its outbox from a writer thread, as the application's requests do (one transaction per batch),
its relay, woken by the commit, publishes them in pipelined batches with
Nats-Msg-Id = message id, AZ's durable pull consumer fetches them, the inbox verifies each
signature, applies it in one transaction with its id and acknowledges it after the commit.
1. throughput: N messages waiting in the outbox (the application wrote them, in transactions
   of 500) when the nodes start; events per second from their start to the last inbox commit
   (the ratio to raw publishing). Then N more written while the nodes run, from the first
   outbox commit: the writer, both nodes, the database server and NATS then share the
   machine's cores, which on 2 cores costs PostgreSQL half its rate (reported beside it);
2. latency: messages written at a steady rate below saturation; for each, the time from its
   outbox commit (created_at) to its inbox commit; p50 and p99;
3. the baseline in the same run: bare JetStream publishing (one by one and pipelined) and
   publish-to-receipt latency at the same rate; the file reports end to end / raw publishing.
Every message is checked to be applied exactly once. Needs NATS at KERVAN_BENCH_NATS_URL
(default nats://127.0.0.1:4222) and, for --store postgresql, PostgreSQL at
KERVAN_BENCH_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test); the
benchmark's stream and schemas are deleted afterwards.

Per message the sender's outbox write and the receiver's inbox transaction cost SQLAlchemy ORM
work; both nodes and the writer share one process (one GIL), so the figures are a floor for one
CPU and move with the machine's load (recorded in the file).

    .venv/bin/python bench/exchange.py [--messages 3000] [--rate 50] [--seconds 20]
        [--store sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from kervan.exchange.bus import NatsJetStreamBroker
from kervan.exchange.envelope import CrossBorderMessage, MessageType
from kervan.exchange.node import Node
from kervan.exchange.status import applied_count
from kervan.signatures.keys import Ed25519Signer
from kervan.signatures.trustlist import TrustList
from kervan.store.db import make_engine, make_session_factory, normalise_url
from kervan.store.schema import upgrade

KZ, AZ = "KZ-customs", "AZ-customs"
RESULTS = Path(__file__).parent / "results"
POSTGRES_URL = os.environ.get(
    "KERVAN_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def _admin_sql(statement: str) -> None:
    engine = create_engine(
        normalise_url(POSTGRES_URL), isolation_level="AUTOCOMMIT", poolclass=NullPool
    )
    try:
        with engine.connect() as connection:
            connection.execute(text(statement))
    finally:
        engine.dispose()


def database_url(store: str, folder: Path, code: str, schemas: list[str]) -> str:
    """A migrated database for `code`'s node: a SQLite file in `folder` or a fresh PostgreSQL
    schema (its name appended to `schemas`, for dropping afterwards)."""
    if store == "sqlite":
        url = f"sqlite:///{folder / code}.sqlite3"
    else:
        schema = f"kervan_bench_{uuid.uuid4().hex[:12]}"
        _admin_sql(f"CREATE SCHEMA {schema}")
        schemas.append(schema)
        scoped = make_url(str(normalise_url(POSTGRES_URL))).update_query_dict(
            {"options": f"-csearch_path={schema}"}
        )
        url = scoped.render_as_string(hide_password=False)
    upgrade(url)
    return url


class Setup:
    """Two nodes over one corridor stream, with a latency-recording handler on AZ."""

    def __init__(self, folder: Path, url: str, store: str) -> None:
        self.url = url
        self.schemas: list[str] = []
        self.corridor = f"bench{uuid.uuid4().hex[:8]}"
        self.latencies: list[float] = []
        self.last_applied = 0.0
        signers = {code: Ed25519Signer.generate(f"{code}-1", party=code) for code in (KZ, AZ)}
        trust = TrustList()
        for signer in signers.values():
            trust.add_signer(signer, not_before=datetime.now(UTC) - timedelta(days=1))
        self.brokers = {code: NatsJetStreamBroker(url, corridor=self.corridor) for code in (KZ, AZ)}
        self.nodes = {}
        self.engines = []
        for code in (KZ, AZ):
            engine = make_engine(database_url(store, folder, code, self.schemas))
            self.engines.append(engine)
            # The product's loop settings (`kervan node`): no tuning for the benchmark.
            self.nodes[code] = Node(
                code,
                sessions=make_session_factory(engine),
                signer=signers[code],
                trust=trust,
                broker=self.brokers[code],
                handler=self.record,
            )

    def record(self, session: Session, message: CrossBorderMessage) -> None:  # noqa: ARG002
        now = time.time()
        self.latencies.append(now - message.created_at.timestamp())
        self.last_applied = now

    async def connect(self) -> None:
        for broker in self.brokers.values():
            await broker.connect()

    async def close(self) -> None:
        for node in self.nodes.values():
            await node.stop()
        await self.brokers[KZ].delete_stream()
        for broker in self.brokers.values():
            await broker.close()
        for engine in self.engines:
            engine.dispose()
        for schema in self.schemas:
            _admin_sql(f"DROP SCHEMA {schema} CASCADE")

    async def write(self, count: int, start: int) -> None:
        """`send` in a writer thread, as a request of the application would: not on the
        nodes' event loop."""
        await asyncio.to_thread(self.send, count, start)

    def send(self, count: int, start: int) -> None:
        node = self.nodes[KZ]
        with node.sessions.begin() as session:
            for n in range(start, start + count):
                node.send(session, AZ, MessageType.PRE_ARRIVAL, {"n": n, "declaration": "x" * 200})

    def applied(self) -> int:
        with self.nodes[AZ].sessions.begin() as session:
            return applied_count(session, AZ)

    async def until_applied(self, total: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while len(self.latencies) < total:
            if time.monotonic() > deadline:
                raise SystemExit(f"only {len(self.latencies)} of {total} applied in {timeout}s")
            await asyncio.sleep(0.005)


async def raw_jetstream(url: str, messages: int, rate: float, seconds: float) -> dict[str, Any]:
    """The baseline, same run and machine: bare JetStream with a message of the same size, no
    store, no signature. Publishing one at a time (each awaiting its acknowledgement) and
    pipelined in batches of 500; latency at the same steady rate, publish to receipt by a
    push subscriber."""
    import nats  # noqa: PLC0415

    client = await nats.connect(url)
    js = client.jetstream()
    tag = uuid.uuid4().hex[:8]
    stream, subject = f"RAWBENCH{tag}", f"rawbench.{tag}"
    await js.add_stream(name=stream, subjects=[subject])
    body = b"x" * 900  # about the size of a signed envelope with its 200-byte declaration
    try:
        started, cpu = time.perf_counter(), time.process_time()
        for _ in range(messages):
            await js.publish(subject, body)
        one_by_one = messages / (time.perf_counter() - started)
        one_by_one_cpu = (time.process_time() - cpu) / messages
        started, cpu = time.perf_counter(), time.process_time()
        for first in range(0, messages, 500):
            count = min(500, messages - first)
            await asyncio.gather(*(js.publish(subject, body) for _ in range(count)))
        pipelined = messages / (time.perf_counter() - started)
        pipelined_cpu = (time.process_time() - cpu) / messages
        latencies: list[float] = []

        async def received(msg: Any) -> None:
            latencies.append(time.perf_counter() - float(msg.data.split(b"|", 1)[0]))

        subscription = await js.subscribe(
            subject, cb=received, deliver_policy=nats.js.api.DeliverPolicy.NEW, manual_ack=False
        )
        total = int(rate * seconds)
        begin = time.monotonic()
        for n in range(total):
            await js.publish(subject, f"{time.perf_counter()}|".encode() + body)
            delay = begin + (n + 1) * (1.0 / rate) - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        deadline = time.monotonic() + 60
        while len(latencies) < total and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        await subscription.unsubscribe()
    finally:
        await js.delete_stream(stream)
        await client.close()
    latencies_ms = [1000 * value for value in latencies]
    return {
        "publish_one_by_one_per_second": round(one_by_one, 1),
        "publish_pipelined_per_second": round(pipelined, 1),
        "client_cpu_ms_per_message_one_by_one": round(1000 * one_by_one_cpu, 3),
        "client_cpu_ms_per_message_pipelined": round(1000 * pipelined_cpu, 3),
        "latency_p50_ms": round(statistics.median(latencies_ms), 2),
        "latency_p99_ms": round(percentile(latencies_ms, 0.99), 2),
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(args: argparse.Namespace, url: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        setup = Setup(Path(folder), url, args.store)
        await setup.connect()
        try:
            # 1. throughput of the exchange: the application has filled the outbox (in
            # transactions of 500), then the nodes start; from their start to the last inbox
            # commit.
            started = time.time()
            for start in range(0, args.messages, 500):
                await setup.write(min(500, args.messages - start), start)
            writes_per_second = args.messages / (time.time() - started)
            started, cpu = time.time(), time.process_time()
            for node in setup.nodes.values():
                node.start()
            await setup.until_applied(args.messages, timeout=600)
            throughput = args.messages / (setup.last_applied - started)
            cpu_per_message = (time.process_time() - cpu) / args.messages
            # 1b. the same while the application writes: the writer, both nodes, PostgreSQL
            # (if used) and NATS share the machine's cores; from the first outbox commit.
            setup.latencies.clear()
            started, cpu = time.time(), time.process_time()
            for start in range(0, args.messages, 500):
                await setup.write(min(500, args.messages - start), args.messages + start)
            await setup.until_applied(args.messages, timeout=600)
            concurrent = args.messages / (setup.last_applied - started)
            concurrent_cpu = (time.process_time() - cpu) / args.messages
            # 2. latency: a steady rate, one outbox transaction per message.
            setup.latencies.clear()
            total = int(args.rate * args.seconds)
            interval = 1.0 / args.rate
            begin, cpu = time.monotonic(), time.process_time()
            for n in range(total):
                await setup.write(1, 2 * args.messages + n)
                delay = begin + (n + 1) * interval - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            await setup.until_applied(total, timeout=600)
            steady_cpu = (time.process_time() - cpu) / total
            latencies_ms = [1000 * value for value in setup.latencies]
            applied = setup.applied()
            duplicates = setup.brokers[KZ].duplicates
        finally:
            await setup.close()
    expected = 2 * args.messages + total
    if applied != expected:
        raise SystemExit(f"applied {applied} messages, expected exactly {expected}")
    raw = await raw_jetstream(url, args.messages, args.rate, args.seconds)
    return {
        "raw_jetstream_same_run": raw,
        "ratio_end_to_end_to_raw_publishing": round(
            throughput / raw["publish_one_by_one_per_second"], 3
        ),
        "ratio_end_to_end_to_raw_pipelined_publishing": round(
            throughput / raw["publish_pipelined_per_second"], 3
        ),
        "throughput": {
            "messages": args.messages,
            "events_per_second": round(throughput, 1),
            # Less dependent on the machine's load than the rate: the CPU this one process
            # (both nodes, their NATS clients) spent per message.
            "process_cpu_ms_per_message": round(1000 * cpu_per_message, 3),
            "outbox_writes_per_second_before": round(writes_per_second, 1),
        },
        "throughput_while_the_application_writes": {
            "messages": args.messages,
            "events_per_second": round(concurrent, 1),
            "process_cpu_ms_per_message": round(1000 * concurrent_cpu, 3),
            "ratio_to_raw_publishing": round(concurrent / raw["publish_one_by_one_per_second"], 3),
        },
        "latency": {
            "messages": total,
            "rate_per_second": args.rate,
            "p50_ms": round(statistics.median(latencies_ms), 2),
            "p99_ms": round(percentile(latencies_ms, 0.99), 2),
            "max_ms": round(max(latencies_ms), 2),
            # One transaction per message at each step, and the loops' idle work in between.
            "process_cpu_ms_per_message": round(1000 * steady_cpu, 3),
        },
        "applied_exactly_once": applied == expected,
        "jetstream_duplicates_dropped": duplicates,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--note", default="", help="What the run's conditions were.")
    args = parser.parse_args()
    url = os.environ.get("KERVAN_BENCH_NATS_URL", "nats://127.0.0.1:4222")
    result = asyncio.run(measure(args, url))
    report = {
        "benchmark": "exchange: outbox -> NATS JetStream -> inbox applied, KZ -> AZ, loopback",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "setup": {
            "stores": "SQLite file per node (WAL)"
            if args.store == "sqlite"
            else f"PostgreSQL schema per node ({make_url(POSTGRES_URL).host})",
            "node_settings": "the product's defaults (relay woken on commit, poll 20 ms "
            "backing off to 0.5 s while idle; fetch batch 200, timeout 0.5 s)",
            "ratio_baseline": "ratio_end_to_end_to_raw_publishing divides by raw publishing one "
            "by one (each awaiting its acknowledgement); the pipelined ratio by raw publishing "
            "in gathered batches of 500",
            "signature": "Ed25519 detached JWS over RFC 8785 envelope, verified on receipt",
            "broker": url,
            "python": platform.python_version(),
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            "load_average_1min_at_end": round(os.getloadavg()[0], 2),
            "nats_py": version("nats-py"),
        },
        "note": args.note,
        **result,
    }
    name = "exchange.json" if args.store == "sqlite" else f"exchange-{args.store}.json"
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / name).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
