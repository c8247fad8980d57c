"""Engines, sessions and the unit of work, for SQLite (the default) and PostgreSQL.

SQLite connections run in WAL mode with foreign keys on and a busy timeout, and every
transaction starts with BEGIN IMMEDIATE: writers queue for the one write lock up front instead of
failing half-way when a read lock cannot be upgraded, which is what makes counters such as the
e-Permit quota safe under concurrent issuing. A `read_only` unit of work begins DEFERRED
instead: it reads one snapshot (WAL) beside the writer and never queues for the write lock.
PostgreSQL goes through psycopg 3; a plain postgresql:// URL is rewritten to the psycopg driver.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS: Final = 30_000
_READ_ONLY: Final = "kervan_read_only"
POSTGRES_POOL_SIZE: Final = 20
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

    For a SQLite file the parent directory is created (0700) and the file is its owner's only
    (0600; SQLite gives its -wal and -shm files the same mode); connections get WAL,
    foreign_keys=ON and a busy timeout, and transactions begin IMMEDIATE.
    """
    parsed = normalise_url(url)
    if parsed.drivername.startswith("sqlite"):
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            _owner_only_file(Path(database))
        engine = create_engine(parsed, **options)
        _configure_sqlite(engine)
        return engine
    # No ping per checkout (a round trip in every unit of work): a connection the server has
    # dropped (restart, failover) fails the statement that meets it, SQLAlchemy then empties
    # the pool, and the API answers that request 503 database_unavailable.
    options.setdefault("pool_pre_ping", False)
    # As many kept connections as requests the server runs at once: a pool smaller than that
    # closes and reopens connections under load (a new PostgreSQL backend each time).
    options.setdefault("pool_size", POSTGRES_POOL_SIZE)
    options.setdefault("max_overflow", POSTGRES_POOL_SIZE)
    return create_engine(parsed, **options)


def _owner_only_file(path: Path) -> None:
    # Created here, before SQLite would create it with the process's umask (0644 by default).
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if name.exists() and name.stat().st_mode & 0o077:
            name.chmod(0o600)


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
        if connection.get_execution_options().get(_READ_ONLY):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Return the session factory for `engine` (objects stay readable after commit)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def unit_of_work(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """Open a session in one transaction: commit when the block ends, roll back if it raises.

    In: a session factory (`make_session_factory`). Out: the session to hand to repositories.
    """
    bind = sessions.kw.get("bind")
    writers = _sqlite_writers(bind) if isinstance(bind, Engine) else None
    if writers is not None:
        writers.acquire()
    session = sessions()
    afterwards: list[Callable[[], None]] = []
    session.info[_AFTERWARDS] = afterwards
    try:
        with session.begin():
            yield session
    finally:
        session.close()
        if writers is not None:
            writers.release()
    for callback in afterwards:
        callback()


_AFTERWARDS: Final = "kervan.after_unit_of_work"


def after_unit_of_work(session: Session, callback: Callable[[], None]) -> None:
    """Run `callback` once `session`'s unit of work has committed and let go of its connection
    and locks (not if it rolls back); a session outside `unit_of_work` runs it right after its
    next commit. A callback given twice runs once."""
    afterwards: list[Callable[[], None]] | None = session.info.get(_AFTERWARDS)
    if afterwards is None:
        event.listen(session, "after_commit", lambda _: callback(), once=True)
    elif callback not in afterwards:
        afterwards.append(callback)


_WRITERS: weakref.WeakKeyDictionary[Engine, threading.RLock] = weakref.WeakKeyDictionary()
_WRITERS_GUARD = threading.Lock()


def _sqlite_writers(engine: Engine) -> threading.RLock | None:
    """The process's queue for a SQLite engine's one write lock (None for PostgreSQL).

    SQLite makes a writer that finds the lock taken sleep and retry (its busy handler), so
    under load writers mostly sleep while the lock is free. Writers of one process queue on a
    thread lock instead and start the moment the previous one commits; other processes still
    meet the busy handler.
    """
    if engine.dialect.name != "sqlite":
        return None
    with _WRITERS_GUARD:
        lock = _WRITERS.get(engine)
        if lock is None:
            lock = _WRITERS[engine] = threading.RLock()
        return lock


@contextmanager
def read_only(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """Open a session for reading, with no write lock. Do not write inside it.

    SQLite: one DEFERRED transaction, so every statement reads the same snapshot. PostgreSQL:
    autocommit, so each statement reads the data committed when it starts, exactly as in a
    transaction at PostgreSQL's READ COMMITTED level (the node's), without the BEGIN and
    COMMIT round trips.
    """
    bind = sessions.kw["bind"]
    engine = bind if isinstance(bind, Engine) else None
    if engine is None:
        raise TypeError("read_only needs a session factory bound to an engine")
    session = sessions(bind=_read_only_engine(engine))
    try:
        with session.begin():
            yield session
    finally:
        session.close()


@contextmanager
def read_snapshot(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """Open a session that reads one consistent snapshot of the whole store, with no write
    lock (for reading many tables that must agree, e.g. an audit). Do not write inside it.

    SQLite: `read_only` (one DEFERRED transaction already reads one snapshot). PostgreSQL: one
    REPEATABLE READ, READ ONLY transaction.
    """
    bind = sessions.kw.get("bind")
    if not isinstance(bind, Engine) or bind.dialect.name == "sqlite":
        with read_only(sessions) as session:
            yield session
        return
    session = sessions()
    try:
        with session.begin():
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            session.execute(text("SET TRANSACTION READ ONLY"))
            yield session
    finally:
        session.close()


_READER: Final = "_kervan_read_only_face"


def _read_only_engine(engine: Engine) -> Engine:
    """The engine's read-only face (same pool and events): DEFERRED transactions on SQLite,
    autocommit on PostgreSQL. Made once per engine."""
    held = vars(engine)  # kept on the engine itself: it goes when the engine goes
    reader: Engine | None = held.get(_READER)
    if reader is None:
        options: dict[str, Any] = (
            {_READ_ONLY: True}
            if engine.dialect.name == "sqlite"
            else {"isolation_level": "AUTOCOMMIT"}
        )
        reader = held[_READER] = engine.execution_options(**options)
    return reader
