"""The node's working parts handed to every use case, and setting up organisations with keys.

A `NodeContext` holds the session factory, the corridor network and planner, the key files and
the clock. Registering an organisation stores it with a fresh Ed25519 signing key (and an ES256
key for permit authorities, whose e-Permit QR codes the standard signs with ES256); the private
key goes to the key files only, its public half to the trust list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from kervan.customs.offices import CustomsOffices
from kervan.errors import InvalidRequestError, KeyFileError
from kervan.ledger.chain import check_event
from kervan.ledger.log import Ledger
from kervan.ledger.merkle import MerkleTree
from kervan.ledger.sth import SignedTreeHead, sign_tree_head
from kervan.network.model import Network
from kervan.routing.planner import Planner
from kervan.services.ledger_sequencer import LedgerSequencer, after_commit_wait
from kervan.services.node_log import NodeLog
from kervan.services.throttle import TokenBucket
from kervan.settings import Settings
from kervan.signatures.canonical import canonical_digest_hex
from kervan.signatures.keys import Ed25519Signer, Es256Signer
from kervan.store.db import after_unit_of_work, read_only
from kervan.store.keyfiles import KeyFileStore
from kervan.store.repositories.ledger import SqlLedgerStore, TreeHeadRepository
from kervan.store.repositories.ledger_pending import PendingLedgerEvents, event_params
from kervan.store.repositories.organisations import (
    Organisation,
    OrganisationKind,
    OrganisationRepository,
)
from kervan.store.repositories.signing_keys import SigningKeyRepository
from kervan.store.uow import AnswerOnce, UnitOfWork

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class NodeContext:
    """Everything a use case needs besides the caller."""

    settings: Settings
    sessions: sessionmaker[Session]
    network: Network
    planner: Planner
    keys: KeyFileStore
    clock: Clock = utc_now
    log: NodeLog = field(default_factory=NodeLog)
    #: Requests per client a second (None: not limited), counted after authentication.
    request_rate: TokenBucket | None = None
    _signers: dict[tuple[str, str], Ed25519Signer | Es256Signer] = field(default_factory=dict)
    _offices: CustomsOffices | None = None
    _sequencer: LedgerSequencer | None = None

    def unit_of_work(self, once: AnswerOnce | None = None) -> NodeUnitOfWork:
        """A unit of work on this node's store for one use case (not entered: the use case
        opens it), remembering its answer under `once`'s Idempotency-Key when given."""
        return NodeUnitOfWork(self, once)

    def customs_offices(self) -> CustomsOffices:
        """The customs offices of the network's countries (built once)."""
        if self._offices is None:
            self._offices = CustomsOffices(self.network)
        return self._offices

    def signer(
        self, session: Session, org_id: str, alg: str = "EdDSA", *, current: str | None = None
    ) -> Ed25519Signer | Es256Signer:
        """The organisation's current key of `alg` (looked up in this unit of work, loaded from
        the key files once and kept while it stays current). `current` is the newest current
        key id when the caller already read it in this unit of work (saves the lookup)."""
        if current is not None:
            held = self._held(org_id, current)
            if held is not None:
                return held
        for kid in SigningKeyRepository(session).current_kids(org_id, alg):
            held = self._held(org_id, kid)
            if held is not None:
                return held
        raise KeyFileError(f"no current {alg} key of {org_id!r} is held by this node")

    def _held(self, org_id: str, kid: str) -> Ed25519Signer | Es256Signer | None:
        cached = self._signers.get((org_id, kid))
        if cached is not None:
            return cached
        if kid in self.keys.kids(org_id):
            signer = self.keys.load(org_id, kid)
            self._signers[(org_id, kid)] = signer
            return signer
        return None

    def ledger(self, session: Session, org_id: str) -> Ledger:
        """The node's ledger in this unit of work, locked for appending, tagged with `org_id`.

        Takes the append lock (PostgreSQL advisory lock, SQLite's one writer) until the
        transaction ends: call it when the rest of the unit of work is done, just before
        appending, to hold the lock briefly. The Merkle tree is the node's in-process one (see
        `NodeLog`), brought up to date with the committed leaves.
        """
        store = SqlLedgerStore(session, org_id=org_id)
        tree: MerkleTree | None = session.info.get(_APPENDING)
        if tree is None:
            store.lock_for_append()
            tree = session.info[_APPENDING] = self.log.for_append(store)
            event.listen(session, "after_transaction_end", _forget_appending)
        else:
            # This unit of work appended already: the tree holds its own uncommitted leaves,
            # which must not be taken for committed ones by catching up again.
            store.known_count(tree.size)
        return Ledger(store, _NodeKey(self, session), tree=tree)

    def record_on_commit(
        self,
        session: Session,
        org_id: str,
        document_id: str,
        event_type: str,
        payload: dict[str, Any],
        at: datetime,
    ) -> None:
        """Record this event on `org_id`'s document with the unit of work, for the ledger.

        The event (its payload's digest) is committed with the step, without the append lock;
        once the unit of work has committed, the call that made it returns only after the
        sequencer has carried the event into the log (see `LedgerSequencer`; inside
        `waiting_deferred()` the wait is left to the caller's event loop). Raises
        InvalidRequestError for a blank id or event type or a naive time.
        """
        values = self.ledger_event(session, org_id, document_id, event_type, payload, at)
        PendingLedgerEvents(session).store(values)

    def ledger_event(
        self,
        session: Session,
        org_id: str,
        document_id: str,
        event_type: str,
        payload: dict[str, Any],
        at: datetime,
    ) -> dict[str, Any]:
        """`record_on_commit` for a step that stores the event itself, in the statement that
        stores its own changes: the pending event's values (`ledger_pending.INSERT_EVENT`).
        The unit of work must store them; the wait for the sequencer is the same."""
        try:
            check_event(document_id, event_type, at)
        except ValueError as exc:
            raise InvalidRequestError(f"cannot record {event_type!r}: {exc}") from exc
        after_unit_of_work(session, after_commit_wait(self.sequencer))
        return event_params(org_id, document_id, event_type, canonical_digest_hex(payload), at)

    def load_ledger(self) -> int:
        """Read the node's Merkle tree from the store now (a node does it when it starts, not
        in the first request that appends or proves); how many entries it holds."""
        with read_only(self.sessions) as session:
            return self.log.committed(SqlLedgerStore(session, org_id="")).size

    @property
    def sequencer(self) -> LedgerSequencer:
        """The node's ledger sequencer (one per process)."""
        if self._sequencer is None:
            self._sequencer = LedgerSequencer(
                self.sessions, self.log, lambda session: _NodeKey(self, session)
            )
        return self._sequencer

    def tree_head_covering(self, index: int) -> tuple[SignedTreeHead, MerkleTree]:
        """A signed tree head that includes ledger entry `index` and the tree to prove it from.

        The latest head is reused while it covers the entry; a new one is signed at the
        committed size and stored, in a unit of work of its own (call it outside one).
        """

        def sign(size: int, root: bytes, session: Session) -> SignedTreeHead:
            head = sign_tree_head(
                size, root, self.clock(), self.signer(session, self.settings.node_id)
            )
            TreeHeadRepository(session).add_once(head)
            return head

        return self.log.head_covering(index, self.sessions, sign)


