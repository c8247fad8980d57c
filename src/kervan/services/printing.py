"""Printing a document: its printable HTML page with the QR code that leads to its verification.

The caller must be allowed to see the document (as its own view decides); customs sees no
charges, as on the document's view; an e-TIR transport prints once declared, for those who may
see the transport; an e-Permit once issued.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kervan.documents.cimsmgs import CimSmgsNote
from kervan.documents.ecmr_lifecycle import Ecmr
from kervan.documents.epermit import Permit
from kervan.documents.etir import TirTransport
from kervan.documents.kinds import DocumentKind
from kervan.documents.render import render_cimsmgs, render_ecmr, render_permit, render_tir
from kervan.errors import NotFoundError
from kervan.ledger.witnessed import WITNESS_QUORUM
from kervan.services.access import Who, identify
from kervan.services.documents import DocumentView, view_document
from kervan.services.qr_verdict import checkpoint_for_qr
from kervan.services.shipments import access
from kervan.services.tir import view_transport

if TYPE_CHECKING:
    from kervan.store.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class PrintDocument:
    """A document to print, and the address its QR code leads to (the verify page)."""

    document_id: str
    verification: str
    #: This node's log (its id): once witnessed, the QR also carries the version digest and
    #: the co-signed checkpoint, for a verdict from the QR alone.
    log_origin: str | None = None


def permit_of(document: DocumentView) -> Permit | None:
    """The issued permit an e-Permit document carries (None while it is only requested)."""
    wire = document.content.get("permit")
    if document.kind != DocumentKind.EPERMIT or not isinstance(wire, dict):
        return None
    return Permit.model_validate(wire)


def _witnessed(uow: UnitOfWork, command: PrintDocument, document: DocumentView) -> PrintDocument:
    found = (
        uow.witness.latest_cosigned(command.log_origin, WITNESS_QUORUM)
        if command.log_origin is not None
        else None
    )
    if found is None:
        return command
    claim = f"&digest={document.digest}&checkpoint={checkpoint_for_qr(found[1])}"
    return dataclasses.replace(command, verification=command.verification + claim)


def printable_document(uow: UnitOfWork, caller: Who, command: PrintDocument) -> str:
    """The document's printable HTML page with its QR code (NotFoundError when the caller
    may not see it or it has nothing to print yet). Read-only."""
    with uow.for_reading():
        who = identify(uow, caller)
        document_id = command.document_id
        document = view_document(uow, who, document_id)
        link = uow.shipment_documents.link(document_id)
        if link is None:
            raise NotFoundError("document", document_id)
        lifecycle = json.loads(link.lifecycle)
        command = _witnessed(uow, command, document)
        if document.kind == DocumentKind.ECMR:
            note = Ecmr.model_validate(lifecycle)
            if not access(uow, who, document.shipment_id).full:
                versions = tuple(
                    v.model_copy(update={"content": v.content.model_copy(update={"charges": ()})})
                    for v in note.versions
                )
                note = note.model_copy(update={"versions": versions})
            return render_ecmr(note, command.verification)
        if document.kind == DocumentKind.CIM_SMGS:
            return render_cimsmgs(CimSmgsNote.model_validate(lifecycle), command.verification)
        if document.kind == DocumentKind.ETIR:
            view_transport(uow, who, document_id)
            transport = lifecycle.get("transport")
            if transport is None:
                raise NotFoundError("declared e-TIR transport", document_id)
            return render_tir(TirTransport.model_validate(transport), command.verification)
    permit = permit_of(document)
    if permit is None or permit.qr_code is None:
        raise NotFoundError("issued e-Permit", document_id)
    return render_permit(permit, permit.qr_code)
