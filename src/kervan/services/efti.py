"""eFTI for the EU leg as use cases: a note's common data set, and the platform's answers to a
competent authority's identifier and UIL queries.

A node is the eFTI platform of the e-CMR and CIM/SMGS notes it holds. Its UIL for a note is
(gate = the node's country, platform = the node's id, data set = the document id).

- A party to a shipment (or customs who may see it) downloads a note's common data set as XML.
- A competent authority (on a Kervan node: a customs authority) asks by identifier or by UIL
  and gets the eDelivery answer; every other caller gets 404, as if there were nothing here.
  Every authority query is written to the node's log (logger `kervan.efti`: request id, data
  sets returned, authority, time), as the regulation asks of platforms.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from kervan.documents.cimsmgs import CimSmgsNote
from kervan.documents.ecmr_lifecycle import Ecmr
from kervan.documents.efti import Consignment, common_dataset, from_cimsmgs, from_ecmr, to_bytes
from kervan.documents.efti_exchange import (
    EftiMessageError,
    Uil,
    answers,
    identifier_response,
    parse_identifier_query,
    parse_uil_query,
    uil_response,
)
from kervan.documents.kinds import DocumentKind
from kervan.errors import InvalidRequestError, NotFoundError
from kervan.services.access import Caller, Scope, Who, identify
from kervan.services.documents import view_document
from kervan.store.repositories.organisations import OrganisationKind

if TYPE_CHECKING:
    from kervan.services.node import NodeUnitOfWork
    from kervan.store.uow import UnitOfWork

log = logging.getLogger("kervan.efti")

EFTI_KINDS: Final = (DocumentKind.ECMR, DocumentKind.CIM_SMGS)
#: Who may query the platform as a competent authority (EU Regulation 2020/1056, Art. 2).
COMPETENT_AUTHORITIES: Final = frozenset({OrganisationKind.CUSTOMS_AUTHORITY})


@dataclass(frozen=True, slots=True)
class EftiDocument:
    """A note whose eFTI common data set is wanted."""

    document_id: str


@dataclass(frozen=True, slots=True)
class EftiMessage:
    """An eDelivery message from an authority's gate (identifierQuery or uilQuery), as sent."""

    body: bytes


@dataclass(frozen=True, slots=True)
class EftiAnswer:
    """The platform's eDelivery answer and the HTTP status that goes with it."""

    status: int
    body: bytes


def consignment_of(kind: str, lifecycle: str) -> Consignment:
    """A stored e-CMR or CIM/SMGS lifecycle (JSON text) as an eFTI consignment."""
    if kind == DocumentKind.CIM_SMGS:
        return from_cimsmgs(CimSmgsNote.model_validate_json(lifecycle))
    return from_ecmr(Ecmr.model_validate_json(lifecycle))


def _efti_kind(kind: str, document_id: str) -> None:
    if kind not in EFTI_KINDS:
        raise InvalidRequestError(
            f"document {document_id!r} is an {kind}: only e-CMR and CIM/SMGS notes have an "
            "eFTI consignment data set"
        )


def efti_dataset(uow: UnitOfWork, caller: Who, command: EftiDocument) -> bytes:
    """The eFTI common data set (XML, consignment-common.xsd) of an e-CMR or CIM/SMGS note the
    caller may see (NotFoundError otherwise; InvalidRequestError for another kind). Read-only."""
    with uow.for_reading():
        who = identify(uow, caller)
        document = view_document(uow, who, command.document_id)
        _efti_kind(document.kind, command.document_id)
        link = uow.shipment_documents.link(command.document_id)
        if link is None:
            raise NotFoundError("document", command.document_id)
        return to_bytes(common_dataset(consignment_of(link.kind, link.lifecycle)))


def operator_efti_dataset(uow: UnitOfWork, command: EftiDocument) -> bytes:
    """The node operator's eFTI common data set of any note in the node's own store, with no
    caller (`kervan document efti`); NotFoundError when there is no such document. Read-only."""
    with uow.for_reading():
        found = uow.shipment_documents.find(command.document_id, party="")
        if found is None:
            raise NotFoundError("document", command.document_id)
        _efti_kind(found.record.kind, command.document_id)
        consignment = consignment_of(found.record.kind, found.record.lifecycle)
        return to_bytes(common_dataset(consignment))


def _authority(caller: Caller, what: str) -> None:
    # Anyone else is told there is nothing here, as for another organisation's object.
    if caller.kind not in COMPETENT_AUTHORITIES or Scope.CUSTOMS not in caller.scopes:
        raise NotFoundError("eFTI platform service", what)


def _read(message: EftiMessage, parse: str) -> None:
    if not message.body.strip():
        raise InvalidRequestError(f"send the eDelivery {parse} as the request body (XML)")


def efti_identifier_query(uow: NodeUnitOfWork, caller: Who, command: EftiMessage) -> bytes:
    """Answer a competent authority's `identifierQuery` (gate.xsd) with the `identifierResponse`
    listing every note on this node that uses the identifier, in the identifier subset with its
    UIL. NotFoundError for anyone but a competent authority; InvalidRequestError for a message
    that is not a valid identifierQuery. Read-only."""
    settings = uow.node.settings
    with uow.for_reading():
        who = identify(uow, caller)
        _authority(who, "identifier query")
        _read(command, "identifierQuery")
        try:
            query = parse_identifier_query(command.body)
        except EftiMessageError as exc:
            raise InvalidRequestError(str(exc)) from None
        # The store narrows by the identifier as written in the notes (plates and container
        # numbers are kept upper-case); the query's own rules then decide.
        needle = query.identifier.upper()
        found = []
        for kind in EFTI_KINDS:
            for link in uow.shipment_documents.naming(kind, needle):
                consignment = consignment_of(link.kind, link.lifecycle)
                if answers(consignment, query):
                    uil = Uil(settings.node_country, settings.node_id, link.document_id)
                    found.append((consignment, uil))
    found.sort(key=lambda pair: pair[1].dataset_id)
    log.info(
        "eFTI identifier query %s by %s: %s",
        query.request_id,
        who.org_id,
        json.dumps([uil.dataset_id for _, uil in found]),
    )
    return identifier_response(query.request_id, found)


def efti_uil_query(uow: NodeUnitOfWork, caller: Who, command: EftiMessage) -> EftiAnswer:
    """Answer a competent authority's `uilQuery` (gate.xsd) with the `uilResponse`: the note's
    common data set (200), or status 404 in the message when this platform holds no such data
    set. NotFoundError for anyone but a competent authority; InvalidRequestError for a message
    that is not a valid uilQuery. Read-only."""
    settings = uow.node.settings
    with uow.for_reading():
        who = identify(uow, caller)
        _authority(who, "UIL query")
        _read(command, "uilQuery")
        try:
            query = parse_uil_query(command.body)
        except EftiMessageError as exc:
            raise InvalidRequestError(str(exc)) from None
        uil = query.uil
        consignment = None
        if (uil.gate_id, uil.platform_id) == (settings.node_country, settings.node_id):
            link = uow.shipment_documents.link(uil.dataset_id)
            if link is not None and link.kind in EFTI_KINDS:
                consignment = consignment_of(link.kind, link.lifecycle)
    log.info(
        "eFTI UIL query %s by %s: %s %s",
        query.request_id,
        who.org_id,
        uil.dataset_id,
        "found" if consignment is not None else "not found",
    )
    description = (
        f"Consignment {uil.dataset_id} does not exist on platform {uil.platform_id} "
        f"of gate {uil.gate_id}"
    )
    body = uil_response(query.request_id, consignment, description)
    return EftiAnswer(200 if consignment is not None else 404, body)
