"""A sequencer batch of ledger entries is written in one statement: stored exactly, or refused
whole when another writer took one of its places first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.orm import Session

from kervan.errors import LedgerIntegrityError
from kervan.ledger.chain import LedgerEntry, next_entry
from kervan.store.repositories import OrganisationKind, SqlLedgerStore
from tests.store.conftest import AddOrganisation

T0 = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)
ALMATY = timezone(timedelta(hours=5))
OWNER = "kz-ktz-express"


def _chain(document_id: str, start: int, steps: list[str], first_at: datetime) -> list[LedgerEntry]:
    entries: list[LedgerEntry] = []
    for offset, step in enumerate(steps):
        entries.append(
            next_entry(
                entries[-1] if entries else None,
                log_index=start + offset,
                document_id=document_id,
                event_type=step,
                payload={"step": step, "wagon": "KZH 5210 3344"},
                recorded_at=first_at + timedelta(minutes=20 * offset),
            )
        )
    return entries


@pytest.fixture
def owner(session: Session, add_organisation: AddOrganisation) -> Session:
    add_organisation(OWNER, OrganisationKind.CARRIER, "KZ")
    return session


def test_a_batch_is_stored_as_appended(owner: Session) -> None:
    # Times given in Almaty's zone come back as the same instants in UTC.
    smgs = _chain("KZ-SMGS-0042", 0, ["issue", "accept", "depart"], T0.astimezone(ALMATY))
    batch = SqlLedgerStore(owner, org_id=OWNER, count=0, buffered=True)
    for entry in smgs:
        batch.append(entry, entry.leaf_hash())
    assert SqlLedgerStore(owner, org_id=OWNER).count() == 0  # nothing written before the flush
    batch.flush()
    stored = SqlLedgerStore(owner, org_id=OWNER)
    assert stored.count() == 3
    chain = stored.entries_for_document("KZ-SMGS-0042")
    assert chain == smgs
    assert all(entry.recorded_at.tzinfo is UTC for entry in chain)
    assert chain[2].recorded_at == T0 + timedelta(minutes=40)
    assert stored.leaf_hashes() == [entry.leaf_hash() for entry in smgs]


def test_a_batch_meeting_a_taken_place_is_refused(owner: Session) -> None:
    first = SqlLedgerStore(owner, org_id=OWNER, count=0, buffered=True)
    for entry in _chain("KZ-SMGS-0042", 0, ["issue", "accept"], T0):
        first.append(entry, entry.leaf_hash())
    first.flush()
    # A writer that believes the log is empty (it missed the append lock) loses.
    late = SqlLedgerStore(owner, org_id=OWNER, count=0, buffered=True)
    for entry in _chain("KZ-ECMR-0007", 0, ["issue"], T0):
        late.append(entry, entry.leaf_hash())
    with pytest.raises(LedgerIntegrityError, match="appended by another writer first"):
        late.flush()
