"""A planned route: its legs, transfers, borders, times, cost, CO2 and the documents it needs."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, computed_field

from kervan.documents.kinds import DocumentKind
from kervan.network.model import CargoUnit, HandlingWhere, Mode, Network, TransferKind
from kervan.routing import sketch
from kervan.routing.charges import (
    DEFAULT_FACTOR,
    ChargeLine,
    handling_charge,
    hub_kg,
    leg_charges,
    tariff_years,
    ttw_kg,
)
from kervan.routing.graph import CompiledNetwork, EdgeKind, aetr_rest_hours, border_dwell_factor
from kervan.routing.requirements import (
    CustomsOffice,
    LegFacts,
    OfficeRole,
    PermitType,
    customs_offices,
    documents_needed,
)
from kervan.routing.timing import DelayKind, TimePart, sum_quantiles, trip_quantiles


class _Out(BaseModel):
    """Output records. The planner builds them with `model_construct` from figures it computed
    out of the validated network, so they are not validated a second time (a hot path)."""

    model_config = ConfigDict(frozen=True)


class BorderStep(_Out):
    crossing_id: str
    countries: tuple[str, str]
    dwell_hours_p50: float
    dwell_hours_p90: float
    cost_usd: float
    customs_office: str | None


class Leg(_Out):
    """One line-haul leg between two nodes, with the wait before it and the border on it."""

    index: int
    link_id: str
    mode: Mode
    from_node: str
    from_name: str
    from_country: str
    to_node: str
    to_name: str
    to_country: str
    distance_km: float
    gauge_mm: int | None
    line_haul_hours_p50: float
    line_haul_hours_p90: float
    wait_hours_mean: float
    queue_hours_p50: float = 0.0
    queue_hours_p90: float = 0.0
    rest_hours: float = 0.0
    border: BorderStep | None
    typical_hours: float
    hours_p50: float
    hours_p90: float
    cost_usd: float
    co2_kg: float
    co2_ttw_kg: float = 0.0
    documents: tuple[DocumentKind, ...] = ()


class TransferStep(_Out):
    """A gauge change or a change of mode at a node, between leg `after_leg` and the next."""

    after_leg: int
    node: str
    node_name: str
    kind: TransferKind
    from_mode: Mode
    to_mode: Mode
    from_gauge_mm: int | None
    to_gauge_mm: int | None
    hours_p50: float
    hours_p90: float
    cost_usd: float


class HandlingStep(_Out):
    """Terminal handling at the origin or destination terminal, or a port call on the way.

    `after_leg` is -1 at the origin; `where` is "origin", "destination" or "port_call".
    """

    after_leg: int
    where: str
    node: str
    node_name: str
    mode: Mode
    hours_p50: float
    hours_p90: float
    cost_usd: float


class DocumentRequirement(_Out):
    kind: DocumentKind
    legs: tuple[int, ...]
    countries: tuple[str, ...]
    reason: str
    permit_type: PermitType | None = None
    issuer_country: str | None = None
    law_change_at: tuple[str, ...] = ()


class Office(_Out):
    role: OfficeRole
    country: str
    name: str
    node: str


class Totals(_Out):
    distance_km: float
    typical_hours: float
    hours_p50: float
    hours_p90: float
    days_p50: float
    days_p90: float
    cost_usd: float
    co2_kg: float
    transfers: int
    gauge_changes: int
    border_crossings: int
    co2_ttw_kg: float = 0.0
    co2_hub_kg: float = 0.0
    co2_wtw_kg: float = 0.0
    emissions_quality: str = DEFAULT_FACTOR
    currency: str = "USD"
    tariff_years: tuple[int, ...] = ()


class Charge(_Out):
    """One segment of the through-tariff: what it pays for, its amount, tariff year and source."""

    segment: str
    where: str
    amount: float
    currency: str
    tariff_year: int | None
    source: str | None


class Plan(_Out):
    """A whole route from origin to destination for one cargo unit."""

    origin: str
    destination: str
    unit: CargoUnit
    year: int
    legs: tuple[Leg, ...]
    transfers: tuple[TransferStep, ...]
    handling: tuple[HandlingStep, ...] = ()
    charges: tuple[Charge, ...] = ()
    countries: tuple[str, ...]
    modes: tuple[Mode, ...]
    totals: Totals
    documents: tuple[DocumentRequirement, ...]
    customs_offices: tuple[Office, ...]

    @property
    def link_ids(self) -> tuple[str, ...]:
        return tuple(leg.link_id for leg in self.legs)

    @property
    def node_ids(self) -> tuple[str, ...]:
        """The places the route passes, origin first."""
        return sketch.node_ids(self.legs)

    @property
    def entered_countries(self) -> tuple[str, ...]:
        """Countries the route stops in, in order (a ship passing a strait enters none)."""
        return sketch.entered_countries(self.legs)

    @property
    def signature(self) -> tuple[tuple[str, Mode], ...]:
        """The route as a forwarder reads it: each place and the mode that leaves it."""
        return sketch.signature(self.legs)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def plan_key(self) -> str:
        """Identifies the route: its links and where it changes gauge or mode (used to book it)."""
        stops = ",".join(
            f"{t.node}:{t.from_mode.value}{t.from_gauge_mm or ''}"
            f"-{t.to_mode.value}{t.to_gauge_mm or ''}"
            for t in self.transfers
        )
        return "|".join(self.link_ids) + "#" + stops


def _leg(
    compiled: CompiledNetwork, edge: int, index: int
) -> tuple[dict[str, Any], list[TimePart], str | None]:
    """A leg's fields (its times and documents are added once the whole plan is known)."""
    net = compiled.network
    link = net.links[compiled.ref[edge]]
    port_from = compiled.port_at(int(compiled.src[edge]))
    port_to = compiled.port_at(int(compiled.dst[edge]))
    a, z = net.nodes[port_from[0]], net.nodes[port_to[0]]
    haul = DelayKind.VESSEL if link.mode in (Mode.FERRY, Mode.SEA) else DelayKind.LINE_HAUL
    parts = [TimePart(link.hours.p50, link.hours.p90, link.headway_hours or 0.0, haul)]
    queue = a.port_queue_hours if link.mode in (Mode.FERRY, Mode.SEA) else None
    if queue is not None:
        parts.append(TimePart(queue.p50, queue.p90, kind=DelayKind.VESSEL))
    border: BorderStep | None = None
    crossing = net.crossing_on(link.id)
    if crossing is not None:
        factor = border_dwell_factor(net, link.id, compiled.policy)
        dwell = crossing.dwell_hours.scaled(factor)
        parts.append(TimePart(dwell.p50, dwell.p90, kind=DelayKind.BORDER))
        border = BorderStep.model_construct(
            crossing_id=crossing.id,
            countries=(a.country, z.country),
            dwell_hours_p50=dwell.p50,
            dwell_hours_p90=dwell.p90,
            cost_usd=crossing.cost_usd[compiled.unit],
            customs_office=crossing.customs_office,
        )
    leg = {
        "index": index,
        "link_id": link.id,
        "mode": link.mode,
        "from_node": a.id,
        "from_name": a.name,
        "from_country": a.country,
        "to_node": z.id,
        "to_name": z.name,
        "to_country": z.country,
        "distance_km": link.distance_km,
        "gauge_mm": link.gauge_mm,
        "line_haul_hours_p50": link.hours.p50,
        "line_haul_hours_p90": link.hours.p90,
        "wait_hours_mean": (link.headway_hours or 0.0) / 2.0,
        "queue_hours_p50": queue.p50 if queue else 0.0,
        "queue_hours_p90": queue.p90 if queue else 0.0,
        "border": border,
        "typical_hours": sum(p.typical for p in parts),
        "cost_usd": float(compiled.cost_usd[edge]),
        "co2_kg": float(compiled.co2_kg[edge]),
        "co2_ttw_kg": ttw_kg(link.mode, float(compiled.co2_kg[edge])),
    }
    return leg, parts, crossing.id if crossing else None


