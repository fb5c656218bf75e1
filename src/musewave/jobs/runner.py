"""Running one claimed job: the engine call, progress, cancellation, lease renewal, outcome.

Backend-neutral: the local worker pool and the BullMQ worker both drive jobs through
:class:`JobRunner`, each with the :class:`AttemptStore` it reports to.
"""

from __future__ import annotations

import functools
import hashlib
import threading
import time
from collections.abc import Callable, Mapping
from typing import Protocol

import structlog
from opentelemetry import trace

from musewave.config import Settings
from musewave.engine import (
    Cancelled,
    GenerationRequest,
    GenerationResult,
    Plan,
    ProgressEvent,
    generate,
    make_plan,
    resolve_seed,
)
from musewave.engine.errors import InvalidRequest
from musewave.engine.pipeline import remove_stale_staging
from musewave.jobs.events import EventType, JobEvent, PublishEvent, Stage, completion_result
from musewave.jobs.policy import INVALID_REQUEST, error_kind_of
from musewave.jobs.records import AssetRecord, JobRecord
from musewave.jobs.states import JobState
from musewave.observability import metrics
from musewave.observability.logging import get_logger
from musewave.observability.tracing import StageSpans, job_attempt_span
from musewave.resilience import JOB_STATE_RETRY, Breakers, TransientRetry
from musewave.storage import Storage

log = get_logger("musewave.worker")

# A job's own cancellation or invalid request says nothing about the engine's health.
NOT_ENGINE_FAILURES = (Cancelled, InvalidRequest)


def job_breakers(settings: Settings) -> Breakers:
    """The breakers a worker process guards its jobs with, shared through Redis when the
    settings name one. Make one set per process, so failures add up across its jobs."""
    return Breakers.from_settings(settings, not_failures=NOT_ENGINE_FAILURES)


@functools.cache
def _default_breakers() -> Breakers:
    """This process's breakers with the default settings, in memory: what a runner given none
    uses (one set per process, like :func:`job_breakers`)."""
    return Breakers.create(not_failures=NOT_ENGINE_FAILURES)


class InjectedFault(RuntimeError):
    """Raised on purpose by ``fail_attempts`` (a test-only setting) to exercise retries."""


class AttemptStore(Protocol):
    """What a runner reports an attempt to (the :class:`~musewave.jobs.store.JobStore`)."""

    def renew_lease(self, job_id: str, worker_id: str, lease_ms: int) -> bool: ...
    def update_progress(self, job_id: str, worker_id: str, stage: str, progress: float) -> bool: ...
    def is_cancel_requested(self, job_id: str) -> bool: ...
    def complete(
        self,
        job_id: str,
        worker_id: str,
        assets: list[AssetRecord],
        *,
        seed: int,
        stage_ms: Mapping[str, int] | None = None,
        planner: str | None = None,
    ) -> bool: ...
    def fail(
        self, job_id: str, worker_id: str, error: str, error_kind: str
    ) -> JobRecord | None: ...
    def mark_cancelled(self, job_id: str, worker_id: str) -> bool: ...


class _LeaseKeeper:
    """Renews the job's lease every third of its length until stopped."""

    def __init__(
        self, store: AttemptStore, job_id: str, worker_id: str, lease_ms: int, retry: TransientRetry
    ):
        self._stop = threading.Event()
        self._retry = retry
        self._thread = threading.Thread(
            target=self._run, args=(store, job_id, worker_id, lease_ms), daemon=True
        )

    def _run(self, store: AttemptStore, job_id: str, worker_id: str, lease_ms: int) -> None:
        while not self._stop.wait(lease_ms / 3000):
            self._retry.call("renew job lease", store.renew_lease, job_id, worker_id, lease_ms)

    def __enter__(self) -> _LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


