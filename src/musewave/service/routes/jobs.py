"""Reading, listing and cancelling jobs, and downloading their assets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, Response

from musewave.jobs import JobState
from musewave.jobs.events import JobEvent
from musewave.observability import metrics
from musewave.resilience import REQUEST_RETRY
from musewave.service.deps import ServicesDep, job_or_404
from musewave.service.schemas import AssetView, JobPage, JobView
from musewave.service.services import Services

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])


# Views of completed jobs never change (until cleaned), so status polls are served from the
# cache; the short TTL bounds staleness after a `musewave queue clean` from another process.
JOB_VIEWS = "job-views"
JOB_VIEW_TTL_S = 60.0


def _job_view_json(services: Services, job_id: str) -> bytes:
    cached = services.cache.get(JOB_VIEWS, job_id)
    if cached is not None:
        return cached
    job = job_or_404(services, job_id)
    body = JobView.of(job).model_dump_json().encode()
    if job.state == JobState.COMPLETED:
        services.cache.set(JOB_VIEWS, job_id, body, ttl_s=JOB_VIEW_TTL_S)
    return body


@router.get("/{job_id}", response_model=JobView)
async def get_job(job_id: str, services: ServicesDep) -> Response:
    body = await run_in_threadpool(REQUEST_RETRY.call, "read job", _job_view_json, services, job_id)
    return Response(body, media_type="application/json")


@router.get("", response_model=JobPage)
async def list_jobs(
    services: ServicesDep,
    state: JobState | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> JobPage:
    try:
        jobs, next_cursor = await run_in_threadpool(
            REQUEST_RETRY.call,
            "list jobs",
            services.queue.list_jobs,
            state=state,
            limit=limit,
            cursor=cursor,
        )
    except ValueError as error:
        raise HTTPException(status_code=422, detail=f"bad cursor: {error}") from error
    return JobPage(jobs=[JobView.of(j) for j in jobs], next_cursor=next_cursor)


@router.post("/{job_id}/cancel", response_model=JobView, status_code=202)
async def cancel_job(job_id: str, services: ServicesDep) -> JobView:
    """Queued jobs are cancelled at once; active ones stop at the engine's next checkpoint."""
    job = await run_in_threadpool(REQUEST_RETRY.call, "read job", job_or_404, services, job_id)
    if job.state.is_finished:
        raise HTTPException(status_code=409, detail=f"job is already {job.state.value}")
    updated = await run_in_threadpool(
        REQUEST_RETRY.call, "cancel job", services.queue.cancel, job_id
    )
    assert updated is not None
    if updated.state == JobState.CANCELLED:  # it was queued (a running job stops later)
        metrics.job_cancelled()
        services.bus.publish(
            JobEvent(type="cancelled", job_id=job_id, stage="cancelled", attempt=updated.attempts)
        )
    return JobView.of(updated)


@router.get("/{job_id}/assets", response_model=list[AssetView])
async def list_assets(job_id: str, services: ServicesDep) -> list[AssetView]:
    job = await run_in_threadpool(job_or_404, services, job_id)
    return [AssetView.of(job_id, a) for a in job.assets]


@router.get("/{job_id}/assets/{name:path}", response_class=FileResponse)
async def download_asset(job_id: str, name: str, services: ServicesDep) -> FileResponse:
    """Serves only files registered to the job, looked up by exact name (never used as a
    path), with Range support so players can seek."""
    job = await run_in_threadpool(job_or_404, services, job_id)
    asset = next((a for a in job.assets if a.name == name), None)
    if asset is None:
        raise HTTPException(status_code=404, detail=f"job {job_id!r} has no asset {name!r}")
    root = Path(services.settings.storage_dir).resolve()
    path = (root / asset.path).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise HTTPException(status_code=404, detail=f"asset {name!r} is missing from storage")
    return FileResponse(path, media_type=asset.media_type, filename=Path(asset.name).name)
