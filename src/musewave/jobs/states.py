"""Job states and priorities: the words both queue backends and the API share."""

from __future__ import annotations

from enum import StrEnum


class JobState(StrEnum):
    """Where a job is in its life.

    ``queued → active → completed | failed | cancelled``. A failed attempt with retries left
    goes back to ``queued`` (after its backoff delay); with none left it goes to ``dead``, the
    dead-letter state an admin can re-drive from. A job whose deadline passes before it ever
    started goes from ``queued`` to ``aborted``; one that had started is ``cancelled``.
    """

    QUEUED = "queued"
    ACTIVE = "active"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    DEAD = "dead"
    ABORTED = "aborted"

    @property
    def is_finished(self) -> bool:
        """True when no worker will touch the job again (unless an admin re-drives it)."""
        return self in FINISHED_STATES


FINISHED_STATES: frozenset[JobState] = frozenset(
    {JobState.COMPLETED, JobState.FAILED, JobState.CANCELLED, JobState.DEAD, JobState.ABORTED}
)


# Dead or failed jobs may be sent back to the queue with a fresh set of attempts.
REDRIVABLE_STATES: frozenset[JobState] = frozenset({JobState.DEAD, JobState.FAILED})


class Priority(StrEnum):
    """Scheduling priority. ``rank`` is the stored number: lower runs first (as in BullMQ)."""

    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    @classmethod
    def from_rank(cls, rank: int) -> Priority:
        for priority, value in _RANKS.items():
            if value == rank:
                return priority
        raise ValueError(f"unknown priority rank {rank}")


_RANKS: dict[Priority, int] = {Priority.HIGH: 1, Priority.NORMAL: 2, Priority.LOW: 3}
