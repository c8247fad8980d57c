"""Money and carbon the way the trade counts them: a through-tariff by segment, and emissions
per leg and per hub, well-to-wheel and tank-to-wheel (ISO 14083 / GLEC Framework).

Every charge names the segment it pays for (line haul by mode, first or last mile by road, a
border, a transfer, terminal handling), its currency, the tariff year (the year of the source the
dataset's figure rests on) and that source. Emissions: the dataset's factors are well-to-wheel
(WTW) grams CO2e per tonne-km; the tank-to-wheel (TTW) part is the WTW figure times the share
of the fuel burnt on board for the mode (TTW_SHARE); hub emissions (terminals, transfers, port
calls) are HUB_KG_CO2E_PER_TEU per unit move. None of these are a carrier's primary data, so
every figure carries the data-quality flag "default".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kervan.network.model import Mode, Network

#: Tank-to-wheel share of well-to-wheel CO2e by mode (Kervan estimate after the GLEC Framework
#: v3 fuel factors: diesel 2.68 of 3.24 kg CO2e/l burnt on board; marine fuel about 0.86; rail
#: on the corridor is part electric (no TTW) and part diesel, judged 0.4).
TTW_SHARE: dict[Mode, float] = {
    Mode.ROAD: 0.83,
    Mode.RAIL: 0.4,
    Mode.SEA: 0.86,
    Mode.FERRY: 0.86,
}
#: Hub emissions per TEU moved at a terminal (Kervan estimate in the range of GLEC v3 default
#: factors for container terminals and transhipment hubs).
HUB_KG_CO2E_PER_TEU = 15.0
#: Data quality of every emission figure: a default factor, not the carrier's primary data.
DEFAULT_FACTOR = "default"
CURRENCY = "USD"


@dataclass(frozen=True)
class ChargeLine:
    """One segment's charge: what it pays for, where, how much, in which tariff year, by what."""

    segment: str  # line_haul:<mode> | first_mile | last_mile | border | transfer | handling
    where: str
    amount: float
    currency: str
    tariff_year: int | None
    source: str | None


def _year(network: Network, source: str | None) -> int | None:
    found = network.sources.get(source or "")
    return found.year if found else None


def leg_charges(
    network: Network,
    link_id: str,
    where: str,
    segment: str,
    line_haul: float,
    border: float,
    border_id: str | None,
) -> list[ChargeLine]:
    """The line haul of a leg and the border fees on it."""
    link = network.links[link_id]
    source = link.source_for("cost_usd")
    out = [ChargeLine(segment, where, line_haul, CURRENCY, _year(network, source), source)]
    if border_id is not None and border > 0:
        crossing = network.crossings[border_id]
        b_source = crossing.source_for("cost_usd")
        out.append(
            ChargeLine("border", crossing.id, border, CURRENCY, _year(network, b_source), b_source)
        )
    return out


def handling_charge(
    network: Network, segment: str, where: str, amount: float, source: str | None
) -> ChargeLine:
    """A transfer or terminal handling charge."""
    return ChargeLine(segment, where, amount, CURRENCY, _year(network, source), source)


def ttw_kg(mode: Mode, wtw_kg: float) -> float:
    """Tank-to-wheel part of a leg's well-to-wheel emissions."""
    return wtw_kg * TTW_SHARE[mode]


def hub_kg(moves: int, teu: float, tonnes: float) -> float:
    """Emissions of `moves` terminal moves of one unit (by TEU, or by tonne for bulk)."""
    per_move = HUB_KG_CO2E_PER_TEU * (teu if teu > 0 else tonnes / 10.0)
    return moves * per_move


def tariff_years(charges: Sequence[ChargeLine]) -> tuple[int, ...]:
    """The tariff years the charges rest on, oldest first."""
    return tuple(sorted({c.tariff_year for c in charges if c.tariff_year is not None}))
