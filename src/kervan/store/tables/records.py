"""The node's records: organisations, keys, documents and their signatures, the ledger, permits,
access credentials, shipments and their events."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from kervan.store.tables.base import (
    ACTIVITY_TYPES,
    DOC_ID,
    DOCUMENT_KINDS,
    HEX64,
    KEY_ALGORITHMS,
    ORG_ID,
    ORGANISATION_KINDS,
    Base,
    UtcDateTime,
    one_of,
)


class OrganisationRow(Base):
    """An organisation using this node: a shipper, a carrier, an authority, ..."""

    __tablename__ = "organisations"
    __table_args__ = (
        CheckConstraint(one_of("kind", ORGANISATION_KINDS), name="kind"),
        CheckConstraint("length(country) = 2", name="country"),
    )

    id: Mapped[str] = mapped_column(String(ORG_ID), primary_key=True)
    name: Mapped[str] = mapped_column(String(256))
    country: Mapped[str] = mapped_column(String(2))
    kind: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class SigningKeyRow(Base):
    """An organisation's public signing key and its validity (the trust list, persisted)."""

    __tablename__ = "signing_keys"
    __table_args__ = (
        UniqueConstraint("kid", name="kid"),
        CheckConstraint(one_of("alg", KEY_ALGORITHMS), name="alg"),
    )

    org_id: Mapped[str] = mapped_column(
        String(ORG_ID), ForeignKey("organisations.id"), primary_key=True
    )
    kid: Mapped[str] = mapped_column(String(128), primary_key=True)
    alg: Mapped[str] = mapped_column(String(16))
    public_jwk: Mapped[str] = mapped_column(Text)
    not_before: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    superseded_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class DocumentRow(Base):
    """A transport document (e-CMR, e-TIR, e-Permit, CIM/SMGS) and where its lifecycle stands."""

    __tablename__ = "documents"
    __table_args__ = (
        CheckConstraint(one_of("kind", DOCUMENT_KINDS), name="kind"),
        CheckConstraint("current_version >= 1", name="current_version"),
    )

    org_id: Mapped[str] = mapped_column(
        String(ORG_ID), ForeignKey("organisations.id"), primary_key=True
    )
    id: Mapped[str] = mapped_column(String(DOC_ID), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(64))
    current_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class DocumentVersionRow(Base):
    """One version of a document: its RFC 8785 canonical JSON and SHA-256, immutable once signed."""

    __tablename__ = "document_versions"
    __table_args__ = (
        ForeignKeyConstraint(["org_id", "document_id"], ["documents.org_id", "documents.id"]),
        CheckConstraint("version >= 1", name="version"),
        CheckConstraint("length(digest) = 64", name="digest"),
    )

    org_id: Mapped[str] = mapped_column(String(ORG_ID), primary_key=True)
    document_id: Mapped[str] = mapped_column(String(DOC_ID), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    body: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(HEX64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class DocumentSignatureRow(Base):
    """One JWS signature entry on a document version; `position` is its index in the JWS."""

    __tablename__ = "document_signatures"
    __table_args__ = (
        ForeignKeyConstraint(
            ["org_id", "document_id", "version"],
            [
                "document_versions.org_id",
                "document_versions.document_id",
                "document_versions.version",
            ],
        ),
        CheckConstraint("position >= 0", name="position"),
    )

    org_id: Mapped[str] = mapped_column(String(ORG_ID), primary_key=True)
    document_id: Mapped[str] = mapped_column(String(DOC_ID), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    kid: Mapped[str] = mapped_column(String(128))
    party: Mapped[str] = mapped_column(String(ORG_ID))
    role: Mapped[str] = mapped_column(String(32))
    signed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    entry: Mapped[str] = mapped_column(Text)


class LedgerEntryRow(Base):
    """One entry of the node's ledger: a link of a document's chain and a leaf of the Merkle log.

    `org_id` is the organisation whose document the chain records; the log itself is one per node.
    """

    __tablename__ = "ledger_entries"
    __table_args__ = (
        UniqueConstraint("document_id", "seq", name="chain_link"),
        Index(None, "org_id", "document_id"),
        CheckConstraint("log_index >= 0", name="log_index"),
        CheckConstraint("seq >= 1", name="seq"),
    )

    log_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    org_id: Mapped[str] = mapped_column(String(ORG_ID), ForeignKey("organisations.id"))
    document_id: Mapped[str] = mapped_column(String(DOC_ID))
    seq: Mapped[int] = mapped_column(Integer)
    event_type: Mapped[str] = mapped_column(String(64))
    payload_digest: Mapped[str] = mapped_column(String(HEX64))
    previous_entry_hash: Mapped[str] = mapped_column(String(HEX64))
    entry_hash: Mapped[str] = mapped_column(String(HEX64))
    leaf_hash: Mapped[str] = mapped_column(String(HEX64))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())


class LedgerPendingRow(Base):
    """A document event committed with its step and waiting for the ledger's sequencer.

    A step records its event here in its own transaction (no lock), and the sequencer moves
    every pending event into `ledger_entries` in batches, in `id` order, under the append lock:
    many events share one lock hold and one commit. `id` orders events as they were committed
    (a document's next step waits for the lock its previous step held until commit).
    """

    __tablename__ = "ledger_pending"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    org_id: Mapped[str] = mapped_column(String(ORG_ID), ForeignKey("organisations.id"))
    document_id: Mapped[str] = mapped_column(String(DOC_ID))
    event_type: Mapped[str] = mapped_column(String(64))
    payload_digest: Mapped[str] = mapped_column(String(HEX64))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())


class SignedTreeHeadRow(Base):
    """A signed tree head the node's log issued (the compact JWS is kept as issued)."""

    __tablename__ = "signed_tree_heads"
    __table_args__ = (CheckConstraint("tree_size >= 0", name="tree_size"),)

    log_id: Mapped[str] = mapped_column(String(ORG_ID), primary_key=True)
    tree_size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    timestamp: Mapped[datetime] = mapped_column(UtcDateTime(), primary_key=True)
    root_hash: Mapped[str] = mapped_column(String(HEX64))
    signature: Mapped[str] = mapped_column(Text)


class PermitQuotaRow(Base):
    """How many e-Permits of one type and year an issuer may give a partner, and how many it has.

    `used` only ever moves through one atomic UPDATE ... WHERE used < quantity (see permits).
    """

    __tablename__ = "permit_quotas"
    __table_args__ = (
        CheckConstraint("quantity >= 0", name="quantity"),
        CheckConstraint("used >= 0 AND used <= quantity", name="used_within_quantity"),
        CheckConstraint("permit_type BETWEEN 1 AND 4", name="permit_type"),
    )

    org_id: Mapped[str] = mapped_column(
        String(ORG_ID), ForeignKey("organisations.id"), primary_key=True
    )
    permit_issuer: Mapped[str] = mapped_column(String(16), primary_key=True)
    permit_issued_for: Mapped[str] = mapped_column(String(16), primary_key=True)
    permit_year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    permit_type: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    quantity: Mapped[int] = mapped_column(Integer)
    used: Mapped[int] = mapped_column(Integer, default=0)


class PermitRow(Base):
    """An issued e-Permit: its id, its sequence within the quota, the wire fields and QR."""

    __tablename__ = "permits"
    __table_args__ = (
        ForeignKeyConstraint(
            ["org_id", "permit_issuer", "permit_issued_for", "permit_year", "permit_type"],
            [
                "permit_quotas.org_id",
                "permit_quotas.permit_issuer",
                "permit_quotas.permit_issued_for",
                "permit_quotas.permit_year",
                "permit_quotas.permit_type",
            ],
        ),
        UniqueConstraint(
            "org_id",
            "permit_issuer",
            "permit_issued_for",
            "permit_year",
            "permit_type",
            "sequence",
            name="sequence",
        ),
        CheckConstraint("sequence >= 1", name="sequence"),
    )

    org_id: Mapped[str] = mapped_column(String(ORG_ID), primary_key=True)
    permit_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    permit_issuer: Mapped[str] = mapped_column(String(16))
    permit_issued_for: Mapped[str] = mapped_column(String(16))
    permit_year: Mapped[int] = mapped_column(Integer)
    permit_type: Mapped[int] = mapped_column(Integer)
    sequence: Mapped[int] = mapped_column(Integer)
    fields: Mapped[str] = mapped_column(Text)
    qr_code: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Why the issuing authority revoked it, when this node knows (its own revocations).
    revoke_reason: Mapped[str | None] = mapped_column(Text)


class PermitUsageRow(Base):
    """A usage (ENTRANCE/EXIT) a control authority recorded on a permit; insert-only."""

    __tablename__ = "permit_usages"
    __table_args__ = (
        ForeignKeyConstraint(["org_id", "permit_id"], ["permits.org_id", "permits.permit_id"]),
        CheckConstraint(one_of("activity_type", ACTIVITY_TYPES), name="activity_type"),
        CheckConstraint("position >= 1", name="position"),
    )

    org_id: Mapped[str] = mapped_column(String(ORG_ID), primary_key=True)
    permit_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    control_authority: Mapped[str] = mapped_column(String(16))
    activity_type: Mapped[str] = mapped_column(String(16))
    activity_timestamp: Mapped[int] = mapped_column(BigInteger)
    activity_details: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())


