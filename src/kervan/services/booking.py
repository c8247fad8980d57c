"""Booking a shipment, and following one: the use cases that span a shipment and its documents.

Booking stores the chosen plan, the parties in their roles and the drafts of every document the
plan needs, in one transaction: a shipment never exists without its documents. Following a
shipment reads what its page shows (the shipment, its timeline and its documents) in one
read-only snapshot.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kervan.errors import InvalidRequestError, ScopeError
from kervan.routing.plan import Plan
from kervan.services.access import Caller, Scope, Who, identify
from kervan.services.consignment import ConsignmentRecord, record_of
from kervan.services.documents import DocumentView, documents_of, open_drafts
from kervan.services.idempotency import answer_once
from kervan.services.parties import party_of
from kervan.services.planning import find_plan
from kervan.services.shipments import (
    BOOKERS,
    BookingRequest,
    ShipmentRef,
    ShipmentView,
    access,
    events_of,
    kind_of,
    plan_of,
    view_of,
)
from kervan.shipments.booking import BookingParties, ShipmentRole
from kervan.shipments.events import ShipmentStatus, TimelineEntry, timeline
from kervan.store.repositories.organisations import OrganisationKind
from kervan.store.repositories.shipments import Shipment

if TYPE_CHECKING:
    from kervan.services.node import NodeUnitOfWork
    from kervan.store.uow import UnitOfWork

K = OrganisationKind
#: Who may be named in which party field of a booking.
PARTY_KINDS: dict[str, frozenset[OrganisationKind]] = {
    "consignee": frozenset({K.CONSIGNEE, K.SHIPPER}),
    "road_carrier": frozenset({K.CARRIER}),
    "rail_carrier": frozenset({K.CARRIER}),
    "guarantee_chain": frozenset({K.GUARANTEE_CHAIN}),
}


def book_shipment(uow: NodeUnitOfWork, caller: Who, command: BookingRequest) -> ShipmentView:
    """Book a shipment from a chosen plan: the shipment with its legs and parties and the
    drafts of its documents, in one transaction (once per Idempotency-Key).

    InvalidRequestError when the plan is no longer offered or a party is unknown or of the
    wrong kind; ScopeError unless the caller is a shipper or forwarder with shipments:write.
    """
    with uow:
        who = identify(uow, caller)
        return answer_once(uow, who, lambda: _book(uow, who, command), ShipmentView.model_validate)


def _book(uow: NodeUnitOfWork, caller: Caller, body: BookingRequest) -> ShipmentView:
    shipment, plan, parties = _create_shipment(uow, caller, body)
    open_drafts(uow, shipment, plan, body.cargo, parties)
    return view_of(uow, access(uow, caller, shipment.id))


def _parties(uow: UnitOfWork, caller: Caller, body: BookingRequest) -> BookingParties:
    named = {
        "consignee": body.consignee,
        "road_carrier": body.road_carrier,
        "rail_carrier": body.rail_carrier,
        "guarantee_chain": body.guarantee_chain,
    }
    for field, org_id in named.items():
        kinds = PARTY_KINDS[field]
        if org_id is not None and kind_of(uow, org_id) not in kinds:
            allowed = " or ".join(sorted(k.value for k in kinds))
            raise InvalidRequestError(f"{field} {org_id!r} must be a {allowed} organisation")
    return BookingParties(
        shipper=party_of(uow, caller.org_id),
        consignee=party_of(uow, body.consignee),
        road_carrier=party_of(uow, body.road_carrier) if body.road_carrier else None,
        rail_carrier=party_of(uow, body.rail_carrier) if body.rail_carrier else None,
        guarantee_chain=party_of(uow, body.guarantee_chain) if body.guarantee_chain else None,
    )


def _create_shipment(
    uow: NodeUnitOfWork, caller: Caller, body: BookingRequest
) -> tuple[Shipment, Plan, BookingParties]:
    """Check the caller, find the chosen plan, store the shipment with its parties."""
    caller.require(Scope.SHIPMENTS_WRITE)
    if caller.kind not in BOOKERS:
        raise ScopeError("only a shipper or a forwarder books shipments")
    ctx = uow.node
    plan = find_plan(ctx.planner, body.route, body.plan_key)
    parties = _parties(uow, caller, body)
    at = ctx.clock()
    shipment = Shipment(
        org_id=caller.org_id,
        id=f"SHP-{at:%Y%m%d}-{secrets.token_hex(4).upper()}",
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
    roles = [
        (caller.org_id, ShipmentRole.SHIPPER),
        (body.consignee, ShipmentRole.CONSIGNEE),
        (body.road_carrier, ShipmentRole.ROAD_CARRIER),
        (body.rail_carrier, ShipmentRole.RAIL_CARRIER),
        (body.guarantee_chain, ShipmentRole.GUARANTEE_CHAIN),
    ]
    uow.shipments.add(
        shipment, [(org_id, role.value) for org_id, role in roles if org_id is not None]
    )
    return shipment, plan, parties


@dataclass(frozen=True, slots=True)
class PartyDirectory:
    """The organisations a booking may name, per party field: (id, "name (country)")."""

    parties: dict[str, list[tuple[str, str]]]


def booking_directory(uow: UnitOfWork, caller: Who, fields: Collection[str]) -> PartyDirectory:
    """The registered organisations a shipper or forwarder may name in each of the booking's
    party `fields` (consignee, road_carrier, rail_carrier, guarantee_chain). Read-only."""
    with uow.for_reading():
        who = identify(uow, caller)
        if who.kind not in BOOKERS:
            raise ScopeError("only a shipper or a forwarder books shipments")
        listed: dict[str, list[tuple[str, str]]] = {}
        for field in fields:
            if field not in PARTY_KINDS:
                raise InvalidRequestError(f"a booking names no {field!r}")
            # Kinds in a fixed order: the directory reads the same every time.
            kinds = sorted(PARTY_KINDS[field])
            listed[field] = [
                (org.id, f"{org.name} ({org.country})") for org in uow.organisations.of_kinds(kinds)
            ]
        return PartyDirectory(listed)


@dataclass(frozen=True)
class ShipmentFile:
    """What a shipment's page shows: the shipment as the caller may see it, its plan and
    timeline, its documents, the caller's roles in it and the names of the organisations
    that appear on it."""

    shipment: ShipmentView
    plan: Plan
    timeline: list[TimelineEntry]
    documents: list[DocumentView]
    roles: frozenset[ShipmentRole]
    names: dict[str, str]
    consignment: ConsignmentRecord


def follow_shipment(uow: NodeUnitOfWork, caller: Who, command: ShipmentRef) -> ShipmentFile:
    """A shipment with its timeline, documents and consignment record (every identifier the
    regimes gave it), for the caller to follow. Read-only."""
    settings = uow.node.settings
    with uow.for_reading():
        who = identify(uow, caller)
        seen = access(uow, who, command.shipment_id)
        shown = view_of(uow, seen)
        plan = plan_of(seen.shipment)
        steps = timeline(plan, events_of(uow, seen.shipment))
        documents = documents_of(uow, who, command.shipment_id)
        names = uow.organisations.names(
            {p.org_id for p in shown.parties}
            | {e.recorded_by for e in shown.events}
            | {s.party for d in documents for s in d.signatures}
        )
        record = record_of(
            uow, who, command.shipment_id, documents, (settings.node_country, settings.node_id)
        )
        return ShipmentFile(shown, plan, steps, documents, seen.roles, names, record)
