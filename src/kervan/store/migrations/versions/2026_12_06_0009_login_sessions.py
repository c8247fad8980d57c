"""login_sessions: access tokens ended by logout, and wrong logins for throttling

Revision ID: 2026_12_06_0009
Revises: 2026_12_06_0008
Create Date: 2026-12-06

Logging out ends the session's token at once (its `jti` is refused until it would have expired),
and wrong logins are counted per account and per source address in the database, so every
worker process of a node throttles the same attempts.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from kervan.store.tables import UtcDateTime

revision: str = "2026_12_06_0009"
down_revision: str | None = "2026_12_06_0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create revoked_tokens and login_failures."""
    op.create_table(
        "revoked_tokens",
        sa.Column("jti", sa.String(64), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("jti", name=op.f("pk_revoked_tokens")),
    )
    op.create_index("ix_revoked_tokens_expires_at", "revoked_tokens", ["expires_at"])
    op.create_table(
        "login_failures",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("failed_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    op.create_index("ix_login_failures_key_failed_at", "login_failures", ["key", "failed_at"])


def downgrade() -> None:
    """Drop them (a logged-out token works again until it expires)."""
    op.drop_index("ix_login_failures_key_failed_at", "login_failures")
    op.drop_table("login_failures")
    op.drop_index("ix_revoked_tokens_expires_at", "revoked_tokens")
    op.drop_table("revoked_tokens")
