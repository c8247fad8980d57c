"""The ASGI entry point uvicorn loads (`kervan serve`): the app on the configured node, in a
process tuned for serving it.

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
against 115-234 ms.
"""

import gc
import sys
from typing import Final

from kervan.api.app import create_app

SWITCH_INTERVAL_S: Final = 0.001
GC_THRESHOLDS: Final = (20_000, 50, 1_000)

sys.setswitchinterval(SWITCH_INTERVAL_S)
gc.set_threshold(*GC_THRESHOLDS)
app = create_app()
