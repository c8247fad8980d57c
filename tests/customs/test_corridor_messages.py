"""The customs corridor's messages on one node: what the taking over and a release send, how
each authority's handler applies it right after the commit, and what a handler refuses.

Every authority of the demonstration corridor is registered on one SQLite node holding all
their keys, so every message is delivered in-process through the receiver's inbox.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kervan.customs.recognition import InspectionResult
from kervan.documents.goods import SealCondition
from kervan.errors import IllegalTransitionError, NotFoundError
from kervan.exchange.envelope import MessageType
from kervan.exchange.outbox import OutgoingMessage, enqueue
from kervan.exchange.status import rejections
from kervan.network.model import Mode, Network
from kervan.routing.planner import Planner
from kervan.services.access import Caller
from kervan.services.booking import book_shipment
from kervan.services.customs.delivery import local_delivery
from kervan.services.customs.release import ReleaseCargo, ReleaseRequest, SealFound, release
from kervan.services.customs.worklist import WorkListQuery, work_list
from kervan.services.demo_corridor import BATTERIES, caller_for, register_corridor
from kervan.services.node import NodeContext
from kervan.services.planning import RouteQuery, plan_routes
from kervan.services.shipments import BookingRequest, EventRequest, RecordEvent, record_event
from kervan.settings import Settings
from kervan.shipments.booking import Cargo
from kervan.shipments.events import EventType
from kervan.signatures.canonical import JsonValue
from kervan.store.db import make_engine, make_session_factory, unit_of_work
from kervan.store.keyfiles import KeyFileStore
from kervan.store.uow import UnitOfWork
from tests.databases import migrated_database

RAIL = RouteQuery(
    origin="Xi'an",
    destination="Halkali",
    avoid_countries=["RU", "BY"],
    avoid_modes=[Mode.ROAD, Mode.SEA],
    alternatives=1,
)
T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
ROUTE_CUSTOMS = ["cn-customs", "kz-customs", "az-customs", "ge-customs", "tr-customs"]


@dataclass
class Booked:
    ctx: NodeContext
    shipment: str
    legs: list[int]  # the border legs' indexes: KZ, AZ, GE, TR


@pytest.fixture
def node(tmp_path: Path, corridor: Network, corridor_planner: Planner) -> Iterator[NodeContext]:
    with migrated_database("sqlite", tmp_path) as url:
        engine = make_engine(url)
        sessions = make_session_factory(engine)
        settings = Settings(
            environment="test", database_url=url, data_dir=tmp_path, secret_key="t" * 48
        )
        keys = KeyFileStore(settings.keys_dir)
        register_corridor(sessions, keys)
        try:
            yield NodeContext(settings, sessions, corridor, corridor_planner, keys)
        finally:
            engine.dispose()


@pytest.fixture
def booked(node: NodeContext) -> Booked:
    """A container Xi'an -> Halkali, booked and taken over (pre-arrival sent and applied)."""
    plan = plan_routes(node.planner, RAIL)[0]
    body = BookingRequest(
        reference="XIA-HAL-MSG",
        route=RAIL,
        plan_key=plan.plan_key,
        consignee="istanbul-imports",
        rail_carrier="ktz-express",
        cargo=Cargo.model_validate({**BATTERIES, "date_of_taking_over": T0.date()}),
    )
    booked = book_shipment(node.unit_of_work(), officer(node, "xian-forwarding"), body)
    taken = EventRequest(type=EventType.TAKEN_OVER, at=T0)
    record_event(node.unit_of_work(), officer(node, "ktz-express"), RecordEvent(booked.id, taken))
    return Booked(node, booked.id, [leg.index for leg in plan.legs if leg.border is not None])


def officer(node: NodeContext, org_id: str) -> Caller:
    with unit_of_work(node.sessions) as session:
        return caller_for(session, org_id)


def send(
    node: NodeContext, sender: str, receiver: str, kind: MessageType, payload: dict[str, JsonValue]
) -> None:
    with UnitOfWork(node.sessions) as uow:
        signer = node.signer(uow.session, sender)
        enqueue(uow.outbox, signer, OutgoingMessage(receiver, kind, payload), node.clock())


def refused(node: NodeContext, authority: str) -> list[str]:
    with unit_of_work(node.sessions) as session:
        return [r.detail or "" for r in rejections(session, authority)]


def test_taking_over_lodges_the_declaration_with_every_customs_on_the_route(
    booked: Booked,
) -> None:
    node = booked.ctx
    with UnitOfWork(node.sessions, reading=True) as uow:
        held = {org: uow.customs.declaration(org, booked.shipment) for org in ROUTE_CUSTOMS}
        assert uow.outbox.pending_count("xian-forwarding") == 0  # delivered after the commit
        # Not on the route: Turkmenistan's customs got nothing.
        assert uow.customs.declaration("tm-customs", booked.shipment) is None
    for org, declaration in held.items():
        assert declaration is not None, org
        assert [v.number for v in declaration.versions] == [1]
        assert declaration.current.content.declarant.id == "xian-forwarding"
        assert declaration.current.lodged_at == T0
    assert all(refused(node, org) == [] for org in ROUTE_CUSTOMS)


