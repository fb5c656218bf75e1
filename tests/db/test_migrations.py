from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.util.exc import CommandError
from sqlalchemy import JSON, Boolean, QueuePool, bindparam, event, inspect, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError, StatementError

from musewave.db import (
    Base,
    Job,
    current_revision,
    head_revision,
    is_ahead,
    make_engine,
    make_session_factory,
    read_transaction,
    upgrade,
    write_transaction,
)
from musewave.db.migrate import alembic_config
from musewave.db.models import UTCDateTime
from tests.conftest import DATABASE_BACKENDS, FreshDatabase

EXPECTED_JOB_INDEXES = {
    "ix_jobs_claim": ["state", "priority", "created_at", "id", "run_after"],
    "ix_jobs_state_run_after": ["state", "run_after"],
    "ix_jobs_state_created_at_id": ["state", "created_at", "id"],
    "ix_jobs_created_at_id": ["created_at", "id"],
    "ix_jobs_fingerprint": ["fingerprint"],
    "ix_jobs_started_at": ["started_at"],
    "ix_jobs_finished_at": ["finished_at"],
    "ix_jobs_owner_created_at_id": ["owner", "created_at", "id"],
    "ix_jobs_deadline_at": ["deadline_at"],
}


@pytest.fixture(params=DATABASE_BACKENDS)
def database_url(request: pytest.FixtureRequest, fresh_database: FreshDatabase) -> str:
    """A new, empty database. On SQLite, in a directory that does not exist yet: make_engine
    creates it.
    """
    return fresh_database(request.param)


def test_upgrade_brings_an_empty_database_to_head(database_url: str) -> None:
    assert current_revision(database_url) is None

    upgrade(database_url)

    assert current_revision(database_url) == head_revision() == "0010"
    engine = make_engine(database_url)
    schema = inspect(engine)
    assert {"jobs", "assets", "api_keys", "alembic_version"} <= set(schema.get_table_names())
    indexes = {
        ix["name"]: ix["column_names"]
        for ix in schema.get_indexes("jobs")
        # PostgreSQL reports the index behind each unique constraint too.
        if "duplicates_constraint" not in ix
    }
    assert indexes == EXPECTED_JOB_INDEXES
    delivery_indexes = {
        ix["name"]: ix["column_names"] for ix in schema.get_indexes("webhook_deliveries")
    }
    assert delivery_indexes["ix_webhook_deliveries_job_state_next_attempt_at"] == [
        "job_id",
        "state",
        "next_attempt_at",
    ]
    job_uniques = [uq["column_names"] for uq in schema.get_unique_constraints("jobs")]
    asset_uniques = [uq["column_names"] for uq in schema.get_unique_constraints("assets")]
    assert job_uniques == [["owner", "idempotency_key"]]
    key_uniques = [uq["column_names"] for uq in schema.get_unique_constraints("api_keys")]
    assert key_uniques == [["secret_sha256"]]
    assert asset_uniques == [["job_id", "name"]]
    [foreign_key] = schema.get_foreign_keys("assets")
    assert foreign_key["referred_table"] == "jobs"
    assert foreign_key["options"].get("ondelete") == "CASCADE"
    engine.dispose()


def test_upgrade_twice_is_harmless(database_url: str) -> None:
    upgrade(database_url)
    upgrade(database_url)

    assert current_revision(database_url) == head_revision()


def test_migrations_match_the_models(database_url: str) -> None:
    upgrade(database_url)
    engine = make_engine(database_url)

    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)

    assert differences == []
    engine.dispose()


def test_downgrade_to_base_removes_the_tables(database_url: str) -> None:
    upgrade(database_url)
    engine = make_engine(database_url)
    config = alembic_config(database_url)

    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")

    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    assert current_revision(database_url) is None
    engine.dispose()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(database_url: str) -> None:
    upgrade(database_url)
    engine = make_engine(database_url, busy_timeout_ms=1234)

    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 1234
    engine.dispose()


def test_deleting_a_job_deletes_its_assets(database_url: str) -> None:
    upgrade(database_url)
    engine = make_engine(database_url)
    # Typed parameters: each backend gets its own representation of the values.
    params = {"now": datetime.now(UTC), "sha": "0" * 64, "off": False}
    now = bindparam("now", type_=UTCDateTime())
    off = bindparam("off", type_=Boolean())
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO jobs (id, state, stage, progress, priority, request, fingerprint,"
                " attempts, max_attempts, cancel_requested, run_after, created_at, updated_at)"
                " VALUES ('j1', 'completed', 'completed', 100, 2, '{}', 'f', 1, 4, :off,"
                " :now, :now, :now)"
            ).bindparams(now, off),
            params,
        )
        connection.execute(
            text(
                "INSERT INTO assets (id, job_id, name, kind, path, media_type, size_bytes,"
                " sha256, created_at) VALUES ('a1', 'j1', 'mix.mp3', 'mix', 'j1/mix.mp3',"
                " 'audio/mpeg', 1, :sha, :now)"
            ).bindparams(now),
            params,
        )
    with engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM jobs WHERE id = 'j1'")
        assert connection.exec_driver_sql("SELECT count(*) FROM assets").scalar() == 0
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO assets (id, job_id, name, kind, path, media_type, size_bytes,"
                " sha256, created_at) VALUES ('a2', 'missing', 'x', 'mix', 'x', 'audio/mpeg',"
                " 1, 'x', :now)"
            ).bindparams(now),
            params,
        )
    engine.dispose()


