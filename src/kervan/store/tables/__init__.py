"""The store's tables, as SQLAlchemy 2 typed declarative classes; the store owns every table.

Every table that holds an organisation's data has `org_id` as the first column of its primary
key, so a later sharding by organisation (Citus) needs no key change. Importing this package
defines every table on `Base.metadata`, which the migrations and their tests compare against.
"""

from __future__ import annotations

from kervan.store.tables.base import (
    DOCUMENT_KINDS,
    ORG_ID,
    Base,
    UtcDateTime,
    table_of,
)
from kervan.store.tables.border import BorderControlRow, BorderDeclarationRow, CustomsCrossingRow
from kervan.store.tables.exchange import (
    ChannelRow,
    DeadLetterRow,
    EpermitPartnerRow,
    EpermitPeerChainRow,
    EpermitPeerEventRow,
    GapAskRow,
    InboxRow,
    OutboxRow,
    RejectedMessageRow,
)
from kervan.store.tables.records import (
    ApiClientRow,
    ApiKeyRow,
    DocumentRow,
    DocumentSignatureRow,
    DocumentVersionRow,
    IdempotencyKeyRow,
    LedgerEntryRow,
    LedgerPendingRow,
    OrganisationAddressRow,
    OrganisationRow,
    PermitQuotaRow,
    PermitRow,
    PermitUsageRow,
    ShipmentDocumentRow,
    ShipmentEventRow,
    ShipmentPartyRow,
    ShipmentRow,
    SignedTreeHeadRow,
    SigningKeyRow,
    UserRow,
)
from kervan.store.tables.sessions import LoginFailureRow, RevokedTokenRow
from kervan.store.tables.witness import LogCheckpointRow, LogWitnessRow, WitnessedLogRow

__all__ = [
    "DOCUMENT_KINDS",
    "ORG_ID",
    "ApiClientRow",
    "ApiKeyRow",
    "Base",
    "BorderControlRow",
    "BorderDeclarationRow",
    "ChannelRow",
    "CustomsCrossingRow",
    "DeadLetterRow",
    "DocumentRow",
    "DocumentSignatureRow",
    "DocumentVersionRow",
    "EpermitPartnerRow",
    "EpermitPeerChainRow",
    "EpermitPeerEventRow",
    "GapAskRow",
    "IdempotencyKeyRow",
    "InboxRow",
    "LedgerEntryRow",
    "LedgerPendingRow",
    "LogCheckpointRow",
    "LogWitnessRow",
    "LoginFailureRow",
    "OrganisationAddressRow",
    "OrganisationRow",
    "OutboxRow",
    "PermitQuotaRow",
    "PermitRow",
    "PermitUsageRow",
    "RejectedMessageRow",
    "RevokedTokenRow",
    "ShipmentDocumentRow",
    "ShipmentEventRow",
    "ShipmentPartyRow",
    "ShipmentRow",
    "SignedTreeHeadRow",
    "SigningKeyRow",
    "UserRow",
    "UtcDateTime",
    "WitnessedLogRow",
    "table_of",
]
