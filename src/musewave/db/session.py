"""Engines and sessions: the one module that knows how to connect to the database.

SQLite gets what a multi-process queue needs: WAL (readers never block the writer), a busy
timeout (writers wait their turn instead of failing), foreign keys, and transactions whose
BEGIN SQLAlchemy emits itself, so :func:`write_transaction` can take the write lock up front
with ``BEGIN IMMEDIATE``.

PostgreSQL (``postgresql+psycopg://``; a plain ``postgresql://`` URL is given the psycopg 3
driver too) gets a connection pool that checks connections before use, transactions at READ
COMMITTED, and :func:`transaction_lock` for the few read-then-write decisions that must not
interleave across processes (SQLite's single writer gives those for free). Any other
SQLAlchemy URL is used as is.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool
from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_random_exponential

# Execution option read by the SQLite "begin" hook: which BEGIN to emit.
_SQLITE_BEGIN = "musewave_sqlite_begin"
_WRITE_OPTIONS: Mapping[str, Any] = {_SQLITE_BEGIN: "IMMEDIATE"}
_BEGIN = {"DEFERRED": "BEGIN DEFERRED", "IMMEDIATE": "BEGIN IMMEDIATE"}

DEFAULT_POOL_SIZE = 5
DEFAULT_MAX_OVERFLOW = 10


def make_engine(
    database_url: str | URL,
    *,
    busy_timeout_ms: int = 30_000,
    pool_size: int = DEFAULT_POOL_SIZE,
    max_overflow: int = DEFAULT_MAX_OVERFLOW,
    pool_timeout_s: float = 30.0,
    echo: bool = False,
    single_connection: bool = False,
) -> Engine:
    """An engine for ``database_url``. For a SQLite file, its directory is created if missing.

    Server databases get a pool of ``pool_size`` connections kept open, up to
    ``max_overflow`` more under load, waiting at most ``pool_timeout_s`` for a free one, and a
    liveness check before each checkout (a restarted server costs no failed request).
    ``busy_timeout_ms`` applies to SQLite only, and so does ``single_connection``: one
    connection, opened on first use, for one thread's use (the event loop's reads).

    Create engines after forking: a process must not reuse its parent's pooled connections.
    """
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        connect_args: dict[str, Any] = {}
        if url.get_backend_name() == "postgresql":
            if url.drivername == "postgresql":
                # SQLAlchemy's default PostgreSQL driver is psycopg2; we ship psycopg 3.
                url = url.set(drivername="postgresql+psycopg")
            if "application_name" not in url.query:
                connect_args["application_name"] = "musewave"
        return create_engine(
            url,
            echo=echo,
            pool_pre_ping=True,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_timeout=pool_timeout_s,
            connect_args=connect_args,
        )

    if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    if single_connection:
        engine = create_engine(
            url, echo=echo, poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
    else:
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
            _enable_wal(cursor, busy_timeout_ms)
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get(_SQLITE_BEGIN, "DEFERRED")
        statement = _BEGIN[mode]
        # Straight to the driver: every transaction starts here, and a statement through
        # SQLAlchemy's execution path costs ~10 us more. Errors are wrapped as that path
        # would (a busy database is an OperationalError, which callers retry).
        driver = connection.connection.driver_connection
        assert driver is not None  # a checked-out connection is open
        try:
            driver.execute(statement)
        except sqlite3.Error as error:
            raise DBAPIError.instance(
                statement, None, error, sqlite3.Error, dialect=connection.dialect
            ) from error


def _enable_wal(cursor: Any, busy_timeout_ms: int) -> None:
    """Switch the database file to WAL (a persistent setting) unless it already is.

    Switching needs an exclusive lock and SQLite does not always run the busy handler for it:
    processes that open a new database at the same moment get "database is locked" at once.
    So the switch is retried for as long as the busy timeout would have waited.
    """
    if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
        return
    for attempt in Retrying(
        retry=retry_if_exception(_is_locked),
        stop=stop_after_delay(busy_timeout_ms / 1000),
        wait=wait_random_exponential(multiplier=0.01, max=0.5),
        reraise=True,
    ):
        with attempt:
            cursor.execute("PRAGMA journal_mode = WAL")


def _is_locked(error: BaseException) -> bool:
    return isinstance(error, sqlite3.OperationalError) and "locked" in str(error)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to ``engine``. Objects stay readable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


def reads_are_local(sessions: sessionmaker[Session]) -> bool:
    """Whether ``sessions`` read a SQLite file in this process: a point read is then a
    fraction of a millisecond with no network wait (WAL: readers never wait for the writer).
    Not for ``:memory:`` databases, whose connection is per thread."""
    bind = sessions.kw.get("bind")
    if not isinstance(bind, Engine) or bind.dialect.name != "sqlite":
        return False
    database = bind.url.database
    return bool(database) and database != ":memory:" and "mode=memory" not in str(bind.url)


@contextmanager
def read_transaction(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session in a transaction that is committed on success, rolled back on error."""
    with sessions() as session, session.begin():
        yield session


@contextmanager
def write_transaction(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """Like :func:`read_transaction`, but holding the write lock from the start on SQLite.

    ``BEGIN IMMEDIATE`` makes read-then-write sequences atomic across processes and avoids
    the deadlock of two readers both upgrading to writers. Other backends begin normally
    (PostgreSQL: READ COMMITTED); use guarded updates, row locks or :func:`transaction_lock`.
    """
    with sessions() as session, session.begin():
        session.connection(execution_options=_WRITE_OPTIONS)
        yield session


@contextmanager
def write_connection(engine: Engine) -> Iterator[Connection]:
    """A Core connection in a transaction, with the write lock from the start on SQLite."""
    with engine.connect() as connection:
        connection.execution_options(**_WRITE_OPTIONS)
        with connection.begin():
            yield connection


def transaction_lock(target: Session | Connection, name: str) -> None:
    """Wait for, then hold until the current transaction ends, the exclusive lock ``name``.

    Every process using the database sees the same lock (PostgreSQL: a transaction-level
    advisory lock on a 64-bit hash of ``name``). On SQLite this does nothing: a transaction
    from :func:`write_transaction` already excludes all other writers.
    """
    connection = target.connection() if isinstance(target, Session) else target
    if connection.dialect.name != "postgresql":
        return
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key(name)})


def lock_key(name: str) -> int:
    """The signed 64-bit advisory-lock key for ``name`` (stable across processes)."""
    digest = hashlib.sha256(f"musewave:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)
