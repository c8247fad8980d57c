"""The e-TIR transport as the eTIR international system's messages, for a customs node to relay
(see kervan.documents.etir_messages for the mapping and what in it is estimated)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from kervan.documents.etir import Guarantee, TirTransport
from kervan.documents.etir_messages import MESSAGE_TYPES, SPECIFICATION, EtirMessage, messages_of
from kervan.services.access import Who, identify
from kervan.services.tir import TirRef, view_transport

if TYPE_CHECKING:
    from kervan.store.uow import UnitOfWork


def etir_messages(uow: UnitOfWork, caller: Who, command: TirRef) -> dict[str, Any]:
    """The eTIR messages of a TIR transport the caller may see (its holder, guarantee chain,
    shipper, or a customs on its itinerary; NotFoundError otherwise), in order, with their
    data groups. Read-only."""
    with uow.for_reading():
        who = identify(uow, caller)
        view_transport(uow, who, command.document_id)
        link = uow.shipment_documents.link(command.document_id)
        assert link is not None  # view_transport found it
        lifecycle = json.loads(link.lifecycle)
    if lifecycle.get("transport") is not None:
        messages = messages_of(TirTransport.model_validate(lifecycle["transport"]))
    elif lifecycle.get("guarantee") is not None:
        guarantee = Guarantee.model_validate(lifecycle["guarantee"])
        data = {"guarantee": {"reference": guarantee.reference,
                              "guarantee_chain": guarantee.guarantee_chain.id,
                              "holder": guarantee.holder_id}}  # fmt: skip
        messages = [EtirMessage(MESSAGE_TYPES["register_guarantee"], 1, None, data)]
        cancelled_at = guarantee.cancellation_requested_at
        if cancelled_at is not None:
            messages.append(EtirMessage(MESSAGE_TYPES["cancel_guarantee"], 2, cancelled_at, data))
    else:
        messages = []
    return {
        "document_id": command.document_id,
        "specification": SPECIFICATION,
        "messages": [m.to_json() for m in messages],
    }