def _transfer(
    compiled: CompiledNetwork, edge: int, after_leg: int
) -> tuple[TransferStep, TimePart]:
    net: Network = compiled.network
    transfer = net.transfers[int(compiled.ref[edge])]
    p = compiled.port_at(int(compiled.src[edge]))
    q = compiled.port_at(int(compiled.dst[edge]))
    step = TransferStep.model_construct(
        after_leg=after_leg,
        node=transfer.node,
        node_name=net.nodes[transfer.node].name,
        kind=transfer.kind,
        from_mode=p[1],
        to_mode=q[1],
        from_gauge_mm=(p[2] or None) if p[1] is Mode.RAIL else None,
        to_gauge_mm=(q[2] or None) if q[1] is Mode.RAIL else None,
        hours_p50=transfer.hours.p50,
        hours_p90=transfer.hours.p90,
        cost_usd=float(compiled.cost_usd[edge]),
    )
    return step, TimePart(transfer.hours.p50, transfer.hours.p90, kind=DelayKind.HANDLING)


def _handling(
    compiled: CompiledNetwork,
    edge: int,
    where: str,
    after_leg: int,
    out: list[HandlingStep],
    parts: list[TimePart],
) -> None:
    """Record terminal handling on a start, end or port-call edge that charges any."""
    if compiled.time_h[edge] <= 0 and compiled.cost_usd[edge] <= 0:
        return
    vertex = int(compiled.dst[edge]) if where == "origin" else int(compiled.src[edge])
    node_id, mode, _ = compiled.port_at(vertex)
    rate = compiled.network.handling_at(
        mode, HandlingWhere.PORT_CALL if where == "port_call" else HandlingWhere.TERMINAL
    )
    if rate is None:
        return
    out.append(
        HandlingStep.model_construct(
            after_leg=after_leg,
            where=where,
            node=node_id,
            node_name=compiled.network.nodes[node_id].name,
            mode=mode,
            hours_p50=rate.hours.p50,
            hours_p90=rate.hours.p90,
            cost_usd=float(compiled.cost_usd[edge]),
        )
    )
    parts.append(TimePart(rate.hours.p50, rate.hours.p90, kind=DelayKind.HANDLING))


