"""Errors the queue backends raise to their callers."""

from __future__ import annotations


class QueueUnavailable(RuntimeError):
    """The job engine (Redis) did not answer, and the operation cannot be accepted without it.
    Nothing was changed; the caller may try again later (the API answers 503)."""


class JobNotFound(LookupError):
    """No job has this id (the API answers 404)."""

    def __init__(self, job_id: str) -> None:
        super().__init__(f"no job {job_id!r}")
        self.job_id = job_id


class JobConflict(RuntimeError):
    """The job's state does not allow the operation (the API answers 409)."""


class IdempotencyConflict(RuntimeError):
    """An ``Idempotency-Key`` was used again for a different request (the API answers 409)."""


class InvalidCursor(ValueError):
    """A page cursor this server did not give out (the API answers 422)."""


class BucketsOutOfRange(ValueError):
    """A throughput question with more buckets than allowed, or a bucket longer than the
    window (the API answers 422)."""
