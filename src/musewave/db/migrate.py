"""Apply the packaged Alembic migrations programmatically (no alembic.ini at run time)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from musewave.db.session import make_engine, transaction_lock, write_connection

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
MIGRATION_LOCK = "migrations"


def alembic_config(database_url: str) -> Config:
    """An Alembic config pointing at the packaged migrations and ``database_url``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation would choke on a literal "%" (e.g. in a password).
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrate the database at ``database_url`` to ``revision`` (default: the newest).

    Safe to call from many processes at once (every API and worker process migrates at
    start-up): one migrates, the others wait and then find the database at ``revision``.
    The whole upgrade is one transaction, holding the SQLite write lock or a PostgreSQL
    advisory lock from its start. A database at a revision this package does not know is
    ahead of it (a newer release migrated it during a rolling upgrade): left as it is, since
    migrations only add.
    """
    config = alembic_config(database_url)
    engine = make_engine(database_url, pool_size=1, max_overflow=0)
    try:
        with write_connection(engine) as connection:
            transaction_lock(connection, MIGRATION_LOCK)
            if _ahead(connection):
                return
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()


def is_ahead(database_url: str) -> bool:
    """Whether the database at ``database_url`` was migrated by a newer release than this
    one (see :func:`upgrade`)."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return _ahead(connection)
    finally:
        engine.dispose()


def _ahead(connection: Connection) -> bool:
    """A revision this release does not know, on a schema that has every table and column
    this release's models use: what a newer release's added migrations leave. Anything else
    (another application's database, a damaged one) is not ahead, and upgrading it fails."""
    revision = MigrationContext.configure(connection).get_current_revision()
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    if revision is None or revision in {known.revision for known in script.walk_revisions()}:
        return False
    from musewave.db.models import Base  # the models import the session module, not this

    differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    missing = ("add_table", "add_column")  # what the database would need to be added
    return not any(isinstance(d, tuple) and d[0] in missing for d in differences)


def current_revision(database_url: str) -> str | None:
    """The revision the database is at; None for a database never migrated."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str | None:
    """The newest revision shipped with this package."""
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
