"""e-Permit network: partner authorities, delivery retries and dead letters, revocation reasons

Revision ID: 2026_12_06_0012
Revises: 2026_12_06_0011
Create Date: 2026-12-06

A permit authority's partners (code, URL, public keys) are its own records (epermit_partners).
Outgoing peer events keep their delivery attempts, when to try again, the partner's last error
code and, once refused, when they became dead letters; each own chain remembers the last event
the partner accepted. A permit keeps why its issuing authority revoked it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from kervan.store.tables import UtcDateTime

revision: str = "2026_12_06_0012"
down_revision: str | None = "2026_12_06_0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create epermit_partners; add the delivery columns, accepted_event_id, revoke_reason."""
    op.create_table(
        "epermit_partners",
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("code", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("url", sa.String(500), nullable=False),
        sa.Column("keys", sa.Text(), nullable=False),
        sa.Column("added_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "code", name=op.f("pk_epermit_partners")),
    )
    with op.batch_alter_table("epermit_peer_events") as batch:
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("next_attempt_at", UtcDateTime(), nullable=True))
        batch.add_column(sa.Column("error_code", sa.String(64), nullable=True))
        batch.add_column(sa.Column("error_message", sa.Text(), nullable=True))
        batch.add_column(sa.Column("dead_at", UtcDateTime(), nullable=True))
    with op.batch_alter_table("epermit_peer_chains") as batch:
        batch.add_column(sa.Column("accepted_event_id", sa.String(100), nullable=True))
    with op.batch_alter_table("permits") as batch:
        batch.add_column(sa.Column("revoke_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    """Drop what upgrade added."""
    with op.batch_alter_table("permits") as batch:
        batch.drop_column("revoke_reason")
    with op.batch_alter_table("epermit_peer_chains") as batch:
        batch.drop_column("accepted_event_id")
    with op.batch_alter_table("epermit_peer_events") as batch:
        for name in ("dead_at", "error_message", "error_code", "next_attempt_at", "attempts"):
            batch.drop_column(name)
    op.drop_table("epermit_partners")
