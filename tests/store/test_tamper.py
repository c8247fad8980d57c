"""Any changed byte of a stored document version, signature or ledger entry is detected.

The database refuses UPDATE on signed versions, signatures and ledger entries (triggers); an
attacker with the database in hand can drop those. Each test here does, changes one stored byte
with raw SQL, and shows the colleague cores' verification (JWS verify, chain verify, Merkle
audit) fails on what the repositories read back. Everything is rolled back after each test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Table, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from kervan.errors import KervanError
from kervan.ledger.chain import verify_chain
from kervan.ledger.log import Ledger
from kervan.signatures.jws import sign_version
from kervan.signatures.keys import Ed25519Signer, Es256Signer
from kervan.store.keyfiles import KeyFileStore
from kervan.store.repositories import (
    DocumentRepository,
    OrganisationKind,
    SigningKeyRepository,
    SqlLedgerStore,
    TreeHeadRepository,
    audit_ledger,
)
from kervan.store.tables import DocumentSignatureRow, DocumentVersionRow, LedgerEntryRow
from tests.ledger.bundles import tree_head

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
SHIPPER, CARRIER, NODE = "kz-shipper", "az-carrier", "kervan-node"
DOC = "ecmr-7f3a"
BODY = {
    "id": DOC,
    "consignor": {"id": SHIPPER, "country": "KZ"},
    "carrier": {"id": CARRIER, "country": "AZ"},
    "goods": [{"hs": "870323", "packages": 12, "gross_kg": 18250.5}],
    "route": ["KZALA", "KZAKX", "AZBAK", "GETBS", "TRIST"],
}


@dataclass
class Stored:
    session: Session
    log_signer: Ed25519Signer | Es256Signer
    tables: dict[str, Table]


@pytest.fixture
def stored(session: Session, add_organisation: Callable[..., object], tmp_path: Path) -> Stored:
    add_organisation(SHIPPER, OrganisationKind.SHIPPER)
    add_organisation(CARRIER, OrganisationKind.CARRIER, "AZ")
    add_organisation(NODE, OrganisationKind.ADMINISTRATOR)
    keys = KeyFileStore(tmp_path / "keys")
    shipper = keys.generate(SHIPPER, "kz-shipper-1")
    carrier = keys.generate(CARRIER, "az-carrier-1", alg="ES256")
    log_signer = keys.generate(NODE, "node-log-1")
    signing_keys = SigningKeyRepository(session)
    for signer in (shipper, carrier, log_signer):
        signing_keys.add_signer(keys.load(signer.party, signer.kid), not_before=T0)
    documents = DocumentRepository(session)
    documents.create(SHIPPER, DOC, kind="e-CMR", state="draft", body=BODY, at=T0)
    documents.add_signatures(
        DOC,
        1,
        [
            sign_version(BODY, shipper, "consignor", T0 + timedelta(minutes=5)),
            sign_version(BODY, carrier, "carrier", T0 + timedelta(minutes=9)),
        ],
        org_ids=[SHIPPER],
    )
    ledger = Ledger(SqlLedgerStore(session, org_id=SHIPPER), log_signer)
    for minute, event in ((1, "created"), (5, "signed"), (9, "signed")):
        ledger.append(DOC, event, {"document": DOC, "version": 1, "event": event},
                      T0 + timedelta(minutes=minute))  # fmt: skip
    TreeHeadRepository(session).add(tree_head(ledger, log_signer, T0 + timedelta(minutes=10)))
    tables = {
        row.__tablename__: row.__table__
        for row in (DocumentVersionRow, DocumentSignatureRow, LedgerEntryRow)
    }
    return Stored(session, log_signer, tables)  # type: ignore[arg-type]


def _document_verifies(stored: Stored) -> bool:
    stored.session.expire_all()
    trust = SigningKeyRepository(stored.session).trust_list()
    try:
        DocumentRepository(stored.session).verify_version(DOC, 1, trust, org_ids=[SHIPPER])
    except KervanError:
        return False
    return True


def _ledger_verifies(stored: Stored) -> bool:
    stored.session.expire_all()
    trust = SigningKeyRepository(stored.session).trust_list()
    store = SqlLedgerStore(stored.session, org_id=SHIPPER)
    try:
        ledger = Ledger(store, stored.log_signer)
        heads = TreeHeadRepository(stored.session).all_heads(NODE)
        report = audit_ledger(ledger, store, trust, heads)
        chain = verify_chain(store.entries_for_document(DOC))
    except (KervanError, IndexError):
        return False
    return report.ok and chain.ok


def _drop_guards(session: Session) -> None:
    # What an attacker with the database would do first; rolled back with the test.
    if session.get_bind().dialect.name == "postgresql":
        for table in ("document_versions", "document_signatures", "ledger_entries"):
            session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        return
    names = session.scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).all()
    for name in names:
        session.execute(text(f"DROP TRIGGER {name}"))


def _flip(value: Any, position: int) -> Any:
    """Change one byte: a character's lowest bit, a number's bit 2, a time by one second."""
    if isinstance(value, str):
        return value[:position] + chr(ord(value[position]) ^ 1) + value[position + 1 :]
    if isinstance(value, datetime):
        return value + timedelta(seconds=1)
    return value ^ 4


def _rows(stored: Stored, table: str) -> list[dict[str, Any]]:
    result = stored.session.execute(stored.tables[table].select())
    return [dict(row._mapping) for row in result]


@pytest.fixture
def attacker(stored: Stored) -> Callable[[str, dict[str, Any], str, Any], bool]:
    """Return tamper(table, row, column, new_value) -> True if the database refused it."""
    _drop_guards(stored.session)

    def tamper(table: str, row: dict[str, Any], column: str, value: Any) -> bool:
        target = stored.tables[table]
        keys = list(target.primary_key.columns)
        statement = update(target).where(*(c == row[c.name] for c in keys)).values({column: value})
        try:
            with stored.session.begin_nested():
                stored.session.execute(statement)
        except DBAPIError:
            return True  # a key or constraint the database still enforces refused it
        return False

    return tamper


def _restore(stored: Stored, table: str, row: dict[str, Any], column: str, changed: Any) -> None:
    target = stored.tables[table]
    where = [
        c == (changed if c.name == column else row[c.name]) for c in target.primary_key.columns
    ]
    stored.session.execute(update(target).where(*where).values({column: row[column]}))


def test_untouched_store_verifies(stored: Stored) -> None:
    assert _document_verifies(stored)
    assert _ledger_verifies(stored)


def test_the_database_refuses_to_change_signed_rows(stored: Stored) -> None:
    session = stored.session
    for statement in (
        "UPDATE document_versions SET body = body || ' '",
        "DELETE FROM document_versions",
        "UPDATE document_signatures SET role = 'consignee'",
        "DELETE FROM document_signatures",
        "UPDATE ledger_entries SET event_type = 'forged'",
        "DELETE FROM ledger_entries",
        "UPDATE signed_tree_heads SET tree_size = 2",
    ):
        with pytest.raises(DBAPIError, match="kervan"), session.begin_nested():
            session.execute(text(statement))


@pytest.mark.parametrize("column", ["body", "digest"])
def test_every_byte_of_a_signed_version_is_covered(
    stored: Stored, attacker: Callable[..., bool], column: str
) -> None:
    (row,) = _rows(stored, "document_versions")
    for position in range(len(row[column])):
        changed = _flip(row[column], position)
        assert not attacker("document_versions", row, column, changed)
        assert not _document_verifies(stored), f"{column}[{position}] changed unnoticed"
        _restore(stored, "document_versions", row, column, changed)
    assert _document_verifies(stored)


@pytest.mark.parametrize("column", ["entry", "kid", "party", "role", "signed_at", "position"])
def test_every_byte_of_every_signature_is_covered(
    stored: Stored, attacker: Callable[..., bool], column: str
) -> None:
    for row in _rows(stored, "document_signatures"):
        value = row[column]
        positions = range(len(value)) if isinstance(value, str) else range(1)
        for position in positions:
            changed = _flip(value, position)
            refused = attacker("document_signatures", row, column, changed)
            assert refused or not _document_verifies(stored), f"{column}[{position}] unnoticed"
            if not refused:
                _restore(stored, "document_signatures", row, column, changed)
    assert _document_verifies(stored)


@pytest.mark.parametrize(
    "column",
    [
        "log_index",
        "document_id",
        "seq",
        "event_type",
        "payload_digest",
        "previous_entry_hash",
        "entry_hash",
        "leaf_hash",
        "recorded_at",
    ],
)
def test_every_byte_of_every_ledger_entry_is_covered(
    stored: Stored, attacker: Callable[..., bool], column: str
) -> None:
    for row in _rows(stored, "ledger_entries"):
        value = row[column]
        positions = range(len(value)) if isinstance(value, str) else range(1)
        for position in positions:
            changed = _flip(value, position)
            refused = attacker("ledger_entries", row, column, changed)
            assert refused or not _ledger_verifies(stored), f"{column}[{position}] unnoticed"
            if not refused:
                _restore(stored, "ledger_entries", row, column, changed)
    assert _ledger_verifies(stored)


def test_moving_a_ledger_entry_to_another_organisation_is_noticed(
    stored: Stored, attacker: Callable[..., bool]
) -> None:
    for row in _rows(stored, "ledger_entries"):
        assert not attacker("ledger_entries", row, "org_id", CARRIER)
        assert not _ledger_verifies(stored)
        _restore(stored, "ledger_entries", row, "org_id", CARRIER)
    assert _ledger_verifies(stored)
