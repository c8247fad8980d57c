"""A shipment's documents on its page: which steps the person's organisation may sign now, and
the printable page of each document with its QR code.

The buttons only offer what the lifecycle allows and the organisation's role on the document
suggests; signing still goes through services.documents.sign_step, which refuses anything else.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kervan.documents.cimsmgs import CimSmgsNote
from kervan.documents.ecmr_lifecycle import Ecmr
from kervan.documents.epermit import Permit
from kervan.documents.etir import TirTransport
from kervan.documents.kinds import PARTY_SIGNED_KINDS, DocumentKind
from kervan.documents.render import render_cimsmgs, render_ecmr, render_permit, render_tir
from kervan.errors import NotFoundError
from kervan.services.access import Caller
from kervan.services.documents import DocumentView, document_view
from kervan.services.shipments import access
from kervan.services.tir import tir_view
from kervan.store.tables import ShipmentDocumentRow

# Which role signs which step (as services.documents decides the signing role).
STEP_ROLES: dict[str, tuple[str, ...]] = {
    "issue": ("consignor",),
    "accept_reservations": ("consignor",),
    "transfer_right_of_disposal": ("consignor",),
    "cancel": ("consignor",),
    "add_carrier_reservations": ("carrier",),
    "depart": ("carrier",),
    "accept": ("carrier",),
    "take_over": ("successive_carrier", "carrier"),
    "successive_carrier_takes_over": ("successive_carrier",),
    "deliver": ("consignee",),
    "refuse": ("consignee",),
    "sign_taking_over": ("consignor", "carrier"),
}
# Steps that change the content are made through the API with the new content, not a button.
CONTENT_STEPS = frozenset({"amend_draft", "give_instructions"})
RESERVATION_STEPS = frozenset({"add_carrier_reservations", "deliver"})
REASON_STEPS = frozenset({"refuse", "cancel"})
SIGNED_KINDS = PARTY_SIGNED_KINDS


def _id(party: Any) -> str | None:
    return str(party["id"]) if isinstance(party, dict) and "id" in party else None


def roles_on(document: DocumentView, org_id: str) -> set[str]:
    """The roles `org_id` holds on the document, as its content names the parties."""
    c = document.content
    held: set[str] = set()
    if document.kind == DocumentKind.ECMR:
        pairs = [("consignor", c.get("consignor")), ("carrier", c.get("carrier"))]
        pairs.append(("consignee", c.get("consignee")))
        pairs += [("successive_carrier", p) for p in c.get("successive_carriers", [])]
    elif document.kind == DocumentKind.CIM_SMGS:
        route = c.get("route", [])
        pairs = [("consignor", c.get("consignor")), ("consignee", c.get("consignee"))]
        pairs += [("carrier", s.get("railway")) for s in route]
        pairs += [("successive_carrier", s.get("railway")) for s in route[1:]]
    else:
        return held
    return {role for role, party in pairs if _id(party) == org_id}


def signable_steps(document: DocumentView, org_id: str) -> list[str]:
    """Steps the lifecycle allows now that the organisation's roles on the document sign."""
    if document.kind not in SIGNED_KINDS:
        return []
    held = roles_on(document, org_id)
    # Taking over is signed once by each side: not offered again to a side that has signed.
    signed = {
        s.role for s in document.signatures if s.party == org_id and s.version == document.version
    }
    return [
        step
        for step in document.allowed_steps
        if step not in CONTENT_STEPS
        and held & set(STEP_ROLES.get(step, ()))
        and not (step == "sign_taking_over" and held <= signed)
    ]


def signed_at_version(document: DocumentView) -> list[Any]:
    """The signatures, oldest first."""
    return sorted(document.signatures, key=lambda s: (s.signed_at, s.version))


def permit_of(document: DocumentView) -> Permit | None:
    """The issued permit an e-Permit document carries (None while it is only requested)."""
    wire = document.content.get("permit")
    if document.kind != DocumentKind.EPERMIT or not isinstance(wire, dict):
        return None
    return Permit.model_validate(wire)


def _link(session: Session, document_id: str) -> ShipmentDocumentRow:
    row = session.scalars(
        select(ShipmentDocumentRow).where(ShipmentDocumentRow.document_id == document_id)
    ).one_or_none()
    if row is None:
        raise NotFoundError("document", document_id)
    return row


def printable(session: Session, caller: Caller, document_id: str, verification: str) -> str:
    """The document's printable HTML page (render.py) with its QR code.

    The caller must be allowed to see the document (services.documents.document_view decides);
    customs sees no charges, as on the document's own view.
    """
    document = document_view(session, caller, document_id)
    lifecycle = json.loads(_link(session, document_id).lifecycle)
    if document.kind == DocumentKind.ECMR:
        note = Ecmr.model_validate(lifecycle)
        if not access(session, caller, document.shipment_id).full:
            versions = tuple(
                v.model_copy(update={"content": v.content.model_copy(update={"charges": ()})})
                for v in note.versions
            )
            note = note.model_copy(update={"versions": versions})
        return render_ecmr(note, verification)
    if document.kind == DocumentKind.CIM_SMGS:
        return render_cimsmgs(CimSmgsNote.model_validate(lifecycle), verification)
    if document.kind == DocumentKind.ETIR:
        tir_view(session, caller, document_id)
        transport = lifecycle.get("transport")
        if transport is None:
            raise NotFoundError("declared e-TIR transport", document_id)
        return render_tir(TirTransport.model_validate(transport), verification)
    permit = permit_of(document)
    if permit is None or permit.qr_code is None:
        raise NotFoundError("issued e-Permit", document_id)
    return render_permit(permit, permit.qr_code)


__all__ = [
    "REASON_STEPS",
    "RESERVATION_STEPS",
    "permit_of",
    "printable",
    "roles_on",
    "signable_steps",
    "signed_at_version",
]