class IdempotencyKeyRow(Base):
    """The first answer given to an idempotent request, replayed when the key comes again."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (CheckConstraint("length(request_hash) = 64", name="request_hash"),)

    org_id: Mapped[str] = mapped_column(
        String(ORG_ID), ForeignKey("organisations.id"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(HEX64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


# -- access: machine clients, API keys and people ------------------------------------------------


class ApiClientRow(Base):
    """An OAuth2 client-credentials client of an organisation; the secret is kept as argon2."""

    __tablename__ = "api_clients"
    __table_args__ = (UniqueConstraint("client_id", name="client_id"),)

    org_id: Mapped[str] = mapped_column(
        String(ORG_ID), ForeignKey("organisations.id"), primary_key=True
    )
    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    secret_hash: Mapped[str] = mapped_column(Text)
    scopes: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class ApiKeyRow(Base):
    """An API key of an organisation, kept as SHA-256 of its random secret part."""

    __tablename__ = "api_keys"
    __table_args__ = (UniqueConstraint("key_id", name="key_id"),)

    org_id: Mapped[str] = mapped_column(
        String(ORG_ID), ForeignKey("organisations.id"), primary_key=True
    )
    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(HEX64))
    scopes: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class UserRow(Base):
    """A person who logs in to the web interface for an organisation (argon2 password hash)."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("username", name="username"),)

    org_id: Mapped[str] = mapped_column(
        String(ORG_ID), ForeignKey("organisations.id"), primary_key=True
    )
    username: Mapped[str] = mapped_column(String(128), primary_key=True)
    password_hash: Mapped[str] = mapped_column(Text)
    display_name: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class OrganisationAddressRow(Base):
    """Where an organisation is established (printed on the documents it is a party to)."""

    __tablename__ = "organisation_addresses"

    org_id: Mapped[str] = mapped_column(
        String(ORG_ID), ForeignKey("organisations.id"), primary_key=True
    )
    street: Mapped[str] = mapped_column(String(256))
    city: Mapped[str] = mapped_column(String(128))
    postcode: Mapped[str | None] = mapped_column(String(16))


