"""Corridor events: what a shipment reports as it moves (departures, arrivals, borders, transfers).

The observatory computes its KPIs from these, whether they come from the ledger of a live
corridor, from a partner's export, or from a simulator run. A file of events is a JSON array of
event objects (or an object with an `events` array); a bad record raises `DatasetError` naming the
file, the record and the field.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from kervan.errors import DatasetError
from kervan.network.model import CargoUnit, Mode


class EventType(StrEnum):
    DEPARTED = "departed"  # leaves `node` onto `link`
    ARRIVED_NODE = "arrived_node"  # reaches `node` at the end of `link`
    BORDER_ARRIVAL = "border_arrival"  # joins the queue at `crossing`
    BORDER_RELEASE = "border_release"  # released by both sides' border agencies
    TRANSFER_START = "transfer_start"  # a gauge change, a change of mode or a wait for a ferry
    TRANSFER_END = "transfer_end"
    DELIVERED = "delivered"  # handed over at the destination


class TransferEventKind(StrEnum):
    GAUGE_CHANGE = "gauge_change"
    MODE_CHANGE = "mode_change"
    FERRY_WAIT = "ferry_wait"


_NEEDS: dict[EventType, tuple[str, ...]] = {
    EventType.DEPARTED: ("node", "link"),
    EventType.ARRIVED_NODE: ("node", "link"),
    EventType.BORDER_ARRIVAL: ("crossing",),
    EventType.BORDER_RELEASE: ("crossing",),
    EventType.TRANSFER_START: ("node", "transfer_kind"),
    EventType.TRANSFER_END: ("node", "transfer_kind"),
    EventType.DELIVERED: ("node",),
}


class CorridorEvent(BaseModel):
    """One thing that happened to one shipment, at one time, at one place of the network.

    `teu` and `tonnes` are the shipment's whole load; `planned_p90_hours` is the transit time the
    plan promised at its 90th percentile (on-time means delivered within it); `route_km` and
    `route_cost_usd` are its planned route's length and freight (for CAREC CPMM speed and
    cost); `mode` is the mode of the link or crossing when the event names one.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    shipment_id: str = Field(min_length=1)
    origin: str = Field(min_length=1)
    destination: str = Field(min_length=1)
    unit: CargoUnit
    teu: float = Field(ge=0)
    tonnes: float = Field(ge=0)
    event: EventType
    at: AwareDatetime
    node: str | None = None
    link: str | None = None
    crossing: str | None = None
    mode: Mode | None = None
    transfer_kind: TransferEventKind | None = None
    planned_p90_hours: float | None = Field(default=None, gt=0)
    digital_documents: bool = False
    route_km: float | None = Field(default=None, gt=0)  # the planned route's length
    route_cost_usd: float | None = Field(default=None, ge=0)  # its freight, the whole shipment

    @model_validator(mode="after")
    def _names_its_place(self) -> CorridorEvent:
        for name in _NEEDS[self.event]:
            if getattr(self, name) is None:
                raise ValueError(f"a {self.event.value} event needs {name}")
        return self


def parse_events(raw: Any, file: str) -> list[CorridorEvent]:
    """Validate decoded JSON (a list of events or {"events": [...]}) into events."""
    items = raw.get("events") if isinstance(raw, dict) else raw
    if not isinstance(items, list):
        raise DatasetError(file, "-", "events", "must be a JSON array of event objects")
    events: list[CorridorEvent] = []
    for index, item in enumerate(items, start=1):
        label = f"#{index}"
        if isinstance(item, dict) and isinstance(item.get("shipment_id"), str):
            label += f" ({item['shipment_id']})"
        try:
            events.append(CorridorEvent.model_validate(item))
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"]) or "-"
            raise DatasetError(file, label, field, err["msg"]) from exc
    return events


def load_events(path: Path) -> list[CorridorEvent]:
    """Read a JSON file of corridor events; DatasetError names the file, record and field."""
    name = str(path)
    if not path.is_file():
        raise DatasetError(name, "-", "-", "file is missing")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DatasetError(name, "-", "-", f"not valid JSON: {exc}") from exc
    return parse_events(raw, name)
