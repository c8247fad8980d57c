"""Transit time distributions: from P50/P90 of each part to P50/P90 of the whole trip.

Each part's time is a log-normal fitted to its median and 90th percentile; a wait for a scheduled
departure is uniform between zero and the headway. A leg's own figures (a few parts) use the
log-normal with the same mean and variance as the sum of independent parts (Fenton-Wilkinson).

A whole trip's P50/P90 come from a Monte Carlo over correlated delays (`trip_quantiles`): delays
are not independent along a corridor - a storm holds every Caspian sailing and queue of the week,
a border slowdown (a strike, a new control) holds every crossing, and a congested season slows the
whole chain. Each part's log-normal draw mixes a corridor-wide shock, a shock shared by its kind
of delay (`DelayKind`) and its own noise; the weights are Kervan estimates (CORRELATION), stated
here so they can be checked. The draws are seeded once and shared by every trip (common random
numbers): the same plan always gets the same figures, and two plans are compared under the same
shocks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

Z90 = 1.2815515655446004  # standard normal quantile at 0.9


class DelayKind(IntEnum):
    """Parts of a trip whose delays move together."""

    LINE_HAUL = 0  # trains and trucks running
    BORDER = 1  # border dwell
    VESSEL = 2  # sailing, port queues (weather and water level on the Caspian)
    HANDLING = 3  # terminals, transfers, gauge changes
    REST = 4  # drivers' rest: fixed by law, no spread


#: Share of the variance of a part's log-delay from the corridor-wide shock and from the shock of
#: its kind (Kervan estimate: judged, not fitted; 0 would give independent parts).
CORRELATION: dict[DelayKind, tuple[float, float]] = {
    DelayKind.LINE_HAUL: (0.2, 0.3),
    DelayKind.BORDER: (0.2, 0.4),
    DelayKind.VESSEL: (0.2, 0.6),
    DelayKind.HANDLING: (0.2, 0.3),
    DelayKind.REST: (0.0, 0.0),
}
TRIP_SAMPLES = 2048


@dataclass(frozen=True)
class TimePart:
    """One contribution to transit time: a P50/P90 distribution or a headway wait."""

    p50: float = 0.0
    p90: float = 0.0
    headway: float = 0.0
    kind: DelayKind = DelayKind.LINE_HAUL

    @property
    def typical(self) -> float:
        """Typical hours of this part: its median plus the mean wait (what the search adds up)."""
        return self.p50 + self.headway / 2.0

    @property
    def sigma(self) -> float:
        """Log-scale spread of the line-haul part."""
        if self.p50 <= 0:
            return 0.0
        return math.log(max(self.p90, self.p50) / self.p50) / Z90

    def moments(self) -> tuple[float, float]:
        """Mean and variance of this part's hours."""
        s2 = self.sigma**2
        mean = self.p50 * math.exp(s2 / 2.0) + self.headway / 2.0
        var = (math.exp(s2) - 1.0) * self.p50**2 * math.exp(s2) + self.headway**2 / 12.0
        return mean, var


def sum_quantiles(parts: Sequence[TimePart]) -> tuple[float, float]:
    """P50 and P90 hours of the sum of independent `parts` (Fenton-Wilkinson log-normal)."""
    mean = var = 0.0
    for part in parts:
        m, v = part.moments()
        mean += m
        var += v
    if mean <= 0:
        return 0.0, 0.0
    s2 = math.log1p(var / mean**2)
    mu = math.log(mean) - s2 / 2.0
    return math.exp(mu), math.exp(mu + Z90 * math.sqrt(s2))


def p50_p90(samples: np.ndarray) -> tuple[float, float]:
    """Median and 90th percentile of a vector of sampled hours."""
    p50, p90 = np.quantile(samples, [0.5, 0.9])
    return float(p50), float(p90)


class _Draws:
    """Standard normal and uniform draws shared by every trip (common random numbers): seeded
    once, so figures never change between runs, and two plans compared face the same shocks."""

    def __init__(self, n: int) -> None:
        rng = np.random.default_rng(20_261_206)
        self.n = n
        self.corridor = rng.standard_normal(n)
        self.by_kind = rng.standard_normal((len(DelayKind), n))
        self._rng = rng
        self.own = np.empty((0, n))
        self.uniform = np.empty((0, n))

    def parts(self, count: int) -> tuple[np.ndarray, np.ndarray]:
        """Own-noise and uniform rows for `count` parts (grown on demand, never redrawn)."""
        while len(self.own) < count:
            grow = max(64, count - len(self.own))
            self.own = np.vstack([self.own, self._rng.standard_normal((grow, self.n))])
            self.uniform = np.vstack([self.uniform, self._rng.random((grow, self.n))])
        return self.own[:count], self.uniform[:count]


_DRAWS: dict[int, _Draws] = {}


def trip_quantiles(parts: Sequence[TimePart], n: int = TRIP_SAMPLES) -> tuple[float, float]:
    """P50 and P90 hours of a whole trip, by Monte Carlo over correlated delays.

    Each part's log-normal draw is exp(sigma * z) with z = a * Z + b * Z_kind + c * e, where Z is
    the corridor-wide shock, Z_kind the shock of the part's kind, e its own noise and
    a^2 + b^2 + c^2 = 1 (weights from CORRELATION). Waits for departures stay uniform and
    independent. The draws are common to every trip and seeded once, so a plan's figures never
    change between runs.
    """
    if not parts:
        return 0.0, 0.0
    if n not in _DRAWS:
        _DRAWS[n] = _Draws(n)
    draws = _DRAWS[n]
    own, uniform = draws.parts(len(parts))
    p50 = np.array([p.p50 for p in parts], dtype=np.float64)
    p90 = np.maximum(np.array([p.p90 for p in parts], dtype=np.float64), p50)
    headway = np.array([p.headway for p in parts], dtype=np.float64)
    kinds = np.array([int(p.kind) for p in parts], dtype=np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        sigma = np.where(p50 > 0, np.log(p90 / p50) / Z90, 0.0)
    shares = np.array([CORRELATION[DelayKind(k)] for k in kinds], dtype=np.float64)
    a, b = np.sqrt(shares[:, 0]), np.sqrt(shares[:, 1])
    c = np.sqrt(np.clip(1.0 - shares[:, 0] - shares[:, 1], 0.0, 1.0))
    z = a[:, None] * draws.corridor[None, :] + b[:, None] * draws.by_kind[kinds] + c[:, None] * own
    total = (p50[:, None] * np.exp(sigma[:, None] * z)).sum(axis=0)
    total += headway @ uniform
    return p50_p90(total)
