"""Engines and sessions: the one module that knows how to connect to the database.

SQLite gets what a multi-process queue needs: WAL (readers never block the writer), a busy
timeout (writers wait their turn instead of failing), foreign keys, and transactions whose
BEGIN SQLAlchemy emits itself, so :func:`write_transaction` can take the write lock up front
with ``BEGIN IMMEDIATE``. Any other SQLAlchemy URL is used as is.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

# Execution option read by the SQLite "begin" hook: which BEGIN to emit.
_SQLITE_BEGIN = "musewave_sqlite_begin"
_WRITE_OPTIONS: Mapping[str, Any] = {_SQLITE_BEGIN: "IMMEDIATE"}


def make_engine(database_url: str, *, busy_timeout_ms: int = 30_000, echo: bool = False) -> Engine:
    """An engine for ``database_url``. For a SQLite file, its directory is created if missing.

    Create engines after forking: a process must not reuse its parent's pooled connections.
    """
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return create_engine(url, echo=echo, pool_pre_ping=True)

    if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, echo=echo)
    _configure_sqlite(engine, busy_timeout_ms)
    return engine


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take BEGIN away from the sqlite3 module; _on_begin emits it instead.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get(_SQLITE_BEGIN, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to ``engine``. Objects stay readable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def read_transaction(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session in a transaction that is committed on success, rolled back on error."""
    with sessions() as session, session.begin():
        yield session


@contextmanager
def write_transaction(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """Like :func:`read_transaction`, but holding the write lock from the start on SQLite.

    ``BEGIN IMMEDIATE`` makes read-then-write sequences atomic across processes and avoids
    the deadlock of two readers both upgrading to writers. Other backends begin normally.
    """
    with sessions() as session, session.begin():
        session.connection(execution_options=_WRITE_OPTIONS)
        yield session