class JobRunner:
    """Runs jobs for one worker slot, rendering into ``storage``. ``fail_attempts`` > 0 makes
    the first N attempts of every job fail before rendering (a test hook for the retry path;
    0 in production).

    The engine call goes through ``breakers.engine`` and its encoding stage through
    ``breakers.encoder``: pass one :func:`job_breakers` per process, the same for every
    runner (default: one in-memory set per process with the default settings). Queue calls
    are retried on transient database/Redis errors by ``retry``.

    ``planner`` makes each job's plan (default: the rule-based planner; workers pass a
    :class:`musewave.planning.Planner`, which may ask a language model)."""

    def __init__(
        self,
        store: AttemptStore,
        storage: Storage,
        worker_id: str,
        *,
        lease_ms: int,
        emit: PublishEvent,
        fail_attempts: int = 0,
        breakers: Breakers | None = None,
        retry: TransientRetry = JOB_STATE_RETRY,
        planner: Callable[[GenerationRequest], Plan] = make_plan,
    ):
        self.store = store
        self.storage = storage
        self.worker_id = worker_id
        self.lease_ms = lease_ms
        self.emit = emit
        self.fail_attempts = fail_attempts
        metrics.worker_process_started()
        self.breakers = breakers or _default_breakers()
        self.retry = retry
        self.planner = planner

    def run(self, job: JobRecord) -> JobState:
        """Run ``job`` (already claimed by this worker) to an outcome; returns the new state.

        Every line logged meanwhile, by any module, carries ``job_id``, ``request_id`` and
        ``attempt``; the attempt is one trace span with a child span per engine stage."""
        with (
            structlog.contextvars.bound_contextvars(
                job_id=job.id, request_id=job.request_id, attempt=job.attempts
            ),
            job_attempt_span(
                job_id=job.id,
                attempt=job.attempts,
                request_id=job.request_id,
                worker_id=self.worker_id,
                trace_context=job.trace_context,
            ) as span,
        ):
            stage_spans = StageSpans(span, job.id)
            try:
                state = self._run(job, stage_spans)
            finally:
                stage_spans.close()
            span.set_attribute("job.outcome", state.value)
            return state

    def _run(self, job: JobRecord, stage_spans: StageSpans) -> JobState:
        attempt = job.attempts
        started = time.monotonic()
        log.info("job started", worker_id=self.worker_id, priority=job.priority.value)
        request = resolve_seed(job.generation_request())
        out_dir = self.storage.render_dir(job.id)

        def on_progress(event: ProgressEvent) -> None:
            if stage_spans.enter(event.stage):
                log.debug("job stage", stage=event.stage, message=event.message)
            held = self.retry.call(
                "update job progress",
                self.store.update_progress,
                job.id,
                self.worker_id,
                event.stage,
                event.progress,
            )
            if not held:  # the lease was lost and another attempt owns the job's stream
                return
            self.emit(
                JobEvent(
                    type="progress",
                    job_id=job.id,
                    stage=event.stage,
                    progress=event.progress,
                    message=event.message,
                    attempt=attempt,
                )
            )

        time_limit_s = engine_time_limit_s(request, self.breakers.engine.config.call_timeout_s)

        def should_cancel() -> bool:
            # The engine checks in here between steps: an overdue call stops at the next one.
            self.breakers.engine.raise_if_overdue(started, timeout_s=time_limit_s)
            return self.retry.call("check for cancel", self.store.is_cancel_requested, job.id)

        def render() -> GenerationResult:
            return generate(
                request,
                out_dir,
                on_progress,
                should_cancel,
                guard_encode=self.breakers.encoder.call,
                planner=self.planner,
            )

        try:
            with _LeaseKeeper(self.store, job.id, self.worker_id, self.lease_ms, self.retry):
                remove_stale_staging(out_dir)  # an earlier attempt may have been killed
                if attempt <= self.fail_attempts:
                    raise InjectedFault(f"injected failure on attempt {attempt}")
                result = self.breakers.engine.call(render, timeout_s=time_limit_s)
                assert result.plan.seed is not None
                # Inside the lease and the failure handling: an upload to an object store can
                # take a while, and fail like any other step.
                assets = self._publish(result, job.id)
        except Cancelled:
            log.info("job cancelled", duration_ms=_ms_since(started))
            self.retry.call("mark job cancelled", self.store.mark_cancelled, job.id, self.worker_id)
            metrics.job_attempt_finished(JobState.CANCELLED, time.monotonic() - started)
            self.emit(
                JobEvent(type="cancelled", job_id=job.id, stage=JobState.CANCELLED, attempt=attempt)
            )
            return JobState.CANCELLED
        except Exception as error:  # every failure is recorded; the policy decides what next
            return self._failed(job, attempt, error, _ms_since(started))
        if not self.retry.call(
            "complete job",
            self.store.complete,
            job.id,
            self.worker_id,
            assets,
            seed=result.plan.seed,
            stage_ms={stage: round(s * 1000) for stage, s in result.timings_s.items()},
            planner=result.plan.planner,
        ):
            log.warning("job finished after losing its lease; another worker owns it now")
            return JobState.ACTIVE
        log.info(
            "job completed",
            duration_ms=_ms_since(started),
            seed=result.plan.seed,
            files=len(result.files),
        )
        metrics.job_completed(time.monotonic() - started, result.timings_s, result.plan.duration_s)
        self.emit(
            JobEvent(
                type="completed",
                job_id=job.id,
                stage=Stage.COMPLETED,
                progress=100,
                attempt=attempt,
                result=completion_result(result.plan.seed, assets),
            )
        )
        return JobState.COMPLETED

    def _publish(self, result: GenerationResult, job_id: str) -> list[AssetRecord]:
        """The rendered files, made readable under their storage keys."""
        keys = self.storage.publish(job_id, [f.name for f in result.files])
        return [
            AssetRecord(
                name=f.name,
                kind=f.kind,
                path=key,
                media_type=f.media_type,
                size_bytes=f.size_bytes,
                sha256=f.sha256,
                duration_s=f.duration_s,
            )
            for f, key in zip(result.files, keys, strict=True)
        ]

    def _failed(
        self, job: JobRecord, attempt: int, error: Exception, duration_ms: float
    ) -> JobState:
        message = f"{type(error).__name__}: {error}"
        error_kind = error_kind_of(error)
        record = self.retry.call(
            "record job failure", self.store.fail, job.id, self.worker_id, message, error_kind
        )
        if record is None:
            # The job is another worker's now (this one lost it), and so is its outcome: no
            # final event from here, it would end the job's streams while it still runs.
            log.warning("job attempt failed after losing the job", error=message)
            return JobState.ACTIVE
        state = record.state
        metrics.job_attempt_finished(state, duration_ms / 1000)
        will_retry = state is JobState.QUEUED
        # An invalid request's message may quote the person's words (a lyric espeak-ng cannot
        # read): logs and traces get its type and a digest; the job keeps it for its owner.
        user_text = error_kind == INVALID_REQUEST
        logged = _digest_of(error, message) if user_text else message
        # Warning while retries remain; error once the job has failed for good.
        (log.warning if will_retry else log.error)(
            "job attempt failed",
            error=logged,
            error_kind=error_kind,
            next_state=state.value,
            will_retry=will_retry,
            retry_at=record.run_after.isoformat() if will_retry else None,
            duration_ms=duration_ms,
            exc_info=None if user_text else error,
        )
        span = trace.get_current_span()
        if not user_text:
            span.record_exception(error)
        span.set_status(trace.Status(trace.StatusCode.ERROR, logged))
        event_type: EventType = "failed"
        if state is JobState.QUEUED:
            event_type = "error"  # this attempt failed; the job will be retried
        elif state is JobState.CANCELLED:
            event_type = "cancelled"
        self.emit(
            JobEvent(
                type=event_type,
                job_id=job.id,
                stage=state.value,
                progress=0,
                message="will retry" if will_retry else "",
                attempt=attempt,
                error=message,
                ts=record.updated_at,  # when the store recorded it, the clock of retry_at
                retry_at=record.run_after if will_retry else None,
            )
        )
        return state


