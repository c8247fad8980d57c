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
from kervan.documents.epermit import PermitType
from kervan.documents.goods import SealCondition
from kervan.network.model import CargoUnit, Mode
from kervan.routing.plan import Leg, Plan
from kervan.services.access import KIND_SCOPES, Caller, node_operator
from kervan.services.booking import book_shipment
from kervan.services.credentials import NewPerson, create_user
from kervan.services.customs.release import ReleaseCargo, ReleaseRequest, SealFound, release
from kervan.services.documents import SignRequest, SignStep, shipment_documents, sign_step
from kervan.services.epermit_border import Grant, GrantRequest, grant_quota
from kervan.services.members import NewMember, register_member
from kervan.services.node import NodeContext
from kervan.services.permits import QuotaRequest, add_quota
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
from kervan.shipments.events import EventType, ShipmentEvent, timeline
from kervan.store.keyfiles import KeyFileStore
from kervan.store.repositories.organisations import (
    Organisation,
    OrganisationAddress,
    OrganisationKind,
    OrganisationRepository,
)
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
    (
        "uz-permits",
        "Ministry of Transport (permits)",
        "UZ",
        K.PERMIT_AUTHORITY,
        "Mustaqillik 5",
        "Tashkent",
    ),
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


def register_corridor(
    sessions: sessionmaker[Session], keys: KeyFileStore, at: datetime | None = None
) -> None:
    """Register the corridor's organisations (`at`, default now), as the node's operator."""
    when = at or datetime.now(UTC)
    operator = node_operator("demo-seed", "TR")  # the demonstration seeds as the node's operator
    for org_id, name, country, kind, street, city in CORRIDOR_ORGANISATIONS:
        member = NewMember(
            Organisation(org_id, name, country, kind, when),
            OrganisationAddress(street, city, None),
        )
        register_member(UnitOfWork(sessions, keys=keys), operator, member)


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


#: Xi'an -> Halkali by rail and the Caspian ferry, around Russia and Belarus.
CONTAINER_ROUTE = RouteQuery(
    origin="Xi'an",
    destination="Halkali",
    avoid_countries=["RU", "BY"],
    avoid_modes=[Mode.ROAD, Mode.SEA],
    alternatives=1,
)
#: The container waiting at the Azerbaijani border arrived this long before the seed runs, so
#: the officer's first work item can be released now.
AT_BORDER_FOR = timedelta(hours=3)
#: The delivered container reached Halkali this long before the seed runs.
DELIVERED_AGO = timedelta(days=1)


@dataclass(frozen=True)
class BorderTimes:
    """When a container reaches a border of its plan and when that border releases it."""

    leg: Leg
    arrival: datetime
    release: datetime


def border_times(plan: Plan, taken_over: datetime) -> tuple[list[BorderTimes], datetime]:
    """The borders of `plan` with arrival and release times as the shipment's timeline plans
    them (P50 hours from `taken_over`), and when it is planned to be delivered."""
    start = ShipmentEvent(seq=1, type=EventType.TAKEN_OVER, at=taken_over, recorded_by="plan")
    planned = {(t.event, t.leg_index): t.planned_at for t in timeline(plan, [start])}
    times = [
        BorderTimes(leg, arrival, release)
        for leg in plan.legs
        if leg.border is not None
        and (arrival := planned[(EventType.BORDER_ARRIVAL, leg.index)]) is not None
        and (release := planned[(EventType.BORDER_RELEASE, leg.index)]) is not None
    ]
    delivered = planned[(EventType.DELIVERED, None)]
    assert delivered is not None  # planned times exist once the cargo is taken over
    return times, delivered


