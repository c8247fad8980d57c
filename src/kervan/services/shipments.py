"""Shipments as use cases: book from a plan, see (only what you may), record what happens.

Who sees a shipment: the organisation that booked it and every organisation taking part in it
(consignee, carriers, guarantee chain) see all of it; a customs authority sees it once the cargo
is on its way and its route touches the authority's country, and then only what customs needs
(no prices). Everyone else gets 404, exactly as if it did not exist.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, exists, or_, select
from sqlalchemy.orm import Session

from kervan.documents.parties import Address, Party
from kervan.errors import InvalidRequestError, NotFoundError, ScopeError
from kervan.routing.plan import Plan
from kervan.services.access import Caller, Scope
from kervan.services.customs.crossing import note_crossing
from kervan.services.customs.declaration import DeclarePreArrival, declare_pre_arrival
from kervan.services.node import NodeContext
from kervan.services.planning import RouteQuery, find_plan
from kervan.shipments.booking import BookingParties, Cargo, ShipmentRole
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
from kervan.store.tables import (
    OrganisationAddressRow,
    OrganisationRow,
    ShipmentEventRow,
    ShipmentPartyRow,
    ShipmentRow,
)
from kervan.store.uow import UnitOfWork

BOOKERS = frozenset({OrganisationKind.SHIPPER, OrganisationKind.FORWARDER})


class BookingRequest(BaseModel):
    """Book one of the plans a route query returned, for this cargo and these parties."""

    model_config = ConfigDict(extra="forbid")

    reference: str = Field(min_length=1, max_length=128, examples=["PO-2026-0117"])
    route: RouteQuery
    plan_key: str = Field(min_length=3, max_length=8000)
    consignee: str = Field(min_length=1, max_length=64, description="Consignee organisation id")
    road_carrier: str | None = Field(None, max_length=64)
    rail_carrier: str | None = Field(None, max_length=64)
    guarantee_chain: str | None = Field(None, max_length=64)
    cargo: Cargo


class EventRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: EventType
    at: AwareDatetime
    leg_index: int | None = Field(None, ge=0, le=500)
    details: dict[str, str] = Field(default_factory=dict, max_length=20)


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


@dataclass(frozen=True)
class Access:
    """A shipment the caller may see, how much of it, and in which roles."""

    row: ShipmentRow
    full: bool
    roles: frozenset[ShipmentRole]

    @property
    def owner(self) -> str:
        return self.row.org_id


def party_of(session: Session, org_id: str) -> Party:
    """An organisation as a document party (name, country, address)."""
    org = session.get(OrganisationRow, org_id)
    address = session.get(OrganisationAddressRow, org_id)
    if org is None or address is None:
        raise InvalidRequestError(
            f"organisation {org_id!r} is not registered on this node with an address"
        )
    return Party(
        id=org.id,
        name=org.name,
        country=org.country,
        address=Address(street=address.street, city=address.city, postcode=address.postcode),
    )


def _kind(session: Session, org_id: str) -> OrganisationKind:
    org = session.get(OrganisationRow, org_id)
    if org is None:
        raise InvalidRequestError(f"organisation {org_id!r} is not registered on this node")
    return OrganisationKind(org.kind)


def _parties(session: Session, caller: Caller, body: BookingRequest) -> BookingParties:
    expected = {
        "consignee": (body.consignee, {OrganisationKind.CONSIGNEE, OrganisationKind.SHIPPER}),
        "road_carrier": (body.road_carrier, {OrganisationKind.CARRIER}),
        "rail_carrier": (body.rail_carrier, {OrganisationKind.CARRIER}),
        "guarantee_chain": (body.guarantee_chain, {OrganisationKind.GUARANTEE_CHAIN}),
    }
    for field, (org_id, kinds) in expected.items():
        if org_id is not None and _kind(session, org_id) not in kinds:
            allowed = " or ".join(sorted(k.value for k in kinds))
            raise InvalidRequestError(f"{field} {org_id!r} must be a {allowed} organisation")
    return BookingParties(
        shipper=party_of(session, caller.org_id),
        consignee=party_of(session, body.consignee),
        road_carrier=party_of(session, body.road_carrier) if body.road_carrier else None,
        rail_carrier=party_of(session, body.rail_carrier) if body.rail_carrier else None,
        guarantee_chain=party_of(session, body.guarantee_chain) if body.guarantee_chain else None,
    )


def create_shipment(
    ctx: NodeContext, session: Session, caller: Caller, body: BookingRequest
) -> tuple[ShipmentRow, Plan, BookingParties]:
    """Book a shipment: check the caller, find the chosen plan, store it with its parties."""
    caller.require(Scope.SHIPMENTS_WRITE)
    if caller.kind not in BOOKERS:
        raise ScopeError("only a shipper or a forwarder books shipments")
    plan = find_plan(ctx.planner, body.route, body.plan_key)
    parties = _parties(session, caller, body)
    at = ctx.clock()
    shipment_id = f"SHP-{at:%Y%m%d}-{secrets.token_hex(4).upper()}"
    row = ShipmentRow(
        org_id=caller.org_id,
        id=shipment_id,
        reference=body.reference,
        unit=plan.unit.value,
        origin=plan.origin,
        destination=plan.destination,
        countries=" " + " ".join(plan.countries) + " ",
        plan_key=plan.plan_key,
        plan=plan.model_dump_json(),
        cargo=body.cargo.model_dump_json(),
        status=ShipmentStatus.BOOKED.value,
        created_at=at,
        updated_at=at,
    )
    session.add(row)
    session.flush()
    roles = [
        (caller.org_id, ShipmentRole.SHIPPER),
        (body.consignee, ShipmentRole.CONSIGNEE),
        (body.road_carrier, ShipmentRole.ROAD_CARRIER),
        (body.rail_carrier, ShipmentRole.RAIL_CARRIER),
        (body.guarantee_chain, ShipmentRole.GUARANTEE_CHAIN),
    ]
    for org_id, role in roles:
        if org_id is not None:
            session.add(
                ShipmentPartyRow(
                    org_id=caller.org_id,
                    shipment_id=shipment_id,
                    party_org_id=org_id,
                    role=role.value,
                )
            )
    session.flush()
    return row, plan, parties


def customs_may_see(countries: str, status: str, caller: Caller) -> bool:
    """A customs authority sees a shipment (what customs needs of it) once it is under way
    and its route touches the authority's country (pre-arrival)."""
    return (
        caller.kind is OrganisationKind.CUSTOMS_AUTHORITY
        and f" {caller.country} " in countries
        and status != ShipmentStatus.BOOKED.value
    )


