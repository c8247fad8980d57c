"""documents_state_guard: a document's state changes only with the ledger event of its step

Revision ID: 2026_12_06_0010
Revises: 2026_12_06_0012
Create Date: 2026-12-06

Signed versions, signatures, ledger entries and tree heads already refuse changes (triggers of
the initial schema); a document's `state` had no guard, so a direct UPDATE moved a document to
any state. Every step that changes a state records its event in the ledger (or the ledger's
pending queue) in the same transaction, before the state, at the time it stamps the document
with: the trigger refuses a change of state unless `updated_at` moves forward and an event of
the document recorded at or after the new `updated_at` is there. PostgreSQL checks after the
statement (a signed step writes its state and its event in one statement), SQLite before it.
`kervan audit` checks the state itself against the signed steps.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "2026_12_06_0010"
down_revision: str | None = "2026_12_06_0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_RECORDED = (
    "NEW.updated_at > OLD.updated_at AND ("
    "EXISTS (SELECT 1 FROM ledger_pending p WHERE p.org_id = NEW.org_id "
    "AND p.document_id = NEW.id AND p.recorded_at >= NEW.updated_at) "
    "OR EXISTS (SELECT 1 FROM ledger_entries e WHERE e.org_id = NEW.org_id "
    "AND e.document_id = NEW.id AND e.recorded_at >= NEW.updated_at))"
)


def upgrade() -> None:
    """The guard trigger on documents.state."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"""
            CREATE FUNCTION kervan_refuse_unrecorded_state() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                IF NOT ({_RECORDED}) THEN
                    RAISE EXCEPTION 'kervan: state of document % refused: a state changes only '
                        'with the ledger event that records its step', NEW.id
                        USING ERRCODE = 'integrity_constraint_violation';
                END IF;
                RETURN NULL;
            END $$
            """
        )
        op.execute(
            "CREATE TRIGGER trg_documents_state_recorded AFTER UPDATE OF state ON documents "
            "FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state) "
            "EXECUTE FUNCTION kervan_refuse_unrecorded_state()"
        )
        return
    op.execute(
        f"CREATE TRIGGER trg_documents_state_recorded BEFORE UPDATE OF state ON documents "
        f"FOR EACH ROW WHEN NEW.state IS NOT OLD.state AND NOT ({_RECORDED}) BEGIN "
        f"SELECT RAISE(ABORT, 'kervan: a document state changes only with the ledger event "
        f"that records its step'); END"
    )


def downgrade() -> None:
    """Drop the guard."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER trg_documents_state_recorded ON documents")
        op.execute("DROP FUNCTION kervan_refuse_unrecorded_state()")
        return
    op.execute("DROP TRIGGER trg_documents_state_recorded")
