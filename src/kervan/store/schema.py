"""Schema migrations run from code: `upgrade(url)`, `downgrade(url)` and `check_migrated(engine)`.

The Alembic scripts ship inside the package (`kervan/store/migrations`) and the Alembic `Config`
is built here, so no alembic.ini is needed at run time. An application calls `check_migrated`
before serving and refuses to start on a database whose schema is missing or behind.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

from kervan.errors import DatabaseNotMigratedError
from kervan.store.db import display_url, make_engine

MIGRATIONS_DIR: Final = Path(__file__).parent / "migrations"
FILE_TEMPLATE: Final = "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s"


def alembic_config(url: str | None = None, *, connection: Connection | None = None) -> Config:
    """Return an Alembic Config for Kervan's migrations, aimed at `url` or an open `connection`.

    With neither, the migrations' env.py falls back to the settings' database URL.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("file_template", FILE_TEMPLATE)
    config.set_main_option("path_separator", "os")
    if url is not None:
        config.attributes["url"] = url
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """Return the newest migration revision the code knows."""
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"the migrations have {len(heads)} heads; merge them into one")
    return heads[0]


def current_revision(connection: Connection) -> str | None:
    """Return the revision the database is at (None for a database never migrated)."""
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at `url` up to `revision` (default: the newest)."""
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection=connection), revision)
    finally:
        engine.dispose()


def downgrade(url: str, revision: str = "base") -> None:
    """Migrate the database at `url` down to `revision` (default: empty, every table dropped)."""
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection=connection), revision)
    finally:
        engine.dispose()


def check_migrated(engine: Engine) -> str:
    """Return the database's revision when it is at the code's head.

    Raises DatabaseNotMigratedError ("database at <url> is not migrated: run `kervan db
    upgrade`") when the schema is missing or at another revision.
    """
    with engine.connect() as connection:
        current = current_revision(connection)
        connection.rollback()
    head = head_revision()
    if current != head:
        found = "no Kervan schema" if current is None else f"schema revision {current}"
        raise DatabaseNotMigratedError(
            f"database at {display_url(engine)} is not migrated: run `kervan db upgrade` "
            f"(found {found}, this version of Kervan needs {head})"
        )
    return current


def connect_migrated(url: str, **options: object) -> Engine:
    """Return an engine for `url` after checking its schema is at head.

    This is how an application opens its database: it refuses to start on an unmigrated one
    (DatabaseNotMigratedError with the `kervan db upgrade` hint).
    """
    engine = make_engine(url, **options)
    try:
        check_migrated(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine
