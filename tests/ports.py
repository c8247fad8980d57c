"""Ports for servers a test starts in another process (which must bind the number itself).

A port taken with bind(0) and released comes from the kernel's ephemeral range, the same range
every outgoing connection's local port comes from (a database or broker client of the other
test worker, say), so by the time the child binds it, it may be in use: the child then fails
with "address already in use". Ports below the ephemeral range are never handed out that way;
one is picked at random there and checked free, and never twice in a run.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

_TAKEN: set[int] = set()


def _ephemeral_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def free_port() -> int:
    """A loopback TCP port free now, outside the ephemeral range, not handed out before."""
    low, high = 20000, min(_ephemeral_start(), 65536)
    if high - low < 1000:
        low = 10000
    for _ in range(200):
        port = random.randrange(low, high)
        if port in _TAKEN:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        _TAKEN.add(port)
        return port
    raise RuntimeError(f"no free loopback port between {low} and {high}")
