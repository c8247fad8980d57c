"""A shipment's documents as use cases: open drafts, sign lifecycle steps, export, prove, verify.

Every document version is stored as canonical JSON and recorded in the node's ledger when it is
made; every step is a JWS signature by the party's own key (held by this node's key files, never
shown) over that version, checked by the document's lifecycle before anything is stored, and
recorded in the ledger. A document is visible to whoever may see its shipment.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from pydantic import BaseModel, ConfigDict, Field

from kervan.documents.cimsmgs import CimSmgsNote, CimSmgsStep
from kervan.documents.ecmr import Reservation
from kervan.documents.ecmr_lifecycle import Ecmr, EcmrStep
from kervan.documents.kinds import PARTY_SIGNED_KINDS, DocumentKind
from kervan.documents.lifecycle_cache import ParsedLifecycles
from kervan.documents.parties import PartyRole, SignatureEvidence
from kervan.documents.text import FreeText, Line
from kervan.errors import (
    CanonicalJsonError,
    InvalidRequestError,
    LedgerIntegrityError,
    NotFoundError,
    ScopeError,
)
from kervan.ledger.chain import LedgerEntry
from kervan.ledger.evidence import EvidenceBundle
from kervan.ledger.merkle import InclusionProof, MerkleTree
from kervan.ledger.witnessed import WITNESS_QUORUM, WitnessedCheckpoint
from kervan.routing.plan import Plan
from kervan.services.access import Caller, Scope, Who, identify
from kervan.services.idempotency import answer_once
from kervan.services.node import NodeContext
from kervan.services.shipments import ShipmentRef, access, customs_may_see
from kervan.shipments.booking import BookingParties, Cargo, draft_documents
from kervan.signatures.canonical import CanonicalJson
from kervan.signatures.encoding import b64url_decode, b64url_encode
from kervan.signatures.jws import GeneralJws, JwsSignature, sign_version
from kervan.signatures.keys import Signer
from kervan.store.repositories.documents import StoredSignature
from kervan.store.repositories.shipment_documents import DocumentLink, ShipmentDocument
from kervan.store.repositories.shipments import Shipment

if TYPE_CHECKING:
    from kervan.services.node import NodeUnitOfWork
    from kervan.store.uow import UnitOfWork


class SignRequest(BaseModel):
    """A lifecycle step to sign, with what some steps carry (reservations, a reason)."""

    model_config = ConfigDict(extra="forbid")

    step: Line = Field(min_length=1, max_length=64, examples=["issue", "sign_taking_over"])
    reservations: list[Reservation] = Field(default_factory=list, max_length=20)
    reason: FreeText | None = Field(None, max_length=1024)


@dataclass(frozen=True, slots=True)
class DocumentRef:
    """A document, by its id."""

    document_id: str


@dataclass(frozen=True, slots=True)
class SignStep:
    """A lifecycle step to sign on a document."""

    document_id: str
    step: SignRequest


class SignatureView(BaseModel):
    party: str
    role: str
    kid: str
    signed_at: datetime
    version: int
    step: str | None = None  # the lifecycle step signed, as its protected header names it


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
    uow: NodeUnitOfWork, shipment: Shipment, plan: Plan, cargo: Cargo, parties: BookingParties
) -> list[str]:
    """Open the drafts the plan needs for a new shipment, in an open unit of work; record
    each in the ledger."""
    ctx = uow.node
    at = ctx.clock()
    repository = uow.documents
    ledger = ctx.ledger(uow.session, shipment.org_id)
    ids: list[str] = []
    counters: dict[str, int] = {}
    for draft in draft_documents(ctx.network, plan, cargo, parties):
        kind = draft.kind.value
        counters[kind] = counters.get(kind, 0) + 1
        document_id = f"{shipment.id}-{draft.kind.id_part}-{counters[kind]}"
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
        uow.shipment_documents.add(
            DocumentLink(
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
    return ids


@dataclass(frozen=True, slots=True)
class SeenDocument:
    """A document the caller may see: the stored record, and how much of it (customs: no
    charges or prices)."""

    record: ShipmentDocument
    full: bool
    roles: frozenset[str]
    signatures: list[tuple[int, StoredSignature]]
    party_kid: str | None = None

    @property
    def owner(self) -> str:
        return self.record.owner


def _visible(
    uow: UnitOfWork, caller: Caller, document_id: str, *, lock: bool = False
) -> SeenDocument:
    """The document if the caller may see its shipment; NotFoundError (404) otherwise."""
    caller.require(Scope.SHIPMENTS_READ)  # before the lookup: a 403 must not tell an id exists
    # bench/api.py: verify 1,086-1,237/s vs 664-917/s (one joined read, direct statement)
    found = uow.shipment_documents.find(document_id, party=caller.org_id, lock=lock)
    if found is None:
        raise NotFoundError("document", document_id)
    record = found.record
    if found.roles:
        return SeenDocument(record, True, found.roles, found.signatures, found.party_kid)
    if customs_may_see(record.shipment_countries, record.shipment_status, caller):
        return SeenDocument(record, False, frozenset(), found.signatures)
    raise NotFoundError("document", document_id)


def _allowed_steps(kind: str, lifecycle: dict[str, Any]) -> list[str]:
    if kind == DocumentKind.ECMR:
        return sorted(s.name.lower() for s in Ecmr.model_validate(lifecycle).allowed_steps())
    if kind == DocumentKind.CIM_SMGS:
        return sorted(s.name.lower() for s in CimSmgsNote.model_validate(lifecycle).allowed_steps())
    return []


def _view(
    seen: SeenDocument,
    signatures: list[tuple[int, StoredSignature]],
    allowed_steps: list[str],
    *,
    state: str | None = None,
    body: dict[str, Any] | None = None,
) -> DocumentView:
    record = seen.record
    parsed = body if body is not None else _parse_body(record)
    raw = parsed.get("content")
    content: dict[str, Any] = dict(raw) if isinstance(raw, dict) else {}
    if not seen.full:
        content.pop("charges", None)
    return DocumentView(
        id=record.document_id,
        shipment_id=record.shipment_id,
        kind=record.kind,
        state=state if state is not None else record.state,
        version=record.version,
        legs=json.loads(record.legs),
        countries=json.loads(record.countries),
        content=content,
        digest=record.digest,
        signatures=[
            SignatureView(
                party=s.party,
                role=s.role,
                kid=s.kid,
                signed_at=s.signed_at,
                version=version,
                step=_step_of(s.entry),
            )
            for version, s in signatures
        ],
        allowed_steps=allowed_steps,
    )


def _step_of(entry: JwsSignature) -> str | None:
    """The lifecycle step a signature entry's protected header names (None before steps were
    named in headers)."""
    try:
        step = json.loads(b64url_decode(entry["protected"])).get("step")
    except (ValueError, KeyError, AttributeError):
        return None
    return step if isinstance(step, str) else None


def _parse_body(record: ShipmentDocument) -> dict[str, Any]:
    return _read_body(record)[1]


def _read_body(record: ShipmentDocument) -> tuple[CanonicalJson, dict[str, Any]]:
    """The stored version's canonical bytes (to sign as they are) and its content, read once;
    LedgerIntegrityError when what is stored is not a canonical JSON object."""
    try:
        canonical, value = CanonicalJson.read(record.body.encode("utf-8"))
    except CanonicalJsonError as exc:
        raise LedgerIntegrityError(
            "document_body", f"document {record.document_id!r}: {exc.message}"
        ) from exc
    if not isinstance(value, dict):
        raise LedgerIntegrityError("document_body", "a stored version is not a JSON object")
    return canonical, value


def view_document(uow: UnitOfWork, caller: Caller, document_id: str) -> DocumentView:
    """A document of a shipment the caller may see (customs: no charges or prices), in an
    open unit of work."""
    seen = _visible(uow, caller, document_id)
    return _view(
        seen, seen.signatures, _allowed_steps(seen.record.kind, json.loads(seen.record.lifecycle))
    )


def document_view(uow: UnitOfWork, caller: Who, command: DocumentRef) -> DocumentView:
    """A document: state, current version, content and every signature on it. Read-only."""
    with uow.for_reading():
        return view_document(uow, identify(uow, caller), command.document_id)


def documents_of(uow: UnitOfWork, caller: Caller, shipment_id: str) -> list[DocumentView]:
    """Every document of a shipment the caller may see, in an open unit of work."""
    seen = access(uow, caller, shipment_id)
    links = uow.shipment_documents.document_ids(seen.owner, shipment_id)
    return [view_document(uow, caller, document_id) for document_id in links]


def shipment_documents(uow: UnitOfWork, caller: Who, command: ShipmentRef) -> list[DocumentView]:
    """The documents of a shipment the caller may see, their state, versions and who signed
    what. Read-only."""
    with uow.for_reading():
        return documents_of(uow, identify(uow, caller), command.shipment_id)


def signed_by(
    signer: Signer,
    role: PartyRole,
    body: str | CanonicalJson,
    evidence_version: int,
    at: datetime,
    *,
    step: str,
    version: int,
) -> tuple[JwsSignature, SignatureEvidence]:
    """Sign a stored version `body` (document version `version`) as `role` for lifecycle
    `step`: the JWS signature entry, whose protected header names the step, the version and the
    role, and the evidence the lifecycle checks (`evidence_version` is the version number the
    lifecycle counts in)."""
    payload = body if isinstance(body, CanonicalJson) else json.loads(body)
    entry = sign_version(payload, signer, role.value, at, step=step, version=version)
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


#: Lifecycles this process read or wrote lately, by their stored JSON (see lifecycle_cache).
# bench/api.py: part of the signing work of 9c9a3dd (no separate figure was measured for it).
_ECMRS: Final = ParsedLifecycles(Ecmr)
_CIM_SMGS_NOTES: Final = ParsedLifecycles(CimSmgsNote)

#: Lifecycle steps by the names callers give them (an Enum is slow to iterate per request).
# bench/api.py profile: iterating the Enum cost 2% of a signing node's CPU per request.
_ECMR_STEPS: Final[dict[str, EcmrStep]] = {step.name.lower(): step for step in EcmrStep}
_CIM_SMGS_STEPS: Final[dict[str, CimSmgsStep]] = {step.name.lower(): step for step in CimSmgsStep}


def sign_step(uow: NodeUnitOfWork, caller: Who, command: SignStep) -> DocumentView:
    """Sign one lifecycle step of a document with the caller's key, if the lifecycle allows it
    (once per Idempotency-Key).

    The document and its link are read once, locked, so the step is decided on the state it
    changes; the step's ledger event is stored with it, for the sequencer, as it commits.
    """
    with uow:
        who = identify(uow, caller)
        return answer_once(
            uow,
            who,
            lambda: _sign(uow, who, command.document_id, command.step),
            DocumentView.model_validate,
        )


def _sign(uow: NodeUnitOfWork, caller: Caller, document_id: str, body: SignRequest) -> DocumentView:
    ctx = uow.node
    session = uow.session
    caller.require(Scope.DOCUMENTS_SIGN)
    seen = _visible(uow, caller, document_id, lock=True)
    record = seen.record
    if record.kind not in PARTY_SIGNED_KINDS:
        raise InvalidRequestError(f"{record.kind} documents are signed through their own authority")
    at = ctx.clock()
    signatures = seen.signatures
    on_version = [s for version, s in signatures if version == record.version]
    signed = {s.role for s in on_version if s.party == caller.org_id}
    # bench/api.py: the signer's current key id came with the locked read (a sign request runs
    # 6 statements before its commit instead of 8).
    signer = ctx.signer(session, caller.org_id, current=seen.party_kid)
    canonical, parsed = _read_body(record)
    allowed: list[str]
    # The lifecycle is parsed and written as JSON by pydantic itself (no dict in between), and
    # the one this step writes is remembered: the document's next step starts from it.
    if record.kind == DocumentKind.ECMR:
        note = _ECMRS.parse(record.lifecycle)
        steps = _ECMR_STEPS
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
        entry, evidence = signed_by(
            signer, role, canonical, record.version, at, step=body.step, version=record.version
        )
        note = _ecmr_step(note, steps[body.step], evidence, body)
        new_state, lifecycle = note.state.value, note.model_dump_json()
        _ECMRS.remember(lifecycle, note)
        allowed = sorted(s.name.lower() for s in note.allowed_steps())
    else:
        rail = _CIM_SMGS_NOTES.parse(record.lifecycle)
        rail_steps = _CIM_SMGS_STEPS
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
        entry, evidence = signed_by(
            signer, role, canonical, 1, at, step=body.step, version=record.version
        )
        rail = getattr(rail, body.step)(evidence)
        new_state, lifecycle = rail.state.value, rail.model_dump_json()
        _CIM_SMGS_NOTES.remember(lifecycle, rail)
        allowed = sorted(s.name.lower() for s in rail.allowed_steps())
    event = ctx.ledger_event(
        session,
        record.owner,
        document_id,
        body.step,
        {
            "version": record.version,
            "digest": record.digest,
            "party": caller.org_id,
            "role": role.value,
            "signature": entry["signature"],
            "state": new_state,
        },
        at,
    )
    # bench/api.py: one statement stores the signature, state, lifecycle and ledger event on
    # PostgreSQL (5.6 vs 5.9 ms of server CPU per issue+sign, sequential run).
    stored = uow.shipment_documents.record_signed_step(
        record,
        position=len(on_version),
        entry=entry,
        state=new_state,
        lifecycle=lifecycle,
        at=at,
        event=event,
    )
    return _view(
        seen, [*signatures, (record.version, stored)], allowed, state=new_state, body=parsed
    )


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


@dataclass(frozen=True, slots=True)
class EvidenceParts:
    """What the store holds for a document version's evidence (read in the caller's unit of
    work); `assemble_evidence` adds the tree head and the inclusion proof."""

    document: dict[str, Any]
    jws: GeneralJws
    entry: LedgerEntry


def evidence_parts(uow: UnitOfWork, caller: Caller, document_id: str) -> EvidenceParts:
    """Read the current version of a document the caller may see, its JWS and ledger entry,
    in an open unit of work."""
    seen = _visible(uow, caller, document_id)
    return _evidence_of(uow, seen.record, seen.signatures)


def _evidence_of(
    uow: UnitOfWork, record: ShipmentDocument, signatures: list[tuple[int, StoredSignature]]
) -> EvidenceParts:
    # bench/api.py: 872-877 vs 814-829 verify/s (the version's entry by its event, not the
    # whole chain)
    entry = uow.ledger_store(record.owner).entry_for_event(
        record.document_id, f"version:{record.version}"
    )
    if entry is None:
        raise NotFoundError(
            "ledger entry of document version", f"{record.document_id}@{record.version}"
        )
    jws: GeneralJws = {
        "payload": b64url_encode(record.body.encode("utf-8")),
        "signatures": [s.entry for version, s in signatures if version == record.version],
    }
    return EvidenceParts(_parse_body(record), jws, entry)


def assemble_evidence(ctx: NodeContext, parts: EvidenceParts) -> dict[str, Any]:
    """The offline evidence bundle: the parts, a signed tree head covering the entry and the
    inclusion proof to it. Call it outside a unit of work (a new head is stored in its own)."""
    index = parts.entry.log_index
    head, tree = ctx.tree_head_covering(index)
    proof = InclusionProof(
        index, head.tree_size, tuple(tree.inclusion_proof(index, head.tree_size))
    )
    bundle = EvidenceBundle(
        document=parts.document,
        jws=parts.jws,
        entry=parts.entry,
        inclusion=proof,
        tree_head=head,
        checkpoint=_witnessed_checkpoint(ctx, index, tree),
    )
    return bundle.to_json()


def _witnessed_checkpoint(
    ctx: NodeContext, index: int, tree: MerkleTree
) -> WitnessedCheckpoint | None:
    """The latest checkpoint of the node's log a quorum of witnesses co-signed, if it covers
    entry `index`, with the entry's inclusion proof at its size."""
    with ctx.unit_of_work().for_reading() as uow:
        found = uow.witness.latest_cosigned(ctx.settings.node_id, WITNESS_QUORUM)
    if found is None or not index < found[0] <= tree.size:
        return None
    size, note = found
    return WitnessedCheckpoint(note, tuple(tree.inclusion_proof(index, size)))


