"""What an audit of the node reads: every stored row a signature or the ledger covers, as stored,
and the database's guard triggers.

Rows come back as plain values with nothing checked or parsed beyond their columns' types, so a
changed row reaches the audit as it is; the audit (kervan.ledger.audit, services.audit) judges
them. Read in one snapshot (a read-only unit of work).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Final

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from kervan.ledger.audit import StoredEntry, StoredTreeHead
from kervan.ledger.chain import LedgerEntry
from kervan.ledger.sth import SignedTreeHead
from kervan.store.db import is_sqlite
from kervan.store.tables import (
    DocumentRow,
    DocumentSignatureRow,
    DocumentVersionRow,
    LedgerEntryRow,
    LedgerPendingRow,
    PermitRow,
    SignedTreeHeadRow,
)
from kervan.store.tables.witness import LogCheckpointRow

#: Tables whose rows are never changed nor deleted (a trigger refuses it).
INSERT_ONLY_TABLES: Final = (
    "document_signatures",
    "ledger_entries",
    "signed_tree_heads",
    "permit_usages",
    "shipment_events",
)
#: The guard triggers every migrated database holds, by dialect.
GUARD_TRIGGERS: Final = {
    "postgresql": (
        "trg_document_versions_signed_immutable",
        "trg_documents_state_recorded",
        *(f"trg_{table}_insert_only" for table in INSERT_ONLY_TABLES),
    ),
    "sqlite": (
        "trg_document_versions_signed_immutable_update",
        "trg_document_versions_signed_immutable_delete",
        "trg_documents_state_recorded",
        *(
            f"trg_{table}_insert_only_{operation}"
            for table in INSERT_ONLY_TABLES
            for operation in ("update", "delete")
        ),
    ),
}


@dataclasses.dataclass(frozen=True, slots=True)
class AuditedDocument:
    org_id: str
    id: str
    kind: str
    state: str
    current_version: int


@dataclasses.dataclass(frozen=True, slots=True)
class AuditedVersion:
    org_id: str
    document_id: str
    version: int
    body: str
    digest: str


@dataclasses.dataclass(frozen=True, slots=True)
class AuditedSignature:
    org_id: str
    document_id: str
    version: int
    position: int
    kid: str
    party: str
    role: str
    signed_at: datetime
    entry: str


@dataclasses.dataclass(frozen=True, slots=True)
class AuditedPermit:
    """An issued e-Permit as stored: its wire fields (JSON text), QR and revocation."""

    org_id: str
    permit_id: str
    fields: str
    qr_code: str | None
    revoked: bool


@dataclasses.dataclass(frozen=True, slots=True)
class AuditedCheckpoint:
    """A checkpoint of the node's log as stored: its key and its signed note."""

    origin: str
    tree_size: int
    note: str


@dataclasses.dataclass(frozen=True, slots=True)
class AuditedPendingEvent:
    """An event committed with its step, not yet carried into the ledger by the sequencer."""

    id: int
    document_id: str
    event_type: str
    payload_digest: str


@dataclasses.dataclass(frozen=True, slots=True)
class NodeRecords:
    """Everything the audit reads, in key order."""

    documents: list[AuditedDocument]
    versions: list[AuditedVersion]
    signatures: list[AuditedSignature]
    entries: list[StoredEntry]
    heads: list[StoredTreeHead]
    pending: list[AuditedPendingEvent]
    permits: list[AuditedPermit]
    checkpoints: list[AuditedCheckpoint]
    missing_triggers: list[str]


class AuditRepository:
    """Reads the node's covered rows whole, for the operator's audit (no organisation filter:
    the node's operator audits the whole node)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def records(self) -> NodeRecords:
        """Every document, version, signature, ledger entry and tree head; missing triggers."""
        session = self._session
        documents = [
            AuditedDocument(r.org_id, r.id, r.kind, r.state, r.current_version)
            for r in session.execute(
                select(DocumentRow.org_id, DocumentRow.id, DocumentRow.kind, DocumentRow.state,
                       DocumentRow.current_version).order_by(DocumentRow.org_id, DocumentRow.id)
            )
        ]  # fmt: skip
        versions = [
            AuditedVersion(r.org_id, r.document_id, r.version, r.body, r.digest)
            for r in session.scalars(
                select(DocumentVersionRow).order_by(
                    DocumentVersionRow.org_id,
                    DocumentVersionRow.document_id,
                    DocumentVersionRow.version,
                )
            )
        ]
        signatures = [
            AuditedSignature(r.org_id, r.document_id, r.version, r.position, r.kid, r.party,
                             r.role, r.signed_at, r.entry)
            for r in session.scalars(
                select(DocumentSignatureRow).order_by(
                    DocumentSignatureRow.org_id,
                    DocumentSignatureRow.document_id,
                    DocumentSignatureRow.version,
                    DocumentSignatureRow.position,
                )
            )
        ]  # fmt: skip
        entries = [
            StoredEntry(
                LedgerEntry(r.log_index, r.document_id, r.seq, r.event_type, r.payload_digest,
                            r.previous_entry_hash, r.recorded_at),
                r.org_id,
                r.entry_hash,
                r.leaf_hash,
            )
            for r in session.scalars(select(LedgerEntryRow).order_by(LedgerEntryRow.log_index))
        ]  # fmt: skip
        heads = [
            _tree_head(row)
            for row in session.scalars(
                select(SignedTreeHeadRow).order_by(
                    SignedTreeHeadRow.log_id, SignedTreeHeadRow.tree_size,
                    SignedTreeHeadRow.timestamp,
                )
            )
        ]  # fmt: skip
        pending = [
            AuditedPendingEvent(r.id, r.document_id, r.event_type, r.payload_digest)
            for r in session.scalars(select(LedgerPendingRow).order_by(LedgerPendingRow.id))
        ]
        permits = [
            AuditedPermit(r.org_id, r.permit_id, r.fields, r.qr_code, r.revoked_at is not None)
            for r in session.scalars(
                select(PermitRow).order_by(PermitRow.org_id, PermitRow.permit_id)
            )
        ]
        checkpoints = [
            AuditedCheckpoint(r.origin, r.tree_size, r.note)
            for r in session.scalars(
                select(LogCheckpointRow).order_by(
                    LogCheckpointRow.origin, LogCheckpointRow.tree_size
                )
            )
        ]
        return NodeRecords(
            documents, versions, signatures, entries, heads, pending, permits, checkpoints,
            self.missing_triggers(),
        )  # fmt: skip

    def missing_triggers(self) -> list[str]:
        """The guard triggers that are dropped (or, on PostgreSQL, disabled), by name."""
        if is_sqlite(self._session):
            present = set(
                self._session.scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
            )
            expected = GUARD_TRIGGERS["sqlite"]
        else:
            # Only triggers of the tables in this connection's search path, enabled ('O').
            present = set(
                self._session.scalars(
                    text(
                        "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                        "WHERE NOT t.tgisinternal AND t.tgenabled <> 'D' "
                        "AND pg_table_is_visible(c.oid)"
                    )
                )
            )
            expected = GUARD_TRIGGERS["postgresql"]
        return [name for name in expected if name not in present]


def _tree_head(row: SignedTreeHeadRow) -> StoredTreeHead:
    stamp = row.timestamp.isoformat()
    try:
        root = bytes.fromhex(row.root_hash)
    except ValueError:
        return StoredTreeHead(row.log_id, row.tree_size, stamp, row.root_hash, None)
    head = SignedTreeHead(row.tree_size, root, row.timestamp, row.log_id, row.signature)
    return StoredTreeHead(row.log_id, row.tree_size, stamp, row.root_hash, head)
