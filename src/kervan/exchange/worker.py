"""A node's worker thread: its database work runs there, off the event loop, one piece at a
time, and a node that stops waits for the piece under way (a transaction must not outlive the
store it runs on)."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from typing import Any, TypeVar

_T = TypeVar("_T")


class Worker:
    """One thread running blocking work for the event loop, in the order it was handed."""

    def __init__(self, name: str) -> None:
        self._pool = concurrent.futures.ThreadPoolExecutor(1, name)
        self._working: set[concurrent.futures.Future[Any]] = set()

    async def run(self, work: Callable[..., _T], *args: object) -> _T:
        """Run `work(*args)` in the thread and return its result (or raise its error)."""
        future = self._pool.submit(work, *args)
        self._working.add(future)
        future.add_done_callback(self._working.discard)
        return await asyncio.wrap_future(future)

    async def settle(self) -> None:
        """Wait for the work under way (even when whoever awaited it was cancelled)."""
        working = set(self._working)
        if working:
            await asyncio.to_thread(concurrent.futures.wait, working)