def test_a_release_reaches_the_customs_ahead_and_the_trade_sides_timeline(
    booked: Booked,
) -> None:
    node, shipment, kz_leg = booked.ctx, booked.shipment, booked.legs[0]
    kz = officer(node, "kz-customs")
    at = T0 + timedelta(hours=60)
    arrival = EventRequest(type=EventType.BORDER_ARRIVAL, at=at, leg_index=kz_leg)
    record_event(node.unit_of_work(), kz, RecordEvent(shipment, arrival))
    body = ReleaseRequest(
        leg_index=kz_leg,
        at=at + timedelta(hours=3),
        documentary_check_passed=True,
        inspection=InspectionResult.CONFORM,
        seals=[SealFound(number="CN2026118", condition=SealCondition.INTACT)],
    )
    release(node.unit_of_work(), kz, ReleaseCargo(shipment, body))
    with UnitOfWork(node.sessions, reading=True) as uow:
        for org in ("az-customs", "ge-customs", "tr-customs"):
            (control,) = uow.customs.controls(org, shipment)
            assert (control.country, control.inspection) == ("KZ", InspectionResult.CONFORM)
            assert control.signature_ref.count(".") == 2  # a detached JWS by KZ customs
        assert uow.customs.controls("cn-customs", shipment) == []  # behind, not ahead
        assert uow.customs.control("kz-customs", shipment, "KZ") is not None  # its own
        held = uow.shipments.find(shipment)
        assert held is not None
        events = uow.shipments.events(held)
    last = events[-1]
    assert (last.type, last.leg_index, last.recorded_by) == (
        EventType.BORDER_RELEASE,
        kz_leg,
        "kz-customs",
    )
    assert last.details["inspection"] == "conform"
    assert last.details["seals"] == '{"CN2026118": "intact"}'
    # Released once: a second release is refused, and the work list no longer lists it.
    with pytest.raises(IllegalTransitionError):
        release(node.unit_of_work(), kz, ReleaseCargo(shipment, body))
    work = work_list(node.unit_of_work(), kz, WorkListQuery())
    assert shipment not in [i.shipment_id for i in [*work.arriving, *work.at_border]]


def test_handlers_refuse_what_does_not_fit_and_the_inbox_keeps_the_refusal(
    booked: Booked,
) -> None:
    node, shipment = booked.ctx, booked.shipment
    with UnitOfWork(node.sessions, reading=True) as uow:
        declaration = uow.customs.declaration("kz-customs", shipment)
    assert declaration is not None
    version = declaration.current.model_dump(mode="json")
    # The same version 1 again, in a new message: not the next version.
    send(node, "xian-forwarding", "kz-customs", MessageType.PRE_ARRIVAL,
         {"shipment": shipment, "reference": "XIA-HAL-MSG", "declaration": version,
          "crossings": []})  # fmt: skip
    # A crossing for a shipment the receiver did not book.
    control: dict[str, JsonValue] = {
        "shipment": shipment, "country": "KZ", "office": "KZ-DOS", "place": "Dostyk",
        "at": "2026-11-27T08:00:00Z", "seals": [], "documentary_check_passed": True,
        "signature_ref": "x..y",
    }  # fmt: skip
    crossing: dict[str, JsonValue] = {
        "shipment": shipment, "leg_index": booked.legs[0], "event": "border_release",
        "lane": "green", "control": control,
    }  # fmt: skip
    send(node, "kz-customs", "istanbul-imports", MessageType.BORDER_CROSSING, crossing)
    # A declaration for an organisation that is no customs authority.
    send(node, "xian-forwarding", "istanbul-imports", MessageType.PRE_ARRIVAL,
         {"shipment": shipment, "reference": "XIA-HAL-MSG", "declaration": version,
          "crossings": []})  # fmt: skip
    receipts = local_delivery(node).deliver()
    assert [r.outcome for r in receipts] == ["applied"] * 3  # taken in; the refusal is kept
    assert any("version 1 received, 2 expected" in d for d in refused(node, "kz-customs"))
    assert any("booked no shipment" in d for d in refused(node, "istanbul-imports"))
    assert any("is no customs authority" in d for d in refused(node, "istanbul-imports"))
    with UnitOfWork(node.sessions, reading=True) as uow:
        assert uow.customs.declaration("istanbul-imports", shipment) is None
        again = uow.customs.declaration("kz-customs", shipment)
        assert again is not None
        assert len(again.versions) == 1


def test_a_message_for_an_authority_of_another_node_waits_for_the_relay(
    booked: Booked,
) -> None:
    node = booked.ctx
    send(node, "kz-customs", "KZ-remote-node", MessageType.CONTROL_RESULT, {"n": 1})
    assert local_delivery(node).deliver() == []
    with UnitOfWork(node.sessions, reading=True) as uow:
        assert uow.outbox.pending_count("kz-customs") == 1
        (waiting,) = uow.outbox.waiting_from("kz-customs", 10)
    assert waiting.message_id == "kz-customs:KZ-remote-node:1"


def test_only_the_customs_of_the_country_entered_releases(booked: Booked) -> None:
    node, shipment, kz_leg = booked.ctx, booked.shipment, booked.legs[0]
    body = ReleaseRequest(
        leg_index=kz_leg, at=T0 + timedelta(hours=60), documentary_check_passed=True
    )
    with pytest.raises(NotFoundError):
        release(node.unit_of_work(), officer(node, "az-customs"), ReleaseCargo(shipment, body))
    # Before the cargo arrived there is nothing to release.
    with pytest.raises(IllegalTransitionError):
        release(node.unit_of_work(), officer(node, "kz-customs"), ReleaseCargo(shipment, body))
