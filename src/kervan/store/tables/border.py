"""What a national node keeps of the Simplified Customs Corridor, from its own work and from the
signed messages its inbox applied: declaration versions, control results, crossing records, its
copy of a TIR transport and the e-Permits it issued, holds or controlled.

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
PERMIT_ROLES: Final = ("issued", "held", "controlled")


class BorderDeclarationRow(Base):
    """One version of a pre-arrival declaration, as lodged (trade node) or received (customs)."""

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


class BorderCrossingRow(Base):
    """A shipment's passage through one country: the customs node's own record, or the copy a
    trade node keeps of what that customs reported."""

    __tablename__ = "border_crossings"
    __table_args__ = (Index(None, "org_id", "country", "state"),)

    org_id: Mapped[str] = mapped_column(String(ORG_ID), primary_key=True)
    shipment_id: Mapped[str] = mapped_column(String(SHIPMENT_ID), primary_key=True)
    country: Mapped[str] = mapped_column(String(2), primary_key=True)
    state: Mapped[str] = mapped_column(String(32))
    entry_office: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)  # BorderCrossingRecord JSON
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class BorderTirRow(Base):
    """This node's copy of a shipment's TIR transport; `progress` counts its acts, so a copy
    that arrives late over another channel never replaces a newer one."""

    __tablename__ = "border_tir_transports"
    __table_args__ = (CheckConstraint("progress >= 0", name="progress"),)

    org_id: Mapped[str] = mapped_column(String(ORG_ID), primary_key=True)
    shipment_id: Mapped[str] = mapped_column(String(SHIPMENT_ID), primary_key=True)
    tir_reference: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    progress: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)  # TirTransport JSON
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class BorderPermitRow(Base):
    """An e-Permit with its usages: issued by this permit authority, held by the haulier's trade
    node, or controlled at this customs node's border."""

    __tablename__ = "border_permits"
    __table_args__ = (
        CheckConstraint("role IN (" + ", ".join(f"'{r}'" for r in PERMIT_ROLES) + ")", name="role"),
        Index(None, "org_id", "shipment_id"),
    )

    org_id: Mapped[str] = mapped_column(String(ORG_ID), primary_key=True)
    permit_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    shipment_id: Mapped[str] = mapped_column(String(SHIPMENT_ID))
    role: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)  # PermitRecord JSON
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
