"""initial schema: organisations, keys, documents, ledger, e-Permits, idempotency keys

Revision ID: 2026_11_23_0001
Revises:
Create Date: 2026-11-23

Insert-only rows are protected by triggers on both databases: signed document versions,
signatures, ledger entries, signed tree heads and permit usages refuse UPDATE and DELETE.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from kervan.store.tables import UtcDateTime

revision: str = "2026_11_23_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INSERT_ONLY = ("document_signatures", "ledger_entries", "signed_tree_heads", "permit_usages")
_SIGNED_VERSION_CHECK = (
    "EXISTS (SELECT 1 FROM document_signatures s WHERE s.org_id = OLD.org_id "
    "AND s.document_id = OLD.document_id AND s.version = OLD.version)"
)


def upgrade() -> None:
    """Create every table, constraint, index and trigger of the first schema."""
    op.create_table(
        "organisations",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisations")),
        sa.CheckConstraint(
            "kind IN ('shipper', 'forwarder', 'carrier', 'consignee', 'customs_authority', "
            "'permit_authority', 'guarantee_chain', 'analyst', 'administrator')",
            name=op.f("ck_organisations_kind"),
        ),
        sa.CheckConstraint("length(country) = 2", name=op.f("ck_organisations_country")),
    )
    op.create_table(
        "signing_keys",
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("kid", sa.String(128), nullable=False),
        sa.Column("alg", sa.String(16), nullable=False),
        sa.Column("public_jwk", sa.Text(), nullable=False),
        sa.Column("not_before", UtcDateTime(), nullable=False),
        sa.Column("revoked_at", UtcDateTime(), nullable=True),
        sa.Column("superseded_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("org_id", "kid", name=op.f("pk_signing_keys")),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_signing_keys_organisations")
        ),
        sa.UniqueConstraint("kid", name=op.f("uq_signing_keys_kid")),
        sa.CheckConstraint("alg IN ('EdDSA', 'ES256')", name=op.f("ck_signing_keys_alg")),
    )
    op.create_table(
        "documents",
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("id", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("state", sa.String(64), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "id", name=op.f("pk_documents")),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_documents_organisations")
        ),
        sa.CheckConstraint(
            "kind IN ('e-CMR', 'e-TIR', 'e-Permit', 'CIM-SMGS')", name=op.f("ck_documents_kind")
        ),
        sa.CheckConstraint("current_version >= 1", name=op.f("ck_documents_current_version")),
    )
    op.create_table(
        "document_versions",
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("document_id", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint(
            "org_id", "document_id", "version", name=op.f("pk_document_versions")
        ),
        sa.ForeignKeyConstraint(
            ["org_id", "document_id"],
            ["documents.org_id", "documents.id"],
            name=op.f("fk_document_versions_documents"),
        ),
        sa.CheckConstraint("version >= 1", name=op.f("ck_document_versions_version")),
        sa.CheckConstraint("length(digest) = 64", name=op.f("ck_document_versions_digest")),
    )
    op.create_table(
        "document_signatures",
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("document_id", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kid", sa.String(128), nullable=False),
        sa.Column("party", sa.String(64), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("signed_at", UtcDateTime(), nullable=False),
        sa.Column("entry", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint(
            "org_id", "document_id", "version", "position", name=op.f("pk_document_signatures")
        ),
        sa.ForeignKeyConstraint(
            ["org_id", "document_id", "version"],
            [
                "document_versions.org_id",
                "document_versions.document_id",
                "document_versions.version",
            ],
            name=op.f("fk_document_signatures_document_versions"),
        ),
        sa.CheckConstraint("position >= 0", name=op.f("ck_document_signatures_position")),
    )
    op.create_table(
        "ledger_entries",
        sa.Column("log_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("document_id", sa.String(128), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("payload_digest", sa.String(64), nullable=False),
        sa.Column("previous_entry_hash", sa.String(64), nullable=False),
        sa.Column("entry_hash", sa.String(64), nullable=False),
        sa.Column("leaf_hash", sa.String(64), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("log_index", name=op.f("pk_ledger_entries")),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_ledger_entries_organisations")
        ),
        sa.UniqueConstraint("document_id", "seq", name=op.f("uq_ledger_entries_chain_link")),
        sa.CheckConstraint("log_index >= 0", name=op.f("ck_ledger_entries_log_index")),
        sa.CheckConstraint("seq >= 1", name=op.f("ck_ledger_entries_seq")),
    )
    op.create_index(
        op.f("ix_ledger_entries_org_id_document_id"), "ledger_entries", ["org_id", "document_id"]
    )
    op.create_table(
        "signed_tree_heads",
        sa.Column("log_id", sa.String(64), nullable=False),
        sa.Column("tree_size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("timestamp", UtcDateTime(), nullable=False),
        sa.Column("root_hash", sa.String(64), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint(
            "log_id", "tree_size", "timestamp", name=op.f("pk_signed_tree_heads")
        ),
        sa.CheckConstraint("tree_size >= 0", name=op.f("ck_signed_tree_heads_tree_size")),
    )
    op.create_table(
        "permit_quotas",
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("permit_issuer", sa.String(16), nullable=False),
        sa.Column("permit_issued_for", sa.String(16), nullable=False),
        sa.Column("permit_year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("permit_type", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "org_id",
            "permit_issuer",
            "permit_issued_for",
            "permit_year",
            "permit_type",
            name=op.f("pk_permit_quotas"),
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_permit_quotas_organisations")
        ),
        sa.CheckConstraint("quantity >= 0", name=op.f("ck_permit_quotas_quantity")),
        sa.CheckConstraint(
            "used >= 0 AND used <= quantity", name=op.f("ck_permit_quotas_used_within_quantity")
        ),
        sa.CheckConstraint(
            "permit_type BETWEEN 1 AND 4", name=op.f("ck_permit_quotas_permit_type")
        ),
    )
    op.create_table(
        "permits",
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("permit_id", sa.String(64), nullable=False),
        sa.Column("permit_issuer", sa.String(16), nullable=False),
        sa.Column("permit_issued_for", sa.String(16), nullable=False),
        sa.Column("permit_year", sa.Integer(), nullable=False),
        sa.Column("permit_type", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("qr_code", sa.Text(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("revoked_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("org_id", "permit_id", name=op.f("pk_permits")),
        sa.ForeignKeyConstraint(
            ["org_id", "permit_issuer", "permit_issued_for", "permit_year", "permit_type"],
            [
                "permit_quotas.org_id",
                "permit_quotas.permit_issuer",
                "permit_quotas.permit_issued_for",
                "permit_quotas.permit_year",
                "permit_quotas.permit_type",
            ],
            name=op.f("fk_permits_permit_quotas"),
        ),
        sa.UniqueConstraint(
            "org_id",
            "permit_issuer",
            "permit_issued_for",
            "permit_year",
            "permit_type",
            "sequence",
            name=op.f("uq_permits_sequence"),
        ),
        sa.CheckConstraint("sequence >= 1", name=op.f("ck_permits_sequence")),
    )
    op.create_table(
        "permit_usages",
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("permit_id", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("control_authority", sa.String(16), nullable=False),
        sa.Column("activity_type", sa.String(16), nullable=False),
        sa.Column("activity_timestamp", sa.BigInteger(), nullable=False),
        sa.Column("activity_details", sa.Text(), nullable=True),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "permit_id", "position", name=op.f("pk_permit_usages")),
        sa.ForeignKeyConstraint(
            ["org_id", "permit_id"],
            ["permits.org_id", "permits.permit_id"],
            name=op.f("fk_permit_usages_permits"),
        ),
        sa.CheckConstraint(
            "activity_type IN ('ENTRANCE', 'EXIT')", name=op.f("ck_permit_usages_activity_type")
        ),
        sa.CheckConstraint("position >= 1", name=op.f("ck_permit_usages_position")),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "key", name=op.f("pk_idempotency_keys")),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_idempotency_keys_organisations")
        ),
        sa.CheckConstraint(
            "length(request_hash) = 64", name=op.f("ck_idempotency_keys_request_hash")
        ),
    )
    if op.get_bind().dialect.name == "postgresql":
        _create_postgresql_triggers()
    else:
        _create_sqlite_triggers()


def _create_postgresql_triggers() -> None:
    op.execute(
        """
        CREATE FUNCTION kervan_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'kervan: % on % refused: its rows are insert-only',
                TG_OP, TG_TABLE_NAME USING ERRCODE = 'integrity_constraint_violation';
        END $$
        """
    )
    op.execute(
        f"""
        CREATE FUNCTION kervan_refuse_signed_version_change() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF {_SIGNED_VERSION_CHECK} THEN
                RAISE EXCEPTION 'kervan: % refused: version % of document % is signed and '
                    'immutable', TG_OP, OLD.version, OLD.document_id
                    USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
            RETURN NEW;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER trg_document_versions_signed_immutable BEFORE UPDATE OR DELETE "
        "ON document_versions FOR EACH ROW EXECUTE FUNCTION kervan_refuse_signed_version_change()"
    )
    for table in _INSERT_ONLY:
        op.execute(
            f"CREATE TRIGGER trg_{table}_insert_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION kervan_refuse_change()"
        )


