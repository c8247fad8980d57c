"""API benchmark: e-CMR issue+sign and evidence reads over HTTP, on SQLite and on PostgreSQL.

Writes bench/results/api.json. For each database it migrates a fresh one (PostgreSQL: a schema
of its own, dropped afterwards), registers the demonstration corridor, pre-books truck shipments
Tashkent -> Istanbul (each opens an e-CMR draft), starts `uvicorn kervan.api.asgi:app` (one
worker process per core, uvloop and httptools) on 127.0.0.1 and drives it from a separate load
process (asyncio, keep-alive HTTP/1.1 connections, see KeepAliveConnection) for a bounded time
with a fixed number of concurrent connections:

- issue+sign, one operation = two HTTP requests on one pre-booked shipment's e-CMR, one after
  the other: POST /v1/documents/{id}/signatures {"step": "issue"} then {"step":
  "sign_taking_over"}, both by the consignor (each a JWS signature, a ledger append and the
  document read back);
- verify, one operation = GET /v1/documents/{id}/evidence of an issued e-CMR (the version, its
  JWS, ledger entry, inclusion proof and a signed tree head).

The baseline, measured on the same server in the same run: GET /health (the whole HTTP stack and
middleware, no login, no database). Machines like this one vary by tens of percent from one
minute to the next, so each result is also given relative to it (requests per second over the
baseline's), which compares runs made at different times.

On PostgreSQL the seeded tables are ANALYZEd before the run, as autovacuum would within a minute
on a running node. Each fresh server is warmed up first with --warmup seconds of issue+sign on
shipments of its own (not counted): its workers open their database connections, load the
ledger's Merkle tree and prepare their statements, which a node does once when it starts. The
measured runs are the steady state after that. Reported per operation: operations/s, p50/p99
latency, errors, and the CPU the server and PostgreSQL spent per operation; compared with the
targets (on two cores with PostgreSQL: issue+sign >= 300/s with p99 < 100 ms, verify >= 1,000/s).

    .venv/bin/python bench/api.py [--shipments 6000] [--seconds 8] [--warmup 1.5]
        [--concurrency 12] [--workers N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from kervan.network.dataset import load_network
from kervan.routing.planner import Planner
from kervan.services.access import node_operator
from kervan.services.credentials import NewCredential, create_client
from kervan.services.demo_corridor import book_uzbek_truck, register_corridor
from kervan.services.node import NodeContext, ensure_node_organisation
from kervan.settings import Settings
from kervan.store.db import make_engine, make_session_factory, normalise_url, unit_of_work
from kervan.store.keyfiles import KeyFileStore
from kervan.store.schema import upgrade

RESULTS = Path(__file__).parent / "results" / "api.json"
POSTGRES_URL = os.environ.get(
    "KERVAN_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
SECRET_KEY = "bench-" + "s" * 42
TARGETS = {"issue_sign_per_s": 300.0, "issue_sign_p99_ms": 100.0, "verify_per_s": 1000.0}
# The server limits each credential to 200 requests/s (per worker process): at least one
# credential per load connection, so the limit never answers for the server's speed.
CLIENTS_PER_ORG = 24
READY_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _admin(action: str) -> None:
    engine = create_engine(
        normalise_url(POSTGRES_URL), isolation_level="AUTOCOMMIT", poolclass=NullPool
    )
    try:
        with engine.connect() as connection:
            connection.execute(text(action))
    finally:
        engine.dispose()


@contextmanager
def database(backend: str, folder: Path) -> Iterator[str]:
    """A fresh, migrated database: a SQLite file in `folder`, or a PostgreSQL schema."""
    if backend == "sqlite":
        url = f"sqlite:///{folder / 'kervan.sqlite3'}"
        upgrade(url)
        yield url
        return
    schema = f"kervan_bench_{uuid.uuid4().hex[:12]}"
    _admin(f"CREATE SCHEMA {schema}")
    try:
        scoped = normalise_url(POSTGRES_URL).update_query_dict(
            {"options": f"-csearch_path={schema}"}
        )
        url = scoped.render_as_string(hide_password=False)
        upgrade(url)
        yield url
    finally:
        _admin(f"DROP SCHEMA {schema} CASCADE")


def seed(
    url: str, folder: Path, shipments: int
) -> tuple[list[str], dict[str, list[tuple[str, str]]]]:
    """Register the corridor, book `shipments` trucks; their e-CMR ids and client credentials."""
    settings = Settings(
        environment="test", database_url=url, data_dir=folder, secret_key=SECRET_KEY
    )
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    keys = KeyFileStore(settings.keys_dir)
    network = load_network()
    ctx = NodeContext(settings, sessions, network, Planner(network), keys)
    register_corridor(sessions, keys)
    with unit_of_work(sessions) as session:
        ensure_node_organisation(session, keys, settings)
    ecmrs: list[str] = []
    for number in range(shipments):
        _, ids = book_uzbek_truck(ctx, f"BENCH-{number:05d}", date(2026, 11, 24))
        ecmrs.append(next(i for i in ids if "-ECMR-" in i))
    credentials: dict[str, list[tuple[str, str]]] = {}
    operator = node_operator(settings.node_id, settings.node_country)
    issued = [
        create_client(ctx.unit_of_work(), operator, NewCredential("tashkent-cotton"))
        for _ in range(CLIENTS_PER_ORG)
    ]
    credentials["tashkent-cotton"] = [(i.identifier, i.secret) for i in issued]
    if engine.dialect.name == "postgresql":
        # Statistics for the tables just loaded, as autovacuum gathers them within a minute
        # of a bulk load on a running node: without them the planner guesses every table
        # holds a row or two (and keeps those plans in the server's prepared statements).
        with engine.connect() as connection:
            connection.execute(text("ANALYZE"))
            connection.commit()
    engine.dispose()
    return ecmrs, credentials


@contextmanager
def server(url: str, folder: Path, port: int, workers: int = 1) -> Iterator[tuple[str, int]]:
    env = {
        **os.environ,
        "KERVAN_ENVIRONMENT": "test",
        "KERVAN_SECRET_KEY": SECRET_KEY,
        "KERVAN_DATA_DIR": str(folder),
        "KERVAN_DATABASE_URL": url,
    }
    command = [
        sys.executable, "-m", "uvicorn", "kervan.api.asgi:app",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    log = (folder / "server.log").open("wb")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"the server exited: {(folder / 'server.log').read_text()[-2000:]}"
                )
            try:
                if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not become ready in time")
            time.sleep(0.2)
        yield base, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
        log.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


REQUEST_TIMEOUT_S = 30.0


class TransportError(Exception):
    """The connection broke or timed out: counted as an error, and the worker reconnects."""


class KeepAliveConnection:
    """One HTTP/1.1 keep-alive connection for the load process, as lean as a client can be.

    The load generator shares the two cores with the server and PostgreSQL; a full client
    library costs several milliseconds of CPU per request here, which would be measured as the
    server's. Answers must carry Content-Length (the server's JSON answers do).
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer

    @classmethod
    async def open(cls, base: str) -> KeepAliveConnection:
        host, port = base.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        return cls(reader, writer)

    async def request(
        self, method: str, path: str, authorization: str, body: bytes = b""
    ) -> tuple[int, bytes]:
        """Send one request and read its answer; raise TransportError if the connection fails
        or nothing comes back in REQUEST_TIMEOUT_S (the connection is then not reusable)."""
        try:
            return await asyncio.wait_for(
                self._exchange(method, path, authorization, body), REQUEST_TIMEOUT_S
            )
        except (OSError, EOFError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
            raise TransportError(f"{type(exc).__name__}: {exc}") from exc

    async def _exchange(
        self, method: str, path: str, authorization: str, body: bytes
    ) -> tuple[int, bytes]:
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: {authorization}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        self._writer.write(head.encode("latin-1") + body)
        await self._writer.drain()
        raw = await self._reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length = None
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.lower() == "content-length":
                length = int(value)
        if length is None:
            raise RuntimeError(f"an answer to {method} {path} without Content-Length")
        return status, await self._reader.readexactly(length)

    def close(self) -> None:
        self._writer.close()


async def _load(
    base: str, kind: str, ecmrs: list[str], tokens: list[str], seconds: float, concurrency: int
) -> dict[str, Any]:
    latencies: list[float] = []
    errors: dict[str, int] = {}
    queue = list(reversed(ecmrs))
    connections = [await KeepAliveConnection.open(base) for _ in range(concurrency)]

    async def issue_sign(connection: KeepAliveConnection, authorization: str) -> bool:
        """Issue and sign one pre-booked e-CMR; False when none is left."""
        if not queue:
            return False
        document = queue.pop()
        started = time.perf_counter()
        statuses = []
        for step in ("issue", "sign_taking_over"):
            status, _ = await connection.request(
                "POST",
                f"/v1/documents/{document}/signatures",
                authorization,
                json.dumps({"step": step}).encode(),
            )
            statuses.append(status)
        record(statuses, [201, 201], started)
        return True

    async def read(connection: KeepAliveConnection, authorization: str, position: int) -> None:
        """verify: one e-CMR's evidence; health: the baseline."""
        path = (
            "/health"
            if kind == "health"
            else f"/v1/documents/{ecmrs[position % len(ecmrs)]}/evidence"
        )
        started = time.perf_counter()
        status, _ = await connection.request("GET", path, authorization)
        record([status], [200], started)

    def record(statuses: list[int], expected: list[int], started: float) -> None:
        if statuses == expected:
            latencies.append(time.perf_counter() - started)
        else:
            errors[str(statuses)] = errors.get(str(statuses), 0) + 1

    async def worker(number: int) -> None:
        authorization = f"Bearer {tokens[number % len(tokens)]}"
        position = number
        while time.perf_counter() < stop:
            try:
                if kind == "issue_sign":
                    if not await issue_sign(connections[number], authorization):
                        return
                else:
                    await read(connections[number], authorization, position)
                    position += concurrency
            except TransportError as exc:
                reason = str(exc)[:80]
                errors[reason] = errors.get(reason, 0) + 1
                connections[number].close()
                connections[number] = await KeepAliveConnection.open(base)

    begun, cpu_begun = time.perf_counter(), time.process_time()
    stop = begun + seconds
    try:
        await asyncio.gather(*(worker(n) for n in range(concurrency)))
    finally:
        for connection in connections:
            connection.close()
    result = summary(
        latencies, errors, time.perf_counter() - begun, time.process_time() - cpu_begun
    )
    if kind == "issue_sign":
        # A run that used up its e-CMRs stopped early: it measured fewer seconds than asked.
        result["ran_out_of_documents"] = not queue and result["seconds"] < seconds * 0.98
    return result


def summary(
    latencies: list[float], errors: dict[str, int], elapsed: float, load_cpu: float
) -> dict[str, Any]:
    """One load run's figures: operations/s, p50/p99 latency, errors, the load process's CPU."""
    return {
        "operations": len(latencies),
        "seconds": round(elapsed, 3),
        "per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 2),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
        "errors": sum(errors.values()),
        "error_statuses": errors,
        "load_process_cpu_cores": round(load_cpu / elapsed, 2),
    }


def load_process(
    base: str,
    kind: str,
    ecmrs: list[str],
    tokens: list[str],
    seconds: float,
    concurrency: int,
    out: Any,
) -> None:
    """Runs in its own process: the load generator never shares the server's interpreter."""
    out.send(asyncio.run(_load(base, kind, ecmrs, tokens, seconds, concurrency)))
    out.close()


_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a live process (Linux /proc), 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS_PER_S


def _processes() -> list[tuple[int, int, str]]:
    """(pid, parent pid, command name) of every process (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                head, _, tail = (entry / "stat").read_text().rpartition(")")
            except OSError:
                continue
            found.append((int(entry.name), int(tail.split()[1]), head.partition("(")[2]))
    return found


def cpu_of(server_pid: int) -> dict[str, float]:
    """CPU seconds used so far by the server (its process and workers) and by PostgreSQL."""
    processes = _processes()
    server = {server_pid} | {pid for pid, parent, _ in processes if parent == server_pid}
    postgres = {pid for pid, _, name in processes if name.startswith("postgres")}
    return {
        "server": sum(_cpu_seconds(pid) for pid in server),
        "postgresql": sum(_cpu_seconds(pid) for pid in postgres),
    }


def run_load(
    base: str,
    kind: str,
    ecmrs: list[str],
    tokens: list[str],
    seconds: float,
    concurrency: int,
    server_pid: int,
    backend: str,
) -> dict[str, Any]:
    """Drive the server from a load process; add the server's (and PostgreSQL's: every
    postgres process on the machine) CPU time per operation over the run, which noise from
    other processes on the machine leaves alone."""
    before = cpu_of(server_pid)
    result = _run_load_process(base, kind, ecmrs, tokens, seconds, concurrency)
    after = cpu_of(server_pid)
    operations = max(result["operations"], 1)
    result["server_cpu_ms_per_operation"] = round(
        (after["server"] - before["server"]) * 1000 / operations, 2
    )
    if backend == "postgresql":
        result["postgresql_cpu_ms_per_operation"] = round(
            (after["postgresql"] - before["postgresql"]) * 1000 / operations, 2
        )
    return result


def _run_load_process(
    base: str, kind: str, ecmrs: list[str], tokens: list[str], seconds: float, concurrency: int
) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(
        target=load_process, args=(base, kind, ecmrs, tokens, seconds, concurrency, send)
    )
    process.start()
    try:
        if not receive.poll(seconds + 120):
            raise RuntimeError(f"the {kind} load did not finish in time")
        result: dict[str, Any] = receive.recv()
    finally:
        process.join(timeout=30)
        if process.is_alive():
            process.kill()
    return result


def tokens_of(base: str, credentials: list[tuple[str, str]]) -> list[str]:
    tokens = []
    for client_id, secret in credentials:
        response = httpx.post(
            f"{base}/v1/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": secret,
            },
            timeout=30,
        )
        response.raise_for_status()
        tokens.append(str(response.json()["access_token"]))
    return tokens


def bench(
    backend: str, shipments: int, seconds: float, warmup: float, concurrency: int, workers: int
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"kervan-bench-api-{backend}-") as raw:
        folder = Path(raw)
        with database(backend, folder) as url:
            started = time.perf_counter()
            ecmrs, credentials = seed(url, folder, shipments)
            seeded = time.perf_counter() - started
            with server(url, folder, free_port(), workers) as (base, pid):
                tokens = tokens_of(base, credentials["tashkent-cotton"])
                warm = run_load(
                    base, "issue_sign", ecmrs, tokens, warmup, concurrency, pid, backend
                )
                baseline = run_load(
                    base, "health", [], tokens, seconds / 2, concurrency, pid, backend
                )
                measured = ecmrs[warm["operations"] :]
                issue = run_load(
                    base, "issue_sign", measured, tokens, seconds, concurrency, pid, backend
                )
                if issue.pop("ran_out_of_documents"):
                    raise SystemExit(
                        f"{backend}: issue+sign used up all {shipments} pre-booked e-CMRs in "
                        f"{issue['seconds']} of {seconds} s; run again with more --shipments"
                    )
                signed = ecmrs[: warm["operations"] + issue["operations"]] or ecmrs
                verify = run_load(
                    base, "verify", signed, tokens, seconds, concurrency, pid, backend
                )
    return {
        "seed_seconds": round(seeded, 1),
        "shipments": shipments,
        "warmup": {"seconds": warmup, "issue_sign_operations": warm["operations"]},
        "baseline_health": baseline,
        "issue_sign": issue,
        "verify": verify,
        "requests_relative_to_baseline": {
            # issue+sign: two requests per operation
            "issue_sign": round(2 * issue["per_s"] / baseline["per_s"], 3),
            "verify": round(verify["per_s"] / baseline["per_s"], 3),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--shipments",
        type=int,
        default=6000,
        help="pre-booked e-CMRs per database; each issue+sign uses one (warm-up and "
        "measured seconds at up to 600 operations/s)",
    )
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument(
        "--warmup", type=float, default=1.5, help="seconds of uncounted issue+sign per server"
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=12,
        help="load connections; 12 keep both server workers busy (6 requests queued per "
        "worker) without queueing so many that latency measures the queue",
    )
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="server worker processes"
    )
    args = parser.parse_args()
    if args.concurrency > CLIENTS_PER_ORG:
        parser.error(f"--concurrency above {CLIENTS_PER_ORG} would share credentials (rate limits)")
    results: dict[str, Any] = {}
    for backend in args.backends.split(","):
        print(f"{backend}: seeding {args.shipments} shipments ...", flush=True)
        results[backend] = bench(
            backend, args.shipments, args.seconds, args.warmup, args.concurrency, args.workers
        )
        print(json.dumps(results[backend], indent=2), flush=True)
    postgres = results.get("postgresql")
    met = None
    if postgres is not None:
        issue, verify = postgres["issue_sign"], postgres["verify"]
        met = {
            "issue_sign_per_s": issue["per_s"] >= TARGETS["issue_sign_per_s"],
            "issue_sign_p99_ms": issue["p99_ms"] < TARGETS["issue_sign_p99_ms"],
            "verify_per_s": verify["per_s"] >= TARGETS["verify_per_s"],
            "zero_errors": issue["errors"] == 0 and verify["errors"] == 0,
        }
    report = {
        "benchmark": "api",
        "operations": {
            "issue_sign": "POST /v1/documents/{ecmr}/signatures step=issue, then step="
            "sign_taking_over, both by the consignor, on a pre-booked truck shipment's e-CMR "
            "(one operation = both requests; latency = both together)",
            "verify": "GET /v1/documents/{ecmr}/evidence of an issued e-CMR",
            "baseline_health": "GET /health on the same server in the same run (HTTP stack only)",
        },
        "setup": {
            "server": f"uvicorn kervan.api.asgi:app (uvloop, httptools), {args.workers} "
            "worker processes, 127.0.0.1, access log off",
            "load": f"separate process, asyncio keep-alive HTTP/1.1, {args.concurrency} "
            f"connections, {CLIENTS_PER_ORG} client tokens, {args.seconds} s per operation "
            f"after {args.warmup} s of uncounted issue+sign on a fresh server",
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "machine": platform.machine(),
        },
        "targets": {"on": "postgresql, 2 cores", **TARGETS},
        "met": met,
        "results": results,
        "notes": "",
    }
    # Notes describe one run: whoever commits the file writes them for that run (an earlier
    # run's notes carried over would describe another run).
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