# -- shipments ---------------------------------------------------------------------------------


class ShipmentRow(Base):
    """A booked shipment: the chosen plan and where the cargo stands. Owned by the booking org."""

    __tablename__ = "shipments"
    __table_args__ = (Index(None, "id"),)

    org_id: Mapped[str] = mapped_column(
        String(ORG_ID), ForeignKey("organisations.id"), primary_key=True
    )
    id: Mapped[str] = mapped_column(String(DOC_ID), primary_key=True)
    reference: Mapped[str] = mapped_column(String(128))
    unit: Mapped[str] = mapped_column(String(16))
    origin: Mapped[str] = mapped_column(String(32))
    destination: Mapped[str] = mapped_column(String(32))
    countries: Mapped[str] = mapped_column(String(256))
    plan_key: Mapped[str] = mapped_column(Text)
    plan: Mapped[str] = mapped_column(Text)
    cargo: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ShipmentPartyRow(Base):
    """An organisation taking part in a shipment and in which role (who may see and sign)."""

    __tablename__ = "shipment_parties"
    __table_args__ = (
        ForeignKeyConstraint(["org_id", "shipment_id"], ["shipments.org_id", "shipments.id"]),
        Index(None, "party_org_id"),
    )

    org_id: Mapped[str] = mapped_column(String(ORG_ID), primary_key=True)
    shipment_id: Mapped[str] = mapped_column(String(DOC_ID), primary_key=True)
    party_org_id: Mapped[str] = mapped_column(
        String(ORG_ID), ForeignKey("organisations.id"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(32), primary_key=True)


class ShipmentDocumentRow(Base):
    """A document the shipment's plan needs, linked to the legs and countries it covers."""

    __tablename__ = "shipment_documents"
    __table_args__ = (
        ForeignKeyConstraint(["org_id", "shipment_id"], ["shipments.org_id", "shipments.id"]),
        ForeignKeyConstraint(["org_id", "document_id"], ["documents.org_id", "documents.id"]),
        Index(None, "document_id"),
    )

    org_id: Mapped[str] = mapped_column(String(ORG_ID), primary_key=True)
    shipment_id: Mapped[str] = mapped_column(String(DOC_ID), primary_key=True)
    document_id: Mapped[str] = mapped_column(String(DOC_ID), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    legs: Mapped[str] = mapped_column(Text)
    countries: Mapped[str] = mapped_column(Text)
    lifecycle: Mapped[str] = mapped_column(Text)


class ShipmentEventRow(Base):
    """Something that happened to the cargo (taken over, border arrival, release, delivered)."""

    __tablename__ = "shipment_events"
    __table_args__ = (
        ForeignKeyConstraint(["org_id", "shipment_id"], ["shipments.org_id", "shipments.id"]),
        CheckConstraint("seq >= 1", name="seq"),
    )

    org_id: Mapped[str] = mapped_column(String(ORG_ID), primary_key=True)
    shipment_id: Mapped[str] = mapped_column(String(DOC_ID), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    event_type: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    node: Mapped[str | None] = mapped_column(String(32))
    leg_index: Mapped[int | None] = mapped_column(Integer)
    recorded_by: Mapped[str] = mapped_column(String(ORG_ID))
    details: Mapped[str] = mapped_column(Text)
