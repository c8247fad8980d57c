"""The unit of work: one transaction over the store, and the repositories that share it.

A use case in `services/` opens it, reads and writes only through its repositories (and the
outbox, for what crosses a border), and commits by leaving the block; an exception rolls every
write back. Adapters (API routes, web pages, CLI commands, node message handlers) build a
command and call one use case; they never open a transaction themselves.

    with UnitOfWork(sessions) as uow:
        document = uow.documents.get(org_ids, document_id)
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from functools import cached_property
from types import TracebackType
from typing import Self

from sqlalchemy.orm import Session, sessionmaker

from kervan.store.db import read_only, unit_of_work
from kervan.store.repositories.customs import CustomsRepository
from kervan.store.repositories.documents import DocumentRepository
from kervan.store.repositories.idempotency import IdempotencyRepository
from kervan.store.repositories.ledger import TreeHeadRepository
from kervan.store.repositories.organisations import OrganisationRepository
from kervan.store.repositories.outbox import OutboxRepository
from kervan.store.repositories.permits import PermitRepository
from kervan.store.repositories.signing_keys import SigningKeyRepository


class UnitOfWork:
    """One transaction (or, with `reading=True`, one read-only snapshot) and its repositories.

    In: the node's session factory. Entering opens the transaction; leaving commits it, or
    rolls it back when the block raises. A unit of work is entered once.
    """

    def __init__(self, sessions: sessionmaker[Session], *, reading: bool = False) -> None:
        self._sessions = sessions
        self._reading = reading
        self._opened: AbstractContextManager[Session] | None = None
        self._session: Session | None = None
        self._joined = False

    @classmethod
    def joining(cls, session: Session) -> UnitOfWork:
        """A unit of work inside a transaction already open (e.g. the inbox's, applying a
        received message): its repositories share `session`; entering and leaving it neither
        commits nor rolls back, the transaction's owner does."""
        joined = cls(sessionmaker(), reading=False)
        joined._session = session
        joined._joined = True
        return joined

    def __enter__(self) -> Self:
        if self._joined:
            return self
        if self._opened is not None:
            raise RuntimeError("a unit of work is entered once")
        self._opened = read_only(self._sessions) if self._reading else unit_of_work(self._sessions)
        self._session = self._opened.__enter__()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._joined:
            return
        opened, self._opened = self._opened, None
        self._session = None
        if opened is not None:
            opened.__exit__(kind, error, trace)

    @property
    def session(self) -> Session:
        """The transaction's session, for repositories (services never run statements on it)."""
        if self._session is None:
            raise RuntimeError("the unit of work is not open")
        return self._session

    @property
    def reading(self) -> bool:
        return self._reading

    @cached_property
    def organisations(self) -> OrganisationRepository:
        return OrganisationRepository(self.session)

    @cached_property
    def documents(self) -> DocumentRepository:
        return DocumentRepository(self.session)

    @cached_property
    def permits(self) -> PermitRepository:
        return PermitRepository(self.session)

    @cached_property
    def signing_keys(self) -> SigningKeyRepository:
        return SigningKeyRepository(self.session)

    @cached_property
    def tree_heads(self) -> TreeHeadRepository:
        return TreeHeadRepository(self.session)

    @cached_property
    def idempotency(self) -> IdempotencyRepository:
        return IdempotencyRepository(self.session)

    @cached_property
    def outbox(self) -> OutboxRepository:
        """Cross-border messages written with this transaction (relayed after it commits)."""
        return OutboxRepository(self.session)

    @cached_property
    def customs(self) -> CustomsRepository:
        return CustomsRepository(self.session)
