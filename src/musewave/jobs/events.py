"""The one progress-event shape, used by workers, the API's WebSocket/SSE streams and logs, and
the stages a job moves through."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from musewave.jobs.records import AssetRecord, JobRecord
from musewave.jobs.states import JobState

EventType = Literal["connected", "progress", "completed", "failed", "cancelled", "error"]
TERMINAL_EVENT_TYPES = frozenset({"completed", "failed", "cancelled"})


class Stage(StrEnum):
    """Where a job is, in order. The engine names the stages between ``queued`` and
    ``completed`` (see ``musewave.engine.progress``); ``vocals`` and ``video`` are optional."""

    QUEUED = "queued"
    PLANNING = "planning"
    COMPOSING = "composing"
    RENDERING = "rendering"
    VOCALS = "vocals"
    MIXING = "mixing"
    MASTERING = "mastering"
    VIDEO = "video"
    ENCODING = "encoding"
    VALIDATING = "validating"
    COMPLETED = "completed"


_STAGE_ORDER = {stage.value: rank for rank, stage in enumerate(Stage)}


def _now() -> datetime:
    return datetime.now(UTC)


class JobEvent(BaseModel):
    """``progress`` is 0–100. ``result`` rides on ``completed``; ``error`` on ``failed`` and on
    ``error`` (an attempt failed and will be retried at ``retry_at``; ``ts`` is then when the
    failure was recorded). ``stage`` is a :class:`Stage`, or the final state (``cancelled``,
    ``aborted``, ``failed``, ``dead``) on the event that ends a job: ``aborted`` rides on a
    ``cancelled`` event, for a job whose deadline passed before it started."""

    model_config = ConfigDict(frozen=True)

    type: EventType
    job_id: str
    stage: str
    progress: float = 0.0
    message: str = ""
    attempt: int = 0
    ts: datetime = Field(default_factory=_now)
    result: dict[str, Any] | None = None
    error: str | None = None
    retry_at: datetime | None = None

    @property
    def is_terminal(self) -> bool:
        return self.type in TERMINAL_EVENT_TYPES

    @property
    def position(self) -> tuple[float, int]:
        """How far the attempt had got: percent first, then the stage, because a stage ends
        at the same percent as the next one starts (composing 100 % and rendering 0 % are
        both 5 %)."""
        return self.progress, _STAGE_ORDER.get(self.stage, len(_STAGE_ORDER))


# Something that takes events: the API's fan-out, a worker's relay, a test's list.append.
PublishEvent = Callable[[JobEvent], None]


def queued_event(job: JobRecord) -> JobEvent:
    """A job was accepted (or re-driven) and waits for a worker."""
    return JobEvent(type="progress", job_id=job.id, stage=Stage.QUEUED, attempt=job.attempts)


def connected_event(job: JobRecord) -> JobEvent:
    """The first event a subscriber gets: where the job is now (its state in ``message``)."""
    return JobEvent(
        type="connected",
        job_id=job.id,
        stage=job.stage,
        progress=job.progress,
        attempt=job.attempts,
        message=job.state.value,
    )


def completion_result(seed: int | None, assets: Sequence[AssetRecord]) -> dict[str, Any]:
    """What a ``completed`` event carries: the seed used and the files, by name as in the
    job's record (the API adds links)."""
    ordered = sorted(assets, key=lambda asset: asset.name)
    return {
        "seed": seed,
        "assets": [asset.model_dump(mode="json", exclude={"path"}) for asset in ordered],
    }


def final_event(job: JobRecord) -> JobEvent | None:
    """The event that says how a finished job ended (None while it may still run)."""
    common: dict[str, Any] = {"job_id": job.id, "attempt": job.attempts, "progress": job.progress}
    if job.state is JobState.COMPLETED:
        result = completion_result(job.seed, job.assets)
        return JobEvent(type="completed", stage=Stage.COMPLETED, result=result, **common)
    if job.state in (JobState.FAILED, JobState.DEAD):
        return JobEvent(type="failed", stage=job.state.value, error=job.error, **common)
    if job.state in (JobState.CANCELLED, JobState.ABORTED):
        return JobEvent(type="cancelled", stage=job.state.value, **common)
    return None