def access(session: Session, caller: Caller, shipment_id: str) -> Access:
    """The shipment if the caller may see it; NotFoundError (404) otherwise."""
    caller.require(Scope.SHIPMENTS_READ)
    row = session.scalars(select(ShipmentRow).where(ShipmentRow.id == shipment_id)).one_or_none()
    if row is None:
        raise NotFoundError("shipment", shipment_id)
    roles = frozenset(
        ShipmentRole(r)
        for r in session.scalars(
            select(ShipmentPartyRow.role).where(
                ShipmentPartyRow.org_id == row.org_id,
                ShipmentPartyRow.shipment_id == shipment_id,
                ShipmentPartyRow.party_org_id == caller.org_id,
            )
        )
    )
    if roles:
        return Access(row, True, roles)
    if customs_may_see(row.countries, row.status, caller):
        return Access(row, False, frozenset())
    raise NotFoundError("shipment", shipment_id)


def events_of(session: Session, row: ShipmentRow) -> list[ShipmentEvent]:
    rows = session.scalars(
        select(ShipmentEventRow)
        .where(ShipmentEventRow.org_id == row.org_id, ShipmentEventRow.shipment_id == row.id)
        .order_by(ShipmentEventRow.seq)
    )
    return [
        ShipmentEvent(
            seq=e.seq,
            type=EventType(e.event_type),
            at=e.at,
            leg_index=e.leg_index,
            node=e.node,
            recorded_by=e.recorded_by,
            details=json.loads(e.details),
        )
        for e in rows
    ]


def plan_of(row: ShipmentRow) -> Plan:
    return Plan.model_validate_json(row.plan)


