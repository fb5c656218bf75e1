"""Operator commands on the same database the server uses: jobs, queue and migrations."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.engine import make_url

from musewave.access import OPERATOR
from musewave.cache import make_cache
from musewave.cli.console import fail, out_console
from musewave.config import Settings
from musewave.db import upgrade
from musewave.jobs import (
    JobConflict,
    JobNotFound,
    JobRecord,
    JobsService,
    JobState,
    QueueUnavailable,
    open_queue,
)
from musewave.observability import metrics
from musewave.observability.logging import configure_logging
from musewave.storage import open_storage

jobs_app = typer.Typer(help="Inspect and steer jobs.", no_args_is_help=True)
queue_app = typer.Typer(help="Queue statistics, dead letters, cleaning.", no_args_is_help=True)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)


@contextmanager
def _jobs() -> Iterator[JobsService]:
    """The same job operations the API runs, on the server's database, queue and cache. A
    JobNotFound, JobConflict or QueueUnavailable ends the command with one line (exit 1)."""
    settings = Settings()
    upgrade(settings.resolved_database_url)
    configure_logging(settings)  # audit lines go to stderr, as the server's logs do
    cache = make_cache(settings.cache_url)
    try:
        with open_queue(settings) as queue:
            yield JobsService(queue, open_storage(settings.storage_dir), cache)
    except JobNotFound as error:
        raise fail(f"{error}; list them with `musewave jobs list`", code=1) from None
    except JobConflict as error:
        raise fail(str(error), code=1) from None
    except QueueUnavailable as error:
        raise fail(f"{error}; try again when the queue's Redis is reachable", code=1) from None
    finally:
        cache.close()


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


@jobs_app.command("list")
def list_jobs(
    state: Annotated[JobState | None, typer.Option(help="Only jobs in this state.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 20,
) -> None:
    """Newest jobs first."""
    with _jobs() as jobs:
        page, _cursor = jobs.list_jobs(OPERATOR, state=state, limit=limit)
    out_console.print(_table(page))


@jobs_app.command("show")
def show_job(job_id: str) -> None:
    """Everything about one job, as JSON."""
    with _jobs() as jobs:
        job = jobs.get(job_id, OPERATOR)
    out_console.print_json(job.model_dump_json())


@jobs_app.command("cancel")
def cancel_job(job_id: str) -> None:
    """Cancel a queued job at once, or ask an active one to stop at its next checkpoint."""
    # Count a cancel in the metrics of the server on this data directory and port, if any.
    settings = Settings()
    metrics.attach_multiprocess_dir(metrics.serve_metrics_dir(settings.data_dir, settings.port))
    with _jobs() as jobs:
        updated = jobs.cancel(job_id, OPERATOR)
    note = "cancelled" if updated.state == JobState.CANCELLED else "cancel requested"
    out_console.print(f"{job_id}: {note}")


@jobs_app.command("retry")
def retry_job(job_id: str) -> None:
    """Re-drive a dead or failed job with a fresh set of attempts."""
    with _jobs() as jobs:
        jobs.redrive(job_id, OPERATOR)
    out_console.print(f"{job_id}: queued again")


@queue_app.command("stats")
def queue_stats() -> None:
    """Job counts per state."""
    with _jobs() as jobs:
        stats = jobs.stats()
    out_console.print_json(json.dumps(stats.model_dump()))


@queue_app.command("dlq")
def dead_letters(limit: Annotated[int, typer.Option(min=1, max=500)] = 50) -> None:
    """Jobs that used up their retries."""
    with _jobs() as jobs:
        page, _cursor = jobs.list_jobs(OPERATOR, state=JobState.DEAD, limit=limit)
    out_console.print(_table(page))


@queue_app.command("clean")
def clean(
    older_than_h: Annotated[float, typer.Option(min=0, help="Age in hours.")] = 168.0,
) -> None:
    """Delete finished jobs older than N hours, with their files."""
    with _jobs() as jobs:
        removed = jobs.clean(older_than_h * 3600, OPERATOR)
    out_console.print(f"removed {len(removed)} jobs")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply migrations to MUSEWAVE_DATABASE_URL (or the default SQLite file)."""
    settings = Settings()
    upgrade(settings.resolved_database_url)
    # The URL's password stays out of the output (and so out of container logs).
    shown = make_url(settings.resolved_database_url).render_as_string(hide_password=True)
    out_console.print(f"database at head: {shown}")
