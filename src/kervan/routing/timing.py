"""Transit time distributions: from P50/P90 of each part to P50/P90 of the whole trip.

Each part's time is a log-normal fitted to its median and 90th percentile; a wait for a scheduled
departure is uniform between zero and the headway. The trip's quantiles come from summing
samples, with a seed derived from the route so the same plan always reports the same figures.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

Z90 = 1.2815515655446004  # standard normal quantile at 0.9
SAMPLES = 4096


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

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """`n` random hours for this part."""
        out = np.zeros(n)
        if self.p50 > 0:
            sigma = max(np.log(max(self.p90, self.p50) / self.p50) / Z90, 0.0)
            out += self.p50 * np.exp(sigma * rng.standard_normal(n))
        if self.headway > 0:
            out += rng.uniform(0.0, self.headway, n)
        return out


def seed_for(key: str) -> int:
    """A stable seed for a route key (the same route always gets the same samples)."""
    return zlib.crc32(key.encode("utf-8"))


def sample_parts(parts: Sequence[TimePart], key: str, n: int = SAMPLES) -> np.ndarray:
    """A (len(parts), n) matrix of sampled hours, with a seed derived from `key`."""
    rng = np.random.default_rng(seed_for(key))
    out = np.zeros((len(parts), n))
    for row, part in enumerate(parts):
        out[row] = part.sample(rng, n)
    return out


def p50_p90(samples: np.ndarray) -> tuple[float, float]:
    """Median and 90th percentile of a vector of sampled hours (0, 0 when empty)."""
    if samples.size == 0:
        return 0.0, 0.0
    p50, p90 = np.quantile(samples, [0.5, 0.9])
    return float(p50), float(p90)
