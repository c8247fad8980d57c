"""The ledger's sequencer: steps commit their events as pending, batches append them (group commit).

Appending to the node's log needs the append lock (one writer at a time, so log indexes and
chain links never fork) from the append until the commit. When every step appended its own
entry, every step waited for every other step's commit in line. Now a step only inserts its
event into `ledger_pending`, in its own transaction and without the lock, and then waits for a
batch of the sequencer to carry it into the log:

- The first waiting request of a process leads: it takes the append lock, appends every
  committed pending event in id order (a document's events in the order of its steps) and
  deletes them, in one transaction. Requests that committed meanwhile wait for the leader and
  are carried by the next batch: one lock hold and one commit for many events.
- A batch sees every event committed before it began, so a request is done once a batch that
  began after its commit has committed; another worker's batch may have carried its event.
- An event still pending after a failed batch (or a crash between a step's commit and its
  batch) is carried by the next batch; the node also sweeps pending events when it starts and
  every few seconds.

A server need not hold a request thread while the request waits for its batch: inside
`waiting_deferred()` a committed step only marks the wait as owed, and the server awaits
`caught_up()` on its event loop before it answers (batches then run on a thread of their own).
The answer still goes out only once the step's events are in the log.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Final

from anyio import CapacityLimiter, to_thread
from sqlalchemy.orm import Session, sessionmaker

from kervan.ledger.log import Ledger
from kervan.services.node_log import NodeLog
from kervan.signatures.keys import Signer
from kervan.store.db import read_only, unit_of_work
from kervan.store.repositories.ledger import SqlLedgerStore
from kervan.store.repositories.ledger_pending import PendingEvent, PendingLedgerEvents

#: Events appended per batch at most (a longer backlog takes several batches in a row).
BATCH_LIMIT: Final = 500

_log = logging.getLogger(__name__)


class LedgerSequencer:
    """Carries the node's pending ledger events into its log, in batches."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        log: NodeLog,
        key: Callable[[Session], Signer],
        batch_limit: int = BATCH_LIMIT,
    ) -> None:
        self._sessions = sessions
        self._log = log
        self._key = key
        self._batch_limit = batch_limit
        self._leader = threading.Lock()
        self._started = 0  # batches begun by this process
        self._finished = 0  # the latest of them that committed
        self._carried = (0, 0)  # committed batches that carried events, and those events
        self._batch_thread = CapacityLimiter(1)
        self._running: tuple[asyncio.AbstractEventLoop, asyncio.Future[bool]] | None = None

    @property
    def carried(self) -> tuple[int, int]:
        """(batches, events): what this process's committed batches carried into the log."""
        return self._carried

    def catch_up(self) -> None:
        """Return once every event committed before the call is in the log (see the module).

        A failed batch is logged, not raised: the events it held stay pending, committed with
        their steps, and the next batch carries them.
        """
        ticket = self._started
        while self._finished <= ticket:
            if not self._lead(ticket):
                return

    async def caught_up(self) -> None:
        """`catch_up` for an event loop: wait without holding a thread; concurrent waiters
        share one batch at a time, run on the sequencer's own thread."""
        ticket = self._started
        loop = asyncio.get_running_loop()
        while self._finished <= ticket:
            running = self._running
            if running is None or running[0] is not loop or running[1].done():
                batch = asyncio.ensure_future(
                    to_thread.run_sync(self._lead, ticket, limiter=self._batch_thread)
                )
                self._running = running = (loop, batch)
            # Shielded: a request that goes away must not cancel the batch others wait for.
            if not await asyncio.shield(running[1]):
                return

    def _lead(self, ticket: int) -> bool:
        """Run one batch unless one that began after `ticket` has committed meanwhile; False
        when the batch failed (logged; its events stay pending)."""
        with self._leader:
            if self._finished > ticket:
                return True
            self._started += 1
            number = self._started
            try:
                self._drain()
            except Exception:
                _log.exception("ledger sequencer batch failed; its events stay pending")
                return False
            self._finished = number
            return True

    def sweep(self) -> int:
        """Carry whatever is pending now (at start-up, and periodically); return how many."""
        with self._leader:
            self._started += 1
            number = self._started
            carried = self._drain()
            self._finished = number
            return carried

    def sweep_if_pending(self) -> int:
        """`sweep` when a read (no lock) finds events pending; return how many were carried."""
        with read_only(self._sessions) as session:
            if not PendingLedgerEvents(session).count():
                return 0
        return self.sweep()

    def _drain(self) -> int:
        carried = 0
        while True:
            with unit_of_work(self._sessions) as session:
                count = self._batch(session)
            if count:
                batches, events = self._carried
                self._carried = (batches + 1, events + count)
            carried += count
            if count < self._batch_limit:
                return carried

    def _batch(self, session: Session) -> int:
        """Take the committed pending events (up to the limit) and append them."""
        store = SqlLedgerStore(session, org_id="")
        store.lock_for_append()
        events = PendingLedgerEvents(session).take(self._batch_limit)
        if not events:
            return 0
        tree = self._log.for_append(store)
        key = self._key(session)
        by_owner: dict[str, list[PendingEvent]] = {}
        for item in events:
            by_owner.setdefault(item.org_id, []).append(item)
        # A document has one owner, so its events stay in step order within the owner's group.
        for owner, items in by_owner.items():
            chains = SqlLedgerStore(session, org_id=owner, count=tree.size, buffered=True)
            chains.prefetch([item.document_id for item in items])
            ledger = Ledger(chains, key, tree=tree)
            for item in items:
                chain = chains.entries_for_document(item.document_id)
                at = item.recorded_at
                if chain and at < chain[-1].recorded_at:
                    # Steps of one document are serialised, so only a clock set back gets here;
                    # the chain never goes back in time.
                    at = chain[-1].recorded_at
                ledger.append_digest(item.document_id, item.event_type, item.payload_digest, at)
            chains.flush()
        return len(events)


class LedgerWait:
    """Whether the steps committed in a deferred context owe a wait for the ledger."""

    __slots__ = ("owed",)

    def __init__(self) -> None:
        self.owed = False

    def mark(self) -> None:
        self.owed = True


_DEFERRED: ContextVar[LedgerWait | None] = ContextVar("kervan_ledger_wait", default=None)


@contextmanager
def waiting_deferred() -> Iterator[LedgerWait]:
    """Within the block (and threads started from its context), a committed step does not
    wait for the sequencer: it marks the returned wait as owed, and whoever opened the block
    must `await sequencer.caught_up()` before answering when it is."""
    wait = LedgerWait()
    token = _DEFERRED.set(wait)
    try:
        yield wait
    finally:
        _DEFERRED.reset(token)


def after_commit_wait(sequencer: LedgerSequencer) -> Callable[[], None]:
    """What a step runs once its unit of work commits: wait for the sequencer, or only mark
    the wait as owed inside `waiting_deferred()`."""
    deferred = _DEFERRED.get()
    return sequencer.catch_up if deferred is None else deferred.mark