def seed_shipments(ctx: NodeContext) -> list[SeededShipment]:
    """Book shipments at different stages: one at the Azerbaijani border now (arrived, to be
    released), one delivered yesterday with every document signed, one truck just booked with
    its permits requested. Times are counted back from the node's clock."""
    seeded: list[SeededShipment] = []
    now = ctx.clock()
    for stage in ("at the Azerbaijani border", "delivered"):
        # Each step its own use case, as on the API: the taking over sends the pre-arrival
        # declaration the customs need before they release, a release the crossing the
        # timeline needs before the next arrival.
        shipper = _caller(ctx, "xian-forwarding")
        plan = plan_routes(ctx.planner, CONTAINER_ROUTE)[0]
        times, end = border_times(plan, now)
        # Shift the journey so the container stands at its second border (Azerbaijan's)
        # since AT_BORDER_FOR, or was delivered DELIVERED_AGO.
        if stage == "delivered":
            start = now - DELIVERED_AGO - (end - now)
        else:
            start = now - AT_BORDER_FOR - (times[1].arrival - now)
        times, end = border_times(plan, start)
        cargo = Cargo.model_validate({**BATTERIES, "date_of_taking_over": start.date()})
        body = BookingRequest(
            reference=f"XIA-HAL-{len(seeded) + 1:04d}",
            route=CONTAINER_ROUTE,
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
        crossed = times[:1] if stage != "delivered" else times
        seals = [SealFound(number="CN2026118", condition=SealCondition.INTACT)]
        for border in crossed:
            leg = border.leg
            officer = _caller(ctx, f"{leg.to_country.lower()}-customs")
            happened(
                officer,
                EventRequest(type=EventType.BORDER_ARRIVAL, at=border.arrival, leg_index=leg.index),
            )
            check = ReleaseRequest(
                leg_index=leg.index,
                at=border.release,
                documentary_check_passed=True,
                inspection=InspectionResult.CONFORM,
                seals=seals,
            )
            release(ctx.unit_of_work(), officer, ReleaseCargo(booked.id, check))
        if stage == "delivered":
            consignee = _caller(ctx, "istanbul-imports")
            happened(consignee, EventRequest(type=EventType.DELIVERED, at=end))
            sign(consignee, "deliver")
        else:
            nxt = times[1]
            officer = _caller(ctx, f"{nxt.leg.to_country.lower()}-customs")
            happened(
                officer,
                EventRequest(
                    type=EventType.BORDER_ARRIVAL, at=nxt.arrival, leg_index=nxt.leg.index
                ),
            )
        seeded.append(
            SeededShipment(booked.id, "container Xi'an -> Halkali by rail and ferry", stage)
        )
    truck, _ = book_uzbek_truck(ctx, "TAS-IST-0042", now.date())
    seeded.append(SeededShipment(truck.id, "Uzbek truck Tashkent -> Istanbul", "booked"))
    grant_uzbek_quotas(ctx, now.year)
    return seeded


#: The countries that granted Uzbek hauliers permit quotas (the truck's route enters them all).
UZBEK_QUOTA_PARTNERS = ("KZ", "AZ", "GE", "TR")
UZBEK_QUOTA = 50


def grant_uzbek_quotas(ctx: NodeContext, year: int) -> None:
    """The quotas KZ, AZ, GE and TR grant Uzbekistan for `year`, of each permit type: each
    quota authority grants it (its side: the permits it will see at its border), and the Uzbek
    permit authority holds it (its side: it issues its truck's permits against them). On one
    demonstration node the authorities are not e-Permit partners of each other, so each side
    is recorded by its own authority rather than carried by QUOTA_CREATED."""
    authority = _caller(ctx, "uz-permits")
    for partner in UZBEK_QUOTA_PARTNERS:
        granting = _caller(ctx, f"{partner.lower()}-permits")
        for kind in (PermitType.BILATERAL, PermitType.TRANSIT, PermitType.THIRD_COUNTRY):
            grant = GrantRequest(issuer="UZ", year=year, permit_type=kind, quantity=UZBEK_QUOTA)
            grant_quota(ctx.unit_of_work(), granting, Grant(None, grant))
            quota = QuotaRequest(
                issued_for=partner, year=year, permit_type=kind, quantity=UZBEK_QUOTA
            )
            add_quota(ctx.unit_of_work(), authority, quota)
