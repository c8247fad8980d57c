"""The Simplified Customs Corridor with every authority its own node over NATS JetStream.

The trade side (the forwarder that books, the carrier that takes over) keeps the shipments on
its node (SQLite or PostgreSQL); the customs of CN, KZ, AZ, GE and TR each run a node with
their own SQLite store, only their own signing key and their own NATS connection (every store
knows the corridor's organisations and their public keys). Nothing reaches another authority
but through a signed message relayed from the outbox and applied by the receiver's inbox with
the customs corridor's handlers, the same ones `kervan node --authority X` runs; each customs
works its border from its own records only.

Taking the cargo over sends the pre-arrival declaration to every customs on the route: each
work list shows both containers coming, in the lane its own rules give, with their reasons. A
green container under an intact seal crosses AZ, GE and TR on KZ's recognised control without
re-inspection; every release reaches the trade side, whose handler records it on the
shipment's timeline. Georgia finds the second container's seal broken: red, no release without
an inspection, and Turkiye receives Georgia's control with its finding.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from kervan.customs.recognition import InspectionResult
from kervan.documents.goods import SealCondition
from kervan.errors import IllegalTransitionError
from kervan.exchange.bus import NatsJetStreamBroker
from kervan.exchange.node import Node
from kervan.exchange.status import rejections
from kervan.network.dataset import load_network
from kervan.network.model import Mode, Network
from kervan.routing.plan import Plan
from kervan.routing.planner import Planner
from kervan.services.booking import book_shipment
from kervan.services.customs.crossing import RecordArrival, record_arrival
from kervan.services.customs.handlers import message_handler
from kervan.services.customs.release import ReleaseCargo, ReleaseRequest, SealFound, release
from kervan.services.customs.worklist import WorkItem, WorkList, WorkListQuery, work_list
from kervan.services.demo_corridor import (
    BATTERIES,
    CORRIDOR_ORGANISATIONS,
    caller_for,
    register_corridor,
)
from kervan.services.node import NodeContext
from kervan.services.planning import RouteQuery, plan_routes
from kervan.services.shipments import (
    BookingRequest,
    EventRequest,
    RecordEvent,
    ShipmentRef,
    record_event,
    shipment_timeline,
)
from kervan.settings import Settings
from kervan.shipments.booking import Cargo
from kervan.shipments.events import EventType, TimelineEntry
from kervan.store.db import make_engine, make_session_factory, unit_of_work
from kervan.store.keyfiles import KeyFileStore
from kervan.store.repositories.organisations import OrganisationKind
from kervan.store.repositories.signing_keys import SigningKeyRepository
from kervan.store.tables import OrganisationAddressRow, OrganisationRow, SigningKeyRow, table_of
from kervan.store.uow import UnitOfWork
from tests.databases import BACKENDS, migrated_database
from tests.exchange.conftest import drop_corridor, nats_brokers, run, wait_for

SEAL = "CN2026118"
FORWARDER = "xian-forwarding"
CARRIER = "ktz-express"
CUSTOMS = {c: f"{c.lower()}-customs" for c in ("CN", "KZ", "AZ", "GE", "TR")}
TRADE_SIDE = tuple(
    org_id for org_id, _, _, kind, *_ in CORRIDOR_ORGANISATIONS
    if kind is not OrganisationKind.CUSTOMS_AUTHORITY
)  # fmt: skip
RAIL = RouteQuery(
    origin="Xi'an",
    destination="Halkali",
    avoid_countries=["RU", "BY"],
    avoid_modes=[Mode.ROAD, Mode.SEA],
    alternatives=1,
)
T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def network() -> Network:
    return load_network()


@pytest.fixture(scope="module")
def planner(network: Network) -> Planner:
    return Planner(network)


@dataclass
class Corridor:
    """The trade node's and each customs node's context (own store, own keys), and their
    exchange nodes."""

    trade: NodeContext
    customs: dict[str, NodeContext]
    nodes: list[Node] = field(default_factory=list)

    def refusals(self) -> dict[str, list[str]]:
        """Every message any node's inbox refused, by authority (expected: none)."""
        out: dict[str, list[str]] = {}
        for node in self.nodes:
            with unit_of_work(node.sessions) as session:
                found = [f"{r.reason}: {r.detail}" for r in rejections(session, node.authority)]
            if found:
                out[node.authority] = found
        return out


