"""Progress reporting: the engine's stages, their share of the work, and the event it emits."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# Stages in pipeline order with their rough share of the wall time (sums to 100).
STAGE_WEIGHTS: dict[str, float] = {
    "planning": 2,
    "composing": 3,
    "rendering": 22,
    "vocals": 8,  # only when the track is sung
    "mixing": 13,
    "mastering": 12,
    "video": 10,  # only when a video is asked for
    "encoding": 22,
    "validating": 8,
}
STAGES = tuple(STAGE_WEIGHTS)
# Stages a request may skip (progress then jumps over their share).
OPTIONAL_STAGES = ("vocals", "video")


@dataclass(frozen=True, slots=True)
class ProgressEvent:
    """``progress`` is overall 0–100; ``stage_progress`` is 0–1 within ``stage``."""

    stage: str
    progress: float
    stage_progress: float
    message: str


ProgressCallback = Callable[[ProgressEvent], None]
CancelCheck = Callable[[], bool]


def overall_progress(stage: str, stage_progress: float) -> float:
    done = 0.0
    for name, weight in STAGE_WEIGHTS.items():
        if name == stage:
            return round(done + weight * min(1.0, max(0.0, stage_progress)), 2)
        done += weight
    raise KeyError(stage)
