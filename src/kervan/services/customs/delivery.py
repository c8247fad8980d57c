"""Every authority on one node: a message for an authority whose keys this node holds is
delivered right after the sender's unit of work commits, through the receiver's inbox
(signature checked against the store's trust list, applied once, in channel order) to the
customs handlers, so an officer's next look already shows it. Messages for authorities of
other nodes stay in the outbox for the relay and the broker.
"""

from __future__ import annotations

import logging
import threading
import weakref
from typing import Final

from sqlalchemy.orm import Session, sessionmaker

from kervan.exchange.inbox import Inbox, Receipt
from kervan.services.customs.handlers import message_handler
from kervan.services.node import NodeContext
from kervan.store.db import after_unit_of_work
from kervan.store.uow import UnitOfWork

log = logging.getLogger(__name__)
_BATCH: Final = 100
_ROUNDS: Final = 50


class LocalDelivery:
    """Delivers the outbox's messages to the authorities hosted on this node (one at a time
    per process; a message taken by another process is skipped)."""

    def __init__(self, node: NodeContext) -> None:
        self._node = node
        self._lock = threading.Lock()

    def hosted(self) -> set[str]:
        """The authorities whose signing keys this node holds."""
        keys = self._node.keys
        if not keys.directory.is_dir():
            return set()
        return {p.name for p in keys.directory.iterdir() if p.is_dir() and keys.kids(p.name)}

    def deliver(self) -> list[Receipt]:
        """Deliver what waits for hosted authorities, until nothing does; out, the receipts."""
        receipts: list[Receipt] = []
        with self._lock:
            hosted = self.hosted()
            for _ in range(_ROUNDS):
                done = self._round(hosted)
                if not done:
                    break
                receipts.extend(done)
        return receipts

    def _round(self, hosted: set[str]) -> list[Receipt]:
        clock = self._node.clock
        handler = message_handler(clock, self._node)
        receipts: list[Receipt] = []
        with UnitOfWork(self._node.sessions) as uow:
            waiting = uow.outbox.waiting_for(hosted, _BATCH)
            if not waiting:
                return receipts
            trust = uow.signing_keys.trust_list()
            for message in waiting:
                if uow.outbox.mark_sent(message.sender, [message.message_id], clock()) == 0:
                    continue
                inbox = Inbox(message.receiver, trust, handler, clock=clock)
                receipts.append(inbox.receive(uow.session, message.body.encode("utf-8")))
        return receipts

    def __call__(self) -> None:
        try:
            self.deliver()
        except Exception:
            # The sender's work is committed; what was not delivered waits for the next round.
            log.exception("delivering to this node's authorities failed; messages wait")


_DELIVERIES: weakref.WeakKeyDictionary[sessionmaker[Session], LocalDelivery] = (
    weakref.WeakKeyDictionary()
)
_GUARD = threading.Lock()


def local_delivery(node: NodeContext) -> LocalDelivery:
    """The node's delivery (one per store)."""
    with _GUARD:
        found = _DELIVERIES.get(node.sessions)
        if found is None:
            found = _DELIVERIES[node.sessions] = LocalDelivery(node)
        return found


def deliver_after_commit(uow: UnitOfWork, node: NodeContext) -> None:
    """Deliver to this node's authorities once `uow` has committed (not if it rolls back)."""
    after_unit_of_work(uow.session, local_delivery(node))