def keys_of(base: KeyFileStore, folder: Path, org_ids: tuple[str, ...]) -> KeyFileStore:
    """A key store holding only these organisations' keys (a node holds its own keys only)."""
    folder.mkdir(parents=True, exist_ok=True)
    for org_id in org_ids:
        shutil.copytree(base.directory / org_id, folder / org_id)
    return KeyFileStore(folder)


def share_directory(source: sessionmaker[Session], target: sessionmaker[Session]) -> None:
    """Give a node's store the corridor's organisations, addresses and public keys."""
    tables = [table_of(OrganisationRow), table_of(OrganisationAddressRow), table_of(SigningKeyRow)]
    with unit_of_work(source) as session:
        rows = {t.name: [dict(r) for r in session.execute(t.select()).mappings()] for t in tables}
    with unit_of_work(target) as session:
        for table in tables:
            session.execute(table.insert(), rows[table.name])


@pytest.fixture
def corridor(
    request: pytest.FixtureRequest, tmp_path: Path, network: Network, planner: Planner
) -> Iterator[Corridor]:
    backend: str = request.param
    engines: list[Engine] = []
    with contextlib.ExitStack() as stack:

        def context(name: str, store: str, org_ids: tuple[str, ...]) -> NodeContext:
            (tmp_path / name).mkdir()
            url = stack.enter_context(migrated_database(store, tmp_path / name))
            engine = make_engine(url)
            engines.append(engine)
            settings = Settings(
                environment="test",
                database_url=url,
                data_dir=tmp_path / name,
                secret_key="t" * 48,
            )
            keys = keys_of(everyone, tmp_path / f"{name}-keys", org_ids)
            return NodeContext(settings, make_session_factory(engine), network, planner, keys)

        everyone = KeyFileStore(tmp_path / "registration-keys")
        trade = context("trade", backend, ())
        register_corridor(trade.sessions, everyone)
        for org_id in TRADE_SIDE:
            shutil.copytree(everyone.directory / org_id, trade.keys.directory / org_id)
        customs = {c: context(code, "sqlite", (code,)) for c, code in CUSTOMS.items()}
        for ctx in customs.values():
            share_directory(trade.sessions, ctx.sessions)
        try:
            yield Corridor(trade, customs)
        finally:
            for engine in engines:
                engine.dispose()


def book(c: Corridor, reference: str) -> tuple[str, Plan]:
    """The forwarder books a container Xi'an -> Halkali by rail and ferry, with its drafts."""
    ctx = c.trade
    plan = plan_routes(ctx.planner, RAIL)[0]
    body = BookingRequest(
        reference=reference,
        route=RAIL,
        plan_key=plan.plan_key,
        consignee="istanbul-imports",
        rail_carrier=CARRIER,
        cargo=Cargo.model_validate({**BATTERIES, "date_of_taking_over": T0.date()}),
    )
    with unit_of_work(ctx.sessions) as session:
        forwarder = caller_for(session, FORWARDER)
    booked = book_shipment(ctx.unit_of_work(), forwarder, body)
    return booked.id, plan_routes(ctx.planner, RAIL)[0]


def listed(c: Corridor, country: str) -> WorkList:
    ctx = c.customs[country]
    with unit_of_work(ctx.sessions) as session:
        officer = caller_for(session, CUSTOMS[country])
    return work_list(ctx.unit_of_work(), officer, WorkListQuery())


def item(c: Corridor, country: str, shipment: str) -> WorkItem | None:
    work = listed(c, country)
    return next((i for i in [*work.arriving, *work.at_border] if i.shipment_id == shipment), None)


def arriving(c: Corridor, country: str, shipment: str) -> bool:
    return shipment in [i.shipment_id for i in listed(c, country).arriving]


def controls_held(c: Corridor, country: str, shipment: str) -> list[str]:
    with UnitOfWork(c.customs[country].sessions, reading=True) as uow:
        return [x.country for x in uow.customs.controls(CUSTOMS[country], shipment)]


