"""one customs corridor: customs_crossings; drop the border services' crossing, TIR, permit copies

Revision ID: 2026_12_06_0008
Revises: 2026_12_06_0007
Create Date: 2026-12-06

The customs corridor is one: a customs authority keeps the pre-arrival declarations and the
control results it received (border_declarations, border_controls) and its crossings
(customs_crossings: expected, arrived, released). TIR transports and e-Permits are their
documents; the separate copies the national-node border services kept are gone with them.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from kervan.store.tables import UtcDateTime

revision: str = "2026_12_06_0008"
down_revision: str | None = "2026_12_06_0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create customs_crossings; drop border_crossings, border_tir_transports, border_permits."""
    op.create_table(
        "customs_crossings",
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("shipment_id", sa.String(64), nullable=False),
        sa.Column("leg_index", sa.Integer(), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("reference", sa.String(128), nullable=False),
        sa.Column("entry_node", sa.String(32), nullable=False),
        sa.Column("entry_name", sa.String(128), nullable=False),
        sa.Column("expected_at", UtcDateTime(), nullable=True),
        sa.Column("arrived_at", UtcDateTime(), nullable=True),
        sa.Column("released_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint(
            "org_id", "shipment_id", "leg_index", name=op.f("pk_customs_crossings")
        ),
        sa.CheckConstraint("leg_index >= 0", name=op.f("ck_customs_crossings_leg_index")),
    )
    op.create_index(
        op.f("ix_customs_crossings_org_id_released_at"),
        "customs_crossings",
        ["org_id", "released_at"],
    )
    op.drop_index(op.f("ix_border_permits_org_id_shipment_id"), table_name="border_permits")
    op.drop_index(op.f("ix_border_crossings_org_id_country_state"), table_name="border_crossings")
    for table in ("border_permits", "border_tir_transports", "border_crossings"):
        op.drop_table(table)


def downgrade() -> None:
    """Create the three border tables again, empty; drop customs_crossings."""
    op.drop_index(op.f("ix_customs_crossings_org_id_released_at"), table_name="customs_crossings")
    op.drop_table("customs_crossings")
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
