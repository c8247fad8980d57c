"""A customs officer's work list at one office: what is coming, what is at the border now,
and what was released into the country and should leave through this office."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pydantic import AwareDatetime, BaseModel, ConfigDict

from kervan.customs.crossing import AT_THE_BORDER, BorderCrossingRecord, CrossingState
from kervan.customs.declaration import PreArrivalDeclaration
from kervan.customs.rules import Lane
from kervan.documents.goods import hs_description


class WorkItem(BaseModel):
    """One shipment on the list, with what the officer needs to see at a glance."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    shipment: str
    state: CrossingState
    lane: Lane
    reasons: tuple[str, ...]
    physical_inspection_required: bool
    goods: tuple[str, ...]  # "HS 850760 Lithium-ion ...: 20 PX, 18000 kg, 540000 USD"
    seals: tuple[str, ...]  # "CN-XA-778812 (intact)"
    transport: tuple[str, ...]  # plates, wagons, containers
    documents: tuple[str, ...]
    declaration_version: int
    expected_arrival: AwareDatetime
    arrived_at: AwareDatetime | None = None


class WorkList(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    office: str
    arriving: tuple[WorkItem, ...]  # pre-arrival received, not yet arrived; by expected arrival
    at_border: tuple[WorkItem, ...]  # arrived, being checked or detained; by arrival
    leaving: tuple[WorkItem, ...]  # released in this country, to exit through this office


def _item(record: BorderCrossingRecord, declaration: PreArrivalDeclaration) -> WorkItem:
    content = declaration.version(record.declaration_version).content
    goods = tuple(
        f"HS {g.hs_code} {hs_description(g.hs_code)}: {g.packages} {g.package_kind}, "
        f"{g.gross_weight_kg} kg"
        + (f", {g.value} {g.currency}" if g.value is not None else "")
        + (
            f", {g.dangerous_goods.un_number} class {g.dangerous_goods.hazard_class}"
            if g.dangerous_goods
            else ""
        )
        for g in content.goods
    )
    seals = record.seals_now if record.seals_now is not None else content.transport.all_seals()
    return WorkItem(
        shipment=record.shipment,
        state=record.state,
        lane=record.decision.lane,
        reasons=tuple(record.decision.reason_texts()),
        physical_inspection_required=record.decision.physical_inspection_required,
        goods=goods,
        seals=tuple(f"{s.number} ({s.condition.value})" for s in seals),
        transport=content.transport.identifiers(),
        documents=tuple(f"{d.kind.label} {d.reference}" for d in content.documents),
        declaration_version=record.declaration_version,
        expected_arrival=record.expected_arrival,
        arrived_at=record.arrived_at,
    )


def work_list(
    office: str,
    records: Iterable[BorderCrossingRecord],
    declarations: Mapping[str, PreArrivalDeclaration],
) -> WorkList:
    """In: an office code, the crossing records of its country and the declarations by
    shipment. Out: the office's work list."""
    arriving: list[BorderCrossingRecord] = []
    at_border: list[BorderCrossingRecord] = []
    leaving: list[BorderCrossingRecord] = []
    for r in records:
        here = r.arrival_office or r.entry_office
        if r.state is CrossingState.EXPECTED and r.entry_office == office:
            arriving.append(r)
        elif r.state in AT_THE_BORDER and here == office:
            at_border.append(r)
        elif r.state is CrossingState.RELEASED and r.exit_office == office:
            leaving.append(r)

    def items(found: list[BorderCrossingRecord]) -> tuple[WorkItem, ...]:
        return tuple(_item(r, declarations[r.shipment]) for r in found)

    return WorkList(
        office=office,
        arriving=items(sorted(arriving, key=lambda r: r.expected_arrival)),
        at_border=items(sorted(at_border, key=lambda r: r.arrived_at or r.expected_arrival)),
        leaving=items(sorted(leaving, key=lambda r: r.expected_exit)),
    )
