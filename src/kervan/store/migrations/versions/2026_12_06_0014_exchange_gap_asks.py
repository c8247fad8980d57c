"""exchange gap asks: how often a node asked the stream again for a gap, and an operator's ask

Revision ID: 2026_12_06_0014
Revises: 2026_12_06_0010
Create Date: 2026-12-06

A node asks the sender's channel in the stream again for the messages missing before held ones,
backing off while the gap stays open (it used to ask, and read the whole channel, at every
check); an authority's operator may ask for it now from the messages page, and the node, which
holds the broker's credentials, does so at its next check.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from kervan.store.tables import UtcDateTime

revision: str = "2026_12_06_0014"
down_revision: str | None = "2026_12_06_0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create exchange_gap_asks."""
    op.create_table(
        "exchange_gap_asks",
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("sender", sa.String(64), nullable=False),
        sa.Column("first_held", sa.BigInteger(), nullable=False),
        sa.Column("asks", sa.Integer(), nullable=False),
        sa.Column("last_asked_at", UtcDateTime(), nullable=True),
        sa.Column("last_found", sa.Integer(), nullable=True),
        sa.Column("operator_asked_at", UtcDateTime(), nullable=True),
        sa.Column("operator", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("org_id", "sender", name=op.f("pk_exchange_gap_asks")),
    )


def downgrade() -> None:
    """Drop exchange_gap_asks."""
    op.drop_table("exchange_gap_asks")