def test_datetimes_come_back_timezone_aware_utc(database_url: str) -> None:
    upgrade(database_url)
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    created = datetime(2025, 6, 1, 14, 30, 0, 123456, tzinfo=timezone(timedelta(hours=2)))

    with write_transaction(sessions) as session:
        session.add(_job("j1", created))
    with read_transaction(sessions) as session:
        job = session.scalars(select(Job)).one()
        later = session.scalars(select(Job).where(Job.created_at > created)).all()

    assert job.created_at == created
    assert job.created_at.tzinfo == UTC
    assert job.created_at.hour == 12
    assert later == []
    engine.dispose()


def test_naive_datetimes_are_refused(database_url: str) -> None:
    upgrade(database_url)
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)

    with (
        pytest.raises(StatementError, match="naive datetime"),
        write_transaction(sessions) as session,
    ):
        session.add(_job("j1", datetime(2025, 1, 1)))
        session.flush()
    engine.dispose()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_times_do_not_depend_on_the_postgresql_session_time_zone(database_url: str) -> None:
    upgrade(database_url)
    engine = make_engine(database_url)

    @event.listens_for(engine, "connect")
    def _far_from_utc(dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET TIME ZONE 'America/St_Johns'")  # UTC-3:30 / -2:30

    sessions = make_session_factory(engine)
    created = datetime(2025, 6, 1, 23, 45, 0, 654321, tzinfo=UTC)
    with write_transaction(sessions) as session:
        session.add(_job("j1", created))
    with read_transaction(sessions) as session:
        job = session.scalars(select(Job)).one()
        utc_wall_clock = session.scalar(text("SELECT created_at AT TIME ZONE 'UTC' FROM jobs"))
        same_instant = session.scalars(select(Job.id).where(Job.created_at == created)).all()

    assert job.created_at == created
    assert job.created_at.tzinfo == UTC
    assert utc_wall_clock == created.replace(tzinfo=None)
    assert same_instant == ["j1"]
    engine.dispose()


def test_upgrade_keeps_the_requests_of_existing_jobs(database_url: str) -> None:
    upgrade(database_url, "0001")
    engine = make_engine(database_url)
    request = {"prompt": 'ünïcode & "quotes"', "bpm": 100, "nested": {"b": [1, 2.5], "a": None}}
    with write_transaction(make_session_factory(engine)) as session:
        session.execute(
            text(
                "INSERT INTO jobs (id, state, stage, progress, priority, request, fingerprint,"
                " attempts, max_attempts, cancel_requested, run_after, created_at, updated_at)"
                " VALUES ('j1', 'queued', 'queued', 0, 2, :request, 'f', 0, 4, :off,"
                " :now, :now, :now)"
            ).bindparams(
                bindparam("request", type_=JSON()),
                bindparam("off", type_=Boolean()),
                bindparam("now", type_=UTCDateTime()),
            ),
            {"request": request, "off": False, "now": datetime.now(UTC)},
        )
    engine.dispose()

    upgrade(database_url)

    engine = make_engine(database_url)
    with read_transaction(make_session_factory(engine)) as session:
        assert session.scalars(select(Job.request)).one() == request
    column_types = {c["name"]: c["type"] for c in inspect(engine).get_columns("jobs")}
    expected = JSONB if engine.dialect.name == "postgresql" else JSON
    assert isinstance(column_types["request"], expected)
    engine.dispose()


def test_postgresql_engines_use_psycopg_and_a_checked_pool() -> None:
    # No server needed: engines connect lazily.
    engine = make_engine("postgresql://user@db.example:5432/mw", pool_size=7, max_overflow=3)

    assert engine.url.drivername == "postgresql+psycopg"
    assert isinstance(engine.pool, QueuePool)
    assert (engine.pool.size(), engine.pool._max_overflow, engine.pool._pre_ping) == (7, 3, True)
    engine.dispose()


def _upgrade_when_all_start(database_url: str, barrier: Any) -> None:
    barrier.wait()
    upgrade(database_url)


def test_concurrent_upgrades_of_one_database_all_succeed(database_url: str) -> None:
    # Every API and worker process migrates at start-up; on many machines they start at once.
    # (Processes, not threads: Alembic's migration context is global to a process.)
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(4)
    starters = [
        context.Process(target=_upgrade_when_all_start, args=(database_url, barrier))
        for _ in range(4)
    ]
    for starter in starters:
        starter.start()
    for starter in starters:
        starter.join(timeout=120)

    assert [starter.exitcode for starter in starters] == [0, 0, 0, 0]
    assert current_revision(database_url) == head_revision()


def _job(job_id: str, created: datetime) -> Job:
    return Job(
        id=job_id,
        state="queued",
        stage="queued",
        progress=0.0,
        priority=2,
        request={},
        fingerprint="f",
        attempts=0,
        max_attempts=4,
        cancel_requested=False,
        run_after=created,
        created_at=created,
        updated_at=created,
    )


def test_a_database_a_newer_release_migrated_is_left_alone(database_url: str) -> None:
    upgrade(database_url)
    assert not is_ahead(database_url)  # at this release's head
    engine = make_engine(database_url)
    with engine.begin() as connection:  # as if a newer release's migration had run
        connection.execute(text("UPDATE alembic_version SET version_num = 'f00dfeed'"))
        connection.execute(text("CREATE TABLE added_by_a_newer_release (id INTEGER)"))

    assert is_ahead(database_url)
    upgrade(database_url)  # an older API restarting mid-rollout starts
    assert current_revision(database_url) == "f00dfeed"

    with engine.begin() as connection:  # a table this release needs is missing: not ahead
        connection.execute(text("DROP TABLE variants"))
    engine.dispose()
    assert not is_ahead(database_url)
    with pytest.raises(CommandError):  # and upgrading it fails loudly
        upgrade(database_url)
