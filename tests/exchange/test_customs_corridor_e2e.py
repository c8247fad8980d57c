"""The Simplified Customs Corridor across separate national nodes over NATS JetStream.

A trade node books a container Xi'an -> Istanbul (twice) and a Uzbek truck Tashkent -> Istanbul;
customs nodes of CN, UZ, KZ, AZ, GE and TR and permit authority nodes of KZ, AZ, GE and TR each
keep their own SQLite store and key. Every country's work list shows the cargo before it
arrives, in the lane its own rules give with their reasons; a green container under an intact
seal crosses AZ, GE and TR on KZ's recognised control without re-inspection; a broken seal
sends the second container red; every TIR operation of the truck is discharged and the trade
node sees the transport end; the truck's e-Permits are checked and used at every border.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path

import pytest

from kervan.customs.crossing import BorderCrossingRecord, CrossingState
from kervan.customs.recognition import InspectionResult
from kervan.customs.rules import Lane
from kervan.documents.epermit import ActivityType
from kervan.documents.etir import OperationState
from kervan.documents.goods import Seal, SealCondition, SealingParty
from kervan.errors import IllegalTransitionError, NotFoundError, PermitRefusedError
from kervan.network.dataset import load_network
from kervan.network.model import Mode, Network
from kervan.routing.planner import Planner
from kervan.services.booking import book_shipment
from kervan.services.border_permits import PermitAuthorityService
from kervan.services.demo_corridor import BATTERIES, COTTON, UZBEK_TRUCK_ROUTE, caller_for
from kervan.services.planning import RouteQuery, plan_routes
from kervan.services.shipments import BookingRequest
from kervan.shipments.booking import Cargo
from kervan.store.db import unit_of_work
from tests.databases import BACKENDS
from tests.exchange.border_corridor import (
    DIRECTORY,
    TRADE,
    BorderNode,
    Corridor,
    build_corridor,
    corridor_stores,
)
from tests.exchange.conftest import drop_corridor, nats_brokers, run, wait_for

SEAL = "CN2026118"
RAIL = RouteQuery(
    origin="Xi'an",
    destination="Halkali",
    avoid_countries=["RU", "BY"],
    avoid_modes=[Mode.ROAD, Mode.SEA],
    alternatives=1,
)
ROAD = UZBEK_TRUCK_ROUTE


@pytest.fixture(scope="module")
def network() -> Network:
    return load_network()


@pytest.fixture(scope="module")
def planner(network: Network) -> Planner:
    return Planner(network)


def book(
    corridor: Corridor,
    reference: str,
    shipper: str,
    query: RouteQuery,
    cargo: dict[str, object],
    **parties: str,
) -> str:
    """Book a shipment on the trade node with its drafts (e-Permit and e-TIR requests)."""
    ctx = corridor.ctx
    plan = plan_routes(ctx.planner, query)[0]
    body = BookingRequest(
        reference=reference,
        route=query,
        plan_key=plan.plan_key,
        consignee="istanbul-imports",
        cargo=Cargo.model_validate({**cargo, "date_of_taking_over": datetime.now(UTC).date()}),
        **parties,
    )
    with unit_of_work(ctx.sessions) as session:
        booker = caller_for(session, shipper)
    return book_shipment(ctx.unit_of_work(), booker, body).id


def record(corridor: Corridor, country: str, shipment: str) -> BorderCrossingRecord:
    customs = corridor.customs[country]
    return corridor.customs_store(country).read(lambda s: customs.record(s, shipment))


def listed_arriving(corridor: Corridor, country: str, office: str, shipment: str) -> bool:
    """Whether `office`'s work list shows `shipment` as arriving."""
    customs = corridor.customs[country]
    listed = corridor.customs_store(country).read(partial(customs.work_list, office=office))
    return shipment in [item.shipment for item in listed.arriving]


def holds_version(corridor: Corridor, country: str, shipment: str, version: int) -> bool:
    return record(corridor, country, shipment).declaration_version == version


