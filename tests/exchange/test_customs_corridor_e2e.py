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

import contextlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from kervan.customs.crossing import BorderCrossingRecord, CrossingState
from kervan.customs.recognition import InspectionResult
from kervan.customs.rules import Lane
from kervan.documents.epermit import ActivityType
from kervan.documents.goods import Seal, SealCondition, SealingParty
from kervan.errors import IllegalTransitionError, PermitRefusedError
from kervan.network.model import CargoUnit, Mode, Network
from kervan.routing.planner import Planner
from kervan.services.border_customs import CustomsBorderService
from kervan.services.demo_corridor import BATTERIES, COTTON, caller_for
from kervan.services.documents import open_drafts
from kervan.services.planning import RouteQuery, plan_routes
from kervan.services.shipments import BookingRequest, create_shipment
from kervan.shipments.booking import Cargo
from kervan.store.db import unit_of_work
from tests.databases import BACKENDS
from tests.exchange.border_corridor import (
    DIRECTORY,
    TRADE,
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
ROAD = RouteQuery(
    origin="Tashkent",
    destination="Istanbul",
    unit=CargoUnit.TRUCK,
    truck_flag="UZ",
    avoid_countries=["TM", "IR"],
    alternatives=1,
)


@pytest.fixture(scope="module")
def network() -> Network:
    from kervan.network.dataset import load_network

    return load_network()


@pytest.fixture(scope="module")
def planner(network: Network) -> Planner:
    return Planner(network)


def book(corridor: Corridor, shipper: str, query: RouteQuery, cargo: dict[str, object], **parties: str) -> str:
    ctx = corridor.ctx
    with unit_of_work(ctx.sessions) as session:
        plan = plan_routes(ctx.planner, query)[0]
        body = BookingRequest(
            reference=f"{shipper}-{len(parties)}-{query.origin}",
            route=query,
            plan_key=plan.plan_key,
            consignee="istanbul-imports",
            cargo=Cargo.model_validate({**cargo, "date_of_taking_over": datetime.now(UTC).date()}),
            **parties,
        )
        row, plan, booked = create_shipment(ctx, session, caller_for(session, shipper), body)
        open_drafts(ctx, session, row, plan, body.cargo, booked)
        return row.id


def record(corridor: Corridor, country: str, shipment: str) -> BorderCrossingRecord:
    customs = corridor.customs[country]
    return corridor.customs_store(country).read(lambda s: customs.record(s, shipment))


def arriving(corridor: Corridor, country: str, office: str) -> list[str]:
    customs = corridor.customs[country]
    listed = corridor.customs_store(country).read(lambda s: customs.work_list(s, office))
    return [item.shipment for item in listed.arriving]


class Clock:
    """The corridor's simulated time for one shipment: each step after the one before."""

    def __init__(self) -> None:
        self.at = datetime.now(UTC)

    def next(self, record: BorderCrossingRecord, hours: float = 1.0) -> datetime:
        floor = max(self.at, record.pre_arrival_received_at, record.expected_arrival)
        self.at = floor + timedelta(hours=hours)
        return self.at


def act(corridor: Corridor, country: str) -> tuple[CustomsBorderService, Session]:
    raise NotImplementedError  # replaced below


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
        permit = corridor.store(TRADE).read(
            lambda s: corridor.trade.permit_for(s, shipment, country)
        ).to_wire()
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
