"""Repositories: every read takes the caller's organisation ids and filters in SQL.

Another organisation's object is simply not found (`NotFoundError`, HTTP 404), never forbidden.
"""

from kervan.store.repositories.credentials import CredentialRepository
from kervan.store.repositories.documents import (
    DocumentRepository,
    StoredDocument,
    StoredSignature,
    StoredVersion,
)
from kervan.store.repositories.idempotency import IdempotencyRepository, StoredResponse
from kervan.store.repositories.ledger import SqlLedgerStore, TreeHeadRepository
from kervan.store.repositories.organisations import (
    Organisation,
    OrganisationKind,
    OrganisationRepository,
)
from kervan.store.repositories.permits import PermitRepository, QuotaKey, StoredQuota
from kervan.store.repositories.shipment_documents import ShipmentDocumentRepository
from kervan.store.repositories.shipments import Shipment, ShipmentRepository
from kervan.store.repositories.signing_keys import SigningKeyRepository

__all__ = [
    "CredentialRepository",
    "DocumentRepository",
    "IdempotencyRepository",
    "Organisation",
    "OrganisationKind",
    "OrganisationRepository",
    "PermitRepository",
    "QuotaKey",
    "Shipment",
    "ShipmentDocumentRepository",
    "ShipmentRepository",
    "SigningKeyRepository",
    "SqlLedgerStore",
    "StoredDocument",
    "StoredQuota",
    "StoredResponse",
    "StoredSignature",
    "StoredVersion",
    "TreeHeadRepository",
]