def tir_is(corridor: Corridor, country: str, shipment: str, state: str) -> bool:
    return tir_state(corridor, country, shipment) == state


def used_in_and_out(store: BorderNode, authority: PermitAuthorityService) -> bool:
    """Whether the authority's one permit shows an ENTRANCE and then an EXIT."""
    usages = [[u.activity_type for u in p.usages] for p in store.read(authority.permits)]
    return usages == [[ActivityType.ENTRANCE, ActivityType.EXIT]]


class Clock:
    """The corridor's simulated time for one shipment: each step after the one before."""

    def __init__(self) -> None:
        self.at = datetime.now(UTC)

    def next(self, record: BorderCrossingRecord, hours: float = 1.0) -> datetime:
        floor = max(self.at, record.pre_arrival_received_at, record.expected_arrival)
        self.at = floor + timedelta(hours=hours)
        return self.at


async def cross(
    corridor: Corridor,
    country: str,
    shipment: str,
    clock: Clock,
    *,
    seals: tuple[Seal, ...] | None = None,
    with_permit: bool = False,
) -> BorderCrossingRecord:
    """Arrive, check documents, inspect when the lane asks, release and exit at one border."""
    customs = corridor.customs[country]
    store = corridor.customs_store(country)
    before = record(corridor, country, shipment)
    permit = None
    if with_permit:
        permit = (
            corridor.store(TRADE)
            .read(lambda s: corridor.trade.permit_for(s, shipment, country))
            .to_wire()
        )
    at = clock.next(before)
    with unit_of_work(store.sessions) as session:
        arrived = customs.arrive(session, shipment, at=at, seals=seals, permit=permit)
        customs.check_documents(session, shipment, at=at + timedelta(hours=1), passed=True)
        if arrived.decision.physical_inspection_required:
            customs.inspect(
                session, shipment, at=at + timedelta(hours=2), result=InspectionResult.CONFORM
            )
        customs.release(session, shipment, at=at + timedelta(hours=3))
        clock.at = max(at + timedelta(hours=4), arrived.expected_exit)
        customs.exit(session, shipment, at=clock.at)
    return record(corridor, country, shipment)


async def wait_controls(corridor: Corridor, country: str, shipment: str, count: int) -> None:
    customs = corridor.customs[country]
    store = corridor.customs_store(country)
    await wait_for(
        lambda: len(store.read(lambda s: customs.controls(s, shipment))) >= count,
        f"{country} customs to hold {count} control result(s) of {shipment}",
    )


