"""e-Permit sequence numbers never pass the quota, even with many issuers at once.

These tests commit (threads need their own connections), so they run on a database of their own
(the other store tests share the session's, and its audit reads every permit) and each uses
organisations of its own.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, func, select

from kervan.documents.epermit import PermitType, Quota, parse_permit_id
from kervan.errors import DocumentValidationError, QuotaExhaustedError
from kervan.store.db import make_engine, make_session_factory, unit_of_work
from kervan.store.repositories import (
    Organisation,
    OrganisationKind,
    OrganisationRepository,
    PermitRepository,
    QuotaKey,
)
from kervan.store.tables import PermitRow
from tests.databases import BACKENDS, migrated_database

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
THREADS = 8
ATTEMPTS = 50
QUANTITY = 100


@pytest.fixture(scope="module", params=BACKENDS)
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """A migrated database of this module's own, on each backend."""
    with migrated_database(request.param, tmp_path_factory.mktemp("quota-db")) as url:
        engine = make_engine(url)
        yield engine
        engine.dispose()


def _quota(engine: Engine, quantity: int) -> QuotaKey:
    org_id = f"tr-permits-{uuid.uuid4().hex[:8]}"
    sessions = make_session_factory(engine)
    with unit_of_work(sessions) as session:
        OrganisationRepository(session).add(
            Organisation(org_id, "TR permit office", "TR", OrganisationKind.PERMIT_AUTHORITY, T0)
        )
        PermitRepository(session).add_quota(
            org_id,
            Quota(
                permit_issuer="TR",
                permit_issued_for="UZ",
                permit_year=2026,
                permit_type=PermitType.BILATERAL,
                quantity=quantity,
            ),
        )
    return QuotaKey(org_id, "TR", "UZ", 2026, PermitType.BILATERAL)


def _issue(engine: Engine, key: QuotaKey, plate: str = "01ABC123") -> str:
    with unit_of_work(make_session_factory(engine)) as session:
        permit = PermitRepository(session).issue_permit(
            key,
            org_ids=[key.org_id],
            plate_number=plate,
            company_name="Anadolu Lojistik",
            company_id="TR-1234567890",
            issued_at=date(2026, 1, 10),
            expires_at=date(2026, 12, 31),
            at=T0,
        )
        return permit.permit_id


def test_concurrent_issuing_gives_each_number_once_and_stops_at_the_quota(engine: Engine) -> None:
    key = _quota(engine, QUANTITY)
    barrier = threading.Barrier(THREADS)
    issued: list[str] = []
    refused: list[QuotaExhaustedError] = []
    unexpected: list[BaseException] = []
    lock = threading.Lock()

    def issuer() -> None:
        barrier.wait()
        for _ in range(ATTEMPTS):
            try:
                permit_id = _issue(engine, key)
            except QuotaExhaustedError as exc:
                with lock:
                    refused.append(exc)
            except BaseException as exc:  # any other failure must fail the test
                with lock:
                    unexpected.append(exc)
            else:
                with lock:
                    issued.append(permit_id)

    threads = [threading.Thread(target=issuer) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert unexpected == []
    assert len(issued) == QUANTITY
    assert len(refused) == THREADS * ATTEMPTS - QUANTITY
    assert sorted(parse_permit_id(p)[4] for p in issued) == list(range(1, QUANTITY + 1))
    assert len(set(issued)) == QUANTITY
    assert all(p.startswith("TR-UZ-2026-1-") for p in issued)
    with unit_of_work(make_session_factory(engine)) as session:
        stored = PermitRepository(session).get_quota(key, org_ids=[key.org_id])
        sequences = session.scalars(
            select(PermitRow.sequence)
            .where(PermitRow.org_id == key.org_id)
            .order_by(PermitRow.sequence)
        ).all()
    assert stored.used == QUANTITY
    assert list(sequences) == list(range(1, QUANTITY + 1))


def test_past_the_quota_issuing_is_refused_with_a_typed_error(engine: Engine) -> None:
    key = _quota(engine, 2)
    assert _issue(engine, key) == "TR-UZ-2026-1-1"
    assert _issue(engine, key) == "TR-UZ-2026-1-2"
    with pytest.raises(QuotaExhaustedError, match="2 of 2 permits issued"):
        _issue(engine, key)


def test_a_permit_that_cannot_be_built_gives_its_number_back(engine: Engine) -> None:
    key = _quota(engine, 5)
    with pytest.raises(DocumentValidationError):
        _issue(engine, key, plate="not a plate!")
    assert _issue(engine, key) == "TR-UZ-2026-1-1"
    with unit_of_work(make_session_factory(engine)) as session:
        count = session.scalar(
            select(func.count()).select_from(PermitRow).where(PermitRow.org_id == key.org_id)
        )
        assert PermitRepository(session).get_quota(key, org_ids=[key.org_id]).used == 1
    assert count == 1


def test_a_failure_after_issuing_in_the_same_unit_of_work_rolls_the_number_back(
    engine: Engine,
) -> None:
    key = _quota(engine, 5)
    sessions = make_session_factory(engine)

    def issue_then_fail() -> None:
        with unit_of_work(sessions) as session:
            PermitRepository(session).issue_permit(
                key,
                org_ids=[key.org_id],
                plate_number="01ABC123",
                company_name="A",
                company_id="1",
                issued_at=date(2026, 1, 1),
                expires_at=date(2026, 2, 1),
                at=T0,
            )
            raise RuntimeError("the service failed after issuing")

    with pytest.raises(RuntimeError):
        issue_then_fail()
    assert _issue(engine, key) == "TR-UZ-2026-1-1"
