"""witnessed_log: checkpoints of the node's log with their co-signatures, its witnesses, and
the logs this node witnesses

Revision ID: 2026_12_06_0013
Revises: 2026_12_06_0009
Create Date: 2026-12-06

Each national node publishes checkpoints of its log (signed notes) and asks the other nodes, as
witnesses, to co-sign them; a witness keeps the last checkpoint it co-signed for each log, so
a log that rewrites its history is caught.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from kervan.store.tables import UtcDateTime

revision: str = "2026_12_06_0013"
down_revision: str | None = "2026_12_06_0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create log_checkpoints, log_witnesses and witnessed_logs."""
    op.create_table(
        "log_checkpoints",
        sa.Column("origin", sa.String(128), nullable=False),
        sa.Column("tree_size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("cosignatures", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint("tree_size >= 0", name=op.f("ck_log_checkpoints_tree_size")),
        sa.PrimaryKeyConstraint("origin", "tree_size", name=op.f("pk_log_checkpoints")),
    )
    op.create_table(
        "log_witnesses",
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("vkey", sa.Text(), nullable=False),
        sa.Column("url", sa.String(512), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_log_witnesses")),
    )
    op.create_table(
        "witnessed_logs",
        sa.Column("origin", sa.String(128), nullable=False),
        sa.Column("vkey", sa.Text(), nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.String(64), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint("tree_size >= 0", name=op.f("ck_witnessed_logs_tree_size")),
        sa.PrimaryKeyConstraint("origin", name=op.f("pk_witnessed_logs")),
    )


def downgrade() -> None:
    """Drop the three tables."""
    op.drop_table("witnessed_logs")
    op.drop_table("log_witnesses")
    op.drop_table("log_checkpoints")