def _charges(
    compiled: CompiledNetwork,
    legs: list[Leg],
    steps: list[TransferStep],
    transfer_sources: list[str | None],
    handled: list[HandlingStep],
) -> list[ChargeLine]:
    """The through-tariff by segment, in the order the cargo meets them."""
    net = compiled.network
    carried = [i for i, leg in enumerate(legs) if leg.mode is not Mode.ROAD]
    out: list[ChargeLine] = []
    for h in handled:
        if h.after_leg < 0:
            rate = net.handling_at(h.mode, HandlingWhere.TERMINAL)
            source = rate.source_for("cost_usd") if rate else None
            out.append(handling_charge(net, "handling", h.node_name, h.cost_usd, source))
    for index, leg in enumerate(legs):
        segment = f"line_haul:{leg.mode.value}"
        if leg.mode is Mode.ROAD and carried and compiled.road_phases:
            segment = "first_mile" if index < carried[0] else "last_mile"
        border = leg.border.cost_usd if leg.border else 0.0
        border_id = leg.border.crossing_id if leg.border else None
        where = f"{leg.from_name} - {leg.to_name}"
        out += leg_charges(
            net, leg.link_id, where, segment, leg.cost_usd - border, border, border_id
        )
        for h in handled:
            if h.after_leg == index:
                kind = HandlingWhere.PORT_CALL if h.where == "port_call" else HandlingWhere.TERMINAL
                rate = net.handling_at(h.mode, kind)
                source = rate.source_for("cost_usd") if rate else None
                out.append(handling_charge(net, "handling", h.node_name, h.cost_usd, source))
        for step, source in zip(steps, transfer_sources, strict=True):
            if step.after_leg == index:
                out.append(handling_charge(net, "transfer", step.node_name, step.cost_usd, source))
    return out


def _add_driving_rest(
    fields: list[dict[str, Any]], by_leg: list[list[TimePart]], parts: list[TimePart]
) -> None:
    """AETR breaks and rests over each run of road legs, put on the leg where they fall."""
    driven = 0.0
    for index, leg in enumerate(fields):
        if leg["mode"] is not Mode.ROAD:
            driven = 0.0
            continue
        before, driven = driven, driven + leg["line_haul_hours_p50"]
        rest = aetr_rest_hours(driven) - aetr_rest_hours(before)
        leg["rest_hours"] = rest
        leg["typical_hours"] += rest
        if rest > 0:
            by_leg[index].append(TimePart(rest, rest, kind=DelayKind.REST))
            parts.append(TimePart(rest, rest, kind=DelayKind.REST))


