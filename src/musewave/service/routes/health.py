"""Health probes: liveness, readiness (503 until usable), per-component detail, system facts."""

from __future__ import annotations

import platform
import shutil
import uuid
from pathlib import Path
from typing import Any

import psutil
from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy import text

from musewave import __version__
from musewave.db import current_revision, head_revision
from musewave.engine import ENGINE_VERSION
from musewave.service.deps import ServicesDep
from musewave.service.services import Services

router = APIRouter(prefix="/health", tags=["health"])


def _check_database(services: Services) -> dict[str, Any]:
    try:
        with services.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        revision = current_revision(services.settings.resolved_database_url)
    except Exception as error:  # a probe reports, it never raises
        return {"ok": False, "error": str(error)}
    head = head_revision()
    return {"ok": revision == head, "revision": revision, "head": head}


def _check_storage(services: Services) -> dict[str, Any]:
    root = Path(services.settings.storage_dir)
    probe = root / f".probe-{uuid.uuid4().hex}"
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as error:
        return {"ok": False, "error": str(error)}
    free_mb = shutil.disk_usage(root).free / 2**20
    minimum = services.settings.min_free_disk_mb
    return {"ok": free_mb >= minimum, "free_mb": round(free_mb), "min_free_mb": minimum}


def _check_cache(services: Services) -> dict[str, Any]:
    """Informational: a cache outage degrades to misses, so it never makes the service unready."""
    stats = services.cache.stats()
    return {
        "ok": True,
        "backend": type(services.cache).__name__,
        "hits": stats.hits,
        "misses": stats.misses,
        "errors": stats.errors,
    }


def _check_queue(services: Services) -> dict[str, Any]:
    if services.settings.redis_url:
        return _check_bullmq(services)
    alive = services.pool.alive() if services.pool is not None else 0
    wanted = services.settings.concurrency
    return {
        "ok": services.accepting and alive > 0,
        "backend": "local",
        "workers_alive": alive,
        "workers_configured": wanted,
        "accepting": services.accepting,
    }


def _check_bullmq(services: Services) -> dict[str, Any]:
    """Production mode: the API needs Redis and its event relay; workers run elsewhere (none
    alive is an alert, not a reason to stop accepting jobs)."""
    from musewave.jobs.bullmq_queue import BullMQQueue

    queue = services.queue
    assert isinstance(queue, BullMQQueue)
    redis_ok = queue.ping()
    relay_ok = services.relay is not None and services.relay.connected.is_set()
    detail: dict[str, Any] = {
        "ok": services.accepting and redis_ok and relay_ok,
        "backend": "bullmq",
        "queue": services.settings.queue_name,
        "redis": redis_ok,
        "events_relay": relay_ok,
        "accepting": services.accepting,
    }
    if redis_ok:
        try:
            detail["workers_alive"] = queue.worker_count()
            detail["bullmq_counts"] = queue.bull_counts()
        except Exception as error:  # a probe reports, it never raises
            detail["error"] = str(error)
    return detail


async def _components(services: Services) -> dict[str, dict[str, Any]]:
    return {
        "database": await run_in_threadpool(_check_database, services),
        "storage": await run_in_threadpool(_check_storage, services),
        "queue": await run_in_threadpool(_check_queue, services),
        "cache": _check_cache(services),
        "breakers": await run_in_threadpool(services.breakers.snapshot),
    }


@router.get("/live")
async def live() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready")
async def ready(services: ServicesDep) -> JSONResponse:
    components = await _components(services)
    ok = all(c["ok"] for c in components.values())
    failing = [name for name, c in components.items() if not c["ok"]]
    body = {"status": "ready" if ok else "not ready", "failing": failing}
    return JSONResponse(body, status_code=200 if ok else 503)


@router.get("")
async def detail(services: ServicesDep) -> JSONResponse:
    components = await _components(services)
    ok = all(c["ok"] for c in components.values())
    body = {"status": "ok" if ok else "degraded", "components": components}
    return JSONResponse(body, status_code=200 if ok else 503)


@router.get("/system")
async def system() -> dict[str, Any]:
    memory = psutil.virtual_memory()
    process = psutil.Process()
    return {
        "versions": {
            "musewave": __version__,
            "engine": ENGINE_VERSION,
            "python": platform.python_version(),
        },
        "cpu": {"count": psutil.cpu_count(), "percent": psutil.cpu_percent(interval=None)},
        "memory": {"total_mb": memory.total // 2**20, "available_mb": memory.available // 2**20},
        "process": {"rss_mb": process.memory_info().rss // 2**20, "pid": process.pid},
        "disk": {"free_mb": shutil.disk_usage(".").free // 2**20},
    }
