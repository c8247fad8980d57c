"""Engines, sessions and the unit of work, for SQLite (the default) and PostgreSQL.

SQLite connections run in WAL mode with foreign keys on and a busy timeout, and every
transaction starts with BEGIN IMMEDIATE: writers queue for the one write lock up front instead of
failing half-way when a read lock cannot be upgraded, which is what makes counters such as the
e-Permit quota safe under concurrent issuing. PostgreSQL goes through psycopg 3; a plain
postgresql:// URL is rewritten to the psycopg driver.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS: Final = 30_000
_POSTGRES_DRIVERS: Final = frozenset({"postgresql", "postgres", "postgresql+psycopg2"})


def normalise_url(url: str | URL) -> URL:
    """Return `url` as a SQLAlchemy URL with Kervan's drivers.

    postgresql://, postgres:// and postgresql+psycopg2:// become postgresql+psycopg:// (psycopg 3);
    sqlite:// URLs are kept. Raises ValueError for any other database.
    """
    parsed = make_url(url) if isinstance(url, str) else url
    if parsed.drivername in _POSTGRES_DRIVERS:
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername not in ("postgresql+psycopg", "sqlite", "sqlite+pysqlite"):
        raise ValueError(
            f"unsupported database URL scheme {parsed.drivername!r}: use sqlite:///path/to/file "
            f"or postgresql://user@host/dbname"
        )
    return parsed


def display_url(url: str | URL | Engine) -> str:
    """Return the URL as text with any password masked, for messages and logs."""
    parsed = url.url if isinstance(url, Engine) else make_url(url)
    return parsed.render_as_string(hide_password=True)


def is_sqlite(bind: Engine | Connection | Session) -> bool:
    """True when `bind` talks to SQLite."""
    engine = bind.get_bind() if isinstance(bind, Session) else bind
    return engine.dialect.name == "sqlite"


def make_engine(url: str | URL, **options: Any) -> Engine:
    """Return an engine for `url` (see `normalise_url`); extra options go to create_engine.

    For a SQLite file the parent directory is created; connections get WAL, foreign_keys=ON and
    a busy timeout, and transactions begin IMMEDIATE.
    """
    parsed = normalise_url(url)
    if parsed.drivername.startswith("sqlite"):
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, **options)
        _configure_sqlite(engine)
        return engine
    options.setdefault("pool_pre_ping", True)
    return create_engine(parsed, **options)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from pysqlite so BEGIN IMMEDIATE and SAVEPOINT work.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Return the session factory for `engine` (objects stay readable after commit)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def unit_of_work(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """Open a session in one transaction: commit when the block ends, roll back if it raises.

    In: a session factory (`make_session_factory`). Out: the session to hand to repositories.
    """
    session = sessions()
    try:
        with session.begin():
            yield session
    finally:
        session.close()