def build_plan(compiled: CompiledNetwork, path: list[int], truck_flag: str | None = None) -> Plan:
    """Assemble a Plan from a path of edge ids (start edge, links and transfers, end edge)."""
    net = compiled.network
    fields: list[dict[str, Any]] = []
    steps: list[TransferStep] = []
    parts: list[TimePart] = []
    by_leg: list[list[TimePart]] = []
    crossings: list[str | None] = []
    handled: list[HandlingStep] = []
    transfer_sources: list[str | None] = []
    origin = destination = ""
    for edge in path:
        kind = EdgeKind(int(compiled.kind[edge]))
        if kind is EdgeKind.START:
            origin = compiled.ref[edge]
            _handling(compiled, edge, "origin", -1, handled, parts)
        elif kind is EdgeKind.END:
            destination = compiled.ref[edge]
            _handling(compiled, edge, "destination", len(fields) - 1, handled, parts)
        elif kind is EdgeKind.STAY:
            _handling(compiled, edge, "port_call", len(fields) - 1, handled, parts)
        elif kind is EdgeKind.LINK:
            leg_fields, leg_parts, crossing = _leg(compiled, edge, len(fields))
            fields.append(leg_fields)
            by_leg.append(leg_parts)
            parts.extend(leg_parts)
            crossings.append(crossing)
        else:
            step, part = _transfer(compiled, edge, len(fields) - 1)
            steps.append(step)
            parts.append(part)
            transfer_sources.append(net.transfers[int(compiled.ref[edge])].source_for("cost_usd"))
    _add_driving_rest(fields, by_leg, parts)
    facts = [
        LegFacts(
            mode=f["mode"],
            from_country=f["from_country"],
            to_country=f["to_country"],
            via_countries=net.links[f["link_id"]].via_countries,
            gauge_mm=f["gauge_mm"],
            from_node=f["from_node"],
            to_node=f["to_node"],
        )
        for f in fields
    ]
    needs = documents_needed(facts, truck_flag, truck_aboard=compiled.unit is CargoUnit.TRUCK)
    kinds: list[dict[DocumentKind, None]] = [{} for _ in fields]
    for need in needs:
        for index in need.legs:
            kinds[index][need.kind] = None
    legs: list[Leg] = []
    for index, leg_fields in enumerate(fields):
        p50, p90 = sum_quantiles(by_leg[index])
        legs.append(
            Leg.model_construct(
                **leg_fields, hours_p50=p50, hours_p90=p90, documents=tuple(kinds[index])
            )
        )
    countries: list[str] = []
    for f in facts:
        for c in (f.from_country, *f.via_countries, f.to_country):
            if not countries or countries[-1] != c:
                countries.append(c)
    p50, p90 = trip_quantiles(parts)
    totals = Totals.model_construct(
        distance_km=sum(leg.distance_km for leg in legs),
        typical_hours=sum(leg.typical_hours for leg in legs)
        + sum(s.hours_p50 for s in steps)
        + sum(h.hours_p50 for h in handled),
        hours_p50=p50,
        hours_p90=p90,
        days_p50=p50 / 24.0,
        days_p90=p90 / 24.0,
        cost_usd=sum(leg.cost_usd for leg in legs)
        + sum(s.cost_usd for s in steps)
        + sum(h.cost_usd for h in handled),
        co2_kg=sum(leg.co2_kg for leg in legs),
        transfers=len(steps),
        gauge_changes=sum(1 for s in steps if s.kind is TransferKind.GAUGE_CHANGE),
        border_crossings=sum(1 for leg in legs if leg.border is not None),
    )
    offices: list[CustomsOffice] = customs_offices(net, facts, crossings)
    charges = _charges(compiled, legs, steps, transfer_sources, handled)
    profile = net.cargo_units[compiled.unit]
    hubs = hub_kg(len(steps) + len(handled), profile.teu, profile.tonnes)
    ttw = sum(leg.co2_ttw_kg for leg in legs)
    totals = totals.model_copy(
        update={
            "co2_ttw_kg": ttw,
            "co2_hub_kg": hubs,
            "co2_wtw_kg": totals.co2_kg + hubs,
            "tariff_years": tariff_years(charges),
        }
    )
    return Plan.model_construct(
        origin=origin,
        destination=destination,
        unit=compiled.unit,
        year=compiled.year,
        legs=tuple(legs),
        transfers=tuple(steps),
        handling=tuple(handled),
        charges=tuple(
            Charge.model_construct(
                segment=c.segment,
                where=c.where,
                amount=c.amount,
                currency=c.currency,
                tariff_year=c.tariff_year,
                source=c.source,
            )
            for c in charges
        ),
        countries=tuple(countries),
        modes=tuple(dict.fromkeys(leg.mode for leg in legs)),
        totals=totals,
        documents=tuple(
            DocumentRequirement.model_construct(
                kind=n.kind,
                legs=n.legs,
                countries=n.countries,
                reason=n.reason,
                permit_type=n.permit_type,
                issuer_country=n.issuer_country,
                law_change_at=n.law_change_at,
            )
            for n in needs
        ),
        customs_offices=tuple(
            Office.model_construct(role=o.role, country=o.country, name=o.name, node=o.node)
            for o in offices
        ),
    )