def holds_controls(c: Corridor, country: str, shipment: str, count: int) -> bool:
    return len(controls_held(c, country, shipment)) >= count


def timeline_of(c: Corridor, shipment: str) -> list[TimelineEntry]:
    """The shipment's timeline as the forwarder that booked it sees it on the trade node."""
    with unit_of_work(c.trade.sessions) as session:
        forwarder = caller_for(session, FORWARDER)
    return shipment_timeline(c.trade.unit_of_work(), forwarder, ShipmentRef(shipment))


def released_on_timeline(c: Corridor, shipment: str, leg: int) -> bool:
    steps = timeline_of(c, shipment)
    return any(
        s.event is EventType.BORDER_RELEASE and s.leg_index == leg and s.actual_at for s in steps
    )


def arrive(c: Corridor, country: str, shipment: str, leg: int, at: datetime) -> WorkItem:
    ctx = c.customs[country]
    with unit_of_work(ctx.sessions) as session:
        officer = caller_for(session, CUSTOMS[country])
    command = RecordArrival(shipment, leg, at)
    return record_arrival(ctx.unit_of_work(), officer, command)


def release_at(
    c: Corridor,
    country: str,
    shipment: str,
    leg: int,
    at: datetime,
    condition: SealCondition = SealCondition.INTACT,
    inspection: InspectionResult | None = None,
) -> WorkItem:
    ctx = c.customs[country]
    with unit_of_work(ctx.sessions) as session:
        officer = caller_for(session, CUSTOMS[country])
    body = ReleaseRequest(
        leg_index=leg,
        at=at,
        documentary_check_passed=True,
        inspection=inspection,
        seals=[SealFound(number=SEAL, condition=condition)],
    )
    return release(ctx.unit_of_work(), officer, ReleaseCargo(shipment, body))


async def cross(c: Corridor, shipment: str, leg: int, country: str, at: datetime) -> WorkItem:
    """Arrive and release (inspecting when the lane asks); wait for the trade side to record
    the release on the timeline."""
    found = arrive(c, country, shipment, leg, at)
    assert found.arrived_at == at
    assert item(c, country, shipment) == found
    inspection = InspectionResult.CONFORM if found.physical_inspection_required else None
    release_at(c, country, shipment, leg, at + timedelta(hours=2), inspection=inspection)
    await wait_for(
        lambda: released_on_timeline(c, shipment, leg),
        f"the trade side to record {country}'s release of {shipment}",
    )
    return found


