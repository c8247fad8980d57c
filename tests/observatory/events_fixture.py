"""A hand-made set of corridor events whose KPIs are worked out by hand (see test_kpis.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

T0 = datetime(2024, 1, 1, tzinfo=UTC)
CROSSING = "X-CNKZ-AKL-DOSTYK-1435"


def _event(
    shipment: str, kind: str, hours: float, *, who: dict[str, Any], **where: Any
) -> dict[str, Any]:
    day, teu, tonnes = who.get("day", 0), who.get("teu", 2.0), who.get("tonnes", 20.0)
    p90, digital = who.get("p90"), who.get("digital", False)
    at = T0 + timedelta(days=day, hours=hours)
    record: dict[str, Any] = {
        "shipment_id": shipment,
        "origin": "CNXIA",
        "destination": "AZ-ALAT",
        "unit": "container",
        "teu": teu,
        "tonnes": tonnes,
        "event": kind,
        "at": at.isoformat(),
        "digital_documents": digital,
        **where,
    }
    if p90 is not None:
        record["planned_p90_hours"] = p90
    return record


def known_events() -> list[dict[str, Any]]:
    """S1: 92 h, on time, digital; S2: 100 h, late; S3: still in transit."""
    s1: dict[str, Any] = {"p90": 100.0, "digital": True}
    s2: dict[str, Any] = {"day": 1, "teu": 4.0, "tonnes": 40.0, "p90": 80.0}
    s3: dict[str, Any] = {"day": 2}
    return [
        _event("S1", "departed", 0, node="CNXIA", link="L1", mode="rail", who=s1),
        _event("S1", "arrived_node", 10, node="CNAKL", link="L1", who=s1),
        _event("S1", "border_arrival", 10, crossing=CROSSING, mode="rail", who=s1),
        _event("S1", "border_release", 30, crossing=CROSSING, mode="rail", who=s1),
        _event("S1", "transfer_start", 30, node="KZ-DOSTYK", transfer_kind="gauge_change", who=s1),
        _event("S1", "transfer_end", 34, node="KZ-DOSTYK", transfer_kind="gauge_change", who=s1),
        _event("S1", "departed", 34, node="KZ-DOSTYK", link="L2", who=s1),
        _event("S1", "arrived_node", 50, node="KZAAU", link="L2", who=s1),
        _event("S1", "transfer_start", 50, node="KZAAU", transfer_kind="ferry_wait", who=s1),
        _event("S1", "transfer_end", 70, node="KZAAU", transfer_kind="ferry_wait", who=s1),
        _event("S1", "departed", 72, node="KZAAU", link="L3", who=s1),
        _event("S1", "arrived_node", 90, node="AZ-ALAT", link="L3", who=s1),
        _event("S1", "delivered", 92, node="AZ-ALAT", who=s1),
        # S2's events arrive out of order: the KPIs sort them by time.
        _event("S2", "delivered", 100, node="AZ-ALAT", who=s2),
        _event("S2", "departed", 0, node="CNXIA", link="L1", who=s2),
        _event("S2", "arrived_node", 12, node="CNAKL", link="L1", who=s2),
        _event("S2", "border_arrival", 12, crossing=CROSSING, who=s2),
        _event("S2", "border_release", 52, crossing=CROSSING, who=s2),
        _event("S2", "departed", 52, node="KZ-DOSTYK", link="L2", who=s2),
        _event("S2", "arrived_node", 70, node="KZAAU", link="L2", who=s2),
        _event("S3", "departed", 0, node="CNXIA", link="L1", who=s3),
        _event("S3", "arrived_node", 8, node="CNAKL", link="L1", who=s3),
    ]