def _ms_since(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)


def _digest_of(error: Exception, message: str) -> str:
    """``error``'s type and a digest of its message: loggable when the message is not."""
    digest = hashlib.sha256(message.encode("utf-8")).hexdigest()[:12]
    return f"{type(error).__name__} (message sha256 {digest})"


# Engine time a job may take beyond the engine breaker's timeout, per second of audio: each
# music video costs ~0.3 s of CPU per second of audio on a free core (bench/video_bench.py),
# the vocals ~0.1 s; allowed about three times that, for a worker sharing its cores.
VIDEO_ALLOWANCE_PER_AUDIO_S = 1.0
VOCALS_ALLOWANCE_PER_AUDIO_S = 0.3


def engine_time_limit_s(request: GenerationRequest, base_s: float) -> float:
    """How long the engine may take for ``request``: ``base_s`` (the engine breaker's
    timeout, sized for a track with stems), plus room for the music videos and vocals it asks
    for, so that a long sung track with three videos is not stopped or counted as a
    failure of the engine."""
    styles = len(request.video_styles) if request.generate_video else 0
    per_audio_s = styles * VIDEO_ALLOWANCE_PER_AUDIO_S
    if not request.instrumental:
        per_audio_s += VOCALS_ALLOWANCE_PER_AUDIO_S
    return base_s + per_audio_s * request.duration_s
