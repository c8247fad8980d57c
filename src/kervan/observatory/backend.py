"""Where Monte Carlo replications run; kept free of heavy imports so the command line can offer
the choice without loading the simulator (or Ray)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Backend(StrEnum):
    SEQUENTIAL = "sequential"
    PROCESS = "process"
    RAY = "ray"


#: `--ray-address local`: start a Ray instance in this process with `workers` CPUs.
RAY_LOCAL = "local"


@dataclass(frozen=True)
class Runner:
    """How replications are run: the backend, how many processes (a process pool's workers, or
    the CPUs of a local Ray instance; None: every core) and, for Ray, which cluster: "local",
    "auto" (the cluster this machine belongs to, as `ray start` left it) or an address
    ("ray://head:10001" or "head:6379")."""

    backend: Backend = Backend.PROCESS
    workers: int | None = None
    ray_address: str = RAY_LOCAL
