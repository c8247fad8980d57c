"""The ledger in SQL: `SqlLedgerStore` implements the core's `LedgerStore`, plus tree heads.

The Merkle log is one per node and holds only digests, so the `LedgerStore` methods the core
`Ledger` calls read the whole log. Reads on behalf of a caller go through
`document_entries(..., org_ids=...)`, which filters by the organisation owning the chain.

Appends must be serialised: call `lock_for_append()` first in the unit of work that builds a
`Ledger` (PostgreSQL: a transaction-scoped advisory lock; SQLite: BEGIN IMMEDIATE already holds
the write lock). A writer that lost a race still cannot fork the log: the log index is the
primary key and (document, seq) is unique, so its insert fails and its transaction rolls back.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any, Final

from sqlalchemy import String, any_, bindparam, func, insert, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kervan.errors import LedgerIntegrityError, NotFoundError
from kervan.ledger.chain import LedgerEntry
from kervan.ledger.log import Ledger
from kervan.ledger.report import Check, VerificationReport
from kervan.ledger.sth import SignedTreeHead
from kervan.signatures.trustlist import TrustList
from kervan.store.db import is_sqlite
from kervan.store.direct import DirectStatement
from kervan.store.repositories._common import visible
from kervan.store.tables import (
    DocumentRow,
    LedgerEntryRow,
    SignedTreeHeadRow,
    table_of,
)

#: Key of the PostgreSQL advisory lock that serialises appends to the node's log.
APPEND_LOCK_KEY: Final = 0x4B455256414E  # "KERVAN"


_LOCK: Final = DirectStatement(text("SELECT pg_advisory_xact_lock(:key)"))
_ENTRIES: Final = table_of(LedgerEntryRow)
_ENTRY_COLUMNS: Final = (
    _ENTRIES.c.log_index,
    _ENTRIES.c.document_id,
    _ENTRIES.c.seq,
    _ENTRIES.c.event_type,
    _ENTRIES.c.payload_digest,
    _ENTRIES.c.previous_entry_hash,
    _ENTRIES.c.recorded_at,
)
_LEAVES_FROM: Final = DirectStatement(
    select(_ENTRIES.c.log_index, _ENTRIES.c.leaf_hash)
    .where(_ENTRIES.c.log_index >= bindparam("start"))
    .order_by(_ENTRIES.c.log_index)
)
_CHAIN: Final = (
    select(*_ENTRY_COLUMNS, _ENTRIES.c.org_id)
    .where(_ENTRIES.c.document_id == bindparam("document_id"))
    .order_by(_ENTRIES.c.seq)
)
_CHAIN_ENTRIES: Final = select(*_ENTRY_COLUMNS, _ENTRIES.c.org_id).order_by(
    _ENTRIES.c.document_id, _ENTRIES.c.seq
)
_CHAINS: Final = _CHAIN_ENTRIES.where(
    _ENTRIES.c.document_id.in_(bindparam("document_ids", expanding=True))
)
# PostgreSQL: the ids as one array parameter, so the statement is the same for any number of
# them (prepared once, run directly).
_CHAINS_OF_ARRAY: Final = DirectStatement(
    _CHAIN_ENTRIES.where(
        _ENTRIES.c.document_id == any_(bindparam("document_ids", type_=ARRAY(String)))
    )
)
_EVENT_ENTRY: Final = DirectStatement(
    select(*_ENTRY_COLUMNS)
    .where(
        _ENTRIES.c.document_id == bindparam("document_id"),
        _ENTRIES.c.event_type == bindparam("event_type"),
    )
    .order_by(_ENTRIES.c.seq)
    .limit(1)
)
_OWNER: Final = (
    select(_ENTRIES.c.org_id).where(_ENTRIES.c.document_id == bindparam("document_id")).limit(1)
)
_INSERT: Final = insert(_ENTRIES)
_INSERTED_COLUMNS: Final = (
    "log_index", "org_id", "document_id", "seq", "event_type", "payload_digest",
    "previous_entry_hash", "entry_hash", "leaf_hash", "recorded_at",
)  # fmt: skip
# PostgreSQL: a batch of entries as one array per column, unnested in step, so the statement is
# the same for any batch size (prepared once, run directly).
_INSERT_ARRAYS: Final = DirectStatement(
    insert(_ENTRIES).from_select(
        list(_INSERTED_COLUMNS),
        select(
            *(
                func.unnest(bindparam(name, type_=ARRAY(_ENTRIES.c[name].type)))
                for name in _INSERTED_COLUMNS
            )
        ),
    )
)


def _entry_of(row: Any) -> LedgerEntry:
    return LedgerEntry(
        log_index=row.log_index,
        document_id=row.document_id,
        seq=row.seq,
        event_type=row.event_type,
        payload_digest=row.payload_digest,
        previous_entry_hash=row.previous_entry_hash,
        recorded_at=row.recorded_at,
    )


class SqlLedgerStore:
    """A `LedgerStore` over the ledger_entries table; appends are owned by `org_id`.

    `org_id` is the organisation whose document chains this unit of work extends; a chain
    never changes owner. `count`, when the caller already knows it (it read the log's committed
    leaves under the append lock), saves counting the table again. A `buffered` store keeps its
    appends until `flush()` writes them in one statement (the sequencer's batches).
    """

    def __init__(
        self, session: Session, *, org_id: str, count: int | None = None, buffered: bool = False
    ) -> None:
        self._session = session
        self._org_id = org_id
        self._count = count
        self._owners: dict[str, str | None] = {}
        # Chains read or extended in this unit of work (appends hold the append lock, so
        # nobody else extends them meanwhile).
        self._chains: dict[str, list[LedgerEntry]] = {}
        self._buffered = buffered
        self._unwritten: list[dict[str, Any]] = []

    def lock_for_append(self) -> None:
        """Take the node's append lock until the transaction ends (no-op on SQLite)."""
        if not is_sqlite(self._session):
            _LOCK.rows(self._session, {"key": APPEND_LOCK_KEY})

    def known_count(self, count: int) -> None:
        """Tell the store how many entries it holds (read under the append lock)."""
        self._count = count

    def append(self, entry: LedgerEntry, leaf_hash: bytes) -> None:
        """Store `entry` at index entry.log_index == count(), with its Merkle leaf hash.

        Raises LedgerIntegrityError when the index is not the next one, the chain belongs to
        another organisation, or another writer took the index first (the caller's transaction
        is then to be rolled back).
        """
        count = self.count()
        if entry.log_index != count:
            raise LedgerIntegrityError(
                "append", f"entry index {entry.log_index} but the store holds {count}"
            )
        if entry.document_id in self._owners:
            owner = self._owners[entry.document_id]
        else:
            owner = self._session.scalar(_OWNER, {"document_id": entry.document_id})
        if owner is not None and owner != self._org_id:
            raise LedgerIntegrityError(
                "owner", f"the chain of {entry.document_id!r} belongs to another organisation"
            )
        row = {
            "log_index": entry.log_index,
            "org_id": self._org_id,
            "document_id": entry.document_id,
            "seq": entry.seq,
            "event_type": entry.event_type,
            "payload_digest": entry.payload_digest,
            "previous_entry_hash": entry.previous_entry_hash,
            "entry_hash": entry.entry_hash(),
            "leaf_hash": leaf_hash.hex(),
            "recorded_at": entry.recorded_at,
        }
        self._unwritten.append(row)
        if not self._buffered:
            self.flush()
        self._count = count + 1
        self._owners[entry.document_id] = self._org_id
        chain = self._chains.get(entry.document_id)
        if chain is not None:
            chain.append(entry)

    def flush(self) -> None:
        """Write the appends a buffered store holds (one statement); raise LedgerIntegrityError
        when another writer took one of their indexes or chain places first (roll back)."""
        if not self._unwritten:
            return
        rows, self._unwritten = self._unwritten, []
        try:
            if is_sqlite(self._session):
                self._session.execute(_INSERT, rows)
            else:
                _INSERT_ARRAYS.run(
                    self._session, {name: [row[name] for row in rows] for name in _INSERTED_COLUMNS}
                )
        except IntegrityError as exc:
            first, last = rows[0]["log_index"], rows[-1]["log_index"]
            raise LedgerIntegrityError(
                "append",
                f"entries {first}..{last} (or their chain places) were appended by another "
                f"writer first; retry the unit of work",
            ) from exc

    def prefetch(self, document_ids: Collection[str]) -> None:
        """Read the chains of `document_ids` in one statement (for appending to many)."""
        wanted = [d for d in dict.fromkeys(document_ids) if d not in self._chains]
        if not wanted:
            return
        chains: dict[str, list[LedgerEntry]] = {d: [] for d in wanted}
        owners: dict[str, str | None] = dict.fromkeys(wanted)
        rows = (
            self._session.execute(_CHAINS, {"document_ids": wanted}).all()
            if is_sqlite(self._session)
            else _CHAINS_OF_ARRAY.rows(self._session, {"document_ids": wanted})
        )
        for row in rows:
            chains[row.document_id].append(_entry_of(row))
            owners[row.document_id] = owners[row.document_id] or row.org_id
        self._chains.update(chains)
        self._owners.update(owners)

    def get(self, index: int) -> LedgerEntry:
        """Return the entry at `index`; raise IndexError if there is none."""
        row = self._session.execute(
            select(*_ENTRY_COLUMNS).where(LedgerEntryRow.log_index == index)
        ).one_or_none()
        if row is None:
            raise IndexError(f"no ledger entry {index}")
        return _entry_of(row)

    def count(self) -> int:
        """Return how many entries are stored."""
        if self._count is None:
            self._count = (
                self._session.scalar(select(func.count()).select_from(LedgerEntryRow)) or 0
            )
        return self._count

    def leaf_hashes(self) -> Iterable[bytes]:
        """Return the stored leaf hashes in index order."""
        return [leaf for _, leaf in self.leaves_from(0)]

    def leaves_from(self, start: int) -> list[tuple[int, bytes]]:
        """Return (log index, leaf hash) of the stored entries from `start` on, in index order."""
        rows = _LEAVES_FROM.rows(self._session, {"start": start})
        result = []
        for index, value in rows:
            try:
                result.append((int(index), bytes.fromhex(value)))
            except ValueError as exc:
                raise LedgerIntegrityError(
                    "leaf_hash", f"stored leaf hash of entry {index} is not hex"
                ) from exc
        return result

    def entries_for_document(self, document_id: str) -> list[LedgerEntry]:
        """Return the document's entries in seq order (empty if none)."""
        chain = self._chains.get(document_id)
        if chain is None:
            rows = self._session.execute(_CHAIN, {"document_id": document_id}).all()
            self._owners[document_id] = rows[0].org_id if rows else None
            chain = self._chains[document_id] = [_entry_of(row) for row in rows]
        return list(chain)

    def entry_for_event(self, document_id: str, event_type: str) -> LedgerEntry | None:
        """Return the document's first entry recording `event_type` (None if there is none)."""
        row = _EVENT_ENTRY.one_or_none(
            self._session, {"document_id": document_id, "event_type": event_type}
        )
        return None if row is None else _entry_of(row)

    def document_entries(self, document_id: str, *, org_ids: Collection[str]) -> list[LedgerEntry]:
        """Return a chain owned by one of the caller's organisations; NotFound otherwise."""
        rows = self._session.scalars(
            select(LedgerEntryRow)
            .where(
                LedgerEntryRow.document_id == document_id,
                LedgerEntryRow.org_id.in_(visible(org_ids)),
            )
            .order_by(LedgerEntryRow.seq)
        ).all()
        if not rows:
            raise NotFoundError("ledger chain", document_id)
        return [_entry_of(row) for row in rows]

    def column_checks(self) -> list[Check]:
        """Check what the core's audit cannot see: the stored entry_hash of every entry, and
        that each chain has one owner, the owner of the document it records (when stored)."""
        rows = self._session.scalars(select(LedgerEntryRow).order_by(LedgerEntryRow.log_index))
        owners: dict[str, set[str]] = {}
        bad_hashes = []
        for row in rows:
            if _entry_of(row).entry_hash() != row.entry_hash:
                bad_hashes.append(row.log_index)
            owners.setdefault(row.document_id, set()).add(row.org_id)
        checks = [
            Check("entry_hashes", False, f"stored entry_hash differs at entries {bad_hashes}")
            if bad_hashes
            else Check("entry_hashes", True, "every stored entry_hash matches its entry")
        ]
        documents = self._session.execute(
            select(DocumentRow.id, DocumentRow.org_id).where(DocumentRow.id.in_(list(owners)))
        ).all()
        document_owners: dict[str, set[str]] = {}
        for document_id, org_id in documents:
            document_owners.setdefault(document_id, set()).add(org_id)
        wrong = sorted(
            document_id
            for document_id, orgs in owners.items()
            if len(orgs) != 1 or not orgs <= document_owners.get(document_id, orgs)
        )
        checks.append(
            Check("chain_owners", False, f"chains with a wrong or mixed owner: {wrong}")
            if wrong
            else Check("chain_owners", True, f"{len(owners)} chains, each with its one owner")
        )
        return checks


def audit_ledger(
    ledger: Ledger,
    store: SqlLedgerStore,
    trust_list: TrustList | None = None,
    tree_heads: Sequence[SignedTreeHead] = (),
) -> VerificationReport:
    """Return the core audit of `ledger` (entries vs leaves, chains, root, tree heads) together
    with the stored-column checks of `store`, as one report."""
    core = ledger.audit(trust_list, tree_heads)
    return VerificationReport(core.subject, (*core.checks, *store.column_checks()))


class TreeHeadRepository:
    """Signed tree heads the node's log issued; public, as a log's heads are."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, head: SignedTreeHead) -> None:
        """Store a signed tree head (insert-only)."""
        self._session.add(
            SignedTreeHeadRow(
                log_id=head.log_id,
                tree_size=head.tree_size,
                timestamp=head.timestamp,
                root_hash=head.root_hash.hex(),
                signature=head.signature,
            )
        )
        self._session.flush()

    def add_once(self, head: SignedTreeHead) -> None:
        """Store a head unless this very head is stored already (another worker of the node
        may sign the same head in the same second: Ed25519 makes it byte-identical). Raises
        LedgerIntegrityError if a different head is stored under the same size and time."""
        if self.exists(head):
            return
        try:
            with self._session.begin_nested():
                self.add(head)
        except IntegrityError:
            stored = self._session.get(
                SignedTreeHeadRow, (head.log_id, head.tree_size, head.timestamp)
            )
            if stored is None or (stored.root_hash, stored.signature) != (
                head.root_hash.hex(),
                head.signature,
            ):
                raise LedgerIntegrityError(
                    "tree_head",
                    f"another tree head is stored for size {head.tree_size} at {head.timestamp}",
                ) from None

    def exists(self, head: SignedTreeHead) -> bool:
        """True when this very head (log, size and time) is stored already."""
        return (
            self._session.get(SignedTreeHeadRow, (head.log_id, head.tree_size, head.timestamp))
            is not None
        )

    def all_heads(self, log_id: str) -> list[SignedTreeHead]:
        """Return the log's tree heads, smallest tree first."""
        rows = self._session.scalars(
            select(SignedTreeHeadRow)
            .where(SignedTreeHeadRow.log_id == log_id)
            .order_by(SignedTreeHeadRow.tree_size, SignedTreeHeadRow.timestamp)
        )
        return [_tree_head(row) for row in rows]

    def latest(self, log_id: str) -> SignedTreeHead | None:
        """Return the log's newest tree head (largest tree, latest time), or None."""
        heads = self.all_heads(log_id)
        return heads[-1] if heads else None


def _tree_head(row: SignedTreeHeadRow) -> SignedTreeHead:
    try:
        root = bytes.fromhex(row.root_hash)
    except ValueError as exc:
        raise LedgerIntegrityError(
            "tree_head", f"stored root of tree head {row.tree_size} is not hex"
        ) from exc
    return SignedTreeHead(row.tree_size, root, row.timestamp, row.log_id, row.signature)
