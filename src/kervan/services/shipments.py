"""Shipments as use cases: see (only what you may), record what happens, follow the timeline
(booking, which also opens the documents, is services.booking's).

Who sees a shipment: the organisation that booked it and every organisation taking part in it
(consignee, carriers, guarantee chain) see all of it; a customs authority sees it once the cargo
is on its way and its route touches the authority's country, and then only what customs needs
(no prices). Everyone else gets 404, exactly as if it did not exist.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, WithJsonSchema, field_validator

from kervan.documents.limits import CorridorMoment
from kervan.documents.text import (
    FREE_TEXT_PATTERN,
    LINE_PATTERN,
    FreeText,
    Line,
    NonBlankLine,
)
from kervan.errors import InvalidRequestError, NotFoundError, ScopeError
from kervan.routing.plan import Plan
from kervan.services.access import Caller, Scope, Who, identify
from kervan.services.customs.crossing import note_crossing
from kervan.services.customs.declaration import DeclarePreArrival, declare_pre_arrival
from kervan.services.idempotency import answer_once
from kervan.services.planning import RouteQuery
from kervan.shipments.booking import Cargo, ShipmentRole
from kervan.shipments.events import (
    EventType,
    ShipmentEvent,
    ShipmentStatus,
    TimelineEntry,
    check_next,
    status_after,
    timeline,
)
from kervan.store.repositories.organisations import OrganisationKind
from kervan.store.repositories.shipments import Shipment

if TYPE_CHECKING:
    from kervan.services.node import NodeUnitOfWork
    from kervan.store.uow import UnitOfWork

BOOKERS = frozenset({OrganisationKind.SHIPPER, OrganisationKind.FORWARDER})


class BookingRequest(BaseModel):
    """Book one of the plans a route query returned, for this cargo and these parties."""

    model_config = ConfigDict(extra="forbid")

    reference: NonBlankLine = Field(min_length=1, max_length=128, examples=["PO-2026-0117"])
    route: RouteQuery
    plan_key: Line = Field(min_length=3, max_length=8000)
    consignee: Line = Field(min_length=1, max_length=64, description="Consignee organisation id")
    road_carrier: Line | None = Field(None, max_length=64)
    rail_carrier: Line | None = Field(None, max_length=64)
    guarantee_chain: Line | None = Field(None, max_length=64)
    cargo: Cargo

    @field_validator("cargo")
    @classmethod
    def _mass_fits_the_units(cls, cargo: Cargo, info: ValidationInfo) -> Cargo:
        route = info.data.get("route")
        if isinstance(route, RouteQuery):
            cargo.check_mass(route.unit)
        return cargo


DetailName = Annotated[Line, Field(min_length=1, max_length=64)]
DetailText = Annotated[FreeText, Field(max_length=512)]


class EventRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: EventType
    at: CorridorMoment
    leg_index: int | None = Field(None, ge=0, le=500)
    details: Annotated[
        dict[DetailName, DetailText],
        Field(max_length=20),
        # pydantic writes a pattern on keys as patternProperties, which lets any other key
        # through; the node refuses those, and so does the document.
        WithJsonSchema(
            {
                "type": "object",
                "maxProperties": 20,
                "propertyNames": {"minLength": 1, "maxLength": 64, "pattern": LINE_PATTERN},
                "additionalProperties": {
                    "type": "string",
                    "maxLength": 512,
                    "pattern": FREE_TEXT_PATTERN,
                },
            }
        ),
    ] = Field(default_factory=dict)


class ShipmentParty(BaseModel):
    org_id: str
    role: ShipmentRole


class ShipmentView(BaseModel):
    """A shipment as the caller may see it (`view` says full or customs)."""

    id: str
    reference: str
    view: str
    status: ShipmentStatus
    origin: str
    destination: str
    countries: list[str]
    unit: str
    parties: list[ShipmentParty]
    plan: dict[str, Any]
    cargo: dict[str, Any]
    events: list[ShipmentEvent]
    created_at: datetime


class ShipmentPage(BaseModel):
    items: list[ShipmentView]
    total: int
    offset: int
    limit: int


@dataclass(frozen=True, slots=True)
class ShipmentRef:
    """A shipment, by its id."""

    shipment_id: str


@dataclass(frozen=True, slots=True)
class PageRequest:
    """One page of a list: how many to skip and how many to show."""

    offset: int = 0
    limit: int = 20


@dataclass(frozen=True, slots=True)
class RecordEvent:
    """What happened to a shipment's cargo."""

    shipment_id: str
    event: EventRequest