def view(session: Session, seen: Access) -> ShipmentView:
    """The shipment as the caller may see it: customs gets goods, route and borders, no prices."""
    row = seen.row
    plan = json.loads(row.plan)
    if not seen.full:
        for leg in plan["legs"]:
            leg.pop("cost_usd", None)
            if leg.get("border"):
                leg["border"].pop("cost_usd", None)
        for step in plan["transfers"]:
            step.pop("cost_usd", None)
        plan["totals"].pop("cost_usd", None)
    parties = session.scalars(
        select(ShipmentPartyRow).where(
            ShipmentPartyRow.org_id == row.org_id, ShipmentPartyRow.shipment_id == row.id
        )
    )
    return ShipmentView(
        id=row.id,
        reference=row.reference,
        view="full" if seen.full else "customs",
        status=ShipmentStatus(row.status),
        origin=row.origin,
        destination=row.destination,
        countries=row.countries.split(),
        unit=row.unit,
        parties=[ShipmentParty(org_id=p.party_org_id, role=ShipmentRole(p.role)) for p in parties],
        plan=plan,
        cargo=json.loads(row.cargo),
        events=events_of(session, row),
        created_at=row.created_at,
    )


def list_visible(
    session: Session, caller: Caller, offset: int, limit: int
) -> tuple[list[ShipmentRow], int]:
    """Shipments the caller may see, newest first, one page of them, and how many in all."""
    caller.require(Scope.SHIPMENTS_READ)
    party = exists().where(
        ShipmentPartyRow.org_id == ShipmentRow.org_id,
        ShipmentPartyRow.shipment_id == ShipmentRow.id,
        ShipmentPartyRow.party_org_id == caller.org_id,
    )
    visible: list[ColumnElement[bool]] = [party]
    if caller.kind is OrganisationKind.CUSTOMS_AUTHORITY:
        visible.append(
            ShipmentRow.countries.contains(f" {caller.country} ")
            & (ShipmentRow.status != ShipmentStatus.BOOKED.value)
        )
    query = select(ShipmentRow).where(or_(*visible))
    rows = list(
        session.scalars(
            query.order_by(ShipmentRow.created_at.desc(), ShipmentRow.id)
            .offset(offset)
            .limit(limit)
        )
    )
    total = len(list(session.scalars(query.with_only_columns(ShipmentRow.id))))
    return rows, total


# Who may record which event: the carrier takes over and delivers (or the consignee confirms
# delivery); customs of the country being entered records arrival and release at its border.
EVENT_ROLES: dict[EventType, frozenset[ShipmentRole]] = {
    EventType.TAKEN_OVER: frozenset({ShipmentRole.ROAD_CARRIER, ShipmentRole.RAIL_CARRIER}),
    EventType.DELIVERED: frozenset(
        {ShipmentRole.ROAD_CARRIER, ShipmentRole.RAIL_CARRIER, ShipmentRole.CONSIGNEE}
    ),
}


def record_event(
    ctx: NodeContext, session: Session, caller: Caller, shipment_id: str, body: EventRequest
) -> ShipmentEvent:
    """Record an event in the order the route allows, by the party allowed to record it."""
    seen = access(session, caller, shipment_id)
    row, plan = seen.row, plan_of(seen.row)
    events = events_of(session, row)
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
    session.add(
        ShipmentEventRow(
            org_id=row.org_id,
            shipment_id=row.id,
            seq=event.seq,
            event_type=event.type.value,
            at=event.at,
            node=event.node,
            leg_index=event.leg_index,
            recorded_by=event.recorded_by,
            details=json.dumps(event.details, sort_keys=True),
        )
    )
    row.status = status_after([*events, event]).value
    row.updated_at = ctx.clock()
    session.flush()
    if event.type is EventType.TAKEN_OVER:
        # The cargo is on its way: the customs on its route get the pre-arrival declaration.
        command = DeclarePreArrival(row.id, event.at)
        declare_pre_arrival(UnitOfWork.joining(session), caller, command, node=ctx)
    elif leg is not None:
        # The customs' own crossing record follows what it recorded here.
        note_crossing(UnitOfWork.joining(session), caller, event.type, row.id, leg, event.at)
    return event


def shipment_timeline(session: Session, caller: Caller, shipment_id: str) -> list[TimelineEntry]:
    """Planned against actual, for a shipment the caller may see."""
    seen = access(session, caller, shipment_id)
    return timeline(plan_of(seen.row), events_of(session, seen.row))
