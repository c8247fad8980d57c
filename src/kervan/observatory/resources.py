"""Capacities shipments queue for: per-day quotas, ferry and ship sailings, locomotive pools.

Each keeps what it needs to report utilisation and queues and to prove it never served more than
its capacity: per-day use (quotas), per-sailing load (sailings), units in use over time (pools).
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import simpy
from simpy.resources.resource import Request

HOURS_PER_DAY = 24.0
EPS = 1e-9


@dataclass
class Window:
    """The measured part of a run, in simulated hours: after the warm-up, before the end."""

    start: float
    end: float

    def __contains__(self, t: float) -> bool:
        return self.start <= t < self.end

    @property
    def days(self) -> int:
        return max(math.ceil((self.end - self.start) / HOURS_PER_DAY), 1)


@dataclass
class Usage:
    """What a resource reports: utilisation per period, queue lengths and waits."""

    utilisation: list[float]
    queue: list[float]
    wait_hours: float
    served: int


def _queue_series(arrivals: list[float], starts: list[float], samples: np.ndarray) -> np.ndarray:
    """How many waited at each sample time: arrived at or before it and not yet started."""
    a = np.sort(np.asarray(arrivals))
    s = np.sort(np.asarray(starts))
    waiting: np.ndarray = np.searchsorted(a, samples, side="right") - np.searchsorted(
        s, samples, side="right"
    )
    return waiting


class DailyQuota:
    """A capacity of so much a day (TEU, tonnes or shipments): a port, a gauge-change station,
    a border crossing's lanes, a section of line.

    A shipment books the first day, from the one it arrives on, with room for its whole amount,
    and starts then (at once on the day it arrives, else when that day begins): first come, first
    served per day, and what fits on a day never exceeds the day's capacity.
    """

    def __init__(self, ident: str, capacity_per_day: float) -> None:
        self.id = ident
        self.capacity = capacity_per_day
        self.used: dict[int, float] = {}
        self._first_open = 0
        self.arrivals: list[float] = []
        self.starts: list[float] = []

    def book(self, now: float, amount: float) -> float:
        """Reserve `amount` on the first day with room; return when the shipment may start."""
        if amount <= 0:
            return now
        day = max(int(now // HOURS_PER_DAY), self._first_open)
        while self.used.get(day, 0.0) + amount > self.capacity + EPS:
            day += 1
        self.used[day] = self.used.get(day, 0.0) + amount
        start = max(now, day * HOURS_PER_DAY)
        while self.used.get(self._first_open, 0.0) >= self.capacity - EPS:
            self._first_open += 1
        self.arrivals.append(now)
        self.starts.append(start)
        return start

    def expected_wait(self, at: float, amount: float, horizon: float) -> float:
        """Hours a shipment reaching the quota at `at` would wait for a day with room, as the
        bookings stand (without booking); `horizon` once it would wait longer than that."""
        if amount <= 0:
            return 0.0
        day = max(int(at // HOURS_PER_DAY), self._first_open)
        last = int((at + horizon) // HOURS_PER_DAY) + 1
        while self.used.get(day, 0.0) + amount > self.capacity + EPS:
            day += 1
            if day > last:
                return horizon
        return max(0.0, day * HOURS_PER_DAY - at)

    def usage(self, window: Window) -> Usage:
        first = int(window.start // HOURS_PER_DAY)
        days = range(first, first + window.days)
        util = [self.used.get(d, 0.0) / self.capacity for d in days]
        samples = np.asarray([(d + 0.5) * HOURS_PER_DAY for d in days])
        queue = _queue_series(self.arrivals, self.starts, samples)
        waits = [s - a for a, s in zip(self.arrivals, self.starts, strict=True) if a in window]
        return Usage(util, [float(q) for q in queue], float(sum(waits)), len(waits))


@dataclass
class Boarding:
    """A shipment waiting for a sailing: what it takes up and the event that wakes it."""

    amount: float
    asked_at: float
    sailed: simpy.Event
    remaining: float = 0.0

    def __post_init__(self) -> None:
        self.remaining = self.amount


@dataclass
class Fleet:
    """Ships sailing one link at a headway, each sailing taking up to `capacity` (None: any)."""

    ident: str
    headway_hours: float
    capacity: float | None
    sailing_hours: Callable[[np.random.Generator], float]
    delay_probability: float = 0.0
    delay_mean_hours: float = 0.0
    loads: list[tuple[float, float]] = field(default_factory=list)  # (time, load / capacity)
    left_behind: list[tuple[float, int]] = field(default_factory=list)


class SailingLine:
    """One direction of a ferry or ship link: a queue at the port and the fleets that sail it.

    Each sailing takes shipments first come, first served until it is full; a shipment larger
    than what is left sails in parts (a block train's containers on two ships) and goes on when
    its last part has sailed.
    """

    def __init__(self, ident: str, link: str, from_node: str, to_node: str) -> None:
        self.id = ident
        self.link = link
        self.from_node = from_node
        self.to_node = to_node
        self.queue: deque[Boarding] = deque()
        self.fleets: list[Fleet] = []
        self.departures: list[float] = []
        # (first sailing after asking, sailed at): the wait for lack of room, not for the headway
        self.waits: list[tuple[float, float]] = []
        # cargo of shipments that chose a route over this line and have not yet sailed
        self.committed = 0.0

    @property
    def capacity_per_hour(self) -> float:
        """What the line's fleets carry an hour at their headways (inf: a fleet without limit)."""
        return sum(
            math.inf if f.capacity is None else f.capacity / f.headway_hours for f in self.fleets
        )

    def expected_wait(self, after: float, amount: float) -> float:
        """Hours a shipment reaching the port in `after` hours would queue for room: the cargo
        committed ahead of it that the fleets have not carried away by then."""
        rate = self.capacity_per_hour
        if math.isinf(rate) or rate <= 0:
            return 0.0
        return max(0.0, (self.committed + amount) / rate - after)

    def board(self, env: simpy.Environment, amount: float) -> simpy.Event:
        """Join the queue; the returned event fires with the sailing's hours when it sails."""
        event = env.event()
        self.queue.append(Boarding(amount, env.now, event))
        return event

    def sail(
        self, env: simpy.Environment, fleet: Fleet, rng: np.random.Generator
    ) -> simpy.events.ProcessGenerator:
        """The fleet's departures: every headway (first at a random offset), weather permitting."""
        nominal = float(rng.uniform(0.0, fleet.headway_hours))
        while True:
            delay = 0.0
            if fleet.delay_probability > 0 and rng.random() < fleet.delay_probability:
                delay = float(rng.exponential(fleet.delay_mean_hours))
            departure = nominal + delay
            if departure > env.now:
                yield env.timeout(departure - env.now)
            self._depart(env, fleet, rng)
            nominal += fleet.headway_hours

    def _depart(self, env: simpy.Environment, fleet: Fleet, rng: np.random.Generator) -> None:
        room = math.inf if fleet.capacity is None else fleet.capacity
        hours = fleet.sailing_hours(rng)
        self.departures.append(env.now)
        loaded = 0.0
        while self.queue and room > EPS:
            b = self.queue[0]
            take = min(b.remaining, room)
            b.remaining -= take
            room -= take
            loaded += take
            if b.remaining <= EPS:
                self.queue.popleft()
                b.sailed.succeed(hours)
                first = self.departures[bisect_left(self.departures, b.asked_at)]
                self.waits.append((first, env.now))
        if fleet.capacity is not None:
            fleet.loads.append((env.now, loaded / fleet.capacity))
        fleet.left_behind.append((env.now, len(self.queue)))

    def usage(self, fleet: Fleet, window: Window) -> Usage:
        util = [u for t, u in fleet.loads if t in window]
        queue = [float(q) for t, q in fleet.left_behind if t in window]
        waits = [s - a for a, s in self.waits if a in window]
        return Usage(util, queue, float(sum(waits)), len(waits))


class LocomotivePool:
    """Locomotives that haul trains over a group of links and come back: a SimPy resource of
    `count` units; a train holds one over the links and for the turnaround after them."""

    def __init__(self, env: simpy.Environment, ident: str, count: int, turnaround: float) -> None:
        self.id = ident
        self.count = count
        self.turnaround = turnaround
        self.resource = simpy.Resource(env, capacity=count)
        self.changes: list[tuple[float, int]] = [(0.0, 0)]
        self.arrivals: list[float] = []
        self.starts: list[float] = []

    def taken(self, env: simpy.Environment, asked_at: float) -> None:
        self.arrivals.append(asked_at)
        self.starts.append(env.now)
        self.changes.append((env.now, self.resource.count))

    def give_back(self, env: simpy.Environment, request: Request) -> None:
        self.resource.release(request)
        self.changes.append((env.now, self.resource.count))

    def usage(self, window: Window) -> Usage:
        times = np.asarray([t for t, _ in self.changes])
        in_use = np.asarray([n for _, n in self.changes], dtype=np.float64)
        util: list[float] = []
        for d in range(window.days):
            lo = window.start + d * HOURS_PER_DAY
            hi = min(lo + HOURS_PER_DAY, window.end)
            util.append(_time_weighted(times, in_use, lo, hi) / self.count)
        samples = np.asarray([window.start + (d + 0.5) * HOURS_PER_DAY for d in range(window.days)])
        queue = _queue_series(self.arrivals, self.starts, samples)
        waits = [s - a for a, s in zip(self.arrivals, self.starts, strict=True) if a in window]
        return Usage(util, [float(q) for q in queue], float(sum(waits)), len(waits))

    def expected_wait(self, hold_hours: float) -> float:
        """Hours a train asking now would wait for a locomotive, each held `hold_hours`."""
        ahead = len(self.resource.queue) + 1 - (self.count - self.resource.count)
        return max(0, ahead) * hold_hours / self.count

    def peak_in_use(self) -> int:
        return max(n for _, n in self.changes)


def _time_weighted(times: np.ndarray, values: np.ndarray, lo: float, hi: float) -> float:
    """Mean of a step function (value[i] from times[i] on) over [lo, hi)."""
    if hi <= lo:
        return 0.0
    edges = np.concatenate([[lo], times[(times > lo) & (times < hi)], [hi]])
    idx = np.searchsorted(times, edges[:-1], side="right") - 1
    level = values[np.clip(idx, 0, len(values) - 1)]
    return float(np.sum(level * np.diff(edges)) / (hi - lo))
