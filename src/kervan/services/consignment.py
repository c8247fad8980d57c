"""One consignment record: every identifier the regimes gave the same consignment, and where each
document stands.

A Middle Corridor consignment is known by many numbers: its e-CMR and CIM/SMGS note numbers,
its eTIR reference and TIR guarantee, the e-Permit ids of the trucks, the ISO 6346 numbers of
its containers, the plates and wagon numbers that carry it, and, on the EU leg, the eFTI UIL of
each note on this node's platform. The record lists them all, each with the document that
gave it and that document's state, as the caller may see them (customs see what they see of
the shipment).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Final

from pydantic import BaseModel

from kervan.documents.kinds import DocumentKind
from kervan.services.access import Caller, Who, identify
from kervan.services.documents import DocumentView, documents_of
from kervan.services.shipments import ShipmentRef, access
from kervan.shipments.booking import Cargo

if TYPE_CHECKING:
    from kervan.services.node import NodeUnitOfWork
    from kervan.store.uow import UnitOfWork

#: The eFTI data sets of a node: the notes it holds as a platform.
_EFTI_KINDS: Final = frozenset({DocumentKind.ECMR, DocumentKind.CIM_SMGS})


class ConsignmentIdentifier(BaseModel):
    """One identifier of the consignment: under which regime, which kind of number, its value,
    and the document that carries it with that document's state (None for equipment)."""

    regime: str
    scheme: str
    value: str
    document_id: str | None = None
    state: str | None = None


class DocumentStanding(BaseModel):
    """Where one document of the consignment stands."""

    document_id: str
    kind: str
    state: str
    version: int
    signatures: int


class ConsignmentRecord(BaseModel):
    """Every identifier of one consignment across regimes, and where each document stands."""

    shipment_id: str
    reference: str
    identifiers: list[ConsignmentIdentifier]
    documents: list[DocumentStanding]


def record_of(
    uow: UnitOfWork,
    caller: Caller,
    shipment_id: str,
    documents: list[DocumentView],
    platform: tuple[str, str],
) -> ConsignmentRecord:
    """The consignment record of a shipment the caller may see, in an open unit of work, from
    its documents as the caller sees them; `platform` is this node's (gate, platform) ids."""
    seen = access(uow, caller, shipment_id)
    shipment = seen.shipment
    found: list[ConsignmentIdentifier] = [
        ConsignmentIdentifier(
            regime="Kervan", scheme="shipment reference", value=shipment.reference
        )
    ]
    gate, platform_id = platform
    for d in documents:
        found.extend(_identifiers_of(uow, d))
        if d.kind in _EFTI_KINDS:
            found.append(
                ConsignmentIdentifier(
                    regime="eFTI",
                    scheme="UIL (gate/platform/dataset)",
                    value=f"{gate}/{platform_id}/{d.id}",
                    document_id=d.id,
                    state=d.state,
                )
            )
    cargo = Cargo.model_validate_json(shipment.cargo)
    found += [
        ConsignmentIdentifier(regime="ISO 6346", scheme="container number", value=c.number)
        for c in cargo.containers
    ]
    found += [
        ConsignmentIdentifier(
            regime="road", scheme=f"registration plate ({p.country})", value=p.number
        )
        for p in cargo.vehicle_plates
    ]
    found += [
        ConsignmentIdentifier(regime="rail", scheme="wagon number", value=w.number)
        for w in cargo.wagons
    ]
    standing = [
        DocumentStanding(
            document_id=d.id,
            kind=d.kind,
            state=d.state,
            version=d.version,
            signatures=len(d.signatures),
        )
        for d in documents
    ]
    return ConsignmentRecord(
        shipment_id=shipment.id,
        reference=shipment.reference,
        identifiers=found,
        documents=standing,
    )


def _identifiers_of(uow: UnitOfWork, d: DocumentView) -> list[ConsignmentIdentifier]:
    """The identifiers a document gives the consignment: its own number, and for an e-TIR the
    TIR reference and guarantee, for an e-Permit the permit id once issued."""

    def named(regime: str, scheme: str, value: str) -> ConsignmentIdentifier:
        return ConsignmentIdentifier(
            regime=regime, scheme=scheme, value=value, document_id=d.id, state=d.state
        )

    if d.kind == DocumentKind.ECMR:
        return [named("e-CMR", "consignment note number", d.id)]
    if d.kind == DocumentKind.CIM_SMGS:
        return [named("CIM/SMGS", "consignment note number", d.id)]
    if d.kind == DocumentKind.EPERMIT:
        permit = d.content.get("permit")
        if isinstance(permit, dict) and isinstance(permit.get("permit_id"), str):
            return [named("e-Permit", "permit id", permit["permit_id"])]
        return [named("e-Permit", "permit request", d.id)]
    if d.kind == DocumentKind.ETIR:
        link = uow.shipment_documents.link(d.id)
        lifecycle = json.loads(link.lifecycle) if link is not None else {}
        out = [named("eTIR", "e-TIR document", d.id)]
        transport = lifecycle.get("transport") or {}
        guarantee = transport.get("guarantee") or lifecycle.get("guarantee") or {}
        if isinstance(transport.get("tir_reference"), str):
            out.append(named("eTIR", "TIR reference", transport["tir_reference"]))
        if isinstance(guarantee.get("reference"), str):
            out.append(named("eTIR", "TIR guarantee reference", guarantee["reference"]))
        return out
    return [named(d.kind, "document id", d.id)]


def consignment_record(uow: NodeUnitOfWork, caller: Who, command: ShipmentRef) -> ConsignmentRecord:
    """Every identifier the regimes gave a shipment's consignment (e-CMR and CIM/SMGS numbers,
    eTIR reference and guarantee, permit ids, eFTI UILs, containers, plates, wagons) and where
    each document stands, as the caller may see them. Read-only."""
    settings = uow.node.settings
    with uow.for_reading():
        who = identify(uow, caller)
        documents = documents_of(uow, who, command.shipment_id)
        return record_of(
            uow,
            who,
            command.shipment_id,
            documents,
            (settings.node_country, settings.node_id),
        )
