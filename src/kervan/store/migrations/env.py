"""Alembic environment for Kervan: the database comes from the caller, never from alembic.ini.

`kervan.store.schema` passes either an open connection (`config.attributes["connection"]`) or a
URL (`config.attributes["url"]`); run by hand, the URL comes from Kervan's settings.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from kervan.settings import get_settings
from kervan.store.db import make_engine
from kervan.store.tables import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        # SQLite cannot ALTER most things in place; batch mode rebuilds tables when needed.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on the caller's connection, or on a fresh engine for the URL."""
    connection = config.attributes.get("connection")
    if isinstance(connection, Connection):
        _run(connection)
        return
    url = config.attributes.get("url") or get_settings().resolved_database_url
    engine = make_engine(url)
    try:
        with engine.connect() as fresh:
            _run(fresh)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("Kervan migrations run online only: use `kervan db upgrade`")
run_migrations_online()
