"""A shipment's documents as use cases: open drafts, sign lifecycle steps, export, prove, verify.

Every document version is stored as canonical JSON and recorded in the node's ledger when it is
made; every step is a JWS signature by the party's own key (held by this node's key files, never
shown) over that version, checked by the document's lifecycle before anything is stored, and
recorded in the ledger. A document is visible to whoever may see its shipment.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from kervan.documents.cimsmgs import CimSmgsNote, CimSmgsStep
from kervan.documents.ecmr import Reservation
from kervan.documents.ecmr_lifecycle import Ecmr, EcmrStep
from kervan.documents.jws import JwsSignature, sign_version
from kervan.documents.keys import Signer
from kervan.documents.parties import PartyRole, SignatureEvidence
from kervan.errors import InvalidRequestError, NotFoundError, ScopeError
from kervan.ledger.evidence import EvidenceBundle
from kervan.routing.plan import Plan
from kervan.routing.requirements import DocumentKind
from kervan.services.access import Caller, Scope
from kervan.services.node import NodeContext
from kervan.services.shipments import Access, access
from kervan.shipments.booking import BookingParties, Cargo, draft_documents
from kervan.store.repositories.documents import DocumentRepository
from kervan.store.repositories.ledger import TreeHeadRepository
from kervan.store.repositories.signing_keys import SigningKeyRepository
from kervan.store.tables import ShipmentDocumentRow, ShipmentRow, SignedTreeHeadRow

STORE_KIND = {
    DocumentKind.ECMR: "e-CMR",
    DocumentKind.CIM_SMGS: "CIM-SMGS",
    DocumentKind.ETIR: "e-TIR",
    DocumentKind.EPERMIT: "e-Permit",
}
SLUG = {"e-CMR": "ECMR", "CIM-SMGS": "CIMSMGS", "e-TIR": "ETIR", "e-Permit": "PERMIT"}


class SignRequest(BaseModel):
    """A lifecycle step to sign, with what some steps carry (reservations, a reason)."""

    model_config = ConfigDict(extra="forbid")

    step: str = Field(min_length=1, max_length=64, examples=["issue", "sign_taking_over"])
    reservations: list[Reservation] = Field(default_factory=list, max_length=20)
    reason: str | None = Field(None, max_length=1024)


class SignatureView(BaseModel):
    party: str
    role: str
    kid: str
    signed_at: datetime
    version: int


class DocumentView(BaseModel):
    id: str
    shipment_id: str
    kind: str
    state: str
    version: int
    legs: list[int]
    countries: list[str]
    content: dict[str, Any]
    digest: str
    signatures: list[SignatureView]
    allowed_steps: list[str]


def _version_body(
    document_id: str, kind: str, version: int, content: dict[str, Any]
) -> dict[str, Any]:
    return {"document_id": document_id, "kind": kind, "version": version, "content": content}


def open_drafts(
    ctx: NodeContext,
    session: Session,
    shipment: ShipmentRow,
    plan: Plan,
    cargo: Cargo,
    parties: BookingParties,
) -> list[str]:
    """Open the drafts the plan needs for a new shipment; record each in the ledger."""
    at = ctx.clock()
    repository = DocumentRepository(session)
    ledger = ctx.ledger(session, shipment.org_id)
    ids: list[str] = []
    counters: dict[str, int] = {}
    for draft in draft_documents(ctx.network, plan, cargo, parties):
        kind = STORE_KIND[draft.kind]
        counters[kind] = counters.get(kind, 0) + 1
        document_id = f"{shipment.id}-{SLUG[kind]}-{counters[kind]}"
        lifecycle: dict[str, Any]
        if draft.ecmr is not None:
            note = Ecmr.draft(document_id, draft.ecmr, at)
            content = draft.ecmr.model_dump(mode="json")
            lifecycle = note.model_dump(mode="json")
        elif draft.cimsmgs is not None:
            rail = CimSmgsNote(note_id=document_id, content=draft.cimsmgs, created_at=at)
            content = draft.cimsmgs.model_dump(mode="json")
            lifecycle = rail.model_dump(mode="json")
        else:
            # e-TIR and e-Permit start as requests: the guarantee chain and the permit
            # authority act on them (their own use cases).
            content = {
                "legs": list(draft.legs),
                "countries": list(draft.countries),
                "reason": draft.reason,
                "holder": parties.road_carrier.model_dump(mode="json")
                if parties.road_carrier
                else None,
                "permit_issuer_country": draft.permit_issuer_country,
                "permit_type": draft.permit_type,
            }
            lifecycle = {"state": "requested"}
        body = _version_body(document_id, kind, 1, content)
        repository.create(
            shipment.org_id,
            document_id,
            kind=kind,
            state=lifecycle.get("state", "draft"),
            body=body,
            at=at,
        )
        session.add(
            ShipmentDocumentRow(
                org_id=shipment.org_id,
                shipment_id=shipment.id,
                document_id=document_id,
                kind=kind,
                legs=json.dumps(list(draft.legs)),
                countries=json.dumps(list(draft.countries)),
                lifecycle=json.dumps(lifecycle),
            )
        )
        ledger.append(document_id, "version:1", body, at)
        ids.append(document_id)
    session.flush()
    return ids


def _link(session: Session, document_id: str) -> ShipmentDocumentRow:
    row = session.scalars(
        select(ShipmentDocumentRow).where(ShipmentDocumentRow.document_id == document_id)
    ).one_or_none()
    if row is None:
        raise NotFoundError("document", document_id)
    return row


def _visible(
    session: Session, caller: Caller, document_id: str
) -> tuple[ShipmentDocumentRow, Access]:
    caller.require(Scope.SHIPMENTS_READ)  # before the lookup: a 403 must not tell an id exists
    link = _link(session, document_id)
    try:
        seen = access(session, caller, link.shipment_id)
    except NotFoundError:
        raise NotFoundError("document", document_id) from None
    return link, seen


def _allowed(link: ShipmentDocumentRow) -> list[str]:
    state = json.loads(link.lifecycle)
    if link.kind == "e-CMR":
        return sorted(s.name.lower() for s in Ecmr.model_validate(state).allowed_steps())
    if link.kind == "CIM-SMGS":
        return sorted(s.name.lower() for s in CimSmgsNote.model_validate(state).allowed_steps())
    return []


def document_view(session: Session, caller: Caller, document_id: str) -> DocumentView:
    """A document of a shipment the caller may see (customs: no charges or prices)."""
    link, seen = _visible(session, caller, document_id)
    repository = DocumentRepository(session)
    owner = [seen.owner]
    stored = repository.get(document_id, org_ids=owner)
    version = repository.get_version(document_id, stored.current_version, org_ids=owner)
    raw = version.content().get("content")
    content: dict[str, Any] = dict(raw) if isinstance(raw, dict) else {}
    if not seen.full:
        content.pop("charges", None)
    signatures = [
        SignatureView(party=s.party, role=s.role, kid=s.kid, signed_at=s.signed_at, version=v)
        for v in range(1, stored.current_version + 1)
        for s in repository.signatures(document_id, v, org_ids=owner)
    ]
    return DocumentView(
        id=document_id,
        shipment_id=link.shipment_id,
        kind=stored.kind,
        state=stored.state,
        version=stored.current_version,
        legs=json.loads(link.legs),
        countries=json.loads(link.countries),
        content=content,
        digest=version.digest,
        signatures=signatures,
        allowed_steps=_allowed(link),
    )


def documents_of_shipment(session: Session, caller: Caller, shipment_id: str) -> list[DocumentView]:
    """Every document of a shipment the caller may see."""
    seen = access(session, caller, shipment_id)
    links = session.scalars(
        select(ShipmentDocumentRow.document_id)
        .where(
            ShipmentDocumentRow.org_id == seen.owner,
            ShipmentDocumentRow.shipment_id == shipment_id,
        )
        .order_by(ShipmentDocumentRow.document_id)
    )
    return [document_view(session, caller, document_id) for document_id in links]


def signed_by(
    signer: Signer, role: PartyRole, body: str, evidence_version: int, at: datetime
) -> tuple[JwsSignature, SignatureEvidence]:
    """Sign a stored version `body` as `role`: the JWS signature entry, and the evidence the
    lifecycle checks (`evidence_version` is the version number the lifecycle counts in)."""
    entry = sign_version(json.loads(body), signer, role.value, at)
    evidence = SignatureEvidence(
        party_id=signer.party,
        role=role,
        signed_at=at,
        document_version=evidence_version,
        signature_ref=f"{signer.kid}:{entry['signature'][:32]}",
    )
    return entry, evidence


def _role_for(
    step: str, caller: Caller, parties: dict[PartyRole, set[str]], signed: set[str]
) -> PartyRole:
    """The role in which the caller signs `step` (a party may hold several roles)."""
    held = [role for role, ids in parties.items() if caller.org_id in ids]
    if not held:
        raise ScopeError("the caller is not a party to this document")
    by_step = {
        "issue": [PartyRole.CONSIGNOR],
        "accept_reservations": [PartyRole.CONSIGNOR],
        "give_instructions": [PartyRole.CONSIGNOR],
        "transfer_right_of_disposal": [PartyRole.CONSIGNOR],
        "cancel": [PartyRole.CONSIGNOR],
        "add_carrier_reservations": [PartyRole.CARRIER],
        "depart": [PartyRole.CARRIER],
        "accept": [PartyRole.CARRIER],
        "take_over": [PartyRole.SUCCESSIVE_CARRIER, PartyRole.CARRIER],
        "successive_carrier_takes_over": [PartyRole.SUCCESSIVE_CARRIER],
        "deliver": [PartyRole.CONSIGNEE],
        "refuse": [PartyRole.CONSIGNEE],
        "sign_taking_over": [PartyRole.CONSIGNOR, PartyRole.CARRIER],
    }.get(step, [])
    for role in by_step:
        if role in held and role.value not in signed:
            return role
    for role in by_step:
        if role in held:
            return role
    return held[0]


def sign_step(
    ctx: NodeContext, session: Session, caller: Caller, document_id: str, body: SignRequest
) -> DocumentView:
    """Sign one lifecycle step of a document with the caller's key, if the lifecycle allows it."""
    caller.require(Scope.DOCUMENTS_SIGN)
    link, seen = _visible(session, caller, document_id)
    if link.kind not in ("e-CMR", "CIM-SMGS"):
        raise InvalidRequestError(f"{link.kind} documents are signed through their own authority")
    repository = DocumentRepository(session)
    owner = [seen.owner]
    stored = repository.get(document_id, org_ids=owner)
    version = repository.get_version(document_id, stored.current_version, org_ids=owner)
    at = ctx.clock()
    state = json.loads(link.lifecycle)
    signed = {
        f"{s.role}"
        for s in repository.signatures(document_id, version.version, org_ids=owner)
        if s.party == caller.org_id
    }
    signer = ctx.signer(session, caller.org_id)
    if link.kind == "e-CMR":
        note = Ecmr.model_validate(state)
        steps = {s.name.lower(): s for s in EcmrStep}
        if body.step not in steps:
            raise InvalidRequestError(
                f"unknown e-CMR step {body.step!r}; allowed: {', '.join(sorted(steps))}"
            )
        content = note.content
        parties = {
            PartyRole.CONSIGNOR: {content.consignor.id},
            PartyRole.CARRIER: {content.carrier.id},
            PartyRole.CONSIGNEE: {content.consignee.id},
            PartyRole.SUCCESSIVE_CARRIER: {c.id for c in content.successive_carriers},
        }
        role = _role_for(body.step, caller, parties, signed)
        entry, evidence = signed_by(signer, role, version.body, version.version, at)
        note = _ecmr_step(note, steps[body.step], evidence, body)
        new_state, lifecycle = note.state.value, note.model_dump(mode="json")
    else:
        rail = CimSmgsNote.model_validate(state)
        rail_steps = {s.name.lower(): s for s in CimSmgsStep}
        if body.step not in rail_steps:
            raise InvalidRequestError(
                f"unknown CIM/SMGS step {body.step!r}; allowed: {', '.join(sorted(rail_steps))}"
            )
        c = rail.content
        parties = {
            PartyRole.CONSIGNOR: {c.consignor.id},
            PartyRole.CONSIGNEE: {c.consignee.id},
            PartyRole.CARRIER: {s.railway.id for s in c.route},
            PartyRole.SUCCESSIVE_CARRIER: {s.railway.id for s in c.route[1:]},
        }
        role = _role_for(body.step, caller, parties, signed)
        entry, evidence = signed_by(signer, role, version.body, 1, at)
        rail = getattr(rail, body.step)(evidence)
        new_state, lifecycle = rail.state.value, rail.model_dump(mode="json")
    repository.add_signatures(document_id, version.version, [entry], org_ids=owner)
    repository.set_state(document_id, new_state, at=at, org_ids=owner)
    link.lifecycle = json.dumps(lifecycle)
    ledger = ctx.ledger(session, seen.owner)
    ledger.append(
        document_id,
        body.step,
        {
            "version": version.version,
            "digest": version.digest,
            "party": caller.org_id,
            "role": role.value,
            "signature": entry["signature"],
            "state": new_state,
        },
        at,
    )
    session.flush()
    return document_view(session, caller, document_id)


