"""The ASGI entry point uvicorn loads (`kervan serve`, and each worker process of
`kervan serve --workers N` or `uvicorn kervan.api.asgi:app`): the app on the configured node, in
a process tuned for serving it.

The tuning is applied when the server asks for `app`, not when this module is imported, so a
test, a script or a command that imports the API does not change its own interpreter:

- A node answers its requests on the event loop and writes ledger batches on a thread of its
  own (see `LedgerSettled`); every answer that signed something waits for a batch. With
  CPython's default 5 ms switch interval a busy loop kept the batch thread waiting for the GIL
  after each of its round trips to the database, so batches, and the answers waiting for
  them, took several intervals. At 1 ms they do not.
- The collector's youngest generation ran every 700 net new container objects, many times a
  second under load, and full passes often enough to show in the tail latency; the thresholds
  are raised so garbage cycles are still collected, in fewer and larger passes.

Interleaved A/B on PostgreSQL (bench/api.py seeds, 3 rounds each): issue+sign 182-284 against
170-226 operations/s with the switch interval alone; with the thresholds as well, p99 120-134
against 115-234 ms; at 12 connections, issue+sign p99 84-130 against 169-184 ms.
"""

from __future__ import annotations

import gc
import sys
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from fastapi import FastAPI

SWITCH_INTERVAL_S: Final = 0.001
GC_THRESHOLDS: Final = (20_000, 50, 1_000)


def tune_for_serving() -> None:
    """Set this process's GIL switch interval and collector thresholds for serving (see above)."""
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    gc.set_threshold(*GC_THRESHOLDS)


def serving_app() -> FastAPI:
    """Tune this process for serving, then build the app on the configured node."""
    from kervan.api.app import create_app  # noqa: PLC0415 (built when served, not on import)

    tune_for_serving()
    return create_app()


def __getattr__(name: str) -> FastAPI:
    # `kervan.api.asgi:app`, as uvicorn and each of its workers load it: built once, on demand.
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    app = serving_app()
    globals()["app"] = app
    return app
