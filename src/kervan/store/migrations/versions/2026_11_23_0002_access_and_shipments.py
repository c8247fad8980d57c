"""access and shipments: API clients, keys, users, addresses, shipments, parties, documents, events

Revision ID: 2026_11_23_0002
Revises: 2026_11_23_0001
Create Date: 2026-11-23

Shipment events are insert-only (a trigger refuses UPDATE and DELETE on both databases).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from kervan.store.tables import UtcDateTime

revision: str = "2026_11_23_0002"
down_revision: str | None = "2026_11_23_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _org_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["org_id"], ["organisations.id"], name=op.f(f"fk_{table}_organisations")
    )


def _shipment_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["org_id", "shipment_id"],
        ["shipments.org_id", "shipments.id"],
        name=op.f(f"fk_{table}_shipments"),
    )


def upgrade() -> None:
    """Create the access and shipment tables and the insert-only trigger on events."""
    op.create_table(
        "api_clients",
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("secret_hash", sa.Text(), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("revoked_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("org_id", "client_id", name=op.f("pk_api_clients")),
        sa.UniqueConstraint("client_id", name=op.f("uq_api_clients_client_id")),
        _org_fk("api_clients"),
    )
    op.create_table(
        "api_keys",
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("revoked_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("org_id", "key_id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_id", name=op.f("uq_api_keys_key_id")),
        _org_fk("api_keys"),
    )
    op.create_table(
        "users",
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("username", sa.String(128), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("display_name", sa.String(256), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("disabled_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("org_id", "username", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
        _org_fk("users"),
    )
    op.create_table(
        "organisation_addresses",
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("street", sa.String(256), nullable=False),
        sa.Column("city", sa.String(128), nullable=False),
        sa.Column("postcode", sa.String(16), nullable=True),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_organisation_addresses")),
        _org_fk("organisation_addresses"),
    )
    op.create_table(
        "shipments",
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("id", sa.String(128), nullable=False),
        sa.Column("reference", sa.String(128), nullable=False),
        sa.Column("unit", sa.String(16), nullable=False),
        sa.Column("origin", sa.String(32), nullable=False),
        sa.Column("destination", sa.String(32), nullable=False),
        sa.Column("countries", sa.String(256), nullable=False),
        sa.Column("plan_key", sa.Text(), nullable=False),
        sa.Column("plan", sa.Text(), nullable=False),
        sa.Column("cargo", sa.Text(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "id", name=op.f("pk_shipments")),
        _org_fk("shipments"),
    )
    op.create_table(
        "shipment_parties",
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("shipment_id", sa.String(128), nullable=False),
        sa.Column("party_org_id", sa.String(64), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint(
            "org_id", "shipment_id", "party_org_id", "role", name=op.f("pk_shipment_parties")
        ),
        _shipment_fk("shipment_parties"),
        sa.ForeignKeyConstraint(
            ["party_org_id"], ["organisations.id"], name=op.f("fk_shipment_parties_organisations")
        ),
    )
    op.create_index(op.f("ix_shipment_parties_party_org_id"), "shipment_parties", ["party_org_id"])
    op.create_table(
        "shipment_documents",
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("shipment_id", sa.String(128), nullable=False),
        sa.Column("document_id", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("legs", sa.Text(), nullable=False),
        sa.Column("countries", sa.Text(), nullable=False),
        sa.Column("lifecycle", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint(
            "org_id", "shipment_id", "document_id", name=op.f("pk_shipment_documents")
        ),
        _shipment_fk("shipment_documents"),
        sa.ForeignKeyConstraint(
            ["org_id", "document_id"],
            ["documents.org_id", "documents.id"],
            name=op.f("fk_shipment_documents_documents"),
        ),
    )
    op.create_table(
        "shipment_events",
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("shipment_id", sa.String(128), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("event_type", sa.String(32), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("node", sa.String(32), nullable=True),
        sa.Column("leg_index", sa.Integer(), nullable=True),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "shipment_id", "seq", name=op.f("pk_shipment_events")),
        _shipment_fk("shipment_events"),
        sa.CheckConstraint("seq >= 1", name=op.f("ck_shipment_events_seq")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER trg_shipment_events_insert_only BEFORE UPDATE OR DELETE "
            "ON shipment_events FOR EACH ROW EXECUTE FUNCTION kervan_refuse_change()"
        )
    else:
        for operation in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER trg_shipment_events_insert_only_{operation.lower()} BEFORE "
                f"{operation} ON shipment_events FOR EACH ROW BEGIN SELECT RAISE(ABORT, "
                f"'kervan: {operation} on shipment_events refused: its rows are insert-only'); END"
            )


def downgrade() -> None:
    """Drop the access and shipment tables."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER trg_shipment_events_insert_only ON shipment_events")
    else:
        for operation in ("update", "delete"):
            op.execute(f"DROP TRIGGER trg_shipment_events_insert_only_{operation}")
    op.drop_index(op.f("ix_shipment_parties_party_org_id"), table_name="shipment_parties")
    for table in (
        "shipment_events",
        "shipment_documents",
        "shipment_parties",
        "shipments",
        "organisation_addresses",
        "users",
        "api_keys",
        "api_clients",
    ):
        op.drop_table(table)