@dataclass(frozen=True)
class Access:
    """A shipment the caller may see, how much of it, and in which roles."""

    shipment: Shipment
    full: bool
    roles: frozenset[ShipmentRole]

    @property
    def owner(self) -> str:
        return self.shipment.org_id

    @property
    def row(self) -> Shipment:
        """The shipment (the name services.customs reads it by)."""
        return self.shipment


def kind_of(uow: UnitOfWork, org_id: str) -> OrganisationKind:
    """What kind of party organisation `org_id` is (InvalidRequestError when unknown)."""
    org = uow.organisations.find(org_id)
    if org is None:
        raise InvalidRequestError(f"organisation {org_id!r} is not registered on this node")
    return org.kind


def customs_may_see(countries: str, status: str, caller: Caller) -> bool:
    """A customs authority sees a shipment (what customs needs of it) once it is under way
    and its route touches the authority's country (pre-arrival)."""
    return (
        caller.kind is OrganisationKind.CUSTOMS_AUTHORITY
        and f" {caller.country} " in countries
        and status != ShipmentStatus.BOOKED.value
    )


def access(uow: UnitOfWork, caller: Caller, shipment_id: str) -> Access:
    """The shipment if the caller may see it (in an open unit of work); NotFoundError (404)
    otherwise."""
    caller.require(Scope.SHIPMENTS_READ)
    shipment = uow.shipments.find(shipment_id)
    if shipment is None:
        raise NotFoundError("shipment", shipment_id)
    roles = frozenset(ShipmentRole(r) for r in uow.shipments.roles(shipment, caller.org_id))
    if roles:
        return Access(shipment, True, roles)
    if customs_may_see(shipment.countries, shipment.status, caller):
        return Access(shipment, False, frozenset())
    raise NotFoundError("shipment", shipment_id)


def events_of(uow: UnitOfWork, shipment: Shipment) -> list[ShipmentEvent]:
    """What happened to the shipment's cargo, in order."""
    return uow.shipments.events(shipment)


def plan_of(shipment: Shipment) -> Plan:
    return Plan.model_validate_json(shipment.plan)


#: What the plan says of money: the trade's business, not customs'.
_PRICE_KEYS = frozenset({"cost_usd", "charges"})


def _without_prices(part: Any) -> Any:
    """The plan (or a part of it) with every price and tariff line left out, at any depth."""
    if isinstance(part, dict):
        return {k: _without_prices(v) for k, v in part.items() if k not in _PRICE_KEYS}
    if isinstance(part, list):
        return [_without_prices(item) for item in part]
    return part


def view_of(uow: UnitOfWork, seen: Access) -> ShipmentView:
    """The shipment as the caller may see it: customs gets goods, route and borders, no prices."""
    shipment = seen.shipment
    plan = json.loads(shipment.plan)
    if not seen.full:
        plan = _without_prices(plan)
    parties = uow.shipments.parties(shipment)
    return ShipmentView(
        id=shipment.id,
        reference=shipment.reference,
        view="full" if seen.full else "customs",
        status=ShipmentStatus(shipment.status),
        origin=shipment.origin,
        destination=shipment.destination,
        countries=shipment.countries.split(),
        unit=shipment.unit,
        parties=[ShipmentParty(org_id=org, role=ShipmentRole(role)) for org, role in parties],
        plan=plan,
        cargo=json.loads(shipment.cargo),
        events=events_of(uow, shipment),
        created_at=shipment.created_at,
    )


def list_visible(
    uow: UnitOfWork, caller: Caller, offset: int, limit: int
) -> tuple[list[Shipment], int]:
    """Shipments the caller may see, newest first, one page of them, and how many in all."""
    caller.require(Scope.SHIPMENTS_READ)
    customs = caller.country if caller.kind is OrganisationKind.CUSTOMS_AUTHORITY else None
    return uow.shipments.visible(caller.org_id, customs, offset, limit)


def shipment_view(uow: UnitOfWork, caller: Who, command: ShipmentRef) -> ShipmentView:
    """One shipment: plan, parties, cargo, events (customs see no prices). Read-only."""
    with uow.for_reading():
        who = identify(uow, caller)
        return view_of(uow, access(uow, who, command.shipment_id))


def list_shipments(uow: UnitOfWork, caller: Who, command: PageRequest) -> ShipmentPage:
    """The shipments the caller takes part in (customs: those coming through its country),
    newest first, one page of them. Read-only."""
    with uow.for_reading():
        who = identify(uow, caller)
        shipments, total = list_visible(uow, who, command.offset, command.limit)
        items = [view_of(uow, access(uow, who, s.id)) for s in shipments]
        return ShipmentPage(items=items, total=total, offset=command.offset, limit=command.limit)


