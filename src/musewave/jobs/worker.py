"""Running one claimed job: the engine call, progress, cancellation, lease renewal, outcome.

Backend-neutral apart from the queue object it is given; the local worker pool and the BullMQ
worker both drive jobs through :class:`JobRunner`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from musewave.engine import Cancelled, GenerationResult, ProgressEvent, generate, resolve_seed
from musewave.engine.pipeline import remove_stale_staging
from musewave.jobs.events import EventType, JobEvent
from musewave.jobs.policy import error_kind_of
from musewave.jobs.records import AssetRecord, JobRecord
from musewave.jobs.states import JobState

EmitEvent = Callable[[JobEvent], None]


class InjectedFault(RuntimeError):
    """Raised on purpose by ``fail_attempts`` (a test-only setting) to exercise retries."""


class JobQueue(Protocol):
    """The part of a queue backend a runner needs."""

    def renew_lease(self, job_id: str, worker_id: str, lease_ms: int) -> bool: ...
    def update_progress(self, job_id: str, worker_id: str, stage: str, progress: float) -> bool: ...
    def is_cancel_requested(self, job_id: str) -> bool: ...
    def complete(
        self, job_id: str, worker_id: str, assets: list[AssetRecord], *, seed: int
    ) -> bool: ...
    def fail(
        self, job_id: str, worker_id: str, error: str, error_kind: str
    ) -> JobRecord | None: ...
    def mark_cancelled(self, job_id: str, worker_id: str) -> bool: ...


class _LeaseKeeper:
    """Renews the job's lease every third of its length until stopped."""

    def __init__(self, queue: JobQueue, job_id: str, worker_id: str, lease_ms: int):
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(queue, job_id, worker_id, lease_ms), daemon=True
        )

    def _run(self, queue: JobQueue, job_id: str, worker_id: str, lease_ms: int) -> None:
        while not self._stop.wait(lease_ms / 3000):
            queue.renew_lease(job_id, worker_id, lease_ms)

    def __enter__(self) -> _LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


class JobRunner:
    """Runs jobs for one worker slot. ``fail_attempts`` > 0 makes the first N attempts of every
    job fail before rendering (a test hook for the retry path; 0 in production)."""

    def __init__(
        self,
        queue: JobQueue,
        storage_root: Path,
        worker_id: str,
        *,
        lease_ms: int,
        emit: EmitEvent,
        fail_attempts: int = 0,
    ):
        self.queue = queue
        self.storage_root = storage_root
        self.worker_id = worker_id
        self.lease_ms = lease_ms
        self.emit = emit
        self.fail_attempts = fail_attempts

    def run(self, job: JobRecord) -> JobState:
        """Run ``job`` (already claimed by this worker) to an outcome; returns the new state."""
        attempt = job.attempts
        request = resolve_seed(job.generation_request())
        out_dir = self.storage_root / job.id

        def on_progress(event: ProgressEvent) -> None:
            self.queue.update_progress(job.id, self.worker_id, event.stage, event.progress)
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

        def should_cancel() -> bool:
            return self.queue.is_cancel_requested(job.id)

        try:
            with _LeaseKeeper(self.queue, job.id, self.worker_id, self.lease_ms):
                remove_stale_staging(out_dir)  # an earlier attempt may have been killed
                if attempt <= self.fail_attempts:
                    raise InjectedFault(f"injected failure on attempt {attempt}")
                result = generate(
                    request, out_dir, on_progress, should_cancel, stems=True, midi=True
                )
        except Cancelled:
            self.queue.mark_cancelled(job.id, self.worker_id)
            self.emit(JobEvent(type="cancelled", job_id=job.id, stage="cancelled", attempt=attempt))
            return JobState.CANCELLED
        except Exception as error:  # every failure is recorded; the policy decides what next
            return self._failed(job, attempt, error)
        assert result.plan.seed is not None
        if not self.queue.complete(
            job.id, self.worker_id, _assets(result, job.id), seed=result.plan.seed
        ):
            return JobState.ACTIVE  # lost the lease meanwhile: another worker owns the job now
        self.emit(
            JobEvent(
                type="completed", job_id=job.id, stage="completed", progress=100, attempt=attempt
            )
        )
        return JobState.COMPLETED

    def _failed(self, job: JobRecord, attempt: int, error: Exception) -> JobState:
        message = f"{type(error).__name__}: {error}"
        record = self.queue.fail(job.id, self.worker_id, message, error_kind_of(error))
        state = record.state if record else JobState.FAILED
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
                message="will retry" if state is JobState.QUEUED else "",
                attempt=attempt,
                error=message,
            )
        )
        return state


def _assets(result: GenerationResult, job_id: str) -> list[AssetRecord]:
    return [
        AssetRecord(
            name=f.name,
            kind=f.kind,
            path=f"{job_id}/{f.name}",
            media_type=f.media_type,
            size_bytes=f.size_bytes,
            sha256=f.sha256,
            duration_s=f.duration_s,
        )
        for f in result.files
    ]
