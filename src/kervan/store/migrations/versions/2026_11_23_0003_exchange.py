"""exchange: outbox, channel heads, inbox, rejected messages, e-Permit peer events and chains

Revision ID: 2026_11_23_0003
Revises: 2026_11_23_0002
Create Date: 2026-11-23

Tables of the exchange between national nodes (kervan.store.tables.exchange). Every primary key
leads with org_id, the authority the node acts for.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from kervan.store.tables import UtcDateTime

revision: str = "2026_11_23_0003"
down_revision: str | None = "2026_11_23_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DIRECTION = "direction IN ('in', 'out')"
_EVENT_TYPES = (
    "event_type IN ('QUOTA_CREATED', 'PERMIT_CREATED', 'PERMIT_USED', 'PERMIT_REVOKED', "
    "'KEY_CREATED', 'KEY_REVOKED')"
)


def upgrade() -> None:
    """Create the exchange tables."""
    op.create_table(
        "exchange_outbox",
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("message_id", sa.String(200), nullable=False),
        sa.Column("receiver", sa.String(64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("message_type", sa.String(32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("sent_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("org_id", "message_id", name=op.f("pk_exchange_outbox")),
        sa.UniqueConstraint(
            "org_id", "receiver", "seq", name=op.f("uq_exchange_outbox_channel_seq")
        ),
        sa.CheckConstraint("seq >= 1", name=op.f("ck_exchange_outbox_seq")),
    )
    op.create_index(
        op.f("ix_exchange_outbox_org_id_sent_at"), "exchange_outbox", ["org_id", "sent_at"]
    )
    op.create_table(
        "exchange_channels",
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("peer", sa.String(64), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "direction", "peer", name=op.f("pk_exchange_channels")),
        sa.CheckConstraint(_DIRECTION, name=op.f("ck_exchange_channels_direction")),
        sa.CheckConstraint("last_seq >= 0", name=op.f("ck_exchange_channels_last_seq")),
    )
    op.create_table(
        "exchange_inbox",
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("message_id", sa.String(200), nullable=False),
        sa.Column("sender", sa.String(64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("message_type", sa.String(32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.Column("applied_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("org_id", "message_id", name=op.f("pk_exchange_inbox")),
        sa.UniqueConstraint("org_id", "sender", "seq", name=op.f("uq_exchange_inbox_channel_seq")),
        sa.CheckConstraint(
            "outcome IN ('applied', 'held', 'refused')", name=op.f("ck_exchange_inbox_outcome")
        ),
        sa.CheckConstraint("seq >= 1", name=op.f("ck_exchange_inbox_seq")),
    )
    op.create_table(
        "exchange_rejected",
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("rejection_id", sa.String(32), nullable=False),
        sa.Column("message_id", sa.String(200), nullable=True),
        sa.Column("sender", sa.String(64), nullable=True),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("rejected_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "rejection_id", name=op.f("pk_exchange_rejected")),
    )
    op.create_index(
        op.f("ix_exchange_rejected_org_id_message_id"),
        "exchange_rejected",
        ["org_id", "message_id"],
    )
    op.create_table(
        "epermit_peer_events",
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("event_producer", sa.String(16), nullable=False),
        sa.Column("event_consumer", sa.String(16), nullable=False),
        sa.Column("event_id", sa.String(100), nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("event_type", sa.String(32), nullable=False),
        sa.Column("previous_event_id", sa.String(100), nullable=False),
        sa.Column("event_timestamp", sa.BigInteger(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("proof", sa.Text(), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.Column("sent_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint(
            "org_id",
            "event_producer",
            "event_consumer",
            "event_id",
            name=op.f("pk_epermit_peer_events"),
        ),
        sa.CheckConstraint(_DIRECTION, name=op.f("ck_epermit_peer_events_direction")),
        sa.CheckConstraint(_EVENT_TYPES, name=op.f("ck_epermit_peer_events_event_type")),
    )
    op.create_index(
        op.f("ix_epermit_peer_events_org_id_direction_sent_at"),
        "epermit_peer_events",
        ["org_id", "direction", "sent_at"],
    )
    op.create_table(
        "epermit_peer_chains",
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("event_producer", sa.String(16), nullable=False),
        sa.Column("event_consumer", sa.String(16), nullable=False),
        sa.Column("last_event_id", sa.String(100), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint(
            "org_id", "event_producer", "event_consumer", name=op.f("pk_epermit_peer_chains")
        ),
    )


def downgrade() -> None:
    """Drop the exchange tables."""
    op.drop_index(
        op.f("ix_epermit_peer_events_org_id_direction_sent_at"), table_name="epermit_peer_events"
    )
    op.drop_index(op.f("ix_exchange_rejected_org_id_message_id"), table_name="exchange_rejected")
    op.drop_index(op.f("ix_exchange_outbox_org_id_sent_at"), table_name="exchange_outbox")
    for table in (
        "epermit_peer_chains",
        "epermit_peer_events",
        "exchange_rejected",
        "exchange_inbox",
        "exchange_channels",
        "exchange_outbox",
    ):
        op.drop_table(table)
