"""A demonstration corridor: the organisations of the member states' corridor on one node,
with their addresses and keys, people who can log in, and shipments at different stages.

Used by `make demo` (and by the tests, which build the same corridor).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from kervan.customs.recognition import InspectionResult
from kervan.documents.goods import SealCondition
from kervan.network.model import CargoUnit, Mode
from kervan.services.access import KIND_SCOPES, Caller, NewPerson, create_user, node_operator
from kervan.services.booking import book_shipment
from kervan.services.customs import ReleaseRequest, SealFound, release
from kervan.services.documents import SignRequest, SignStep, shipment_documents, sign_step
from kervan.services.node import NodeContext, register_organisation
from kervan.services.planning import RouteQuery, plan_routes
from kervan.services.shipments import (
    BookingRequest,
    EventRequest,
    RecordEvent,
    ShipmentRef,
    ShipmentView,
    record_event,
)
from kervan.shipments.booking import Cargo
from kervan.shipments.events import EventType
from kervan.store.db import unit_of_work
from kervan.store.keyfiles import KeyFileStore
from kervan.store.repositories.organisations import (
    Organisation,
    OrganisationKind,
    OrganisationRepository,
)
from kervan.store.tables import OrganisationAddressRow
from kervan.store.uow import UnitOfWork

K = OrganisationKind
# id, name, country, kind, street, city
CORRIDOR_ORGANISATIONS: list[tuple[str, str, str, OrganisationKind, str, str]] = [
    (
        "xian-forwarding",
        "Xi'an International Land Port Forwarding",
        "CN",
        K.FORWARDER,
        "Gangwu Avenue 1",
        "Xi'an",
    ),
    ("tashkent-cotton", "Tashkent Cotton Export", "UZ", K.SHIPPER, "Amir Temur 15", "Tashkent"),
    ("istanbul-imports", "Istanbul Imports", "TR", K.CONSIGNEE, "Halkali Cd. 5", "Istanbul"),
    ("ktz-express", "KTZ Express", "KZ", K.CARRIER, "Kunayev 10", "Astana"),
    ("uz-trucking", "Uzbek Trucking", "UZ", K.CARRIER, "Bobur 3", "Tashkent"),
    (
        "uz-tir-association",
        "AIRCUZ (TIR association)",
        "UZ",
        K.GUARANTEE_CHAIN,
        "Shota Rustaveli 1",
        "Tashkent",
    ),
    (
        "kz-customs",
        "State Revenue Committee (customs)",
        "KZ",
        K.CUSTOMS_AUTHORITY,
        "Zhenis 11",
        "Astana",
    ),
    ("az-customs", "State Customs Committee", "AZ", K.CUSTOMS_AUTHORITY, "Inshaatchilar 2", "Baku"),
    (
        "ge-customs",
        "Revenue Service (customs)",
        "GE",
        K.CUSTOMS_AUTHORITY,
        "Vazha-Pshavela 16",
        "Tbilisi",
    ),
    (
        "tr-customs",
        "Ministry of Trade (customs)",
        "TR",
        K.CUSTOMS_AUTHORITY,
        "Sogutozu 1",
        "Ankara",
    ),
    ("tm-customs", "State Customs Service", "TM", K.CUSTOMS_AUTHORITY, "Archabil 1", "Ashgabat"),
    (
        "cn-customs",
        "General Administration of Customs",
        "CN",
        K.CUSTOMS_AUTHORITY,
        "Jianguomennei 6",
        "Beijing",
    ),
    (
        "tr-permits",
        "Ministry of Transport (permits)",
        "TR",
        K.PERMIT_AUTHORITY,
        "Hakki Turayliç 5",
        "Ankara",
    ),
    (
        "kz-permits",
        "Transport Committee (permits)",
        "KZ",
        K.PERMIT_AUTHORITY,
        "Kabanbay 32",
        "Astana",
    ),
    (
        "az-permits",
        "Ministry of Transport (permits)",
        "AZ",
        K.PERMIT_AUTHORITY,
        "Zarifa 33",
        "Baku",
    ),
    ("ge-permits", "Land Transport Agency", "GE", K.PERMIT_AUTHORITY, "Kazbegi 12", "Tbilisi"),
    ("uz-customs", "Customs Committee", "UZ", K.CUSTOMS_AUTHORITY, "Mustakillik 1", "Tashkent"),
    (
        "ministry-analyst",
        "OTS Transport Analysis Unit",
        "TR",
        K.ANALYST,
        "Sultanahmet 1",
        "Istanbul",
    ),
]


def register_corridor(sessions: sessionmaker[Session], keys: KeyFileStore) -> None:
    at = datetime.now(UTC)
    with unit_of_work(sessions) as session:
        for org_id, name, country, kind, street, city in CORRIDOR_ORGANISATIONS:
            register_organisation(session, keys, Organisation(org_id, name, country, kind, at), at)
            session.add(OrganisationAddressRow(org_id=org_id, street=street, city=city))


def caller_for(session: Session, org_id: str) -> Caller:
    """The organisation acting with every scope its kind allows (for seeding, not for requests)."""
    org = OrganisationRepository(session).find(org_id)
    assert org is not None
    return Caller(org_id, org.kind, org.country, KIND_SCOPES[org.kind], f"demo:{org_id}")


def create_people(sessions: sessionmaker[Session]) -> dict[str, str]:
    """One person per organisation (username = organisation id) with a fresh random password."""
    passwords: dict[str, str] = {}
    seeder = node_operator("demo-seed", "TR")  # the demonstration seeds as the node's operator
    for org_id, name, *_ in CORRIDOR_ORGANISATIONS:
        password = secrets.token_urlsafe(12)
        person = NewPerson(org_id, org_id, password, f"{name} (demo)")
        create_user(UnitOfWork(sessions), seeder, person)
        passwords[org_id] = password
    return passwords


BATTERIES = {
    "goods": [
        {
            "description": "Lithium-ion batteries for electric buses",
            "packages": 24,
            "package_kind": "PX",
            "gross_weight_kg": "18200.000",
            "hs_code": "850760",
            "dangerous_goods": {"un_number": "UN3480", "hazard_class": "9"},
            "value": "412000.00",
            "currency": "USD",
        }
    ],
    "containers": [
        {
            "number": "CSQU3054383",
            "size_type": "45G1",
            "seals": [{"number": "CN2026118", "identifier": "CN-XIAN", "affixed_by": "customs"}],
        }
    ],
}
COTTON = {
    "goods": [
        {
            "description": "Raw cotton, not carded or combed",
            "packages": 90,
            "package_kind": "BL",
            "gross_weight_kg": "20000.000",
            "hs_code": "520100",
            "value": "38000.00",
            "currency": "USD",
        }
    ],
    "vehicle_plates": [{"number": "01 A 123 BC", "country": "UZ"}],
}


@dataclass(frozen=True)
class SeededShipment:
    id: str
    description: str
    stage: str


#: An Uzbek truck Tashkent -> Istanbul by road, avoiding Turkmenistan and Iran.
UZBEK_TRUCK_ROUTE = RouteQuery(
    origin="Tashkent",
    destination="Istanbul",
    unit=CargoUnit.TRUCK,
    truck_flag="UZ",
    avoid_countries=["TM", "IR"],
    alternatives=1,
)


def book_uzbek_truck(
    ctx: NodeContext, reference: str, taking_over: date
) -> tuple[ShipmentView, list[str]]:
    """Book raw cotton from Tashkent Cotton to Istanbul Imports on UZ Trucking's truck (the
    best plan of UZBEK_TRUCK_ROUTE) and open its drafts: the shipment and its document ids."""
    plan = plan_routes(ctx.planner, UZBEK_TRUCK_ROUTE)[0]
    cargo = Cargo.model_validate({**COTTON, "date_of_taking_over": taking_over})
    body = BookingRequest(
        reference=reference,
        route=UZBEK_TRUCK_ROUTE,
        plan_key=plan.plan_key,
        consignee="istanbul-imports",
        road_carrier="uz-trucking",
        guarantee_chain="uz-tir-association",
        cargo=cargo,
    )
    shipper = _caller(ctx, "tashkent-cotton")
    booked = book_shipment(ctx.unit_of_work(), shipper, body)
    drafts = shipment_documents(ctx.unit_of_work(), shipper, ShipmentRef(booked.id))
    return booked, [d.id for d in drafts]


def _caller(ctx: NodeContext, org_id: str) -> Caller:
    with UnitOfWork(ctx.sessions, reading=True) as uow:
        return caller_for(uow.session, org_id)


def seed_shipments(ctx: NodeContext, start: datetime) -> list[SeededShipment]:
    """Book shipments at different stages: one in transit at the Azerbaijani border, one
    delivered with every document signed, one just booked with its permits requested."""
    seeded: list[SeededShipment] = []
    rail_route = RouteQuery(
        origin="Xi'an",
        destination="Halkali",
        avoid_countries=["RU", "BY"],
        avoid_modes=[Mode.ROAD, Mode.SEA],
        alternatives=1,
    )
    for stage in ("at the Azerbaijani border", "delivered"):
        shipper = _caller(ctx, "xian-forwarding")
        plan = plan_routes(ctx.planner, rail_route)[0]
        cargo = Cargo.model_validate({**BATTERIES, "date_of_taking_over": start.date()})
        body = BookingRequest(
            reference=f"XIA-HAL-{len(seeded) + 1:04d}",
            route=rail_route,
            plan_key=plan.plan_key,
            consignee="istanbul-imports",
            rail_carrier="ktz-express",
            cargo=cargo,
        )
        booked = book_shipment(ctx.unit_of_work(), shipper, body)
        (note,) = [
            d.id for d in shipment_documents(ctx.unit_of_work(), shipper, ShipmentRef(booked.id))
        ]

        def sign(caller: Caller, step: str, note: str = note) -> None:
            sign_step(ctx.unit_of_work(), caller, SignStep(note, SignRequest(step=step)))

        def happened(caller: Caller, event: EventRequest, shipment: str = booked.id) -> None:
            record_event(ctx.unit_of_work(), caller, RecordEvent(shipment, event))

        sign(shipper, "issue")
        carrier = _caller(ctx, "ktz-express")
        sign(carrier, "accept")
        happened(carrier, EventRequest(type=EventType.TAKEN_OVER, at=start))
        sign(carrier, "depart")
        at = start
        borders = [leg for leg in plan.legs if leg.border is not None]
        crossed = borders[:1] if stage != "delivered" else borders
        seals = [SealFound(number="CN2026118", condition=SealCondition.INTACT)]
        for leg in crossed:
            officer = _caller(ctx, f"{leg.to_country.lower()}-customs")
            at += timedelta(hours=leg.hours_p50)
            happened(
                officer, EventRequest(type=EventType.BORDER_ARRIVAL, at=at, leg_index=leg.index)
            )
            at += timedelta(hours=leg.border.dwell_hours_p50 if leg.border else 1.0)
            check = ReleaseRequest(
                leg_index=leg.index,
                at=at,
                documentary_check_passed=True,
                inspection=InspectionResult.CONFORM,
                seals=seals,
            )
            with unit_of_work(ctx.sessions) as session:
                release(ctx, session, officer, booked.id, check)
        if stage == "delivered":
            consignee = _caller(ctx, "istanbul-imports")
            happened(consignee, EventRequest(type=EventType.DELIVERED, at=at + timedelta(hours=30)))
            sign(consignee, "deliver")
        else:
            nxt = borders[1]
            officer = _caller(ctx, f"{nxt.to_country.lower()}-customs")
            at += timedelta(hours=nxt.hours_p50)
            happened(
                officer, EventRequest(type=EventType.BORDER_ARRIVAL, at=at, leg_index=nxt.index)
            )
        seeded.append(
            SeededShipment(booked.id, "container Xi'an -> Halkali by rail and ferry", stage)
        )
    truck, _ = book_uzbek_truck(ctx, "TAS-IST-0042", start.date())
    seeded.append(SeededShipment(truck.id, "Uzbek truck Tashkent -> Istanbul", "booked"))
    return seeded
