"""Operator commands (`musewave jobs|queue|db`) on the database a server would use."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from musewave.config import Settings
from musewave.db import current_revision, head_revision, make_engine, make_session_factory
from musewave.jobs import JobState, JobStore, Priority, RetryPolicy
from musewave.jobs.local_scheduler import LocalScheduler
from tests.cli.support import musewave
from tests.conftest import FreshDatabase
from tests.jobs.support import FakeClock, make_asset, make_request


def run(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return musewave(*args, env={"MUSEWAVE_DATA_DIR": str(data_dir), "COLUMNS": "200"})


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    result = run(tmp_path, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    return tmp_path


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(data_dir: Path, clock: FakeClock) -> Iterator[JobStore]:
    """The store on the same database, on a clock the test moves (backoff without waiting)."""
    engine = make_engine(Settings(data_dir=data_dir).resolved_database_url)
    yield JobStore(make_session_factory(engine), RetryPolicy(), clock=clock)
    engine.dispose()


@pytest.fixture
def scheduler(store: JobStore) -> LocalScheduler:
    return LocalScheduler(store, rate_limit_per_s=1000)


def test_db_upgrade_migrates_to_head(data_dir: Path) -> None:
    url = Settings(data_dir=data_dir).resolved_database_url
    assert current_revision(url) == head_revision() is not None


def test_jobs_list_and_show(data_dir: Path, store: JobStore) -> None:
    job, _ = store.enqueue(make_request("a very particular prompt"), priority=Priority.HIGH)
    listed = run(data_dir, "jobs", "list")
    assert listed.returncode == 0, listed.stderr
    assert job.id in listed.stdout and "queued" in listed.stdout
    shown = run(data_dir, "jobs", "show", job.id)
    assert shown.returncode == 0
    record = json.loads(shown.stdout)
    assert record["id"] == job.id
    assert record["priority"] == "high"
    assert record["request"]["prompt"] == "a very particular prompt"


def test_unknown_job_is_one_line_and_non_zero(data_dir: Path) -> None:
    result = run(data_dir, "jobs", "show", "nope")
    assert result.returncode == 1
    assert [line for line in result.stderr.splitlines() if line.strip()] == [
        "error: no job 'nope'; list them with `musewave jobs list`"
    ]


def test_cancel_a_queued_job(data_dir: Path, store: JobStore) -> None:
    job, _ = store.enqueue(make_request())
    result = run(data_dir, "jobs", "cancel", job.id)
    assert result.returncode == 0
    assert "cancelled" in result.stdout
    record = store.get(job.id)
    assert record is not None and record.state == JobState.CANCELLED
    again = run(data_dir, "jobs", "cancel", job.id)
    assert again.returncode == 1 and "already cancelled" in again.stderr


def test_dead_jobs_are_listed_and_retried(
    data_dir: Path, store: JobStore, scheduler: LocalScheduler, clock: FakeClock
) -> None:
    job, _ = store.enqueue(make_request())
    for attempt in range(1, store.policy.max_attempts + 1):
        claimed = scheduler.claim("w", 60_000)
        assert claimed is not None and claimed.id == job.id
        store.fail(job.id, "w", "boom", "internal")
        if attempt < store.policy.max_attempts:
            clock.advance(store.policy.delay_for(attempt))
    assert store.get(job.id).state == JobState.DEAD  # type: ignore[union-attr]

    dlq = run(data_dir, "queue", "dlq")
    assert dlq.returncode == 0 and job.id in dlq.stdout
    stats = json.loads(run(data_dir, "queue", "stats").stdout)
    assert stats["dead"] == 1
    retried = run(data_dir, "jobs", "retry", job.id)
    assert retried.returncode == 0, retried.stderr
    record = store.get(job.id)
    assert record is not None and record.state == JobState.QUEUED and record.attempts == 0


def test_queue_clean_removes_old_finished_jobs_and_files(
    data_dir: Path, store: JobStore, scheduler: LocalScheduler, clock: FakeClock
) -> None:
    done, _ = store.enqueue(make_request("finished"))
    clock.advance(1)  # FIFO: the first job is the one claimed
    waiting, _ = store.enqueue(make_request("waiting"))
    claimed = scheduler.claim("w", 60_000)
    assert claimed is not None and claimed.id == done.id
    assert store.complete(done.id, "w", [make_asset(done.id)], seed=1)
    files = Settings(data_dir=data_dir).storage_dir / done.id
    files.mkdir(parents=True)
    (files / "mix.mp3").write_bytes(b"x")

    result = run(data_dir, "queue", "clean", "--older-than-h", "0")
    assert result.returncode == 0 and "removed 1 jobs" in result.stdout
    assert store.get(done.id) is None and not files.exists()
    assert store.get(waiting.id) is not None


def test_db_upgrade_keeps_the_database_password_out_of_its_output(
    tmp_path: Path, fresh_database: FreshDatabase
) -> None:
    # The test server trusts every login, so any password works; none may be printed.
    url = make_url(fresh_database("postgresql")).set(password="s3cret-pass")
    result = musewave(
        "db",
        "upgrade",
        env={
            "MUSEWAVE_DATA_DIR": str(tmp_path),
            "MUSEWAVE_DATABASE_URL": url.render_as_string(hide_password=False),
            "COLUMNS": "200",
        },
    )
    assert result.returncode == 0, result.stderr
    assert "database at head" in result.stdout
    assert "s3cret-pass" not in result.stdout + result.stderr
