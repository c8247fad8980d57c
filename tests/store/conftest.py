"""Real databases for the store tests: SQLite (a temporary file) and PostgreSQL.

`database_url` is parametrised over both. PostgreSQL comes from KERVAN_TEST_POSTGRES_URL
(default postgresql://postgres@127.0.0.1:5432/test); each test session works in a schema of its
own, dropped at the end. An unreachable server skips those cases, except under CI=true, where it
fails the run. Each `session` test runs in one transaction that is rolled back.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from kervan.store.db import make_engine, normalise_url
from kervan.store.repositories import Organisation, OrganisationKind, OrganisationRepository
from kervan.store.schema import upgrade

POSTGRES_URL_ENV = "KERVAN_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def postgres_server_url() -> str:
    """The PostgreSQL server for tests; skips (or fails under CI=true) when unreachable."""
    url = os.environ.get(POSTGRES_URL_ENV, DEFAULT_POSTGRES_URL)
    engine = create_engine(normalise_url(url), connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as exc:
        reason = f"PostgreSQL at {url} is not reachable (set {POSTGRES_URL_ENV}): {exc.orig}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true needs PostgreSQL: {reason}")
        pytest.skip(reason)
    finally:
        engine.dispose()
    return url


def _admin(action: str) -> None:
    engine = create_engine(
        normalise_url(postgres_server_url()), isolation_level="AUTOCOMMIT", poolclass=NullPool
    )
    try:
        with engine.connect() as connection:
            connection.execute(text(action))
    finally:
        engine.dispose()


def _schema_url(schema: str) -> str:
    url = normalise_url(postgres_server_url())
    scoped = url.update_query_dict({"options": f"-csearch_path={schema}"})
    return scoped.render_as_string(hide_password=False)


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
    _admin(f"CREATE SCHEMA {schema}")
    try:
        yield _schema_url(schema)
    finally:
        _admin(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated database shared by the session (one per backend)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'kervan.sqlite3'}"
        upgrade(url)
        yield url
        return
    schema = f"kervan_test_{uuid.uuid4().hex[:16]}"
    _admin(f"CREATE SCHEMA {schema}")
    try:
        url = _schema_url(schema)
        upgrade(url)
        yield url
    finally:
        _admin(f"DROP SCHEMA {schema} CASCADE")


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
