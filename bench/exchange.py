"""Exchange benchmark: cross-border messages end to end over NATS JetStream on loopback.

Writes bench/results/exchange.json. Two nodes, KZ customs and AZ customs, each with its own
SQLite store and its own NATS connection, run their loops as in production: KZ writes signed
messages into its outbox (one transaction per batch), its relay publishes them with
Nats-Msg-Id = message id, AZ's durable pull consumer fetches them, the inbox verifies each
signature, applies it in one transaction with its id and acknowledges it after the commit.
1. throughput: N messages written at once; events per second from the first outbox commit to
   the last inbox commit;
2. latency: messages written at a steady rate below saturation; for each, the time from its
   outbox commit (created_at) to its inbox commit; p50 and p99.
Every message is checked to be applied exactly once. Needs NATS at KERVAN_BENCH_NATS_URL
(default nats://127.0.0.1:4222); the benchmark's stream is deleted afterwards.

Per message the sender's outbox write and the receiver's inbox transaction each cost a few
milliseconds of SQLAlchemy ORM work on SQLite; both nodes share one event loop here, so the
figures are a floor for one CPU and move with the machine's load (recorded in the file).

    .venv/bin/python bench/exchange.py [--messages 3000] [--rate 50] [--seconds 20]
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

from sqlalchemy.orm import Session

from kervan.exchange.bus import NatsJetStreamBroker
from kervan.exchange.envelope import CrossBorderMessage, MessageType
from kervan.exchange.node import Node
from kervan.exchange.status import applied_count
from kervan.signatures.keys import Ed25519Signer
from kervan.signatures.trustlist import TrustList
from kervan.store.db import make_engine, make_session_factory
from kervan.store.schema import upgrade

KZ, AZ = "KZ-customs", "AZ-customs"
RESULTS = Path(__file__).parent / "results" / "exchange.json"


class Setup:
    """Two nodes over one corridor stream, with a latency-recording handler on AZ."""

    def __init__(self, folder: Path, url: str) -> None:
        self.url = url
        self.corridor = f"bench{uuid.uuid4().hex[:8]}"
        self.latencies: list[float] = []
        self.last_applied = 0.0
        signers = {code: Ed25519Signer.generate(f"{code}-1", party=code) for code in (KZ, AZ)}
        trust = TrustList()
        for signer in signers.values():
            trust.add_signer(signer, not_before=datetime.now(UTC) - timedelta(days=1))
        self.brokers = {code: NatsJetStreamBroker(url, corridor=self.corridor) for code in (KZ, AZ)}
        self.nodes = {}
        for code in (KZ, AZ):
            database = f"sqlite:///{folder / code}.sqlite3"
            upgrade(database)
            self.nodes[code] = Node(
                code,
                sessions=make_session_factory(make_engine(database)),
                signer=signers[code],
                trust=trust,
                broker=self.brokers[code],
                handler=self.record,
                batch=500,
                fetch_timeout=0.05,
                poll_interval=0.002,
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


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(args: argparse.Namespace, url: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        setup = Setup(Path(folder), url)
        await setup.connect()
        try:
            for node in setup.nodes.values():
                node.start()
            # 1. throughput: everything at once, in outbox transactions of 500.
            started = time.time()
            for start in range(0, args.messages, 500):
                setup.send(min(500, args.messages - start), start)
            await setup.until_applied(args.messages, timeout=600)
            throughput = args.messages / (setup.last_applied - started)
            # 2. latency: a steady rate, one outbox transaction per message.
            setup.latencies.clear()
            total = int(args.rate * args.seconds)
            interval = 1.0 / args.rate
            begin = time.monotonic()
            for n in range(total):
                setup.send(1, args.messages + n)
                delay = begin + (n + 1) * interval - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            await setup.until_applied(total, timeout=600)
            latencies_ms = [1000 * value for value in setup.latencies]
            applied = setup.applied()
            duplicates = setup.brokers[KZ].duplicates
        finally:
            await setup.close()
    expected = args.messages + total
    if applied != expected:
        raise SystemExit(f"applied {applied} messages, expected exactly {expected}")
    return {
        "throughput": {
            "messages": args.messages,
            "events_per_second": round(throughput, 1),
        },
        "latency": {
            "messages": total,
            "rate_per_second": args.rate,
            "p50_ms": round(statistics.median(latencies_ms), 2),
            "p99_ms": round(percentile(latencies_ms, 0.99), 2),
            "max_ms": round(max(latencies_ms), 2),
        },
        "applied_exactly_once": applied == expected,
        "jetstream_duplicates_dropped": duplicates,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    url = os.environ.get("KERVAN_BENCH_NATS_URL", "nats://127.0.0.1:4222")
    result = asyncio.run(measure(args, url))
    report = {
        "benchmark": "exchange: outbox -> NATS JetStream -> inbox applied, KZ -> AZ, loopback",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "setup": {
            "stores": "SQLite file per node (WAL)",
            "signature": "Ed25519 detached JWS over RFC 8785 envelope, verified on receipt",
            "broker": url,
            "python": platform.python_version(),
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            "load_average_1min_at_end": round(os.getloadavg()[0], 2),
            "nats_py": version("nats-py"),
        },
        **result,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
