"""Printing a document: what its paper form shows, with the signatures checked and the ledger
status read at the moment of printing, and the QR code's content.

The caller must be allowed to see the document (as its own view decides); customs sees no
charges, as on the document's view; an e-TIR transport prints once declared, for those who may
see the transport; an e-Permit once issued. Every signature on the document is verified again
against the node's trust list before it is printed as verified; the ledger chain of the
document is checked link by link. The layout of each form is the web's (web.print_forms).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from kervan.documents.cimsmgs import CimSmgsNote
from kervan.documents.ecmr_lifecycle import Ecmr
from kervan.documents.epermit import EARLIEST_EVENT_TIMESTAMP, Permit, PermitRecord, PermitUsage
from kervan.documents.etir import TirTransport
from kervan.documents.kinds import DocumentKind
from kervan.documents.parties import Party
from kervan.errors import KervanError, NotFoundError
from kervan.ledger.chain import verify_chain
from kervan.ledger.witnessed import WITNESS_QUORUM
from kervan.services.access import Who, identify
from kervan.services.documents import DocumentView, documents_of, view_document
from kervan.services.permits import PermitRef, issued_permit
from kervan.services.qr_verdict import checkpoint_for_qr
from kervan.services.shipments import access
from kervan.services.tir import view_transport
from kervan.signatures.encoding import b64url_encode, from_unix_seconds
from kervan.signatures.jws import GeneralJws, check_signatures, verify_compact
from kervan.signatures.trustlist import TrustList

if TYPE_CHECKING:
    from kervan.store.uow import UnitOfWork

#: Partner authorities' keys count from the e-Permit specification's earliest event time.
EARLIEST_PARTNER_KEY = from_unix_seconds(EARLIEST_EVENT_TIMESTAMP)

#: Sorts a signature without a time first.
_NEVER = datetime.min.replace(tzinfo=UTC)

#: A form as its document model holds it.
Form = Ecmr | CimSmgsNote | TirTransport | Permit


@dataclass(frozen=True, slots=True)
class PrintDocument:
    """A document to print, and the address its QR code leads to (the verify page)."""

    document_id: str
    verification: str
    #: This node's log (its id): once witnessed, the QR also carries the version digest and
    #: the co-signed checkpoint, for a verdict from the QR alone.
    log_origin: str | None = None


@dataclass(frozen=True, slots=True)
class PrintPermit:
    """An issued permit to print from its authority's desk; `verification` is the public
    page where its QR code is checked."""

    permit_id: str
    verification: str


@dataclass(frozen=True, slots=True)
class PrintedSignature:
    """A signature as the form prints it: who, in which role, for which step, with which key,
    when, and whether it verified against the trust list now (else why not)."""

    party: str
    party_name: str
    role: str
    step: str | None
    version: int | None
    kid: str
    signed_at: datetime | None
    verified: bool
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class LedgerStatus:
    """The document's chain in the node's ledger: how many entries, whether every link holds,
    the log index of the printed version's entry and the size of the witnessed checkpoint that
    covers it (None while no co-signed checkpoint does)."""

    entries: int
    intact: bool
    version_entry: int | None
    witnessed_size: int | None
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class Printable:
    """Everything a printed form shows besides its boxes' content: the document, its state and
    version, the digest of the printed version, the QR code's content and the address where it
    is checked, the verified signatures and the ledger status."""

    document_id: str
    kind: DocumentKind
    state: str
    version: int
    digest: str | None
    qr: str
    verification: str
    form: Form
    signatures: tuple[PrintedSignature, ...]
    ledger: LedgerStatus | None
    #: Whether the caller sees the charges (customs does not).
    full: bool = True
    usages: tuple[PermitUsage, ...] = ()
    revoked_at: datetime | None = None
    #: The shipment's other documents the caller may see, (kind, id): "documents attached".
    attached: tuple[tuple[str, str], ...] = ()

    def signed(self, role: str, *steps: str) -> tuple[PrintedSignature, ...]:
        """The signatures made in `role` (for one of `steps`, when given), oldest first."""
        return tuple(
            s for s in self.signatures if s.role == role and (not steps or s.step in steps)
        )

    def party_name(self, party_id: str) -> str:
        """The name of a party the signatures name (its id when the form does not)."""
        return next((s.party_name for s in self.signatures if s.party == party_id), party_id)


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


def _form_parties(form: Form) -> list[Party]:
    if isinstance(form, Ecmr):
        c = form.content
        return [c.consignor, c.consignee, c.carrier, *c.successive_carriers]
    if isinstance(form, CimSmgsNote):
        n = form.content
        return [n.consignor, n.consignee, *(s.railway for s in n.route)]
    if isinstance(form, TirTransport):
        d = form.data
        ends = [d.holder, d.office_of_departure, d.office_of_destination]
        return [*ends, *d.offices_en_route, form.guarantee.guarantee_chain]
    return []


def _names(uow: UnitOfWork, form: Form, party_ids: set[str]) -> dict[str, str]:
    names = {p.id: p.name for p in _form_parties(form)}
    for party_id in party_ids - names.keys():
        found = uow.organisations.find(party_id)
        names[party_id] = found.name if found is not None else party_id
    return names


def _document_signatures(
    uow: UnitOfWork, owner: str, document: DocumentView, form: Form, trust: TrustList
) -> tuple[PrintedSignature, ...]:
    """Every stored signature of the document, each version's checked against its body."""
    names = _names(uow, form, {s.party for s in document.signatures})
    printed: list[PrintedSignature] = []
    for version in sorted({s.version for s in document.signatures}):
        body = uow.documents.get_version(document.id, version, org_ids=[owner]).body
        stored = uow.documents.signatures(document.id, version, org_ids=[owner])
        jws: GeneralJws = {
            "payload": b64url_encode(body.encode("utf-8")),
            "signatures": [s.entry for s in stored],
        }
        checks = {c.index: c for c in check_signatures(jws, trust)}
        for index, s in enumerate(stored):
            check = checks.get(index) or checks.get(-1)
            verified = check.verified if check is not None else None
            problem = None
            if verified is None:
                problem = check.error.message if check and check.error else "not checked"
            printed.append(
                PrintedSignature(
                    party=s.party,
                    party_name=names.get(s.party, s.party),
                    role=s.role,
                    step=verified.step if verified is not None else None,
                    version=version,
                    kid=s.kid,
                    signed_at=s.signed_at,
                    verified=verified is not None,
                    problem=problem,
                )
            )
    return tuple(sorted(printed, key=lambda s: s.signed_at or _NEVER))


