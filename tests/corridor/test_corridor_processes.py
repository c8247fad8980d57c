"""The corridor as its operators run it: `kervan corridor up` starts every national node from a
topology as its own OS process (the trade side's node, the customs of CN, KZ, AZ, GE and TR and
the permit authorities of KZ, AZ, GE and TR), each on its own PostgreSQL schema with only its
own keys, against a nats-server started here with the configuration `kervan corridor
nats-config` wrote (one user per authority).

The test acts as the authorities' officers and the trade side's staff do, through the use cases
on each node's own database; the node processes carry every message. In one run:
- two containers Xi'an -> Halkali clear every border (the in-process scenario, now over
  processes);
- the broker is stopped until every node reports it unreachable and for at least 30 s more
  (longer than the client library's own reconnection attempts last) while the trade side keeps
  working, then started again: the nodes resume by themselves and every customs sees the new
  shipment, nothing refused;
- a poison message (NUL bytes) is dead-lettered once while the messages after it flow;
- a node is SIGKILLed mid-stream; `corridor up` starts it again and nothing is lost;
- an authority's connection may neither read another's subjects nor publish as another;
- KZ's key is revoked through `kervan corridor trust-list --revoke`: a message signed with it
  and dated before the revocation is refused by a node that never restarted.
Each node's refusals and dead letters are exactly those, and no message is applied twice (the
inbox's key; the timelines show one release per border).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import httpx
import nats
import nats.errors
import pytest
from nats.aio.client import Client as NatsClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from kervan.cli import app
from kervan.exchange.envelope import CrossBorderMessage, MessageType, message_id
from kervan.exchange.status import dead_letters, rejections
from kervan.network.dataset import load_network
from kervan.network.model import Network
from kervan.routing.planner import Planner
from kervan.services.demo_corridor import caller_for, register_corridor
from kervan.services.node import NodeContext
from kervan.services.shipments import EventRequest, RecordEvent, record_event
from kervan.settings import Settings
from kervan.shipments.events import EventType
from kervan.store.db import make_engine, make_session_factory, unit_of_work
from kervan.store.keyfiles import KeyFileStore
from kervan.store.node_files import node_keys
from kervan.store.schema import upgrade
from tests.databases import admin_sql, schema_url
from tests.exchange.conftest import nats_server_url
from tests.exchange.test_customs_corridor_e2e import (
    CUSTOMS,
    FORWARDER,
    T0,
    TRADE_SIDE,
    Corridor,
    arriving,
    book,
    scenario,
    share_directory,
)
from tests.ports import free_port

pytestmark = [pytest.mark.nats, pytest.mark.postgres, pytest.mark.slow]

WAIT = 180.0
OUTAGE = 30.0
PERMITS = ("kz-permits", "az-permits", "ge-permits", "tr-permits")
runner = CliRunner()


async def wait_until(condition: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    """Poll `condition` (in a thread: it may block on a database) until it holds."""
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(condition):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(0.2)


@dataclass
class NodeProcess:
    """What the test knows of one node of the topology."""

    authority: str
    url: str
    data_dir: Path
    listen: str

    def ready(self) -> int:
        try:
            return httpx.get(f"http://{self.listen}/ready", timeout=5).status_code
        except httpx.HTTPError:
            return 0

    def pid(self) -> int | None:
        try:
            return int((self.data_dir / "node.pid").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def metrics(self) -> str:
        return httpx.get(f"http://{self.listen}/metrics", timeout=5).text


class NatsServer:
    """A nats-server of this test, on its own port and store, with the generated config."""

    def __init__(self, config: Path, log: Path) -> None:
        self.config = config
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("nats-server")
        if binary is None:
            reason = "nats-server is not installed"
            if os.environ.get("CI") == "true":
                pytest.fail(f"CI=true needs {reason}")
            pytest.skip(reason)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [binary, "-c", str(self.config)], stdout=log, stderr=subprocess.STDOUT
            )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(60)
        self.process = None


def create_schema(name: str) -> str:
    """A PostgreSQL schema of its own for one node (a database per node makes PostgreSQL
    checkpoint at each CREATE and DROP DATABASE: tens of seconds each on a busy machine)."""
    admin_sql(f'CREATE SCHEMA "{name}"')
    return schema_url(name)


def drop_schema(name: str) -> None:
    admin_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@dataclass
class Running:
    topology: Path
    nodes: dict[str, NodeProcess]
    nats: NatsServer
    nats_url: str
    corridor: Corridor
    passwords: dict[str, str]
    name: str
    contexts: dict[str, NodeContext]


def topology_text(name: str, nats_port: int, nodes: dict[str, NodeProcess]) -> str:
    lines = [
        "[corridor]",
        f'name = "{name}"',
        "gap_timeout = 10.0",
        "ack_wait = 10.0",
        "",
        "[broker]",
        f'url = "nats://127.0.0.1:{nats_port}"',
        "",
    ]
    for node in nodes.values():
        kind = (
            "trade"
            if node.authority == FORWARDER
            else "permit"
            if node.authority in PERMITS
            else "customs"
        )
        lines += [
            "[[node]]",
            f'authority = "{node.authority}"',
            f'kind = "{kind}"',
            f"database = {json.dumps(node.url)}",
            f'data_dir = "{node.data_dir}"',
            f'listen = "{node.listen}"',
            "",
        ]
    return "\n".join(lines)


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    nats_server_url()  # the NATS client library and a server are there (skip or fail as usual)
    network: Network = load_network()
    planner = Planner(network)
    tag = uuid.uuid4().hex[:10]
    authorities = (FORWARDER, *CUSTOMS.values(), *PERMITS)
    created: list[str] = []
    engines: list[Engine] = []
    corridor_up: subprocess.Popen[bytes] | None = None
    nats_server: NatsServer | None = None
    stack = contextlib.ExitStack()
    try:
        nodes: dict[str, NodeProcess] = {}
        for code in authorities:
            database = f"kervan_{code.replace('-', '_')}_{tag}"
            url = create_schema(database)
            created.append(database)
            upgrade(url)
            nodes[code] = NodeProcess(code, url, tmp_path / code, f"127.0.0.1:{free_port()}")
        # Onboarding: the corridor's organisations and public keys in every node's store,
        # each node's private keys in its own folder only.
        everyone = KeyFileStore(tmp_path / "registration-keys")
        contexts: dict[str, NodeContext] = {}
        for code, node in nodes.items():
            engine = make_engine(node.url)
            engines.append(engine)
            settings = Settings(
                environment="test",
                database_url=node.url,
                data_dir=node.data_dir,
                secret_key="t" * 48,
            )
            own = (*TRADE_SIDE,) if code == FORWARDER else (code,)
            # The node's keys as its own process opens them (encrypted with its passphrase).
            keys = node_keys(settings)
            contexts[code] = NodeContext(
                settings, make_session_factory(engine), network, planner, keys
            )
            if code == FORWARDER:
                register_corridor(contexts[code].sessions, everyone)
            for org_id in own:
                shutil.copytree(everyone.directory / org_id, keys.directory / org_id)
        for code, ctx in contexts.items():
            if code != FORWARDER:
                share_directory(contexts[FORWARDER].sessions, ctx.sessions)
        name = f"p{tag}"
        nats_port = free_port()
        topology = tmp_path / "topology.toml"
        topology.write_text(topology_text(name, nats_port, nodes), encoding="utf-8")
        for command in (["corridor", "nats-config"], ["corridor", "trust-list"]):
            result = runner.invoke(app, [*command, str(topology)])
            assert result.exit_code == 0, result.output
        passwords = json.loads((tmp_path / "nats-credentials.json").read_text("utf-8"))
        nats_server = NatsServer(tmp_path / "nats.conf", tmp_path / "nats.log")
        nats_server.start()
        log = stack.enter_context((tmp_path / "corridor.log").open("ab"))
        corridor_up = subprocess.Popen(
            [sys.executable, "-m", "kervan", "corridor", "up", str(topology)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        corridor = Corridor(
            contexts[FORWARDER],
            {code[:2].upper(): contexts[code] for code in CUSTOMS.values()},
        )
        yield Running(
            topology,
            nodes,
            nats_server,
            f"nats://127.0.0.1:{nats_port}",
            corridor,
            passwords,
            name,
            contexts,
        )
    finally:
        if corridor_up is not None:
            corridor_up.send_signal(signal.SIGTERM)
            try:
                corridor_up.wait(120)
            except subprocess.TimeoutExpired:
                os.killpg(corridor_up.pid, signal.SIGKILL)
                corridor_up.wait(30)
        if nats_server is not None:
            nats_server.stop()
        for engine in engines:
            engine.dispose()
        for database in created:
            drop_schema(database)
        stack.close()


def all_ready(run: Running) -> bool:
    return all(node.ready() == 200 for node in run.nodes.values())


def none_ready(run: Running) -> bool:
    return all(node.ready() == 503 for node in run.nodes.values())


def take_over(run: Running, reference: str) -> str:
    """The forwarder books a container and the carrier takes it over: pre-arrival messages
    to every customs on the route go into the trade node's outbox."""
    shipment, _ = book(run.corridor, reference)
    trade = run.corridor.trade
    with unit_of_work(trade.sessions) as session:
        carrier = caller_for(session, "ktz-express")
    taken = EventRequest(type=EventType.TAKEN_OVER, at=T0)
    record_event(trade.unit_of_work(), carrier, RecordEvent(shipment, taken))
    return shipment


