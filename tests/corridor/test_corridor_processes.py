"""The corridor as its operators run it: `kervan corridor up` starts every national node from a
topology as its own OS process (the trade side's node, the customs of CN, UZ, KZ, AZ, GE and TR,
the permit authorities of KZ, AZ, GE and TR each on its own PostgreSQL database, and the Uzbek
permit authority on the trade side's database, where the truck's e-Permit requests are), each
with only its own keys, against a nats-server started here with the configuration `kervan
corridor nats-config` wrote (one user per authority).

The test acts as the authorities' officers and the trade side's staff do, through the use cases
on each node's own database; the node processes carry every message. In one run:
- two containers Xi'an -> Halkali clear every border (the in-process scenario, now over
  processes);
- an Uzbek truck Tashkent -> Istanbul on the planner's road route (Saryagash, the Aktau-Alat
  ferry, Red Bridge, Sarpi): KZ, AZ, GE and TR's permit authorities grant Uzbekistan quotas on
  their nodes (QUOTA_CREATED over the broker to the Uzbek authority), the Uzbek authority issues
  the four permits (PERMIT_CREATED to each), each border's customs releases the truck once and
  its permit authority records the ENTRANCE (PERMIT_USED back to the issuer);
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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import httpx
import nats
import nats.errors
import pytest
from nats.aio.client import Client as NatsClient
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.pool import NullPool
from typer.testing import CliRunner

from kervan.cli import app
from kervan.customs.recognition import InspectionResult
from kervan.errors import NotFoundError
from kervan.exchange.envelope import CrossBorderMessage, MessageType, message_id
from kervan.exchange.status import dead_letters, rejections
from kervan.network.dataset import load_network
from kervan.network.model import Network
from kervan.routing.plan import Plan
from kervan.routing.planner import Planner
from kervan.services.access import Caller, node_operator
from kervan.services.booking import book_shipment
from kervan.services.customs.release import ReleaseCargo, ReleaseRequest, release
from kervan.services.demo_corridor import (
    COTTON,
    UZBEK_TRUCK_ROUTE,
    caller_for,
    register_corridor,
)
from kervan.services.epermit_border import (
    BorderUse,
    Grant,
    GrantRequest,
    UseAtBorder,
    grant_quota,
    record_border_use,
)
from kervan.services.epermit_network import NewPartner, PartnerSpec, add_partner
from kervan.services.node import NodeContext
from kervan.services.permits import PERMIT_TYPES, IssueRequest, issue_for_shipment, permit_desk
from kervan.services.planning import plan_routes
from kervan.services.shipments import BookingRequest, EventRequest, RecordEvent, record_event
from kervan.settings import Settings
from kervan.shipments.booking import Cargo
from kervan.shipments.events import EventType
from kervan.store.db import make_engine, make_session_factory, normalise_url, unit_of_work
from kervan.store.keyfiles import KeyFileStore
from kervan.store.node_files import node_keys
from kervan.store.schema import upgrade
from kervan.store.uow import UnitOfWork
from tests.databases import postgres_server_url
from tests.exchange.conftest import nats_server_url, wait_for
from tests.exchange.test_customs_corridor_e2e import (
    CUSTOMS,
    FORWARDER,
    T0,
    TRADE_SIDE,
    Corridor,
    arrive,
    arriving,
    book,
    controls_held,
    holds_controls,
    released_on_timeline,
    scenario,
    share_directory,
    timeline_of,
)
from tests.ports import free_port

pytestmark = [pytest.mark.nats, pytest.mark.postgres, pytest.mark.slow]

WAIT = 180.0
OUTAGE = 30.0
PERMITS = ("kz-permits", "az-permits", "ge-permits", "tr-permits")
UZ_PERMITS, UZ_CUSTOMS = "uz-permits", "uz-customs"
TRUCK_PLATE = "01 A 123 BC"
#: Nodes that work on another node's database: the Uzbek permit authority issues its hauliers'
#: permits from the e-Permit requests the trade side's bookings open, on the trade side's node.
SHARED_DATABASE = {UZ_PERMITS: FORWARDER}
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


#: The node databases are kept between runs and emptied at the start and end of each: CREATE
#: DATABASE is quick, but DROP DATABASE makes PostgreSQL checkpoint, about 25 s each on a busy
#: machine. They are named for this test so nothing else on the server is touched.
DATABASE_PREFIX = "kervan_corridor_test_"
#: Held for the whole run on the server, so two test runs on one machine take turns.
POOL_LOCK = 7_305_250_001


@contextlib.contextmanager
def node_databases(codes: Iterable[str]) -> Iterator[dict[str, str]]:
    """A PostgreSQL database of its own for each node, empty and migrated, held by this run."""
    server = make_url(normalise_url(postgres_server_url()))
    admin = create_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    urls: dict[str, str] = {}
    with admin.connect() as lock:
        lock.execute(text("SELECT pg_advisory_lock(:key)"), {"key": POOL_LOCK})
        try:
            existing = set(lock.execute(text("SELECT datname FROM pg_database")).scalars())
            for code in codes:
                name = DATABASE_PREFIX + code.replace("-", "_")
                if name not in existing:
                    lock.execute(text(f'CREATE DATABASE "{name}"'))
                urls[code] = server.set(database=name).render_as_string(hide_password=False)
                empty_database(urls[code])
                upgrade(urls[code])
            yield urls
        finally:
            for url in urls.values():
                empty_database(url)
            lock.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": POOL_LOCK})
    admin.dispose()


def empty_database(url: str) -> None:
    """Drop every schema a node's store made, and give the database an empty `public` again."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with engine.connect() as connection:
            schemas = connection.execute(
                text(
                    "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' "
                    "AND nspname <> 'information_schema'"
                )
            ).scalars()
            for schema in list(schemas):
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            connection.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


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
            if node.authority in (*PERMITS, UZ_PERMITS)
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
    authorities = (FORWARDER, *CUSTOMS.values(), UZ_CUSTOMS, *PERMITS, UZ_PERMITS)
    engines: list[Engine] = []
    corridor_up: subprocess.Popen[bytes] | None = None
    nats_server: NatsServer | None = None
    stack = contextlib.ExitStack()
    try:
        databases = stack.enter_context(
            node_databases(code for code in authorities if code not in SHARED_DATABASE)
        )
        nodes: dict[str, NodeProcess] = {}
        for code in authorities:
            url = databases[SHARED_DATABASE.get(code, code)]
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
            # The trade node holds the trade side's keys; each authority only its own.
            own = (
                tuple(o for o in TRADE_SIDE if o not in (*PERMITS, UZ_PERMITS))
                if code == FORWARDER
                else (code,)
            )
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
            if code != FORWARDER and code not in SHARED_DATABASE:
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


