"""exchange dead letters: messages a node gave up on, for its operators to replay or skip

Revision ID: 2026_12_06_0011
Revises: 2026_12_06_0013
Create Date: 2026-12-06

A node dead-letters bytes that are no envelope at all (a poison message), a message whose
processing failed on every one of its deliveries, and the missing messages of a sequence gap an
operator skipped, instead of asking the broker for them again for ever.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from kervan.store.tables import UtcDateTime

revision: str = "2026_12_06_0011"
down_revision: str | None = "2026_12_06_0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create exchange_dead_letters."""
    op.create_table(
        "exchange_dead_letters",
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("dead_letter_id", sa.String(32), nullable=False),
        sa.Column("message_id", sa.String(200), nullable=True),
        sa.Column("sender", sa.String(64), nullable=True),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("deliveries", sa.BigInteger(), nullable=False),
        sa.Column("dead_at", UtcDateTime(), nullable=False),
        sa.Column("resolved", sa.String(16), nullable=True),
        sa.PrimaryKeyConstraint("org_id", "dead_letter_id", name=op.f("pk_exchange_dead_letters")),
    )
    op.create_index(
        op.f("ix_exchange_dead_letters_org_id_resolved"),
        "exchange_dead_letters",
        ["org_id", "resolved"],
    )


def downgrade() -> None:
    """Drop exchange_dead_letters."""
    op.drop_index(
        op.f("ix_exchange_dead_letters_org_id_resolved"), table_name="exchange_dead_letters"
    )
    op.drop_table("exchange_dead_letters")
