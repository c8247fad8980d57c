"""The e-TIR lifecycle as the eTIR international system's messages (eTIR specifications v4.3).

The eTIR international system (TIR Convention Annex 11) is a hub between customs authorities and
the guarantee chain; requests to it are I-messages, its notifications E-messages, each request
and its answer numbered as a pair (e.g. I19 "Check customs offices" / I20 "Customs offices
validation", E7 "Notify guarantee chain" / E8 "Notification confirmation"). This module maps
each step Kervan's e-TIR lifecycle records to the message a customs node relays to the hub,
with the message's data groups filled from the transport.

Sources: the message names and numbers marked `estimated=False` are those etir.org publishes
for the eTIR international system web services (I19/I20, E7/E8). The others follow the eTIR
technical specifications v4.3 (ECE/TRANS/WP.30/AC.2/TIB/2022/5) as far as could be checked
here: their numbers and the data groups' names are ESTIMATED from the specifications' structure
(request/response pairs, data groups holder, guarantee, customs offices, itinerary, consignment,
transport equipment and seals, TIR operation) and must be checked against the XML schemas of
the specifications before a connection to the hub; each message says so (`estimated`).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any, Final

from kervan.documents.etir import AdvanceTirData, Guarantee, TirOperation, TirTransport
from kervan.documents.parties import Party

SPECIFICATION: Final = "eTIR technical specifications v4.3 (ECE/TRANS/WP.30/AC.2/TIB/2022/5)"


@dataclasses.dataclass(frozen=True, slots=True)
class MessageType:
    """An eTIR message: its code, name, who sends it to whom, the answer it expects, and
    whether its number and name were checked against a published source."""

    code: str
    name: str
    sender: str
    recipient: str
    answer: str
    estimated: bool


#: Kervan's e-TIR lifecycle steps and the eTIR message each becomes.
MESSAGE_TYPES: Final[dict[str, MessageType]] = {
    "register_guarantee": MessageType(
        "I7", "Register guarantee", "guarantee chain", "eTIR international system",
        "I8 Register guarantee results", estimated=True,
    ),
    "cancel_guarantee": MessageType(
        "I3", "Cancel guarantee", "guarantee chain", "eTIR international system",
        "I4 Cancel guarantee results", estimated=True,
    ),
    "check_customs_offices": MessageType(
        "I19", "Check customs offices", "customs", "eTIR international system",
        "I20 Customs offices validation", estimated=False,
    ),
    "submit_advance_data": MessageType(
        "E9", "Advance TIR data", "holder", "customs of departure",
        "E10 Advance TIR data results", estimated=True,
    ),
    "accept_declaration": MessageType(
        "I15", "Record declaration data", "customs of departure", "eTIR international system",
        "I16 Record declaration data results", estimated=True,
    ),
    "start": MessageType(
        "I9", "Start TIR operation", "customs", "eTIR international system",
        "I10 Start results", estimated=True,
    ),
    "terminate": MessageType(
        "I11", "Terminate TIR operation", "customs", "eTIR international system",
        "I12 Termination results", estimated=True,
    ),
    "discharge": MessageType(
        "I13", "Discharge TIR operation", "customs", "eTIR international system",
        "I14 Discharge results", estimated=True,
    ),
    "notify_guarantee_chain": MessageType(
        "E7", "Notify guarantee chain", "eTIR international system", "guarantee chain",
        "E8 Notification confirmation", estimated=False,
    ),
}  # fmt: skip


@dataclasses.dataclass(frozen=True, slots=True)
class EtirMessage:
    """One message a customs node relays, with its data groups (JSON-ready)."""

    type: MessageType
    sequence: int
    sent_at: datetime | None
    data: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """{code, name, sender, recipient, answer, estimated, sequence, sent_at, data}."""
        return {
            **dataclasses.asdict(self.type),
            "sequence": self.sequence,
            "sent_at": self.sent_at.isoformat() if self.sent_at else None,
            "data": self.data,
        }


def _party(party: Party) -> dict[str, Any]:
    return {
        "identification": party.id,
        "name": party.name,
        "address": {"street": party.address.street, "city": party.address.city,
                    "country": party.country},
    }  # fmt: skip


def _guarantee(guarantee: Guarantee) -> dict[str, Any]:
    return {
        "reference": guarantee.reference,
        "guarantee_chain": guarantee.guarantee_chain.id,
        "holder": guarantee.holder_id,
        "validity": {"from": guarantee.valid_from.isoformat(),
                     "until": guarantee.valid_until.isoformat()},
        "state": guarantee.state.value,
    }  # fmt: skip


def _offices(data: AdvanceTirData) -> dict[str, Any]:
    return {
        "departure": data.office_of_departure.id,
        "en_route": [o.id for o in data.offices_en_route],
        "destination": data.office_of_destination.id,
    }


def _consignment(data: AdvanceTirData) -> dict[str, Any]:
    return {
        "goods_items": [
            {
                "sequence": i,
                "description": g.description,
                "commodity_code": g.hs_code,
                "packages": {"number": g.packages, "type": g.package_kind},
                "gross_mass_kg": str(g.gross_weight_kg),
            }
            for i, g in enumerate(data.goods, start=1)
        ],
        "transport_means": [{"identification": v.number, "nationality": v.country}
                            for v in data.vehicle],
        "transport_equipment": [
            {"identification": c.number, "seals": [s.number for s in c.seals]}
            for c in data.containers
        ],
        "seals": {"number": len(data.seals), "identifiers": [s.number for s in data.seals]},
    }  # fmt: skip


def _operation(transport: TirTransport, operation: TirOperation) -> dict[str, Any]:
    return {
        "tir_reference": transport.tir_reference,
        "guarantee_reference": transport.guarantee.reference,
        "country": operation.country,
        "state": operation.state.value,
    }


def messages_of(transport: TirTransport) -> list[EtirMessage]:
    """Every message the transport's recorded steps make, in order: guarantee registration,
    the offices check, the advance data, the declaration, then per country the start,
    termination and discharge of its TIR operation, the guarantee chain's cancellation of a
    guarantee in use, and the guarantee chain's notification once the last operation is
    discharged."""
    data = transport.data
    version = transport.versions[-1]
    out: list[EtirMessage] = []

    def add(step: str, at: datetime | None, groups: dict[str, Any]) -> None:
        out.append(EtirMessage(MESSAGE_TYPES[step], len(out) + 1, at, groups))

    guarantee = _guarantee(transport.guarantee)
    add("register_guarantee", None, {"guarantee": guarantee})
    add("check_customs_offices", version.evidence.signed_at,
        {"customs_offices": _offices(data), "itinerary": list(data.itinerary)})  # fmt: skip
    add("submit_advance_data", version.evidence.signed_at, {
        "holder": _party(data.holder), "guarantee": {"reference": data.guarantee_reference},
        "customs_offices": _offices(data), "itinerary": list(data.itinerary),
        "consignment": _consignment(data), "amendment": version.number > 1,
    })  # fmt: skip
    if transport.accepted is not None:
        add("accept_declaration", transport.accepted.signed_at, {
            "tir_reference": transport.tir_reference, "holder": _party(data.holder),
            "guarantee": guarantee, "customs_offices": _offices(data),
            "itinerary": list(data.itinerary), "consignment": _consignment(data),
        })  # fmt: skip
    for operation in transport.operations:
        for step, evidence in (
            ("start", operation.started),
            ("terminate", operation.terminated),
            ("discharge", operation.discharged),
        ):
            if evidence is not None:
                groups = _operation(transport, operation) | {"customs_office": evidence.party_id}
                add(step, evidence.signed_at, groups)
    if transport.operations and all(op.discharged for op in transport.operations):
        last = transport.operations[-1].discharged
        add("notify_guarantee_chain", last.signed_at if last else None, {
            "guarantee": guarantee, "tir_reference": transport.tir_reference,
            "event": "TIR transport ended: every TIR operation discharged",
        })  # fmt: skip
    cancelled_at = transport.guarantee.cancellation_requested_at
    if cancelled_at is not None:
        groups = {"guarantee": guarantee, "tir_reference": transport.tir_reference}
        cancel = EtirMessage(MESSAGE_TYPES["cancel_guarantee"], 0, cancelled_at, groups)
        out = _in_time(out, cancel)
    return out


def _in_time(messages: list[EtirMessage], message: EtirMessage) -> list[EtirMessage]:
    """`messages` with `message` before the first one sent after it, numbered again."""
    assert message.sent_at is not None
    at = next(
        (
            i
            for i, m in enumerate(messages)
            if m.sent_at is not None and m.sent_at > message.sent_at
        ),
        len(messages),
    )
    ordered = [*messages[:at], message, *messages[at:]]
    return [dataclasses.replace(m, sequence=i) for i, m in enumerate(ordered, start=1)]
