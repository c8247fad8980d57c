"""ledger_pending: document events committed with their step, waiting for the sequencer

Revision ID: 2026_11_24_0006
Revises: 2026_11_24_0005
Create Date: 2026-11-24

A signed step used to append its ledger entry in its own transaction under the node's append
lock, so every step waited for every other step's commit. Steps now commit their event here,
and the sequencer moves pending events into ledger_entries in batches.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from kervan.store.tables import UtcDateTime

revision: str = "2026_11_24_0006"
down_revision: str | None = "2026_11_24_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ledger_pending."""
    op.create_table(
        "ledger_pending",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("document_id", sa.String(128), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("payload_digest", sa.String(64), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_ledger_pending_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_pending")),
    )


def downgrade() -> None:
    """Drop ledger_pending; refused while it holds events the sequencer has not moved yet
    (starting the node sequences them)."""
    waiting = op.get_bind().scalar(sa.text("SELECT count(*) FROM ledger_pending"))
    if waiting:
        raise RuntimeError(
            f"{waiting} ledger events are still pending: start the node once to sequence them"
        )
    op.drop_table("ledger_pending")
