"""Errors the queue backends raise to their callers."""

from __future__ import annotations


class QueueUnavailable(RuntimeError):
    """The job engine (Redis) did not answer, and the operation cannot be accepted without it.
    Nothing was changed; the caller may try again later (the API answers 503)."""