async def scenario(c: Corridor) -> None:
    green, plan = book(c, "XIA-HAL-GREEN")
    broken, _ = book(c, "XIA-HAL-SEAL")
    borders = [leg for leg in plan.legs if leg.border is not None]
    countries = [leg.to_country for leg in borders]
    assert countries == ["KZ", "AZ", "GE", "TR"]

    # Before the cargo is taken over no customs knows of it.
    assert listed(c, "KZ").arriving == []
    with unit_of_work(c.trade.sessions) as session:
        carrier = caller_for(session, CARRIER)
    for shipment in (green, broken):
        taken = EventRequest(type=EventType.TAKEN_OVER, at=T0)
        record_event(c.trade.unit_of_work(), carrier, RecordEvent(shipment, taken))

    # Pre-arrival over the broker: every country's work list shows both containers coming,
    # when the plan expects them, in the lane its own rules give with their reasons.
    for country in countries:
        for shipment in (green, broken):
            await wait_for(
                partial(arriving, c, country, shipment),
                f"{country}'s work list to show {shipment} coming",
            )
    steps = timeline_of(c, green)
    planned = {(s.event, s.leg_index): s.planned_at for s in steps}
    for country in countries:
        coming = item(c, country, green)
        assert coming is not None
        assert coming.expected_at == planned[(EventType.BORDER_ARRIVAL, coming.leg_index)]
        assert any("CSQU3054383" in t for t in coming.transport)
        assert coming.seals == [f"{SEAL} (intact)"]
        rules = {r.rule for r in coming.reasons}
        assert "dangerous_goods" in rules, (country, coming.reasons)
        assert any(r.startswith("sensitive_hs") for r in rules), (country, coming.reasons)
        assert coming.lane == "yellow", (country, coming.reasons)
        assert not coming.physical_inspection_required
        assert coming.recognised_control is None

    # The green container: KZ's control is recognised by AZ, GE and TR, no re-inspection.
    at = T0 + timedelta(hours=60)
    for index, leg in enumerate(borders):
        country = leg.to_country
        await wait_for(
            partial(holds_controls, c, country, green, index),
            f"{country} customs to hold the controls of the countries before it",
        )
        crossed = await cross(c, green, leg.index, country, at)
        if country == "KZ":
            assert crossed.lane == "yellow"
            assert crossed.recognised_control is None
        else:
            assert crossed.lane == "green", (country, crossed.reasons)
            assert not crossed.physical_inspection_required
            assert crossed.recognised_control is not None
            assert crossed.recognised_control.startswith("KZ at "), crossed.recognised_control
        at += timedelta(hours=30)
    steps = timeline_of(c, green)
    releases = [s for s in steps if s.event is EventType.BORDER_RELEASE]
    assert [s.actual_at is not None for s in releases] == [True] * 4

    # The second container: GE finds the seal broken; red, no release without inspection.
    at = T0 + timedelta(hours=60)
    for index, leg in enumerate(borders[:2]):
        await wait_for(
            partial(holds_controls, c, leg.to_country, broken, index),
            f"{leg.to_country} customs to hold the second container's earlier controls",
        )
        await cross(c, broken, leg.index, leg.to_country, at)
        at += timedelta(hours=30)
    ge_leg = borders[2].index
    await wait_for(
        lambda: controls_held(c, "GE", broken) == ["KZ", "AZ"],
        "GE customs to hold KZ's and AZ's controls of the second container",
    )
    arrive(c, "GE", broken, ge_leg, at)
    with pytest.raises(IllegalTransitionError) as refused:
        release_at(c, "GE", broken, ge_leg, at + timedelta(hours=1), SealCondition.BROKEN)
    assert "red lane" in refused.value.message
    release_at(
        c,
        "GE",
        broken,
        ge_leg,
        at + timedelta(hours=3),
        SealCondition.BROKEN,
        InspectionResult.CONFORM,
    )
    await wait_for(
        lambda: "GE" in controls_held(c, "TR", broken),
        "TR customs to receive Georgia's control of the second container",
    )
    with UnitOfWork(c.customs["TR"].sessions, reading=True) as uow:
        georgian = uow.customs.control(CUSTOMS["TR"], broken, "GE")
    assert georgian is not None
    assert georgian.inspection is InspectionResult.CONFORM
    assert [s.condition for s in georgian.seals] == [SealCondition.BROKEN]
    # Turkiye recognises no control over a broken seal.
    coming = item(c, "TR", broken)
    assert coming is not None
    assert coming.recognised_control is None
    await wait_for(
        lambda: released_on_timeline(c, broken, ge_leg),
        "the trade side to record Georgia's release of the second container",
    )


async def drive(c: Corridor, nats_url: str, corridor_name: str) -> None:
    authorities = (FORWARDER, *CUSTOMS.values())
    brokers: dict[str, NatsJetStreamBroker] = await nats_brokers(
        nats_url, corridor_name, authorities
    )
    try:
        with unit_of_work(c.trade.sessions) as session:
            trust = SigningKeyRepository(session).trust_list()
        for code in authorities:
            ctx = c.trade if code == FORWARDER else c.customs[code[:2].upper()]
            signer = ctx.keys.load(code, ctx.keys.kids(code)[-1])
            node = Node(
                code,
                sessions=ctx.sessions,
                signer=signer,
                trust=trust,
                broker=brokers[code],
                handler=message_handler(ctx.clock),
                batch=50,
                fetch_timeout=0.2,
            )
            c.nodes.append(node)
            node.start()
        try:
            await scenario(c)
        finally:
            for node in c.nodes:
                await node.stop()
        assert c.refusals() == {}
    finally:
        await drop_corridor(nats_url, corridor_name, brokers)


@pytest.mark.parametrize("corridor", BACKENDS, indirect=True)
def test_simplified_customs_corridor_across_national_nodes(
    corridor: Corridor, nats_url: str, corridor_name: str
) -> None:
    run(drive(corridor, nats_url, corridor_name), 240)
