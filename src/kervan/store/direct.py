"""Hot statements run straight on the database driver, below SQLAlchemy's execution path.

Every API request runs a few statements that are always the same: the caller's credentials, the
document it reads or signs, the signed step's write, the ledger entry of an evidence answer.
SQLAlchemy's execution path (statement cache lookup, execution context, parameter and result
processing in its general form) costs about 0.1 ms of CPU a statement on top of the driver's
own; at a few hundred requests a second on two cores that is a tenth of the node's time.
bench/api.py on PostgreSQL, interleaved A/B: verify 1,086-1,237/s against 664-917/s.

A `DirectStatement` is compiled once per dialect. On PostgreSQL it then runs on the unit of
work's own psycopg connection, in its transaction, as a server-side prepared statement, with the
same bind and result processing its column types define (time zones, for one), and errors
raised exactly as SQLAlchemy raises them (a lost connection invalidates the pool and is a
`DBAPIError` with `connection_invalidated`). Anywhere else (SQLite) it runs through the session
as usual. Statements with parameters SQLAlchemy expands or computes at execution time (IN
lists, Python-side column defaults) always take the usual path.
"""

from __future__ import annotations

import threading
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, cast

import psycopg
from psycopg.rows import RowMaker
from sqlalchemy import Executable
from sqlalchemy.engine import Dialect
from sqlalchemy.engine.interfaces import DBAPICursor
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

_CURSOR: Final = "kervan.direct_cursor"


@dataclass(frozen=True, slots=True)
class _Compiled:
    """A statement compiled for PostgreSQL and psycopg's named placeholders."""

    sql: str
    fixed: dict[str, Any]  # values the statement itself holds (literals in its clauses)
    required: frozenset[str]
    bind_processors: tuple[tuple[str, Callable[[Any], Any]], ...]
    result_processors: tuple[tuple[int, Callable[[Any], Any]], ...]
    direct: bool  # False: SQLAlchemy must run it (expanding parameters, Python-side defaults)


class DirectStatement:
    """A Core statement that runs on the driver directly where it can (see the module)."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._compiled: _Compiled | None = None
        self._maker: RowMaker[Any] | None = None
        self._guard = threading.Lock()

    def rows(self, session: Session, params: Mapping[str, Any]) -> Sequence[Any]:
        """Every row the statement returns (attribute access by column label)."""
        cursor = self._run(session, params)
        if cursor is None:
            return session.execute(self.statement, dict(params)).all()
        found = cursor.fetchall()  # plain tuples: the cursor is shared by every statement
        make = self._maker or self._first_maker(cursor)
        return [make(values) for values in found]

    def one_or_none(self, session: Session, params: Mapping[str, Any]) -> Any | None:
        """The statement's one row, or None when it returns none (more than one is an error)."""
        found = self.rows(session, params)
        if len(found) > 1:
            raise ValueError(f"expected at most one row, the statement returned {len(found)}")
        return found[0] if found else None

    def run(self, session: Session, params: Mapping[str, Any]) -> int:
        """Run a statement that returns no rows; how many rows it changed."""
        cursor = self._run(session, params)
        if cursor is None:
            result = session.execute(self.statement, dict(params))
            return int(getattr(result, "rowcount", -1))
        return cursor.rowcount

    def compiled_for(self, dialect: Dialect) -> _Compiled:
        """The statement compiled for `dialect` (PostgreSQL's; made once)."""
        compiled = self._compiled
        if compiled is None:
            with self._guard:
                compiled = self._compiled = self._compiled or _compile(self.statement, dialect)
        return compiled

    def _run(self, session: Session, params: Mapping[str, Any]) -> psycopg.Cursor[Any] | None:
        bind = session.get_bind()
        if bind.dialect.name != "postgresql":
            return None
        compiled = self.compiled_for(bind.dialect)
        if not compiled.direct:
            return None
        missing = compiled.required.difference(params)
        if missing:
            raise ValueError(f"the statement needs values for {', '.join(sorted(missing))}")
        if session.new or session.dirty or session.deleted:
            session.flush()  # what the session's autoflush would do before it runs a statement
        values = {**compiled.fixed, **params} if compiled.fixed else dict(params)
        for name, process in compiled.bind_processors:
            values[name] = process(values[name])
        connection = session.connection()
        raw: object = connection.connection.dbapi_connection
        cursor: psycopg.Cursor[Any] | None = connection.info.get(_CURSOR)
        if cursor is None or cursor.closed or cursor.connection is not raw:
            if not isinstance(raw, psycopg.Connection):
                return None
            cursor = connection.info[_CURSOR] = raw.cursor()
        try:
            cursor.execute(compiled.sql, values, prepare=True)
        except psycopg.Error as error:
            # SQLAlchemy's own handling: the same exception types, and a lost connection
            # invalidates the connection and the pool.
            connection._handle_dbapi_exception(
                error, compiled.sql, values, cast(DBAPICursor, cursor), None
            )
        return cursor

    def _first_maker(self, cursor: psycopg.Cursor[Any]) -> RowMaker[Any]:
        # The statement's text is fixed, so are its result columns: the row type is made from
        # its first result's description and kept (psycopg builds a description per call).
        description = cursor.description or []
        maker = self._maker = self._maker_for(tuple(column.name for column in description))
        return maker

    def _maker_for(self, names: tuple[str, ...]) -> RowMaker[Any]:
        row_type = namedtuple("Row", names, rename=True)  # type: ignore[misc]
        make: RowMaker[Any] = row_type._make
        compiled = self._compiled
        processors = compiled.result_processors if compiled is not None else ()
        if not processors:
            return make

        def processed(values: Sequence[Any]) -> Any:
            listed = list(values)
            for index, process in processors:
                listed[index] = process(listed[index])
            return make(listed)

        return processed


def _compile(statement: Executable, dialect: Dialect) -> _Compiled:
    if not isinstance(statement, ClauseElement):
        raise TypeError("a DirectStatement needs a Core statement")
    compiled = statement.compile(dialect=dialect)
    if not isinstance(compiled, SQLCompiler):
        raise TypeError("a DirectStatement needs a SQL statement")
    direct = not (
        compiled.insert_prefetch
        or compiled.update_prefetch
        or compiled.literal_execute_params
        or compiled.post_compile_params
        or compiled.escaped_bind_names
        or any(bind.expanding for bind in compiled.binds.values())
    )
    fixed: dict[str, Any] = {}
    required: set[str] = set()
    bind_processors: list[tuple[str, Callable[[Any], Any]]] = []
    for name, bind in compiled.binds.items():
        if bind.required:
            required.add(name)
        else:
            fixed[name] = bind.effective_value
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            bind_processors.append((name, process))
    result_processors: list[tuple[int, Callable[[Any], Any]]] = []
    for index, column in enumerate(getattr(statement, "exported_columns", ())):
        process = column.type.dialect_impl(dialect).result_processor(dialect, None)
        if process is not None:
            result_processors.append((index, process))
    return _Compiled(
        sql=compiled.string,
        fixed=fixed,
        required=frozenset(required),
        bind_processors=tuple(bind_processors),
        result_processors=tuple(result_processors),
        direct=direct,
    )
