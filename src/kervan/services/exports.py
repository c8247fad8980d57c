"""Standard exports: a document as the UN/CEFACT D23B JSON other systems read.

An e-CMR exports as the UN/CEFACT eCMR D23B message, a CIM/SMGS note as the D23B CIM/SMGS
ConsignmentNote; e-TIR transports and e-Permits have no UN/CEFACT message here and are refused
(InvalidRequestError). The caller sees a document's export exactly when it sees the document
(another organisation's document is a 404); customs, who see a document without its charges,
get the export without them too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from kervan.documents.cimsmgs import CimSmgsNote
from kervan.documents.ecmr_lifecycle import Ecmr
from kervan.documents.kinds import DocumentKind
from kervan.documents.uncefact import cimsmgs_to_uncefact, ecmr_to_uncefact
from kervan.errors import InvalidRequestError, NotFoundError
from kervan.services.access import Who, identify
from kervan.services.documents import view_document
from kervan.services.shipments import access

if TYPE_CHECKING:
    from kervan.store.uow import UnitOfWork

STANDARD: Final = "UN/CEFACT D23B"
EXPORTABLE_KINDS: Final = frozenset({DocumentKind.ECMR, DocumentKind.CIM_SMGS})


@dataclass(frozen=True, slots=True)
class ExportDocument:
    """A document to export in its UN/CEFACT D23B form."""

    document_id: str


def _exportable(kind: str, document_id: str) -> None:
    if kind not in EXPORTABLE_KINDS:
        raise InvalidRequestError(
            f"document {document_id!r} is an {kind}: only e-CMR and CIM/SMGS notes have a "
            f"{STANDARD} export"
        )


def _uncefact(kind: str, lifecycle: dict[str, Any], *, charges: bool) -> dict[str, Any]:
    """The D23B JSON of a stored lifecycle; without charges when the reader may not see them."""
    if kind == DocumentKind.CIM_SMGS:
        return cimsmgs_to_uncefact(CimSmgsNote.model_validate(lifecycle))
    note = Ecmr.model_validate(lifecycle)
    if not charges:
        versions = tuple(
            v.model_copy(update={"content": v.content.model_copy(update={"charges": ()})})
            for v in note.versions
        )
        note = note.model_copy(update={"versions": versions})
    return ecmr_to_uncefact(note)


def standard_export(uow: UnitOfWork, caller: Who, command: ExportDocument) -> dict[str, Any]:
    """The UN/CEFACT D23B JSON of an e-CMR or CIM/SMGS note the caller may see (NotFoundError
    otherwise; InvalidRequestError for a kind with no such export). Read-only."""
    with uow.for_reading():
        who = identify(uow, caller)
        document_id = command.document_id
        document = view_document(uow, who, document_id)
        _exportable(document.kind, document_id)
        link = uow.shipment_documents.link(document_id)
        if link is None:
            raise NotFoundError("document", document_id)
        full = access(uow, who, document.shipment_id).full
        return _uncefact(document.kind, json.loads(link.lifecycle), charges=full)


def operator_standard_export(uow: UnitOfWork, command: ExportDocument) -> dict[str, Any]:
    """The node operator's D23B export of any e-CMR or CIM/SMGS note in the node's own store,
    with no caller and no party filter (`kervan document export`); NotFoundError when the
    store holds no such document. Read-only."""
    with uow.for_reading():
        document_id = command.document_id
        found = uow.shipment_documents.find(document_id, party="")
        if found is None:
            raise NotFoundError("document", document_id)
        _exportable(found.record.kind, document_id)
        return _uncefact(found.record.kind, json.loads(found.record.lifecycle), charges=True)