async def scenario(corridor: Corridor) -> None:
    trade, ctx = corridor.trade, corridor.ctx
    trade_store = corridor.store(TRADE)
    carrier = {"rail_carrier": "ktz-express"}
    green = book(corridor, "XIA-HAL-GREEN", "xian-forwarding", RAIL, BATTERIES, **carrier)
    broken = book(corridor, "XIA-HAL-SEAL", "xian-forwarding", RAIL, BATTERIES, **carrier)
    truck = book(
        corridor,
        "TAS-IST-0042",
        "tashkent-cotton",
        ROAD,
        COTTON,
        road_carrier="uz-trucking",
        guarantee_chain="uz-tir-association",
    )

    # The truck's e-Permits come from the permit authority node of each country it enters.
    with unit_of_work(ctx.sessions) as session:
        assert trade.request_permits(session, truck) == 4
    await wait_for(
        lambda: len(trade_store.read(lambda s: trade.permits(s, truck))) == 4,
        "the four permit authorities to issue the truck's permits",
    )
    held = trade_store.read(lambda s: trade.permits(s, truck))
    assert sorted(p.permit.permit_issuer for p in held) == ["AZ", "GE", "KZ", "TR"]
    assert {p.permit.permit_issuer: int(p.permit.permit_type) for p in held} == {
        "KZ": 2, "AZ": 2, "GE": 2, "TR": 1,
    }  # fmt: skip

    # Before the cargo is taken over no customs node knows of it.
    assert record_or_none(corridor, "KZ", green) is None

    t0 = datetime.now(UTC)
    with unit_of_work(ctx.sessions) as session:
        for shipment, by in (
            (green, "ktz-express"),
            (broken, "ktz-express"),
            (truck, "uz-trucking"),
        ):
            trade.take_over(session, caller_for(session, by), shipment, at=t0)
    with unit_of_work(ctx.sessions) as session:
        today = t0.date()
        trade.submit_tir(
            session,
            truck,
            guarantee_reference="XG71234567",
            valid_from=today - timedelta(days=1),
            valid_until=today + timedelta(days=90),
            at=t0,
        )
    routes = {
        s: trade_store.read(partial(trade.declaration, shipment_id=s)).current.content.route
        for s in (green, broken, truck)
    }
    assert [p.country for p in routes[green].passages] == ["CN", "KZ", "AZ", "GE", "TR"]
    assert [p.country for p in routes[truck].passages] == ["UZ", "KZ", "AZ", "GE", "TR"]

    # Pre-arrival: every country's work list at its entry office shows the cargo coming.
    for shipment, route in routes.items():
        for passage in route.passages:
            await wait_for(
                partial(listed_arriving, corridor, passage.country, passage.entry_office, shipment),
                f"{passage.country}'s work list at {passage.entry_office} to show {shipment}",
            )
    for passage in routes[green].passages:
        customs = corridor.customs[passage.country]
        listed = corridor.customs_store(passage.country).read(
            partial(customs.work_list, office=passage.entry_office)
        )
        item = next(i for i in listed.arriving if i.shipment == green)
        assert item.expected_arrival == passage.expected_entry
        assert "CSQU3054383" in item.transport
        assert item.seals == (f"{SEAL} (intact)",)
        rules = [r.split(" ")[0] for r in item.reasons]
        assert "dangerous_goods" in rules, (passage.country, item.reasons)
        assert any(r.startswith("sensitive_hs:8507") for r in rules), item.reasons
        # 20 + 15 under each country's rules: yellow, documents checked, goods not required.
        assert item.lane is Lane.YELLOW, (passage.country, item.reasons)
        assert not item.physical_inspection_required
    for passage in routes[truck].passages:
        rec = record(corridor, passage.country, truck)
        # Cotton fairly valued, no seal, no history: nothing fires, green everywhere.
        assert (rec.decision.lane, rec.decision.reasons) == (Lane.GREEN, ()), passage.country

    # An amendment reaches every country as version 2, before the truck does.
    content = trade_store.read(lambda s: trade.declaration(s, truck)).current.content
    heavier = content.goods[0].model_copy(update={"gross_weight_kg": Decimal("20400.000")})
    with unit_of_work(ctx.sessions) as session:
        amended = trade.amend(
            session,
            content.model_copy(update={"goods": (heavier,)}),
            reason="weighbridge at Tashkent",
            at=t0 + timedelta(minutes=5),
        )
    assert amended.number == 2
    assert [c.path for c in amended.changes] == ["goods[0].gross_weight_kg"]
    for passage in routes[truck].passages:
        await wait_for(
            partial(holds_version, corridor, passage.country, truck, 2),
            f"{passage.country} to hold version 2 of the truck's declaration",
        )

    # e-TIR: the customs of departure accepts the holder's transport; everyone gets it.
    uz = corridor.customs["UZ"]
    uz_store = corridor.customs_store("UZ")
    await wait_for(
        lambda: uz_store.read(lambda s: uz.tir(s, truck)) is not None,
        "UZ customs to receive the submitted TIR transport",
    )
    with unit_of_work(uz_store.sessions) as session:
        uz.accept_tir(session, truck, at=t0 + timedelta(minutes=10))
    for country in ("KZ", "AZ", "GE", "TR"):
        await wait_for(
            partial(tir_is, corridor, country, truck, "accepted"),
            f"{country} customs to hold the accepted TIR transport",
        )

    # The green container: KZ's control is recognised by AZ, GE and TR, no re-inspection.
    clock = Clock()
    for index, passage in enumerate(routes[green].passages):
        await wait_controls(corridor, passage.country, green, index)
        crossed = await cross(corridor, passage.country, green, clock)
        assert crossed.state is CrossingState.EXITED
        decision = crossed.decision
        if passage.country in ("AZ", "GE", "TR"):
            assert decision.lane is Lane.GREEN, (passage.country, decision.reason_texts())
            assert not decision.physical_inspection_required
            assert crossed.physical_inspection is None
            assert decision.recognised is not None
            assert decision.recognised.country == "KZ"
            assert decision.recognised.seal_numbers() == {SEAL}
        else:
            assert decision.lane is Lane.YELLOW, (passage.country, decision.reason_texts())
            assert decision.recognised is None

    # The second container: GE finds the seal broken; red, and no release without inspection.
    clock = Clock()
    passages = routes[broken].passages
    for index, passage in enumerate(passages[:3]):
        await wait_controls(corridor, passage.country, broken, index)
        await cross(corridor, passage.country, broken, clock)
    await wait_controls(corridor, "GE", broken, 3)
    ge = corridor.customs["GE"]
    ge_store = corridor.customs_store("GE")
    declared = content_seal(corridor, broken)
    snapped = (declared.model_copy(update={"condition": SealCondition.BROKEN}),)
    at = clock.next(record(corridor, "GE", broken))
    with unit_of_work(ge_store.sessions) as session:
        arrived = ge.arrive(session, broken, at=at, seals=snapped)
        ge.check_documents(session, broken, at=at + timedelta(hours=1), passed=True)
    decision = arrived.decision
    assert decision.lane is Lane.RED, decision.reason_texts()
    assert decision.physical_inspection_required
    assert decision.recognised is None
    assert any(r.rule == "seal_broken" and SEAL in r.finding for r in decision.reasons)
    refusal = next(r for r in decision.reasons if r.rule == "recognised_control")
    assert "not recognised" in refusal.finding
    assert "broken" in refusal.finding
    with pytest.raises(IllegalTransitionError), unit_of_work(ge_store.sessions) as session:
        ge.release(session, broken, at=at + timedelta(hours=2))
    resealed = (
        Seal(number="GE2026551", identifier="GE-GARDABANI", affixed_by=SealingParty.CUSTOMS),
    )
    with unit_of_work(ge_store.sessions) as session:
        ge.inspect(
            session,
            broken,
            at=at + timedelta(hours=3),
            result=InspectionResult.CONFORM,
            seals_after=resealed,
        )
        ge.release(session, broken, at=at + timedelta(hours=4))
    await wait_controls(corridor, "TR", broken, 4)
    tr = corridor.customs["TR"]
    ge_control = next(
        c
        for c in corridor.customs_store("TR").read(lambda s: tr.controls(s, broken))
        if c.country == "GE"
    )
    assert ge_control.inspection is InspectionResult.CONFORM
    assert ge_control.seal_numbers() == {"GE2026551"}

    # The truck: permits checked and used at each border, TIR operations one after another.
    clock = Clock()
    itinerary = [p.country for p in routes[truck].passages]
    for index, country in enumerate(itinerary):
        await wait_for(
            partial(discharged, corridor, country, truck, itinerary[:index]),
            f"{country} customs to see the TIR operations before it discharged",
        )
        if country == "KZ":
            forged = (
                trade_store.read(lambda s: trade.permit_for(s, truck, "KZ"))
                .model_copy(update={"plate_number": "10 K 777 KA"})
                .to_wire()
            )
            store = corridor.customs_store("KZ")
            kz = corridor.customs["KZ"]
            with pytest.raises(PermitRefusedError) as caught, unit_of_work(store.sessions) as s:
                kz.arrive(s, truck, at=clock.next(record(corridor, "KZ", truck)), permit=forged)
            assert caught.value.reason == "qr_claims"
            assert record(corridor, "KZ", truck).state is CrossingState.EXPECTED
        crossed = await cross(corridor, country, truck, clock, with_permit=country != "UZ")
        assert crossed.state is CrossingState.EXITED
        assert crossed.physical_inspection is None
        assert discharged(corridor, country, truck, itinerary[: index + 1])

    await wait_for(
        lambda: trade_store.read(lambda s: trade.view(s, truck)).tir_state == "ended",
        "the trade node to see the TIR transport ended",
    )
    view = trade_store.read(lambda s: trade.view(s, truck))
    assert view.tir_operations == dict.fromkeys(itinerary, "discharged")
    assert view.declaration_version == 2
    await wait_for(
        lambda: (
            [c.state for c in trade_store.read(lambda s: trade.view(s, truck)).crossings]
            == [CrossingState.EXITED] * 5
        ),
        "the trade node to hear every crossing of the truck",
    )
    view = trade_store.read(lambda s: trade.view(s, truck))
    assert sorted(c.country for c in view.controls) == sorted(itinerary)
    for country in ("KZ", "AZ", "GE", "TR"):
        authority = corridor.permits[country]
        store = corridor.store(DIRECTORY.permits_of(country))
        await wait_for(
            partial(used_in_and_out, store, authority),
            f"{country}'s permit authority to record the truck's entrance and exit",
        )
        (issued,) = store.read(authority.permits)
        assert {u.control_authority for u in issued.usages} == {country}
    green_view = trade_store.read(lambda s: trade.view(s, green))
    await wait_for(
        lambda: len(trade_store.read(lambda s: trade.view(s, green)).controls) == 5,
        "the trade node to hold the green container's five controls",
    )
    assert green_view.tir_state is None


