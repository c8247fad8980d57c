"""Throttling: wrong logins per account and per source address, and requests per client.

Wrong logins are counted in the node's database (`store.repositories.logins`), so every worker
process of a node sees the same attempts: after `login_failures_allowed` wrong logins of one
account, or from one address, within `login_window_seconds`, further attempts are refused with
`TooManyAttemptsError` (HTTP 429 with Retry-After) before any password is checked, until the
oldest of them leaves the window. A right login clears its account's count (not its address's).

Requests are limited per client in a token bucket of the process, keyed on who the request
proved to be (after authentication: varying a header gets no fresh bucket), or on its address
when it proved nobody.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from kervan.errors import TooManyAttemptsError

if TYPE_CHECKING:
    from kervan.services.node import NodeUnitOfWork

#: Longest account name kept in a throttling key (longer names are cut: still one account).
_NAME_LIMIT = 150


def login_keys(kind: str, name: str, source: str | None) -> tuple[str, ...]:
    """The throttling keys of a login: its account (`kind` "account" or "client") and, when
    known, the address it came from."""
    keys = [f"{kind}:{name.strip().lower()[:_NAME_LIMIT]}"]
    if source:
        keys.append(f"address:{source[:_NAME_LIMIT]}")
    return tuple(keys)


def refuse_when_throttled(uow: NodeUnitOfWork, keys: tuple[str, ...]) -> None:
    """Raise TooManyAttemptsError when any of `keys` has used up its wrong logins in the
    window (in the unit of work, before the password is checked)."""
    settings = uow.node.settings
    now = uow.clock()
    window = timedelta(seconds=settings.login_window_seconds)
    for failures in uow.logins.failures(keys, now - window):
        if failures.count >= settings.login_failures_allowed and failures.first_at is not None:
            wait = (failures.first_at + window - now).total_seconds()
            whose = (
                "from this address" if failures.key.startswith("address:") else "for this account"
            )
            raise TooManyAttemptsError(f"too many wrong logins {whose}", math.ceil(wait))


def record_wrong_login(uow: NodeUnitOfWork, keys: tuple[str, ...]) -> None:
    """Count a wrong login against each of `keys` (the unit of work commits it)."""
    now = uow.clock()
    window = timedelta(seconds=uow.node.settings.login_window_seconds)
    uow.logins.record_failure(keys, now, now - window)


def record_right_login(uow: NodeUnitOfWork, keys: tuple[str, ...]) -> None:
    """A right login clears its account's wrong ones (the first key)."""
    uow.logins.forget_failures(keys[0])


@dataclass
class TokenBucket:
    """Allows `rate` requests a second with bursts up to `burst`, per client key."""

    rate: float
    burst: float
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, key: str) -> float:
        """0 when the request may go ahead, else the seconds to wait."""
        with self._lock:
            now = self.clock()
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate


def take_request(bucket: TokenBucket | None, key: str) -> None:
    """Count a request against `key` in the node's request bucket (None: not limited);
    TooManyAttemptsError when the bucket is empty."""
    if bucket is None:
        return
    wait = bucket.take(key)
    if wait > 0:
        raise TooManyAttemptsError("too many requests", math.ceil(wait))