def evidence(uow: NodeUnitOfWork, caller: Who, command: DocumentRef) -> dict[str, Any]:
    """Offline evidence of a document's current version: the version, its JWS, its ledger
    entry, the inclusion proof and a signed tree head. The store is read in one read-only
    snapshot; a new tree head, when one is needed, is signed and stored after it, in the
    node's own unit of work."""
    with uow.for_reading():
        parts = evidence_parts(uow, identify(uow, caller), command.document_id)
    return assemble_evidence(uow.node, parts)


def trust_list(uow: UnitOfWork) -> dict[str, Any]:
    """Every organisation's public keys with their validity (the node's published trust
    list, public). Read-only."""
    with uow.for_reading():
        return uow.signing_keys.trust_list().to_jwks()


def operator_evidence(uow: NodeUnitOfWork, command: DocumentRef) -> dict[str, Any]:
    """The node operator's evidence of any document in the node's own store, with no caller
    and no party filter (the command line on the node's database, `kervan evidence export`);
    NotFoundError when the store holds no such document."""
    with uow.for_reading():
        found = uow.shipment_documents.find(command.document_id, party="")
        if found is None:
            raise NotFoundError("document", command.document_id)
        parts = _evidence_of(uow, found.record, found.signatures)
    return assemble_evidence(uow.node, parts)