def record_or_none(corridor: Corridor, country: str, shipment: str) -> BorderCrossingRecord | None:
    try:
        return record(corridor, country, shipment)
    except NotFoundError:
        return None


def tir_state(corridor: Corridor, country: str, shipment: str) -> str | None:
    customs = corridor.customs[country]
    transport = corridor.customs_store(country).read(lambda s: customs.tir(s, shipment))
    return None if transport is None else transport.state.value


def discharged(corridor: Corridor, country: str, shipment: str, before: list[str]) -> bool:
    """Whether `country`'s copy of the TIR transport has the operations of `before` discharged."""
    customs = corridor.customs[country]
    transport = corridor.customs_store(country).read(lambda s: customs.tir(s, shipment))
    if transport is None:
        return False
    states = {op.country: op.state for op in transport.operations}
    return all(states[c] is OperationState.DISCHARGED for c in before)


def content_seal(corridor: Corridor, shipment: str) -> Seal:
    trade = corridor.trade
    content = corridor.store(TRADE).read(lambda s: trade.declaration(s, shipment)).current.content
    (seal,) = content.transport.all_seals()
    return seal


async def drive(
    urls: dict[str, str],
    network: Network,
    planner: Planner,
    tmp_path: Path,
    nats_url: str,
    corridor_name: str,
    engines: list[object],
) -> None:
    brokers = await nats_brokers(nats_url, corridor_name, tuple(urls))
    try:
        corridor = build_corridor(urls, brokers, network, planner, tmp_path, engines)
        corridor.start()
        try:
            await scenario(corridor)
        finally:
            await corridor.stop()
        assert corridor.refusals() == {}
    finally:
        await drop_corridor(nats_url, corridor_name, brokers)


@pytest.mark.parametrize("trade_backend", BACKENDS)
def test_simplified_customs_corridor_across_national_nodes(
    trade_backend: str,
    tmp_path: Path,
    network: Network,
    planner: Planner,
    nats_url: str,
    corridor_name: str,
) -> None:
    engines: list[object] = []
    with corridor_stores(tmp_path, trade_backend) as urls:
        try:
            run(drive(urls, network, planner, tmp_path, nats_url, corridor_name, engines), 240)
        finally:
            for engine in engines:
                engine.dispose()  # type: ignore[attr-defined]