def _ecmr_step(note: Ecmr, step: EcmrStep, evidence: SignatureEvidence, body: SignRequest) -> Ecmr:
    reservations = tuple(body.reservations)
    if step is EcmrStep.ADD_CARRIER_RESERVATIONS:
        if not reservations:
            raise InvalidRequestError("carrier's reservations need at least one reservation")
        return note.add_carrier_reservations(reservations, evidence)
    if step is EcmrStep.DELIVER:
        return note.deliver(evidence, reservations)
    if step in (EcmrStep.REFUSE, EcmrStep.CANCEL):
        if not body.reason:
            raise InvalidRequestError(f"{step.name.lower()} needs a reason")
        return (
            note.refuse(evidence, body.reason)
            if step is EcmrStep.REFUSE
            else note.cancel(evidence, body.reason)
        )
    if step in (EcmrStep.AMEND_DRAFT, EcmrStep.GIVE_INSTRUCTIONS):
        raise InvalidRequestError(
            f"{step.name.lower()} changes the content: send the new content instead"
        )
    method = getattr(note, step.name.lower())
    result: Ecmr = method(evidence)
    return result


def evidence_bundle(
    ctx: NodeContext, session: Session, caller: Caller, document_id: str
) -> dict[str, Any]:
    """The offline evidence for the document's current version: its JWS, ledger entry, proof."""
    _, seen = _visible(session, caller, document_id)
    repository = DocumentRepository(session)
    owner = [seen.owner]
    stored = repository.get(document_id, org_ids=owner)
    version = repository.get_version(document_id, stored.current_version, org_ids=owner)
    ledger = ctx.ledger(session, seen.owner)
    entries = [
        e
        for e in ledger.document_chain(document_id)
        if e.event_type == f"version:{version.version}"
    ]
    if not entries:
        raise NotFoundError("ledger entry of document version", f"{document_id}@{version.version}")
    at = ctx.clock()
    head = ledger.signed_tree_head(at)
    if session.get(SignedTreeHeadRow, (head.log_id, head.tree_size, head.timestamp)) is None:
        TreeHeadRepository(session).add(head)  # the same head twice in a second is stored once
    jws = repository.jws(document_id, version.version, org_ids=owner)
    bundle: EvidenceBundle = ledger.evidence_bundle(
        version.content(), jws, entries[0].log_index, head
    )
    return bundle.to_json()


def trust_list_jwks(session: Session) -> dict[str, Any]:
    """Every organisation's public keys with their validity (the node's published trust list)."""
    return SigningKeyRepository(session).trust_list().to_jwks()
