"""FastAPI dependencies: routes get services injected, never reach for globals."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from musewave.jobs import JobRecord
from musewave.service.services import Services


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def job_or_404(services: Services, job_id: str) -> JobRecord:
    job = services.queue.get(job_id)
    if job is None:
        raise HTTPException(status_code=404, detail=f"no job {job_id!r}")
    return job