def everyone_expects(run: Running, shipment: str) -> bool:
    return all(arriving(run.corridor, c, shipment) for c in ("KZ", "AZ", "GE", "TR"))


def refusal_reasons(run: Running, authority: str) -> list[str]:
    with unit_of_work(run.contexts[authority].sessions) as session:
        return [r.reason for r in rejections(session, authority)]


def dead_reasons(run: Running, authority: str) -> list[str]:
    with unit_of_work(run.contexts[authority].sessions) as session:
        return [d.reason for d in dead_letters(session, authority)]


async def connect_as(run: Running, user: str, errors: list[str]) -> NatsClient:
    async def on_error(exc: Exception) -> None:
        errors.append(str(exc))

    return await nats.connect(
        run.nats_url,
        user=user,
        password=run.passwords[user],
        inbox_prefix=f"_INBOX.{user}",
        error_cb=on_error,
        allow_reconnect=False,
    )


async def faults(run: Running) -> None:
    tr, az, kz, ge = CUSTOMS["TR"], CUSTOMS["AZ"], CUSTOMS["KZ"], CUSTOMS["GE"]

    # The broker goes away while the trade side keeps working.
    run.nats.stop()
    await wait_until(partial(none_ready, run), "every node to report the broker unreachable")
    down_since = time.monotonic()
    during = await asyncio.to_thread(take_over, run, "XIA-HAL-OUTAGE")
    while time.monotonic() - down_since < OUTAGE:  # the outage itself, not a synchronisation
        await asyncio.sleep(0.5)
    run.nats.start()
    await wait_until(partial(all_ready, run), "every node to resume without a restart")
    await wait_until(partial(everyone_expects, run, during), "the outage's shipment everywhere")
    for code in run.nodes:
        assert refusal_reasons(run, code) == [], code

    # A poison message: dead-lettered once, the channel goes on.
    errors: list[str] = []
    client = await connect_as(run, az, errors)
    try:
        js = client.jetstream()
        await js.publish(f"kervan.{run.name}.{tr}.{az}", b'{"x":"\x00"}\x00\x00')
        # An authority may not read another's subjects, nor publish as another.
        await client.subscribe(f"kervan.{run.name}.{tr}.>")
        await client.publish(f"kervan.{run.name}.{tr}.{kz}", b"{}")
        await client.flush()
        await wait_until(
            lambda: sum("permissions violation" in e.lower() for e in errors) >= 2,
            "the broker to deny the subscription and the publish",
        )
    finally:
        await client.close()
    denied = [e.lower() for e in errors]
    assert any("subscription" in e and f"{tr}" in e for e in denied), errors
    assert any("publish" in e and f"{tr}.{kz}" in e for e in denied), errors

    # A node killed mid-stream comes back (corridor up restarts it); nothing is lost.
    killed = run.nodes[ge].pid()
    assert killed is not None
    after = await asyncio.to_thread(take_over, run, "XIA-HAL-KILLED")
    os.kill(killed, signal.SIGKILL)
    await wait_until(
        lambda: run.nodes[ge].pid() not in (None, killed) and run.nodes[ge].ready() == 200,
        "GE's node to be started again",
    )
    await wait_until(partial(everyone_expects, run, after), "the shipment after the kill")
    await wait_until(lambda: dead_reasons(run, tr) == ["not_an_envelope"], "TR's dead letter")

    # KZ's key revoked: a message signed with it, dated before the revocation, is refused.
    signer = run.corridor.customs["KZ"].keys
    kz_signer = signer.load(kz, signer.kids(kz)[-1])
    revoked_at = datetime.now(UTC)
    result = await asyncio.to_thread(
        runner.invoke,
        app,
        ["corridor", "trust-list", str(run.topology), "--revoke", kz_signer.kid,
         "--at", revoked_at.strftime("%Y-%m-%dT%H:%M:%S")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    await wait_until(
        lambda: (
            "kervan_exchange_trust_list_reloads" in run.nodes[tr].metrics()
            and 'kervan_exchange_trust_list_reloads{authority="tr-customs"} 1.0'
            in run.nodes[tr].metrics()
        ),
        "TR's node to take the new trust list",
    )
    backdated = CrossBorderMessage(
        id=message_id(kz, tr, 900_000),
        sender=kz,
        receiver=tr,
        type=MessageType.CONTROL_RESULT,
        seq=900_000,
        created_at=revoked_at - timedelta(days=3),
        payload={"shipment": "SHP-BACKDATED"},
    ).sign(kz_signer)
    client = await connect_as(run, kz, errors)
    try:
        await client.jetstream().publish(
            f"kervan.{run.name}.{tr}.{kz}",
            backdated.to_bytes(),
            headers={"Nats-Msg-Id": backdated.id},
        )
    finally:
        await client.close()
    await wait_until(lambda: refusal_reasons(run, tr) == ["key_revoked"], "TR's refusal")


def test_the_corridor_runs_as_national_node_processes(running: Running) -> None:
    async def drive() -> None:
        await wait_until(partial(all_ready, running), "every node to be ready")
        await scenario(running.corridor)
        await faults(running)

    asyncio.run(asyncio.wait_for(drive(), 1500))
    tr, ge = CUSTOMS["TR"], CUSTOMS["GE"]
    for code in running.nodes:
        expected = ["key_revoked"] if code == tr else []
        assert refusal_reasons(running, code) == expected, code
    metrics = running.nodes[tr].metrics()
    assert (
        'kervan_exchange_dead_letters_total{authority="tr-customs",reason="not_an_envelope"} 1.0'
        in metrics
    )
    assert (
        'kervan_exchange_refusals_total{authority="tr-customs",reason="key_revoked"} 1.0' in metrics
    )
    assert f'kervan_exchange_last_applied_seq{{authority="{ge}",sender="{FORWARDER}"}}' in (
        running.nodes[ge].metrics()
    )