_APPENDING: Final = "kervan.ledger.appending"


class NodeUnitOfWork(UnitOfWork):
    """A unit of work on a node's store that carries the node itself (`node`: clock, network
    and planner, keys, ledger) for the use cases that sign, plan or tell the time."""

    def __init__(self, node: NodeContext, once: AnswerOnce | None = None) -> None:
        super().__init__(node.sessions, clock=node.clock, keys=node.keys, once=once)
        self.node = node

    @classmethod
    def joining_node(cls, node: NodeContext, session: Session) -> NodeUnitOfWork:
        """A node's unit of work over a transaction that is open already (the inbox's,
        applying a received message): entering it joins that transaction, leaving it neither
        commits nor rolls back."""
        uow = cls(node)
        uow._joined = uow._session = session
        return uow


def _forget_appending(session: Session, transaction: SessionTransaction) -> None:
    """The append lock and the tree's pending leaves end with the unit of work's transaction."""
    if transaction.parent is None:
        session.info.pop(_APPENDING, None)


class _NodeKey:
    """The node's signing key for its ledger, looked up only when a tree head is signed."""

    def __init__(self, ctx: NodeContext, session: Session) -> None:
        self._ctx = ctx
        self._session = session
        self._signer: Ed25519Signer | Es256Signer | None = None

    def _resolved(self) -> Ed25519Signer | Es256Signer:
        if self._signer is None:
            self._signer = self._ctx.signer(self._session, self._ctx.settings.node_id)
        return self._signer

    @property
    def kid(self) -> str:
        return self._resolved().kid

    @property
    def party(self) -> str:
        return self._ctx.settings.node_id

    @property
    def alg(self) -> str:
        return self._resolved().alg

    def sign(self, data: bytes) -> bytes:
        return self._resolved().sign(data)

    def public_jwk(self) -> dict[str, str]:
        return self._resolved().public_jwk()


def register_organisation(
    session: Session,
    keys: KeyFileStore,
    organisation: Organisation,
    at: datetime,
) -> Organisation:
    """Store an organisation and give it signing keys (private in the key files only)."""
    stored = OrganisationRepository(session).add(organisation)
    repository = SigningKeyRepository(session)
    stamp = at.strftime("%Y%m%d%H%M%S")
    # e-Permit QR codes carry their issue date at day precision (iat is 00:00 UTC of issued_at),
    # so a key is trusted from the start of the day it was registered.
    valid_from = at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    signer: Ed25519Signer | Es256Signer = keys.generate(
        organisation.id, f"{organisation.id}-ed-{stamp}"
    )
    repository.add_signer(signer, not_before=valid_from)
    if organisation.kind is OrganisationKind.PERMIT_AUTHORITY:
        es = keys.generate(organisation.id, f"{organisation.id}-es-{stamp}", alg="ES256")
        repository.add_signer(es, not_before=valid_from)
    return stored


def ensure_node_organisation(session: Session, keys: KeyFileStore, settings: Settings) -> None:
    """Register the node itself (it signs the ledger's tree heads) if it is not there yet."""
    if OrganisationRepository(session).find(settings.node_id) is not None:
        return
    node = Organisation(
        id=settings.node_id,
        name=f"Kervan node {settings.node_id}",
        country=settings.node_country,
        kind=OrganisationKind.ADMINISTRATOR,
        created_at=utc_now(),
    )
    register_organisation(session, keys, node, node.created_at)
