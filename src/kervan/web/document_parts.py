"""A shipment's documents on its page: which steps the person's organisation may sign now (the
printable page of each document is services.printing's).

The buttons only offer what the lifecycle allows and the organisation's role on the document
suggests; signing still goes through services.documents.sign_step, which refuses anything else.
"""

from __future__ import annotations

from typing import Any

from kervan.documents.cimsmgs import CimSmgsStep
from kervan.documents.ecmr_lifecycle import EcmrStep
from kervan.documents.kinds import PARTY_SIGNED_KINDS, DocumentKind
from kervan.services.documents import DocumentView

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
# Steps that end the note for good: set apart on the page and confirmed before they are signed.
FINAL_STEPS = frozenset({"cancel", "refuse"})
SIGNED_KINDS = PARTY_SIGNED_KINDS
# The order the work happens in: the lifecycles declare their steps in that order.
WORK_ORDER: dict[str, int] = {
    **{step.name.lower(): i for i, step in enumerate(EcmrStep)},
    **{step.name.lower(): i for i, step in enumerate(CimSmgsStep)},
}
# Once a transport note is in one of these states the carrier has signed the taking over.
TAKEN_OVER_STATES = frozenset({"taken_over", "accepted", "in_transit", "delivered"})


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
    # Taking over is signed once by each side: not offered again to a side that has signed it
    # (the consignor's signature that issued the note does not count).
    signed = {
        s.role
        for s in document.signatures
        if s.party == org_id
        and s.version == document.version
        and s.step in ("sign_taking_over", None)
    }
    steps = [
        step
        for step in document.allowed_steps
        if step not in CONTENT_STEPS
        and held & set(STEP_ROLES.get(step, ()))
        and not (step == "sign_taking_over" and held <= signed)
    ]
    return sorted(steps, key=lambda step: WORK_ORDER.get(step, len(WORK_ORDER)))


def split_final(steps: list[str]) -> tuple[list[str], list[str]]:
    """The steps that carry the work on, then the ones that end the note (cancel, refuse)."""
    return [s for s in steps if s not in FINAL_STEPS], [s for s in steps if s in FINAL_STEPS]


def unsigned_transport_notes(documents: list[DocumentView]) -> list[DocumentView]:
    """The e-CMR and CIM/SMGS notes not yet signed on taking over: the cargo's taking over is
    recorded on the timeline only after them (the note is the carrier's receipt for it)."""
    return [
        d
        for d in documents
        if d.kind in SIGNED_KINDS and d.state not in TAKEN_OVER_STATES and d.state != "cancelled"
    ]


def signed_at_version(document: DocumentView) -> list[Any]:
    """The signatures, oldest first."""
    return sorted(document.signatures, key=lambda s: (s.signed_at, s.version))


__all__ = [
    "FINAL_STEPS",
    "REASON_STEPS",
    "RESERVATION_STEPS",
    "WORK_ORDER",
    "roles_on",
    "signable_steps",
    "signed_at_version",
    "split_final",
    "unsigned_transport_notes",
]
