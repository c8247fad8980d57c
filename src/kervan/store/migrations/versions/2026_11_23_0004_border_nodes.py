"""border nodes: declarations, control results, crossings, TIR copies and e-Permits per authority

Revision ID: 2026_11_23_0004
Revises: 2026_11_23_0003
Create Date: 2026-11-23

Tables of the Simplified Customs Corridor across national nodes (kervan.store.tables.border).
Every primary key leads with org_id, the authority the node acts for.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from kervan.store.tables import UtcDateTime

revision: str = "2026_11_23_0004"
down_revision: str | None = "2026_11_23_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the border node tables."""
    op.create_table(
        "border_declarations",
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("shipment_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("lodged_by", sa.String(64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("lodged_at", UtcDateTime(), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint(
            "org_id", "shipment_id", "version", name=op.f("pk_border_declarations")
        ),
        sa.CheckConstraint("version >= 1", name=op.f("ck_border_declarations_version")),
    )
    op.create_table(
        "border_controls",
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("shipment_id", sa.String(64), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("sent_by", sa.String(64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("controlled_at", UtcDateTime(), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint(
            "org_id", "shipment_id", "country", name=op.f("pk_border_controls")
        ),
    )
    op.create_table(
        "border_crossings",
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("shipment_id", sa.String(64), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("entry_office", sa.String(64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint(
            "org_id", "shipment_id", "country", name=op.f("pk_border_crossings")
        ),
    )
    op.create_index(
        op.f("ix_border_crossings_org_id_country_state"),
        "border_crossings",
        ["org_id", "country", "state"],
    )
    op.create_table(
        "border_tir_transports",
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("shipment_id", sa.String(64), nullable=False),
        sa.Column("tir_reference", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "shipment_id", name=op.f("pk_border_tir_transports")),
        sa.CheckConstraint("progress >= 0", name=op.f("ck_border_tir_transports_progress")),
    )
    op.create_table(
        "border_permits",
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("permit_id", sa.String(64), nullable=False),
        sa.Column("shipment_id", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "permit_id", name=op.f("pk_border_permits")),
        sa.CheckConstraint(
            "role IN ('issued', 'held', 'controlled')", name=op.f("ck_border_permits_role")
        ),
    )
    op.create_index(
        op.f("ix_border_permits_org_id_shipment_id"), "border_permits", ["org_id", "shipment_id"]
    )


def downgrade() -> None:
    """Drop the border node tables."""
    op.drop_index(op.f("ix_border_permits_org_id_shipment_id"), table_name="border_permits")
    op.drop_index(op.f("ix_border_crossings_org_id_country_state"), table_name="border_crossings")
    for table in (
        "border_permits",
        "border_tir_transports",
        "border_crossings",
        "border_controls",
        "border_declarations",
    ):
        op.drop_table(table)