def _ledger_status(
    uow: UnitOfWork, owner: str, document: DocumentView, origin: str | None
) -> LedgerStatus:
    entries = uow.ledger_store(owner).document_entries(document.id, org_ids=[owner])
    verdict = verify_chain(entries)
    version_entry = next(
        (e.log_index for e in entries if e.event_type == f"version:{document.version}"), None
    )
    found = uow.witness.latest_cosigned(origin, WITNESS_QUORUM) if origin is not None else None
    covered = found is not None and version_entry is not None and version_entry < found[0]
    return LedgerStatus(
        entries=len(entries),
        intact=verdict.ok,
        version_entry=version_entry,
        witnessed_size=found[0] if covered and found is not None else None,
        problem=verdict.reason,
    )


def printable_document(uow: UnitOfWork, caller: Who, command: PrintDocument) -> Printable:
    """The document's form to print with its QR code, verified signatures and ledger status
    (NotFoundError when the caller may not see it or it has nothing to print yet). Read-only."""
    with uow.for_reading():
        who = identify(uow, caller)
        document_id = command.document_id
        document = view_document(uow, who, document_id)
        link = uow.shipment_documents.link(document_id)
        if link is None:
            raise NotFoundError("document", document_id)
        lifecycle = json.loads(link.lifecycle)
        command = _witnessed(uow, command, document)
        full = True
        form: Form
        if document.kind == DocumentKind.ECMR:
            note = Ecmr.model_validate(lifecycle)
            full = access(uow, who, document.shipment_id).full
            if not full:
                versions = tuple(
                    v.model_copy(update={"content": v.content.model_copy(update={"charges": ()})})
                    for v in note.versions
                )
                note = note.model_copy(update={"versions": versions})
            form = note
        elif document.kind == DocumentKind.CIM_SMGS:
            form = CimSmgsNote.model_validate(lifecycle)
        elif document.kind == DocumentKind.ETIR:
            view_transport(uow, who, document_id)
            transport = lifecycle.get("transport")
            if transport is None:
                raise NotFoundError("declared e-TIR transport", document_id)
            form = TirTransport.model_validate(transport)
        else:
            return _document_permit(uow, link.org_id, document, lifecycle, command)
        trust = uow.signing_keys.trust_list()
        attached = tuple(
            (d.kind, d.id)
            for d in documents_of(uow, who, document.shipment_id)
            if d.id != document_id
        )
        return Printable(
            document_id=document_id,
            kind=DocumentKind(document.kind),
            state=document.state,
            version=document.version,
            digest=document.digest,
            qr=command.verification,
            verification=command.verification,
            form=form,
            signatures=_document_signatures(uow, link.org_id, document, form, trust),
            ledger=_ledger_status(uow, link.org_id, document, command.log_origin),
            full=full,
            attached=attached,
        )


