"""lookup indexes: a shipment by its id, a shipment's document by the document id

Revision ID: 2026_11_24_0005
Revises: 2026_11_23_0004
Create Date: 2026-11-24

Requests name a shipment or a document by its id alone (the caller does not know the owning
organisation); without these indexes each such lookup scanned the whole table.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "2026_11_24_0005"
down_revision: str | None = "2026_11_23_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Index shipments.id and shipment_documents.document_id."""
    op.create_index(op.f("ix_shipments_id"), "shipments", ["id"])
    op.create_index(
        op.f("ix_shipment_documents_document_id"), "shipment_documents", ["document_id"]
    )


def downgrade() -> None:
    """Drop the lookup indexes."""
    op.drop_index(op.f("ix_shipment_documents_document_id"), table_name="shipment_documents")
    op.drop_index(op.f("ix_shipments_id"), table_name="shipments")
