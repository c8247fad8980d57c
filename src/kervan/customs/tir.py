"""TIR operations driven by the border crossing records (eTIR, TIR Convention Annex 11).

The advance TIR data names the route's offices: departure, the entry and exit office of every
country en route, destination. The office where the shipment enters a country (the office of
departure in the first) starts that country's operation when the cargo arrives; the office where
it leaves (the office of destination in the last) terminates and discharges it when it exits.
When the last operation is discharged the transport ends.
"""

from __future__ import annotations

from collections.abc import Iterable

from kervan.customs.crossing import BorderCrossingRecord, CrossingState
from kervan.customs.offices import CustomsOffices
from kervan.customs.route import CustomsRoute
from kervan.documents.etir import AdvanceTirData, TirTransport
from kervan.documents.goods import Container, GoodsItem, Seal, VehiclePlate
from kervan.documents.parties import Party, PartyRole, SignatureEvidence
from kervan.errors import CustomsRouteError, IllegalTransitionError


def advance_tir_data(
    route: CustomsRoute,
    offices: CustomsOffices,
    *,
    holder: Party,
    guarantee_reference: str,
    goods: Iterable[GoodsItem],
    vehicle: Iterable[VehiclePlate],
    seals: Iterable[Seal] = (),
    containers: Iterable[Container] = (),
) -> AdvanceTirData:
    """The holder's advance TIR data for a customs route: itinerary and offices from the route,
    goods, seals and vehicle from the shipment. A route entering a country twice cannot run
    under one TIR transport (CustomsRouteError)."""
    itinerary = tuple(p.country for p in route.passages)
    if len(set(itinerary)) != len(itinerary):
        raise CustomsRouteError(
            f"the route {' -> '.join(itinerary)} enters a country twice: split the TIR transport"
        )
    last = len(route.passages) - 1
    en_route: list[Party] = []
    for i, p in enumerate(route.passages):
        if i > 0:
            en_route.append(offices.get(p.entry_office).as_party())
        if i < last:
            en_route.append(offices.get(p.exit_office).as_party())
    return AdvanceTirData(
        holder=holder,
        guarantee_reference=guarantee_reference,
        itinerary=itinerary,
        office_of_departure=offices.get(route.departure_office).as_party(),
        offices_en_route=tuple(en_route),
        office_of_destination=offices.get(route.destination_office).as_party(),
        goods=tuple(goods),
        seals=tuple(seals),
        vehicle=tuple(vehicle),
        containers=tuple(containers),
    )


def _evidence(
    transport: TirTransport, office: str, record: BorderCrossingRecord, signature_ref: str
) -> SignatureEvidence:
    at = record.arrived_at if record.state is not CrossingState.EXITED else record.exited_at
    if at is None:
        raise IllegalTransitionError(record.label, "drive the TIR operation", "expected", [])
    return SignatureEvidence(
        party_id=office,
        role=PartyRole.CUSTOMS_OFFICE,
        signed_at=at,
        document_version=transport.versions[-1].number,
        signature_ref=signature_ref,
    )


def start_operation(
    transport: TirTransport, record: BorderCrossingRecord, signature_ref: str
) -> TirTransport:
    """The office where the cargo arrived starts the country's TIR operation (at arrival)."""
    if record.arrived_at is None or record.arrival_office is None:
        raise IllegalTransitionError(
            record.label,
            "start the TIR operation",
            record.state.value,
            ["record the arrival first"],
        )
    evidence = _evidence(transport, record.arrival_office, record, signature_ref)
    return transport.start_operation(record.country, evidence)


def end_operation(
    transport: TirTransport, record: BorderCrossingRecord, signature_ref: str
) -> TirTransport:
    """The office where the cargo left terminates and discharges the country's TIR operation
    (at exit); out, the transport, ended when this was the last operation."""
    if record.state is not CrossingState.EXITED or record.exit_office_used is None:
        raise IllegalTransitionError(
            record.label,
            "terminate the TIR operation",
            record.state.value,
            ["record the exit first"],
        )
    evidence = _evidence(transport, record.exit_office_used, record, signature_ref)
    terminated = transport.terminate_operation(record.country, evidence)
    return terminated.discharge_operation(record.country, evidence)
