"""Transit time distributions: from P50/P90 of each part to P50/P90 of the whole trip.

Each part's time is a log-normal fitted to its median and 90th percentile; a wait for a scheduled
departure is uniform between zero and the headway. The sum of independent parts is approximated
by the log-normal with the same mean and variance (Fenton-Wilkinson), which is exact in the first
two moments and needs no sampling, so a plan's figures are cheap and the same every time.
`sample_parts` draws the same distributions by Monte Carlo (seeded by the route) for checking the
approximation and for simulation.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

Z90 = 1.2815515655446004  # standard normal quantile at 0.9
SAMPLES = 2048


@dataclass(frozen=True)
class TimePart:
    """One contribution to transit time: a P50/P90 distribution or a headway wait."""

    p50: float = 0.0
    p90: float = 0.0
    headway: float = 0.0

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


def seed_for(key: str) -> int:
    """A stable seed for a route key (the same route always gets the same samples)."""
    return zlib.crc32(key.encode("utf-8"))


def sample_parts(parts: Sequence[TimePart], key: str, n: int = SAMPLES) -> np.ndarray:
    """A (len(parts), n) matrix of sampled hours, with a seed derived from `key`."""
    rng = np.random.default_rng(seed_for(key))
    p50 = np.array([p.p50 for p in parts], dtype=np.float64)
    p90 = np.maximum(np.array([p.p90 for p in parts], dtype=np.float64), p50)
    headway = np.array([p.headway for p in parts], dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        sigma = np.where(p50 > 0, np.log(p90 / p50) / Z90, 0.0)
    hauls = p50[:, None] * np.exp(sigma[:, None] * rng.standard_normal((len(parts), n)))
    waits = headway[:, None] * rng.random((len(parts), n))
    return hauls + waits


def p50_p90(samples: np.ndarray) -> tuple[float, float]:
    """Median and 90th percentile of a vector of sampled hours."""
    p50, p90 = np.quantile(samples, [0.5, 0.9])
    return float(p50), float(p90)
