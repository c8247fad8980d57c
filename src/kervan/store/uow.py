"""The unit of work: one transaction over the store, and the repositories that share it.

A use case in `services/` opens it, reads and writes only through its repositories (and the
outbox, for what crosses a border), and commits by leaving the block; an exception rolls every
write back. Adapters (API routes, web pages, CLI commands, node message handlers) build a
command and call one use case; they never open a transaction themselves.

    with UnitOfWork(sessions) as uow:
        document = uow.documents.get(org_ids, document_id)

Every use case has the shape `use_case(uow, caller, command)`:
- `uow` is built by the adapter (`NodeContext.unit_of_work()`) and entered by the use case
  (`with uow:`, or `with uow.for_reading():` for a read-only snapshot). A node's unit of work
  (services.node.NodeUnitOfWork) also carries the node (`uow.node`: clock, network and
  planner, keys, ledger); and, for a request that sent an
  Idempotency-Key, `uow.once`: the use case answers it in its own transaction
  (services.idempotency), so the remembered answer commits with the writes or not at all.
- `caller` is a services.access.Caller already known (command line, tests, a web page that
  identified its person) or the request's Credentials, which the use case checks inside its
  own transaction (services.access.identify): no second transaction, no extra round trip.
- `command` is what the adapter parsed: a pydantic model or a small frozen dataclass.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from functools import cached_property
from types import TracebackType
from typing import Self

from sqlalchemy.orm import Session, sessionmaker

from kervan.store.db import read_only, read_snapshot, unit_of_work
from kervan.store.keyfiles import KeyFileStore
from kervan.store.repositories.audit import AuditRepository
from kervan.store.repositories.credentials import CredentialRepository
from kervan.store.repositories.customs import CustomsRepository
from kervan.store.repositories.documents import DocumentRepository
from kervan.store.repositories.epermit_network import EpermitNetworkRepository
from kervan.store.repositories.idempotency import IdempotencyRepository, StoredResponse
from kervan.store.repositories.ledger import SqlLedgerStore, TreeHeadRepository
from kervan.store.repositories.logins import LoginRepository
from kervan.store.repositories.organisations import OrganisationRepository
from kervan.store.repositories.outbox import OutboxRepository
from kervan.store.repositories.permits import PermitRepository
from kervan.store.repositories.shipment_documents import ShipmentDocumentRepository
from kervan.store.repositories.shipments import ShipmentRepository
from kervan.store.repositories.signing_keys import SigningKeyRepository
from kervan.store.repositories.witness import WitnessRepository


@dataclasses.dataclass(slots=True)
class AnswerOnce:
    """A request carrying an Idempotency-Key: its key, the digest of what was asked and the
    status its answer gets. The use case looks the key up in its own transaction and remembers
    its answer there (services.idempotency); `replayed` is the stored answer when the key had
    been answered before (the use case did nothing else)."""

    key: str
    request_digest: str
    status_code: int
    replayed: StoredResponse | None = None


class UnitOfWork:
    """One transaction (or, with `reading=True`, one read-only snapshot) and its repositories.

    In: the node's session factory. Entering opens the transaction; leaving commits it, or
    rolls it back when the block raises. A unit of work is entered once.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        reading: bool = False,
        clock: Callable[[], datetime] | None = None,
        keys: KeyFileStore | None = None,
        once: AnswerOnce | None = None,
    ) -> None:
        self._sessions = sessions
        self._reading = reading
        self._snapshot = False
        self._opened: AbstractContextManager[Session] | None = None
        self._session: Session | None = None
        self._clock = clock
        self._keys = keys
        self.once = once
        self._joined: Session | None = None

    @classmethod
    def joining(cls, session: Session) -> UnitOfWork:
        """A unit of work over a transaction that is open already (the inbox's, applying a
        received message): entering it joins that transaction, leaving it neither commits nor
        rolls back."""
        uow = UnitOfWork(sessionmaker(bind=session.get_bind()))
        uow._joined = uow._session = session
        return uow

    def joined(self) -> Self:
        """A unit of work inside this open one (same transaction, same node and clock), for a
        use case that runs as part of another: entering and leaving it neither commits nor
        rolls back, and it answers no Idempotency-Key of its own."""
        inner = copy.copy(self)  # the repositories already made share this transaction
        inner._joined = inner._session = self.session
        inner._opened = None
        inner.once = None
        return inner

    def __enter__(self) -> Self:
        if self._opened is not None:
            raise RuntimeError("a unit of work is entered once")
        if self._joined is not None:
            self._opened = nullcontext(self._joined)
        elif self._snapshot:
            self._opened = read_snapshot(self._sessions)
        elif self._reading:
            self._opened = read_only(self._sessions)
        else:
            self._opened = unit_of_work(self._sessions)
        self._session = self._opened.__enter__()
        return self

    def for_reading(self) -> Self:
        """This unit of work as a read-only snapshot (a use case that only reads says so before
        it opens it: no write lock, no BEGIN and COMMIT round trips on PostgreSQL; bench/api.py:
        verify 922-942/s vs 781-859/s)."""
        if self._opened is not None:
            raise RuntimeError("a unit of work is made read-only before it is entered")
        self._reading = True
        return self

    def for_one_snapshot(self) -> Self:
        """This unit of work as one consistent read-only snapshot of the whole store (tables
        read one after another still agree: PostgreSQL REPEATABLE READ), for a use case that
        reads much and writes nothing, such as the node's audit."""
        self.for_reading()
        self._snapshot = True
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        opened, self._opened = self._opened, None
        self._session = self._joined
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

    @property
    def keys(self) -> KeyFileStore:
        """The node's key files, where an organisation's new private keys are written (they
        never leave them)."""
        if self._keys is None:
            raise RuntimeError("this unit of work was built without the node's key files")
        return self._keys

    def clock(self) -> datetime:
        """Now, by the node's clock (the wall clock in UTC for a unit of work built without
        one: an administrator's command line)."""
        return self._clock() if self._clock is not None else datetime.now(UTC)

    @cached_property
    def audit(self) -> AuditRepository:
        return AuditRepository(self.session)

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
    def epermit_network(self) -> EpermitNetworkRepository:
        return EpermitNetworkRepository(self.session)

    @cached_property
    def signing_keys(self) -> SigningKeyRepository:
        return SigningKeyRepository(self.session)

    @cached_property
    def tree_heads(self) -> TreeHeadRepository:
        return TreeHeadRepository(self.session)

    def ledger_store(self, org_id: str) -> SqlLedgerStore:
        """The node's ledger entries, read (and appended) as `org_id`'s."""
        return SqlLedgerStore(self.session, org_id=org_id)

    @cached_property
    def idempotency(self) -> IdempotencyRepository:
        return IdempotencyRepository(self.session)

    @cached_property
    def shipments(self) -> ShipmentRepository:
        return ShipmentRepository(self.session)

    @cached_property
    def shipment_documents(self) -> ShipmentDocumentRepository:
        return ShipmentDocumentRepository(self.session)

    @cached_property
    def witness(self) -> WitnessRepository:
        return WitnessRepository(self.session)

    @cached_property
    def credentials(self) -> CredentialRepository:
        return CredentialRepository(self.session)

    @cached_property
    def logins(self) -> LoginRepository:
        """Tokens ended by logout and wrong logins (throttling)."""
        return LoginRepository(self.session)

    @cached_property
    def outbox(self) -> OutboxRepository:
        """Cross-border messages written with this transaction (relayed after it commits)."""
        return OutboxRepository(self.session)

    @cached_property
    def customs(self) -> CustomsRepository:
        return CustomsRepository(self.session)
