"""Real databases for the store tests: SQLite (a temporary file) and PostgreSQL.

`database_url` is parametrised over both. PostgreSQL comes from KERVAN_TEST_POSTGRES_URL
(default postgresql://postgres@127.0.0.1:5432/test); each test session works in a schema of its
own, dropped at the end. An unreachable server skips those cases, except under CI=true, where it
fails the run. Each `session` test runs in one transaction that is rolled back.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from kervan.store.db import make_engine
from kervan.store.repositories import Organisation, OrganisationKind, OrganisationRepository
from tests.databases import BACKENDS, admin_sql, migrated_database, schema_url

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@pytest.fixture(params=BACKENDS)
def fresh_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A new, empty (unmigrated) database for this test, on each backend."""
    backend = request.param
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'kervan.sqlite3'}"
        return
    schema = f"kervan_test_{uuid.uuid4().hex[:16]}"
    admin_sql(f"CREATE SCHEMA {schema}")
    try:
        yield schema_url(schema)
    finally:
        admin_sql(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated database shared by the session (one per backend)."""
    with migrated_database(request.param, tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session inside one transaction that is rolled back after the test.

    Repositories may commit: with create_savepoint, their commits only release savepoints.
    """
    connection = engine.connect()
    transaction = connection.begin()
    session = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    try:
        yield session
    finally:
        session.close()
        transaction.rollback()
        connection.close()


AddOrganisation = Callable[..., Organisation]


@pytest.fixture
def add_organisation(session: Session) -> AddOrganisation:
    """Return a function storing an organisation (id, kind, country="KZ") in the test session."""

    def add(org_id: str, kind: OrganisationKind, country: str = "KZ") -> Organisation:
        return OrganisationRepository(session).add(
            Organisation(org_id, f"{org_id} Ltd", country, kind, T0)
        )

    return add
