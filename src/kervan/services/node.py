"""The node's working parts handed to every use case, and setting up organisations with keys.

A `NodeContext` holds the session factory, the corridor network and planner, the key files and
the clock. Registering an organisation stores it with a fresh Ed25519 signing key (and an ES256
key for permit authorities, whose e-Permit QR codes the standard signs with ES256); the private
key goes to the key files only, its public half to the trust list.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kervan.customs.offices import CustomsOffices
from kervan.documents.keys import Ed25519Signer, Es256Signer
from kervan.errors import KeyFileError
from kervan.ledger.log import Ledger
from kervan.ledger.merkle import MerkleTree
from kervan.network.model import Network
from kervan.routing.planner import Planner
from kervan.settings import Settings
from kervan.store.keyfiles import KeyFileStore
from kervan.store.repositories.ledger import SqlLedgerStore
from kervan.store.repositories.organisations import (
    Organisation,
    OrganisationKind,
    OrganisationRepository,
)
from kervan.store.repositories.signing_keys import SigningKeyRepository
from kervan.store.tables import OrganisationRow, SigningKeyRow

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
    _signers: dict[tuple[str, str], Ed25519Signer | Es256Signer] = field(default_factory=dict)
    _offices: CustomsOffices | None = None
    _tree: MerkleTree | None = None
    _tree_lock: threading.Lock = field(default_factory=threading.Lock)

    def customs_offices(self) -> CustomsOffices:
        """The customs offices of the network's countries (built once)."""
        if self._offices is None:
            self._offices = CustomsOffices(self.network)
        return self._offices

    def signer(
        self, session: Session, org_id: str, alg: str = "EdDSA"
    ) -> Ed25519Signer | Es256Signer:
        """The organisation's current key of `alg` (looked up in this unit of work, loaded from
        the key files once and kept while it stays current)."""
        kids = session.scalars(
            select(SigningKeyRow.kid)
            .where(
                SigningKeyRow.org_id == org_id,
                SigningKeyRow.alg == alg,
                SigningKeyRow.revoked_at.is_(None),
                SigningKeyRow.superseded_at.is_(None),
            )
            .order_by(SigningKeyRow.not_before.desc())
        ).all()
        for kid in kids:
            cached = self._signers.get((org_id, kid))
            if cached is not None:
                return cached
            if kid in self.keys.kids(org_id):
                signer = self.keys.load(org_id, kid)
                self._signers[(org_id, kid)] = signer
                return signer
        raise KeyFileError(f"no current {alg} key of {org_id!r} is held by this node")

    def ledger(self, session: Session, org_id: str) -> Ledger:
        """The node's ledger in this unit of work, locked for appending, tagged with `org_id`.

        The Merkle tree is kept in the process and brought up to date with the leaves stored
        since (other workers append too); a tree that got ahead of the store (a transaction
        rolled back) or apart from it is rebuilt. The append lock (PostgreSQL advisory lock,
        SQLite's one writer) keeps one transaction at a time on the tree.
        """
        store = SqlLedgerStore(session, org_id=org_id)
        store.lock_for_append()
        with self._tree_lock:
            count = store.count()
            tree = self._tree
            in_step = (
                tree is not None
                and tree.size <= count
                and (
                    tree.size == 0
                    or store.leaf_hashes_from(tree.size - 1)[0] == tree.leaf(tree.size - 1)
                )
            )
            if tree is None or not in_step:
                tree = MerkleTree(store.leaf_hashes())
            else:
                for leaf in store.leaf_hashes_from(tree.size):
                    tree.append_leaf_hash(leaf)
            self._tree = tree
        return Ledger(store, self.signer(session, self.settings.node_id), tree=tree)


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
    if session.get(OrganisationRow, settings.node_id) is not None:
        return
    node = Organisation(
        id=settings.node_id,
        name=f"Kervan node {settings.node_id}",
        country=settings.node_country,
        kind=OrganisationKind.ADMINISTRATOR,
        created_at=utc_now(),
    )
    register_organisation(session, keys, node, node.created_at)
