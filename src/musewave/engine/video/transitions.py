"""Section changes in the pictures: at each boundary of the plan the new section's palette
sweeps in from the left behind a bright edge, and its name shows for a moment.

Pure functions of time, so any frame can be drawn on its own (and frames are identical
however the video is cut into chunks).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

from musewave.engine.video.palette import Palette

WIPE_S = 0.6  # how long the new palette takes to cross the frame
LABEL_S = 2.2  # how long a section's name stays up after its start
LABEL_FADE_S = 0.4


def smoothstep(x: float) -> float:
    """0 → 0, 1 → 1, with zero slope at both ends (x clipped to 0–1)."""
    x = min(1.0, max(0.0, x))
    return x * x * (3.0 - 2.0 * x)


@dataclass(frozen=True, slots=True)
class SectionState:
    """Where ``time_s`` falls: the section ``index`` (into the plan's sections), seconds since
    it began, the ``previous`` section's index while its palette is being wiped away (else
    ``None``), the wipe's progress ``wipe`` (0–1, eased), and ``palette``, the colours of
    things drawn over the background (blended from the previous section's during the wipe)."""

    index: int
    since_start_s: float
    previous: int | None
    wipe: float
    palette: Palette

    @property
    def label_opacity(self) -> float:
        """1 while the section's name shows, fading in and out at the ends (0 after)."""
        t = self.since_start_s
        if t >= LABEL_S:
            return 0.0
        return min(smoothstep(t / LABEL_FADE_S), smoothstep((LABEL_S - t) / LABEL_FADE_S))


class SectionTimeline:
    """The plan's sections on the time axis with their palettes."""

    def __init__(self, starts_s: Sequence[float], palettes: Sequence[Palette]) -> None:
        if not starts_s or len(starts_s) != len(palettes):
            raise ValueError("one palette per section, and at least one section")
        self.starts_s = list(starts_s)
        self.palettes = list(palettes)

    def at(self, time_s: float) -> SectionState:
        index = max(0, bisect.bisect_right(self.starts_s, time_s) - 1)
        since = time_s - self.starts_s[index]
        palette = self.palettes[index]
        if index > 0 and since < WIPE_S:
            wipe = smoothstep(since / WIPE_S)
            previous = self.palettes[index - 1]
            return SectionState(index, since, index - 1, wipe, previous.mix(palette, wipe))
        return SectionState(index, since, None, 1.0, palette)