def _create_sqlite_triggers() -> None:
    for operation in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER trg_document_versions_signed_immutable_{operation.lower()} "
            f"BEFORE {operation} ON document_versions FOR EACH ROW "
            f"WHEN {_SIGNED_VERSION_CHECK} BEGIN "
            f"SELECT RAISE(ABORT, 'kervan: {operation} refused: a signed document version is "
            f"immutable'); END"
        )
        for table in _INSERT_ONLY:
            op.execute(
                f"CREATE TRIGGER trg_{table}_insert_only_{operation.lower()} BEFORE {operation} "
                f"ON {table} FOR EACH ROW BEGIN "
                f"SELECT RAISE(ABORT, 'kervan: {operation} on {table} refused: its rows are "
                f"insert-only'); END"
            )


def downgrade() -> None:
    """Drop everything `upgrade` created, triggers first."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER trg_document_versions_signed_immutable ON document_versions")
        for table in _INSERT_ONLY:
            op.execute(f"DROP TRIGGER trg_{table}_insert_only ON {table}")
        op.execute("DROP FUNCTION kervan_refuse_signed_version_change()")
        op.execute("DROP FUNCTION kervan_refuse_change()")
    else:
        for operation in ("update", "delete"):
            op.execute(f"DROP TRIGGER trg_document_versions_signed_immutable_{operation}")
            for table in _INSERT_ONLY:
                op.execute(f"DROP TRIGGER trg_{table}_insert_only_{operation}")
    for table in (
        "idempotency_keys",
        "permit_usages",
        "permits",
        "permit_quotas",
        "signed_tree_heads",
        "ledger_entries",
        "document_signatures",
        "document_versions",
        "documents",
        "signing_keys",
        "organisations",
    ):
        op.drop_table(table)