def _permit_trust(uow: UnitOfWork) -> TrustList:
    """This node's trust list and the keys of the e-Permit partners it exchanges with."""
    trust = uow.signing_keys.trust_list()
    for code, jwk in uow.epermit_network.partner_keys():
        if jwk.get("kid") not in trust:
            trust.add(jwk, party=code, not_before=EARLIEST_PARTNER_KEY)
    return trust


def _permit_signature(uow: UnitOfWork, permit: Permit) -> tuple[PrintedSignature, ...]:
    """The issuing authority's signature over the permit's QR claims, verified now."""
    token = permit.qr_code or ""
    try:
        verified = verify_compact(token, _permit_trust(uow))
    except KervanError as exc:
        return (
            PrintedSignature(
                party=permit.permit_issuer,
                party_name=permit.permit_issuer,
                role="permit_authority",
                step=None,
                version=None,
                kid="",
                signed_at=None,
                verified=False,
                problem=exc.message,
            ),
        )
    names = _names(uow, permit, {verified.party})
    return (
        PrintedSignature(
            party=verified.party,
            party_name=names[verified.party],
            role="permit_authority",
            step="issue",
            version=None,
            kid=verified.kid,
            signed_at=verified.signed_at,
            verified=True,
        ),
    )


def _document_permit(
    uow: UnitOfWork,
    owner: str,
    document: DocumentView,
    lifecycle: Mapping[str, object],
    command: PrintDocument,
) -> Printable:
    permit = permit_of(document)
    if permit is None or permit.qr_code is None:
        raise NotFoundError("issued e-Permit", document.id)
    signatures = _permit_signature(uow, permit)
    usages: tuple[PermitUsage, ...] = ()
    if signatures[0].verified:  # the issuing authority's record holds the border stamps
        try:
            record = uow.permits.get_permit(permit.permit_id, org_ids=[signatures[0].party])
            usages = record.usages
        except NotFoundError:
            usages = ()
    revoked = lifecycle.get("revoked_at")
    return Printable(
        document_id=document.id,
        kind=DocumentKind.EPERMIT,
        state=document.state,
        version=document.version,
        digest=document.digest,
        qr=permit.qr_code,
        verification=command.verification,
        form=permit,
        signatures=signatures,
        ledger=_ledger_status(uow, owner, document, command.log_origin),
        usages=usages,
        revoked_at=datetime.fromisoformat(revoked) if isinstance(revoked, str) else None,
    )


def printable_permit(uow: UnitOfWork, caller: Who, command: PrintPermit) -> Printable:
    """A permit the caller's authority issued, to print with its signed QR code, the
    usages recorded at borders and its revocation (NotFoundError for another's). Read-only."""
    record: PermitRecord = issued_permit(uow, caller, PermitRef(command.permit_id))
    permit = record.permit
    with uow.for_reading():
        signatures = _permit_signature(uow, permit)
    return Printable(
        document_id=permit.permit_id,
        kind=DocumentKind.EPERMIT,
        state="revoked" if record.revoked_at is not None else "issued",
        version=1,
        digest=None,
        qr=permit.qr_code or permit.permit_id,
        verification=command.verification,
        form=permit,
        signatures=signatures,
        ledger=None,
        usages=record.usages,
        revoked_at=record.revoked_at,
    )