def officer(ctx: NodeContext, org_id: str) -> Caller:
    with unit_of_work(ctx.sessions) as session:
        return caller_for(session, org_id)


def make_partners(run: Running) -> None:
    """The node operators make the Uzbek permit authority and those of KZ, AZ, GE and TR
    e-Permit partners on the corridor (as `kervan epermit partner add ORG CODE kervan://ORG`
    does): their events go over the broker, the keys come from the corridor's directory."""
    operator = node_operator("kervan-test", "TR")
    uz = run.contexts[UZ_PERMITS]
    for code in PERMITS:
        country = code[:2].upper()
        spec = PartnerSpec(code=country, url=f"kervan://{code}")
        add_partner(uz.unit_of_work(), operator, NewPartner(UZ_PERMITS, spec))
        back = PartnerSpec(code="UZ", url=f"kervan://{UZ_PERMITS}")
        add_partner(run.contexts[code].unit_of_work(), operator, NewPartner(code, back))


def book_truck(run: Running, reference: str) -> tuple[str, Plan]:
    """The forwarder books raw cotton on UZ Trucking's truck Tashkent -> Istanbul (the
    planner's best road plan avoiding Turkmenistan and Iran); e-Permit requests open."""
    trade = run.corridor.trade
    plan = plan_routes(trade.planner, UZBEK_TRUCK_ROUTE)[0]
    body = BookingRequest(
        reference=reference,
        route=UZBEK_TRUCK_ROUTE,
        plan_key=plan.plan_key,
        consignee="istanbul-imports",
        road_carrier="uz-trucking",
        guarantee_chain="uz-tir-association",
        cargo=Cargo.model_validate({**COTTON, "date_of_taking_over": T0.date()}),
    )
    booked = book_shipment(trade.unit_of_work(), officer(trade, FORWARDER), body)
    return booked.id, plan


def uz_quotas(run: Running) -> set[str]:
    with UnitOfWork(run.contexts[UZ_PERMITS].sessions, reading=True) as uow:
        return {q.quota.permit_issued_for for q in uow.permits.quotas_of(UZ_PERMITS)}


def knows_permit(run: Running, code: str, permit_id: str) -> bool:
    with UnitOfWork(run.contexts[code].sessions, reading=True) as uow:
        try:
            uow.permits.get_permit(permit_id, org_ids=[code])
        except NotFoundError:
            return False
        return True


def usages(run: Running, permit_id: str) -> list[tuple[str, str | None]]:
    with UnitOfWork(run.contexts[UZ_PERMITS].sessions, reading=True) as uow:
        record = uow.permits.get_permit(permit_id, org_ids=[UZ_PERMITS])
    return [(u.activity_type.value, u.activity_details) for u in record.usages]


def used_once(run: Running, permit_id: str) -> bool:
    return len(usages(run, permit_id)) >= 1


def holds_declaration(run: Running, code: str, shipment: str) -> bool:
    with UnitOfWork(run.contexts[code].sessions, reading=True) as uow:
        return uow.customs.declaration(code, shipment) is not None


