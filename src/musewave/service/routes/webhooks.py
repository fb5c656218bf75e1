"""Webhooks: the caller's signing secret and its rotation, a job's delivery log, re-sends."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, HTTPException, status
from fastapi.concurrency import run_in_threadpool

from musewave.service.auth import CallerDep
from musewave.service.deps import ServicesDep
from musewave.service.problems import problem_responses
from musewave.service.schemas import (
    WebhookAttemptView,
    WebhookDeliveryPage,
    WebhookDeliveryView,
    WebhookSecretView,
)
from musewave.service.services import Services
from musewave.webhooks import DeliveryRecord, SecretRecord, WebhookDispatcher

router = APIRouter(tags=["webhooks"], responses=problem_responses(401))


def _dispatcher(services: Services) -> WebhookDispatcher:
    if services.webhooks is None:  # not started: the app's lifespan makes one
        raise HTTPException(status_code=503, detail="webhooks are not running")
    return services.webhooks


def _secret_view(record: SecretRecord) -> WebhookSecretView:
    return WebhookSecretView(
        key=record.secret,
        previous_valid_until=record.previous_until if record.previous else None,
        rotated_at=record.rotated_at,
    )


def _delivery_view(record: DeliveryRecord) -> WebhookDeliveryView:
    return WebhookDeliveryView(
        id=record.id,
        type=record.event_type,
        state=record.state,
        url=record.url,
        attempts=record.attempts,
        next_attempt_at=record.next_attempt_at if record.state == "pending" else None,
        created_at=record.created_at,
        delivered_at=record.delivered_at,
        last_status=record.last_status,
        last_error=record.last_error,
        log=[
            WebhookAttemptView(
                at=datetime.fromisoformat(entry["at"]),
                status=entry.get("status"),
                error=entry.get("error"),
                duration_ms=int(entry.get("duration_ms") or 0),
            )
            for entry in record.attempt_log
        ],
    )


@router.get("/v1/webhooks/default/secret", response_model=WebhookSecretView)
async def get_secret(services: ServicesDep, caller: CallerDep) -> WebhookSecretView:
    """The secret that signs the webhooks of the caller's jobs (anonymous use has one too)."""
    dispatcher = _dispatcher(services)
    return _secret_view(await run_in_threadpool(dispatcher.store.secret, caller.owner))


@router.post("/v1/webhooks/default/secret/rotate", response_model=WebhookSecretView)
async def rotate_secret(services: ServicesDep, caller: CallerDep) -> WebhookSecretView:
    """A new secret; the one it replaces keeps signing (a second signature in each
    ``webhook-signature``) for ``MUSEWAVE_WEBHOOK_ROTATION_OVERLAP_S``, so receivers can
    switch without missing a message."""
    dispatcher = _dispatcher(services)
    overlap_s = services.settings.webhook_rotation_overlap_s
    return _secret_view(await run_in_threadpool(dispatcher.store.rotate, caller.owner, overlap_s))


@router.get(
    "/v1/jobs/{job_id}/webhooks",
    response_model=WebhookDeliveryPage,
    responses=problem_responses(404),
)
async def list_deliveries(
    job_id: str, services: ServicesDep, caller: CallerDep
) -> WebhookDeliveryPage:
    """The job's webhook deliveries, oldest first, with their latest attempts."""
    dispatcher = _dispatcher(services)
    await run_in_threadpool(services.jobs.get, job_id, caller)  # 404 unless the caller's
    records = await run_in_threadpool(dispatcher.store.deliveries, job_id)
    return WebhookDeliveryPage(deliveries=[_delivery_view(r) for r in records])


@router.post(
    "/v1/jobs/{job_id}/webhooks/{delivery_id}/resend",
    response_model=WebhookDeliveryView,
    status_code=status.HTTP_202_ACCEPTED,
    responses=problem_responses(404),
)
async def resend_delivery(
    job_id: str, delivery_id: str, services: ServicesDep, caller: CallerDep
) -> WebhookDeliveryView:
    """Send a delivery again now: the same ``webhook-id`` and body, freshly signed, with a
    new round of retries (a 410 earlier no longer holds the job's webhook back)."""
    dispatcher = _dispatcher(services)
    await run_in_threadpool(services.jobs.get, job_id, caller)
    record = await run_in_threadpool(dispatcher.store.resend, job_id, delivery_id)
    if record is None:
        raise HTTPException(status_code=404, detail="the job has no delivery of that id")
    dispatcher.wake()
    return _delivery_view(record)
