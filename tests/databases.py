"""Real databases for tests: SQLite files and PostgreSQL schemas of their own.

PostgreSQL comes from KERVAN_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test).
An unreachable server skips those cases, except under CI=true, where it fails the run.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from kervan.store.db import normalise_url
from kervan.store.schema import upgrade

POSTGRES_URL_ENV = "KERVAN_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


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


def admin_sql(action: str) -> None:
    engine = create_engine(
        normalise_url(postgres_server_url()), isolation_level="AUTOCOMMIT", poolclass=NullPool
    )
    try:
        with engine.connect() as connection:
            connection.execute(text(action))
    finally:
        engine.dispose()


def schema_url(schema: str) -> str:
    url = normalise_url(postgres_server_url())
    scoped = url.update_query_dict({"options": f"-csearch_path={schema}"})
    return scoped.render_as_string(hide_password=False)


@contextmanager
def migrated_database(backend: str, folder: Path) -> Iterator[str]:
    """A migrated database URL on `backend` ("sqlite" in `folder`, or a fresh PostgreSQL schema)."""
    if backend == "sqlite":
        url = f"sqlite:///{folder / 'kervan.sqlite3'}"
        upgrade(url)
        yield url
        return
    schema = f"kervan_test_{uuid.uuid4().hex[:16]}"
    admin_sql(f"CREATE SCHEMA {schema}")
    try:
        url = schema_url(schema)
        upgrade(url)
        yield url
    finally:
        admin_sql(f"DROP SCHEMA {schema} CASCADE")
