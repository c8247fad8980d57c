"""The node's audit: re-verify everything its signatures and its ledger cover, name what fails.

What is checked (each failure is a `Finding`: table, row, problem):
- the log (kervan.ledger.audit): entry and leaf hashes, log indexes, every document's chain,
  the Merkle tree, and every stored tree head (signature and root), and every checkpoint of
  the log its witnesses co-sign (services.audit_checkpoints);
- every document version: canonical body hashing to its digest, naming its document, kind and
  version, and recorded in the ledger as `version:N` with that very digest;
- every signature: its JWS verifies over its version with the trust list, its columns are its
  signed header, and it is the signature the ledger recorded for its step: signature rows are
  counted and matched one by one against the document's signed steps in the ledger;
- every issued e-Permit against the version of its document that recorded it, and its
  revocation against the document's chain (services.audit_permits);
- every document's state: derived from its ledger (the state a party signed with its last step,
  or what the e-TIR and e-Permit steps lead to) and compared;
- the database's guard triggers are all there (and enabled).

The node runs it when it starts (`startup_audit`) and refuses to serve a store that does not
verify unless the operator says otherwise; `kervan audit` runs it on demand.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Generator, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Final

from kervan.documents.cimsmgs import CimSmgsState
from kervan.documents.ecmr_lifecycle import EcmrState
from kervan.documents.etir import TirState
from kervan.documents.kinds import DocumentKind
from kervan.errors import CanonicalJsonError, LedgerIntegrityError
from kervan.ledger.audit import Finding, audit_log
from kervan.services.audit_checkpoints import checkpoint_findings
from kervan.services.audit_permits import permit_findings
from kervan.services.tir import GUARANTEE_CANCELLED
from kervan.signatures.canonical import canonical_digest_hex, parse_canonical_json, parse_json
from kervan.signatures.encoding import b64url_encode
from kervan.signatures.jws import GeneralJws, JwsSignature, check_signatures
from kervan.signatures.trustlist import TrustList
from kervan.store.repositories._common import sha256_hex
from kervan.store.repositories.audit import (
    AuditedDocument,
    AuditedSignature,
    AuditedVersion,
    NodeRecords,
)

if TYPE_CHECKING:
    from kervan.store.uow import UnitOfWork

log = logging.getLogger(__name__)

_VERSION_EVENT: Final = "version:"
_REVOKE_EVENT: Final = "revoke"
#: Every state a signed step can put a document in (a step's payload names the state it led to).
_SIGNED_STATES: Final = tuple(
    dict.fromkeys([*(s.value for s in EcmrState), *(s.value for s in CimSmgsState)])
)
#: e-TIR: the state each step of the guarantee chain, the holder and customs leads to.
_TIR_STATES: Final = {
    "register_guarantee": {"guarantee_registered"},
    "submit_declaration": {TirState.SUBMITTED.value},
    "accept_declaration": {TirState.ACCEPTED.value},
    # Before a declaration the document says so; after one, the transport's state stays.
    "cancel_guarantee": {GUARANTEE_CANCELLED, TirState.SUBMITTED.value, TirState.ACCEPTED.value},
}
_TIR_OPERATION_STATES: Final = {TirState.ACCEPTED.value, TirState.ENDED.value}


@dataclasses.dataclass(frozen=True, slots=True)
class AuditNode:
    """Audit the whole node (the command carries nothing: the node's operator audits it all)."""


@dataclasses.dataclass(frozen=True, slots=True)
class AuditReport:
    """What the audit went through and what it found."""

    documents: int
    versions: int
    signatures: int
    ledger_entries: int
    tree_heads: int
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        """True when nothing was found."""
        return not self.findings

    def summary(self) -> str:
        """One line: what was verified, and how many findings."""
        counted = (
            f"{self.documents} documents, {self.versions} versions, {self.signatures} "
            f"signatures, {self.ledger_entries} ledger entries, {self.tree_heads} tree heads"
        )
        if self.ok:
            return f"verified: {counted}"
        return f"NOT VERIFIED: {len(self.findings)} findings in {counted}"

    def to_json(self) -> dict[str, Any]:
        """Return {ok, counts..., findings: [{table, row, problem}]}."""
        return {
            "ok": self.ok,
            "documents": self.documents,
            "versions": self.versions,
            "signatures": self.signatures,
            "ledger_entries": self.ledger_entries,
            "tree_heads": self.tree_heads,
            "findings": [finding.to_json() for finding in self.findings],
        }


def audit_node(uow: UnitOfWork, command: AuditNode, *, log_id: str) -> AuditReport:  # noqa: ARG001
    """Re-verify every row the node's signatures and ledger cover, in one read-only snapshot;
    `log_id` is the node whose key signs the ledger's tree heads. An operator use case (the
    command line, the node's start): no caller, the whole store."""
    # One snapshot: a step committed while the audit reads must not look like a tampered row.
    with uow.for_one_snapshot():
        records = uow.audit.records()
        trust = uow.signing_keys.trust_list()
    return audit_records(records, trust, log_id)


def audit_records(records: NodeRecords, trust: TrustList, log_id: str) -> AuditReport:
    """The audit of rows already read (see `audit_node`)."""
    findings, tree = audit_log(records.entries, records.heads, trust, log_id)
    findings += checkpoint_findings(records.checkpoints, tree, trust, log_id)
    findings += [
        Finding("triggers", name, "the guard trigger is missing or disabled")
        for name in records.missing_triggers
    ]
    findings += _document_findings(records, trust)
    findings += permit_findings(records, trust)
    return AuditReport(
        documents=len(records.documents),
        versions=len(records.versions),
        signatures=len(records.signatures),
        ledger_entries=len(records.entries),
        tree_heads=len(records.heads),
        findings=tuple(sorted(dict.fromkeys(findings))),
    )


@dataclasses.dataclass(frozen=True, slots=True)
class _Event:
    """A recorded event of a document: a ledger entry, or one still pending."""

    where: str
    event_type: str
    payload_digest: str
    org_id: str | None


def _document_findings(records: NodeRecords, trust: TrustList) -> Iterable[Finding]:
    events: dict[str, list[_Event]] = {}
    for stored in sorted(records.entries, key=lambda s: (s.entry.document_id, s.entry.seq)):
        entry = stored.entry
        events.setdefault(entry.document_id, []).append(
            _Event(f"ledger seq {entry.seq}", entry.event_type, entry.payload_digest, stored.org_id)
        )
    for pending in records.pending:
        events.setdefault(pending.document_id, []).append(
            _Event(f"pending {pending.id}", pending.event_type, pending.payload_digest, None)
        )
    versions: dict[str, list[AuditedVersion]] = {}
    for version in records.versions:
        versions.setdefault(version.document_id, []).append(version)
    signatures: dict[str, list[AuditedSignature]] = {}
    for signature in records.signatures:
        signatures.setdefault(signature.document_id, []).append(signature)
    documents = {document.id: document for document in records.documents}
    for document_id in sorted(set(documents) | set(events) | set(versions) | set(signatures)):
        document = documents.get(document_id)
        if document is None:
            yield Finding(
                "documents",
                document_id,
                f"missing: the store holds {len(events.get(document_id, []))} ledger events, "
                f"{len(versions.get(document_id, []))} versions and "
                f"{len(signatures.get(document_id, []))} signatures of it",
            )
            continue
        yield from _one_document(
            document,
            versions.get(document_id, []),
            signatures.get(document_id, []),
            events.get(document_id, []),
            trust,
        )


def _one_document(
    document: AuditedDocument,
    versions: list[AuditedVersion],
    signatures: list[AuditedSignature],
    events: list[_Event],
    trust: TrustList,
) -> Iterable[Finding]:
    doc = document.id
    for event in events:
        if event.org_id is not None and event.org_id != document.org_id:
            yield Finding(
                "ledger_entries",
                f"document {doc}, {event.where}",
                f"recorded for {event.org_id}, but the document is {document.org_id}'s",
            )
    recorded = {
        int(e.event_type.removeprefix(_VERSION_EVENT)): e
        for e in events
        if e.event_type.startswith(_VERSION_EVENT)
        and e.event_type.removeprefix(_VERSION_EVENT).isdigit()
    }
    by_number = {v.version: v for v in versions}
    digests: dict[int, str] = {}
    for number in sorted(set(range(1, document.current_version + 1)) | set(recorded)):
        version = by_number.get(number)
        if version is None:
            yield Finding("document_versions", f"{doc} v{number}", "missing")
            continue
        digest = sha256_hex(version.body)
        digests[number] = digest
        yield from _version_findings(document, version, digest, recorded.get(number))
    for number in sorted(set(by_number) - set(digests)):
        yield Finding(
            "document_versions",
            f"{doc} v{number}",
            f"neither current (the document says version {document.current_version}) nor "
            f"recorded in the ledger",
        )
    yield from _signature_findings(doc, by_number, signatures, trust)
    steps = [
        e for e in events if not e.event_type.startswith(_VERSION_EVENT)
        and e.event_type != _REVOKE_EVENT
    ]  # fmt: skip
    signed_states = yield from _step_findings(doc, steps, signatures, digests)
    expected = _expected_states(document.kind, events, steps, signed_states)
    if expected is not None and document.state not in expected:
        yield Finding(
            "documents",
            doc,
            f"state {document.state!r} is not what its signed steps lead to "
            f"({' or '.join(repr(s) for s in sorted(expected))})",
        )


def _version_findings(
    document: AuditedDocument, version: AuditedVersion, digest: str, event: _Event | None
) -> Iterable[Finding]:
    row = f"{document.id} v{version.version}"
    table = "document_versions"
    if digest != version.digest:
        yield Finding(table, row, "the body does not hash to the stored digest")
    try:
        body = parse_canonical_json(version.body.encode("utf-8"))
    except CanonicalJsonError as exc:
        yield Finding(table, row, f"the body is not canonical JSON: {exc.message}")
        body = None
    if isinstance(body, dict):
        named = (body.get("document_id"), body.get("kind"), body.get("version"))
        if named != (document.id, document.kind, version.version):
            yield Finding(
                table,
                row,
                f"the body names document {named[0]!r}, kind {named[1]!r}, version {named[2]!r}"
                f" but is stored as {document.id!r}, {document.kind!r}, {version.version}",
            )
    if event is None:
        yield Finding(table, row, "no ledger entry records this version")
    elif event.payload_digest != digest:
        yield Finding(table, row, f"the body is not the one the ledger recorded ({event.where})")


def _signature_findings(
    doc: str,
    versions: dict[int, AuditedVersion],
    signatures: list[AuditedSignature],
    trust: TrustList,
) -> Iterable[Finding]:
    by_version: dict[int, list[AuditedSignature]] = {}
    for signature in signatures:
        by_version.setdefault(signature.version, []).append(signature)
    for number, rows in sorted(by_version.items()):
        version = versions.get(number)
        if version is None:
            continue  # the version's own finding names it
        positions = [row.position for row in rows]
        if positions != list(range(len(rows))):
            yield Finding(
                "document_signatures",
                f"{doc} v{number}",
                f"positions are {positions}, not 0, 1, 2, ...: a signature is missing",
            )
        entries = [_entry(row) for row in rows]
        jws: GeneralJws = {
            "payload": b64url_encode(version.body.encode("utf-8")),
            "signatures": [e for e in entries if e is not None],
        }
        checks = iter(check_signatures(jws, trust))
        for row, entry in zip(rows, entries, strict=True):
            where = f"{doc} v{number} position {row.position}"
            if entry is None:
                yield Finding("document_signatures", where, "the entry is not a JWS signature")
                continue
            check = next(checks, None)
            if check is None or check.verified is None:
                why = check.error.message if check is not None and check.error else "unreadable"
                yield Finding("document_signatures", where, f"does not verify: {why}")
                continue
            good = check.verified
            stored = (row.kid, row.party, row.role, row.signed_at)
            if stored != (good.kid, good.party, good.role, good.signed_at):
                yield Finding(
                    "document_signatures",
                    where,
                    f"stored as kid {row.kid!r}, party {row.party!r}, role {row.role!r} at "
                    f"{row.signed_at.isoformat()} but signed as kid {good.kid!r}, party "
                    f"{good.party!r}, role {good.role!r} at {good.signed_at.isoformat()}",
                )


def _step_findings(
    doc: str, steps: list[_Event], signatures: list[AuditedSignature], digests: dict[int, str]
) -> Generator[Finding, None, list[str | None]]:
    """Match signature rows (in version, position order) to the ledger's signed steps one by
    one; return the state each step's payload names (None where it names none)."""
    states: list[str | None] = []
    if len(signatures) != len(steps):
        yield Finding(
            "document_signatures",
            doc,
            f"{len(signatures)} signature rows, but the ledger records {len(steps)} signed steps",
        )
    for signature, step in zip(signatures, steps, strict=False):
        entry = _entry(signature)
        digest = digests.get(signature.version)
        matched = (
            _signed_state(step.payload_digest, signature, entry, digest)
            if entry is not None and digest is not None
            else _NO_MATCH
        )
        if matched is _NO_MATCH:
            yield Finding(
                "document_signatures",
                f"{doc} v{signature.version} position {signature.position}",
                f"is not the signature the ledger recorded for step {step.event_type!r} "
                f"({step.where})",
            )
            states.append(None)
        else:
            states.append(matched if isinstance(matched, str) else None)
    return states


_NO_MATCH: Final = object()


def _signed_state(
    recorded: str, signature: AuditedSignature, entry: JwsSignature, digest: str
) -> object:
    """The state a step's payload named (None: a step whose payload names none), or _NO_MATCH
    when no payload of this signature hashes to the recorded digest."""
    base: dict[str, Any] = {
        "version": signature.version,
        "digest": digest,
        "party": signature.party,
        "role": signature.role,
        "signature": entry["signature"],
    }
    if canonical_digest_hex(base) == recorded:
        return None
    for state in _SIGNED_STATES:
        if canonical_digest_hex({**base, "state": state}) == recorded:
            return state
    return _NO_MATCH


def _expected_states(
    kind: str, events: Sequence[_Event], steps: Sequence[_Event], signed: Sequence[str | None]
) -> set[str] | None:
    """The states a document's recorded events allow (None: nothing to say)."""
    if kind in (DocumentKind.ECMR, DocumentKind.CIM_SMGS):
        if not steps:
            return {"draft"}
        last = signed[-1] if signed and len(signed) == len(steps) else None
        return None if last is None else {last}
    if kind == DocumentKind.EPERMIT:
        types = [e.event_type for e in events]
        if _REVOKE_EVENT in types:
            return {"revoked"}
        return {"issued"} if f"{_VERSION_EVENT}2" in types else {"requested"}
    if kind == DocumentKind.ETIR:
        if not steps:
            return {"requested"}
        return _TIR_STATES.get(steps[-1].event_type, _TIR_OPERATION_STATES)
    return None


def _entry(signature: AuditedSignature) -> JwsSignature | None:
    try:
        value = parse_json(signature.entry.encode("utf-8"))
    except CanonicalJsonError:
        return None
    if not (
        isinstance(value, dict)
        and set(value) == {"protected", "signature"}
        and all(isinstance(v, str) for v in value.values())
    ):
        return None
    return {"protected": str(value["protected"]), "signature": str(value["signature"])}


def startup_audit(uow: UnitOfWork, *, log_id: str, serve_unverified: bool) -> AuditReport:
    """The audit a node runs when it starts: every finding is logged; a store that does not
    verify raises LedgerIntegrityError unless `serve_unverified` (the operator's explicit
    KERVAN_SERVE_UNVERIFIED_LEDGER), which is logged as loudly."""
    report = audit_node(uow, AuditNode(), log_id=log_id)
    if report.ok:
        log.info("node audit: %s", report.summary())
        return report
    for finding in report.findings:
        log.error("node audit finding: %s", finding.line())
    if not serve_unverified:
        raise LedgerIntegrityError(
            "audit",
            f"{report.summary()}; the node does not serve a store it cannot verify (run "
            f"`kervan audit` for the findings; KERVAN_SERVE_UNVERIFIED_LEDGER=true serves it "
            f"anyway)",
        )
    log.critical(
        "SERVING A NODE WHOSE STORE DOES NOT VERIFY (%s) because KERVAN_SERVE_UNVERIFIED_LEDGER "
        "is set: its documents and evidence cannot be trusted",
        report.summary(),
    )
    return report
