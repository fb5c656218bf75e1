"""Operator endpoints: queue statistics, the dead-letter list, re-drive and cleaning."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from musewave.jobs import JobState, QueueStats
from musewave.service.deps import ServicesDep, job_or_404
from musewave.service.routes.jobs import JOB_VIEWS
from musewave.service.schemas import JobPage, JobView
from musewave.service.services import Services

router = APIRouter(prefix="/v1/admin", tags=["admin"])


class CleanResult(BaseModel):
    removed_jobs: list[str]


@router.get("/queue", response_model=QueueStats)
async def queue_stats(services: ServicesDep) -> QueueStats:
    return await run_in_threadpool(services.queue.stats)


@router.get("/dead", response_model=JobPage)
async def dead_letters(
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> JobPage:
    jobs, next_cursor = await run_in_threadpool(
        services.queue.list_jobs, state=JobState.DEAD, limit=limit, cursor=cursor
    )
    return JobPage(jobs=[JobView.of(j) for j in jobs], next_cursor=next_cursor)


@router.post("/jobs/{job_id}/redrive", response_model=JobView, status_code=202)
async def redrive(job_id: str, services: ServicesDep) -> JobView:
    """Send a dead (or failed) job back to the queue with a fresh set of attempts."""
    job = await run_in_threadpool(job_or_404, services, job_id)
    if job.state not in (JobState.DEAD, JobState.FAILED):
        raise HTTPException(
            status_code=409,
            detail=f"only dead or failed jobs can be re-driven, not {job.state.value}",
        )
    updated = await run_in_threadpool(services.queue.redrive, job_id)
    assert updated is not None
    if services.pool is not None:
        services.pool.notify()
    return JobView.of(updated)


@router.post("/clean", response_model=CleanResult)
async def clean(
    services: ServicesDep, older_than_s: Annotated[float, Query(ge=0)] = 7 * 24 * 3600
) -> CleanResult:
    """Delete finished jobs older than ``older_than_s`` and their files."""
    removed = await run_in_threadpool(services.queue.clean_with_assets, older_than_s)
    await run_in_threadpool(_forget, services, [job.job_id for job in removed])
    return CleanResult(removed_jobs=[job.job_id for job in removed])


def _forget(services: Services, job_ids: list[str]) -> None:
    """Drop removed jobs' files and cached views (blocking I/O: run off the event loop)."""
    root = Path(services.settings.storage_dir)
    for job_id in job_ids:
        services.cache.delete(JOB_VIEWS, job_id)
        shutil.rmtree(root / job_id, ignore_errors=True)