async def truck_journey(run: Running) -> None:
    """An Uzbek truck Tashkent -> Istanbul: its permits granted, issued and used across the
    permit authorities' nodes, and every border on the planner's route cleared once."""
    c = run.corridor
    uz = run.contexts[UZ_PERMITS]
    make_partners(run)
    truck, plan = book_truck(run, "TAS-IST-TRUCK")
    borders = [leg for leg in plan.legs if leg.border is not None]
    assert [leg.to_country for leg in borders] == ["KZ", "AZ", "GE", "TR"]
    assert [leg.to_name for leg in borders] == [
        "Saryagash",
        "Alat port (Port of Baku)",
        "Tbilisi",
        "Hopa",
    ]

    # One e-Permit request per country entered, for the Uzbek permit authority to answer.
    uz_officer = officer(uz, UZ_PERMITS)
    requests = {r.countries[0]: r for r in permit_desk(uz.unit_of_work(), uz_officer).requests}
    assert sorted(requests) == ["AZ", "GE", "KZ", "TR"]
    # Each country's permit authority grants Uzbek hauliers a quota of the type its request
    # needs, on its own node: QUOTA_CREATED reaches the Uzbek authority over the broker.
    year = datetime.now(UTC).year
    for country, request in requests.items():
        code = f"{country.lower()}-permits"
        grant = GrantRequest(
            issuer="UZ", year=year, permit_type=PERMIT_TYPES[request.permit_type], quantity=20
        )
        granted = grant_quota(
            run.contexts[code].unit_of_work(), officer(run.contexts[code], code), Grant(None, grant)
        )
        assert granted.announced
    await wait_until(
        lambda: uz_quotas(run) == {"KZ", "AZ", "GE", "TR"}, "the quotas at the Uzbek authority"
    )
    # The Uzbek authority issues the four permits: PERMIT_CREATED reaches each country's node.
    wires: dict[str, dict[str, object]] = {}
    for country, request in requests.items():
        issue = IssueRequest(document_id=request.document_id)
        wires[country] = issue_for_shipment(uz.unit_of_work(), uz_officer, issue)
    for country, wire in wires.items():
        code = f"{country.lower()}-permits"
        await wait_until(
            partial(knows_permit, run, code, str(wire["permit_id"])), f"{code} to know its permit"
        )

    # The carrier takes the truck over: the pre-arrival declaration reaches every customs of
    # the route, the Uzbek customs of departure included.
    carrier = officer(c.trade, "uz-trucking")
    taken = EventRequest(type=EventType.TAKEN_OVER, at=T0)
    record_event(c.trade.unit_of_work(), carrier, RecordEvent(truck, taken))
    await wait_until(
        partial(holds_declaration, run, UZ_CUSTOMS, truck), "UZ customs to hold the declaration"
    )
    for leg in borders:
        await wait_for(partial(arriving, c, leg.to_country, truck), f"{leg.to_country} expects it")

    # At each border: customs arrival and release, and the permit checked and used.
    at = T0 + timedelta(hours=30)
    for index, leg in enumerate(borders):
        country = leg.to_country
        await wait_for(
            partial(holds_controls, c, country, truck, index),
            f"{country} customs to hold the controls of the countries before it",
        )
        found = arrive(c, country, truck, leg.index, at)
        inspection = InspectionResult.CONFORM if found.physical_inspection_required else None
        check = ReleaseRequest(
            leg_index=leg.index,
            at=at + timedelta(hours=3),
            documentary_check_passed=True,
            inspection=inspection,
        )
        ctx = c.customs[country]
        release(ctx.unit_of_work(), officer(ctx, CUSTOMS[country]), ReleaseCargo(truck, check))
        code = f"{country.lower()}-permits"
        use = BorderUse(
            qr=str(wires[country]["qr_code"]),
            plate=TRUCK_PLATE,
            activity="ENTRANCE",
            details=leg.to_name,
        )
        permits = run.contexts[code]
        used = record_border_use(
            permits.unit_of_work(), officer(permits, code), UseAtBorder(None, use)
        )
        assert (used.issuer, used.uses) == ("UZ", 1)
        await wait_for(
            partial(released_on_timeline, c, truck, leg.index),
            f"the trade side to record {country}'s release of the truck",
        )
        at += timedelta(hours=30)
    for country, wire in wires.items():
        permit_id = str(wire["permit_id"])
        entered = next(leg.to_name for leg in borders if leg.to_country == country)
        await wait_until(partial(used_once, run, permit_id), f"{country}'s PERMIT_USED")
        assert usages(run, permit_id) == [("ENTRANCE", entered)]
    # Every border's release is on the timeline exactly once.
    released = [
        s.leg_index
        for s in timeline_of(c, truck)
        if s.event is EventType.BORDER_RELEASE and s.actual_at is not None
    ]
    assert released == [leg.index for leg in borders]
    with UnitOfWork(c.trade.sessions, reading=True) as uow:
        shipment = uow.shipments.find(truck)
        assert shipment is not None
        recorded = [e.leg_index for e in uow.shipments.events(shipment)
                    if e.type is EventType.BORDER_RELEASE]  # fmt: skip
    assert recorded == [leg.index for leg in borders]  # one release per border, no second
    # Turkiye holds the controls of the three borders before its own, once each, and its own.
    assert controls_held(c, "TR", truck) == ["KZ", "AZ", "GE", "TR"]


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
        await truck_journey(running)
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
