"""The one progress-event shape, used by workers, the API's WebSocket/SSE streams and logs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

EventType = Literal["connected", "progress", "completed", "failed", "cancelled", "error"]
TERMINAL_EVENT_TYPES = frozenset({"completed", "failed", "cancelled"})


def _now() -> datetime:
    return datetime.now(UTC)


class JobEvent(BaseModel):
    """``progress`` is 0–100. ``result`` rides on ``completed``; ``error`` on ``failed`` and on
    ``error`` (an attempt failed and will be retried)."""

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

    @property
    def is_terminal(self) -> bool:
        return self.type in TERMINAL_EVENT_TYPES
