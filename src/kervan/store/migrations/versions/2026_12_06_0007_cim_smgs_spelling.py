"""cim_smgs_spelling: plans and declarations name the CIM/SMGS note "CIM-SMGS", as documents do

Revision ID: 2026_12_06_0007
Revises: 2026_11_24_0006
Create Date: 2026-12-06

One document kind serves the planner, the documents and the store. Documents were always kept
as "CIM-SMGS" (their signed versions say so and stay as they are); the planner said "CIM/SMGS",
and booked plans (shipments.plan) and pre-arrival declarations (border_declarations.body) kept
its JSON. This rewrites that JSON string in place, on SQLite and PostgreSQL alike; neither table
is insert-only, so no trigger stands in the way. Signed messages in the exchange tables are left
as they were sent: the document kind still reads "CIM/SMGS" when it meets it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2026_12_06_0007"
down_revision: str | None = "2026_11_24_0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Columns holding JSON in which a document kind is a string value.
_JSON_COLUMNS = (("shipments", "plan"), ("border_declarations", "body"))


def _respell(old: str, new: str) -> None:
    # The kind only ever appears as a whole JSON string, quotes included: nothing else changes.
    for table, column in _JSON_COLUMNS:  # names from the constant above, values bound
        statement = (
            f"UPDATE {table} SET {column} = replace({column}, :old, :new) "  # noqa: S608
            f"WHERE {column} LIKE :having"
        )
        op.execute(
            sa.text(statement).bindparams(old=f'"{old}"', new=f'"{new}"', having=f'%"{old}"%')
        )


def upgrade() -> None:
    """Plans and declarations say "CIM-SMGS"."""
    _respell("CIM/SMGS", "CIM-SMGS")


def downgrade() -> None:
    """Plans and declarations say "CIM/SMGS" again, as the code before this revision reads."""
    _respell("CIM-SMGS", "CIM/SMGS")
