"""Operator commands on the same database the server uses: jobs, queue and migrations."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.table import Table

from musewave.cli.console import fail, out_console
from musewave.config import Settings
from musewave.db import upgrade
from musewave.jobs import JobRecord, JobState, LocalQueue
from musewave.jobs.errors import QueueUnavailable
from musewave.observability import metrics
from musewave.service.runtime import build_queue

jobs_app = typer.Typer(help="Inspect and steer jobs.", no_args_is_help=True)
queue_app = typer.Typer(help="Queue statistics, dead letters, cleaning.", no_args_is_help=True)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)


@contextmanager
def _queue() -> Iterator[tuple[LocalQueue, Settings]]:
    settings = Settings()
    upgrade(settings.resolved_database_url)
    queue, engine = build_queue(settings)
    try:
        yield queue, settings
    finally:
        queue.close()
        engine.dispose()


def _table(jobs: list[JobRecord]) -> Table:
    table = Table("id", "state", "stage", "progress", "priority", "attempts", "created", "prompt")
    for job in jobs:
        table.add_row(
            job.id,
            job.state.value,
            job.stage,
            f"{job.progress:.0f}%",
            job.priority.value,
            f"{job.attempts}/{job.max_attempts}",
            job.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            str(job.request.get("prompt", ""))[:40],
        )
    return table


def _job_or_fail(queue: LocalQueue, job_id: str) -> JobRecord:
    job = queue.get(job_id)
    if job is None:
        raise fail(f"no job {job_id!r}; list them with `musewave jobs list`", code=1)
    return job


@jobs_app.command("list")
def list_jobs(
    state: Annotated[JobState | None, typer.Option(help="Only jobs in this state.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 20,
) -> None:
    """Newest jobs first."""
    with _queue() as (queue, _):
        jobs, _cursor = queue.list_jobs(state=state, limit=limit)
    out_console.print(_table(jobs))


@jobs_app.command("show")
def show_job(job_id: str) -> None:
    """Everything about one job, as JSON."""
    with _queue() as (queue, _):
        job = _job_or_fail(queue, job_id)
    out_console.print_json(job.model_dump_json())


@jobs_app.command("cancel")
def cancel_job(job_id: str) -> None:
    """Cancel a queued job at once, or ask an active one to stop at its next checkpoint."""
    # Count a cancel in the metrics of the server on this data directory and port, if any.
    settings = Settings()
    metrics.attach_multiprocess_dir(metrics.serve_metrics_dir(settings.data_dir, settings.port))
    with _queue() as (queue, _):
        job = _job_or_fail(queue, job_id)
        if job.state.is_finished:
            raise fail(f"job {job_id} is already {job.state.value}", code=1)
        updated = queue.cancel(job_id)
    assert updated is not None
    if updated.state == JobState.CANCELLED:
        metrics.job_cancelled()  # an active job's cancel is counted by its worker
    note = "cancelled" if updated.state == JobState.CANCELLED else "cancel requested"
    out_console.print(f"{job_id}: {note}")


@jobs_app.command("retry")
def retry_job(job_id: str) -> None:
    """Re-drive a dead or failed job with a fresh set of attempts."""
    with _queue() as (queue, _):
        job = _job_or_fail(queue, job_id)
        if job.state not in (JobState.DEAD, JobState.FAILED):
            raise fail(f"only dead or failed jobs can be retried; {job_id} is {job.state.value}", 1)
        try:
            queue.redrive(job_id)
        except QueueUnavailable as error:
            raise fail(f"{error}; try again when the queue's Redis is reachable", 1) from None
    out_console.print(f"{job_id}: queued again")


@queue_app.command("stats")
def queue_stats() -> None:
    """Job counts per state."""
    with _queue() as (queue, _):
        stats = queue.stats()
    out_console.print_json(json.dumps(stats.model_dump()))


@queue_app.command("dlq")
def dead_letters(limit: Annotated[int, typer.Option(min=1, max=500)] = 50) -> None:
    """Jobs that used up their retries."""
    with _queue() as (queue, _):
        jobs, _cursor = queue.list_jobs(state=JobState.DEAD, limit=limit)
    out_console.print(_table(jobs))


@queue_app.command("clean")
def clean(
    older_than_h: Annotated[float, typer.Option(min=0, help="Age in hours.")] = 168.0,
) -> None:
    """Delete finished jobs older than N hours, with their files."""
    with _queue() as (queue, settings):
        removed = queue.clean_with_assets(older_than_h * 3600)
    for job in removed:
        shutil.rmtree(settings.storage_dir / job.job_id, ignore_errors=True)
    out_console.print(f"removed {len(removed)} jobs")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply migrations to MUSEWAVE_DATABASE_URL (or the default SQLite file)."""
    settings = Settings()
    upgrade(settings.resolved_database_url)
    out_console.print(f"database at head: {settings.resolved_database_url}")