# Who may record which event: the carrier takes over and delivers (or the consignee confirms
# delivery); customs of the country being entered records arrival and release at its border.
EVENT_ROLES: dict[EventType, frozenset[ShipmentRole]] = {
    EventType.TAKEN_OVER: frozenset({ShipmentRole.ROAD_CARRIER, ShipmentRole.RAIL_CARRIER}),
    EventType.DELIVERED: frozenset(
        {ShipmentRole.ROAD_CARRIER, ShipmentRole.RAIL_CARRIER, ShipmentRole.CONSIGNEE}
    ),
}


def add_event(
    uow: NodeUnitOfWork, caller: Caller, shipment_id: str, body: EventRequest
) -> ShipmentEvent:
    """Record an event in the order the route allows, by the party allowed to record it, in
    an open unit of work (`record_event`, and customs' release, which records its own)."""
    seen = access(uow, caller, shipment_id)
    shipment, plan = seen.shipment, plan_of(seen.shipment)
    events = events_of(uow, shipment)
    leg = check_next(plan, events, body.type, body.leg_index, body.at)
    if body.type in EVENT_ROLES:
        if not seen.roles & EVENT_ROLES[body.type]:
            allowed = ", ".join(sorted(r.value for r in EVENT_ROLES[body.type]))
            raise ScopeError(f"{body.type.value} is recorded by the {allowed}")
        node = (
            plan.legs[0].from_node if body.type is EventType.TAKEN_OVER else plan.legs[-1].to_node
        )
    else:
        caller.require(Scope.CUSTOMS)
        assert leg is not None
        entering = plan.legs[leg].to_country
        if caller.kind is not OrganisationKind.CUSTOMS_AUTHORITY or caller.country != entering:
            raise ScopeError(f"the crossing into {entering} is recorded by {entering} customs")
        node = plan.legs[leg].to_node
    event = ShipmentEvent(
        seq=len(events) + 1,
        type=body.type,
        at=body.at,
        leg_index=leg,
        node=node,
        recorded_by=caller.org_id,
        details=body.details,
    )
    uow.shipments.add_event(shipment, event, status_after([*events, event]), uow.clock())
    if event.type is EventType.TAKEN_OVER:
        # The cargo is on its way: the customs on its route get the pre-arrival declaration.
        declare_pre_arrival(uow.joined(), caller, DeclarePreArrival(shipment.id, event.at))
    elif leg is not None:
        # The customs' own crossing record follows what it recorded here.
        note_crossing(uow.joined(), caller, event.type, shipment.id, leg, event.at)
    return event


def record_event(uow: NodeUnitOfWork, caller: Who, command: RecordEvent) -> ShipmentEvent:
    """Record what happened to a shipment's cargo (taken over, border arrival and release,
    delivered), once per Idempotency-Key."""
    with uow:
        who = identify(uow, caller)
        return answer_once(
            uow,
            who,
            lambda: add_event(uow, who, command.shipment_id, command.event),
            ShipmentEvent.model_validate,
        )


def shipment_timeline(uow: UnitOfWork, caller: Who, command: ShipmentRef) -> list[TimelineEntry]:
    """Planned (from the plan's P50 times) against actual, step by step. Read-only."""
    with uow.for_reading():
        who = identify(uow, caller)
        seen = access(uow, who, command.shipment_id)
        return timeline(plan_of(seen.shipment), events_of(uow, seen.shipment))


class ShipmentSummary(BaseModel):
    """A shipment as a list shows it: reference, where from and to, where it stands."""

    id: str
    reference: str
    origin: str
    destination: str
    status: ShipmentStatus
    created_at: datetime


class SummaryPage(BaseModel):
    items: list[ShipmentSummary]
    total: int


def shipment_summaries(uow: UnitOfWork, caller: Who, command: PageRequest) -> SummaryPage:
    """The shipments the caller may see, newest first, one page of them in brief (no plan,
    parties or events: a list page). Read-only."""
    with uow.for_reading():
        shipments, total = list_visible(uow, identify(uow, caller), command.offset, command.limit)
        items = [
            ShipmentSummary(
                id=s.id,
                reference=s.reference,
                origin=s.origin,
                destination=s.destination,
                status=ShipmentStatus(s.status),
                created_at=s.created_at,
            )
            for s in shipments
        ]
        return SummaryPage(items=items, total=total)
