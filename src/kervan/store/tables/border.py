"""What a customs authority keeps of the Simplified Customs Corridor from the signed messages its
inbox applied and from its own work at the border: the pre-arrival declaration versions it
received, the control results member states signed off at release, and the crossings into its
country (expected, arrived, released).

Every primary key leads with `org_id`, the authority the node acts for (e.g. "KZ-customs"), as
in the exchange tables: several authorities may share one store in the all-in-one mode. Bodies
are the core models' JSON (pydantic), read back with `model_validate_json`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import CheckConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kervan.store.tables.base import ORG_ID, Base, UtcDateTime

SHIPMENT_ID: Final = 64


class BorderDeclarationRow(Base):
    """One version of a pre-arrival declaration, as a customs authority received it."""

    __tablename__ = "border_declarations"
    __table_args__ = (CheckConstraint("version >= 1", name="version"),)

    org_id: Mapped[str] = mapped_column(String(ORG_ID), primary_key=True)
    shipment_id: Mapped[str] = mapped_column(String(SHIPMENT_ID), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    lodged_by: Mapped[str] = mapped_column(String(ORG_ID))
    body: Mapped[str] = mapped_column(Text)  # DeclarationVersion JSON
    lodged_at: Mapped[datetime] = mapped_column(UtcDateTime())
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())


class BorderControlRow(Base):
    """A control result a member state signed off at release (received, or this node's own)."""

    __tablename__ = "border_controls"

    org_id: Mapped[str] = mapped_column(String(ORG_ID), primary_key=True)
    shipment_id: Mapped[str] = mapped_column(String(SHIPMENT_ID), primary_key=True)
    country: Mapped[str] = mapped_column(String(2), primary_key=True)
    sent_by: Mapped[str] = mapped_column(String(ORG_ID))
    body: Mapped[str] = mapped_column(Text)  # ControlResult JSON
    controlled_at: Mapped[datetime] = mapped_column(UtcDateTime())
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())


class CustomsCrossingRow(Base):
    """A border crossing into the authority's country, as its customs knows it: announced by the
    pre-arrival declaration (where and when the cargo is expected), then arrived and released.
    The customs' own record, so its work list needs nothing of another authority's store."""

    __tablename__ = "customs_crossings"
    __table_args__ = (
        CheckConstraint("leg_index >= 0", name="leg_index"),
        Index(None, "org_id", "released_at"),
    )

    org_id: Mapped[str] = mapped_column(String(ORG_ID), primary_key=True)
    shipment_id: Mapped[str] = mapped_column(String(SHIPMENT_ID), primary_key=True)
    leg_index: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    country: Mapped[str] = mapped_column(String(2))
    reference: Mapped[str] = mapped_column(String(128))
    entry_node: Mapped[str] = mapped_column(String(32))
    entry_name: Mapped[str] = mapped_column(String(128))
    expected_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    arrived_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    released_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
