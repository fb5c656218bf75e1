"""Small plans, audio and decoding helpers for the video tests (seconds-long videos)."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from musewave.engine.plan import Plan, make_plan
from musewave.engine.request import (
    CLI_DURATION_RANGE_S,
    DURATION_RANGE_CONTEXT,
    GenerationRequest,
)
from musewave.engine.timed_lyrics import TimedLine, TimedWord

SR = 44_100


def short_plan(duration_s: float = 3.0, seed: int = 7, prompt: str = "dreamy synthwave") -> Plan:
    """A real plan with its sections squeezed into ``duration_s`` (the planner's shortest
    track is 10 s; video tests want a few seconds, with section changes in them)."""
    request = GenerationRequest.model_validate(
        {"prompt": prompt, "duration_s": 10.0, "seed": seed},
        context={DURATION_RANGE_CONTEXT: CLI_DURATION_RANGE_S},
    )
    plan = make_plan(request)
    scale = duration_s / plan.duration_s
    sections = [
        s.model_copy(update={"start_s": s.start_s * scale, "end_s": s.end_s * scale})
        for s in plan.sections
    ]
    return plan.model_copy(update={"duration_s": duration_s, "sections": sections})


def tone_and_noise(duration_s: float, loud_from_s: float | None = None) -> np.ndarray:
    """Stereo float32: a soft 220 Hz tone, plus loud noise from ``loud_from_s`` on (silence
    before it when given)."""
    n = round(duration_s * SR)
    t = np.arange(n) / SR
    rng = np.random.default_rng(3)
    tone = 0.25 * np.sin(2 * np.pi * 220 * t)
    if loud_from_s is not None:
        tone = np.where(t >= loud_from_s, tone + 0.3 * rng.standard_normal(n), 0.0)
    return np.stack([tone, tone]).astype(np.float32)


def sung_line(text: str, start_s: float, word_s: float, section: str = "verse 1") -> TimedLine:
    """A line whose words each last ``word_s`` (80 % sung, 20 % gap)."""
    return TimedLine(
        tuple(
            TimedWord(word, start_s + i * word_s, start_s + (i + 0.8) * word_s)
            for i, word in enumerate(text.split())
        ),
        section,
    )


def decoded_frames(path: Path) -> list[np.ndarray]:
    """Every video frame of ``path`` as RGB uint8 (h, w, 3)."""
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
