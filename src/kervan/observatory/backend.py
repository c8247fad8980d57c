"""Where Monte Carlo replications run; kept free of imports so the command line can offer the
choice without loading the simulator."""

from __future__ import annotations

from enum import StrEnum


class Backend(StrEnum):
    SEQUENTIAL = "sequential"
    PROCESS = "process"
    RAY = "ray"
