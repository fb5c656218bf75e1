"""What every style draws around its own picture: the section's background (with the wipe at
section changes), the title, the section's name, and the track's progress.

A :class:`Scene` holds what the styles share for one video: the plan's timeline and palettes
in YUV, the measured audio, and the text masks drawn once.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from musewave.engine.plan import Plan
from musewave.engine.video.analysis import AudioFeatures
from musewave.engine.video.canvas import Canvas, FloatArray, Mask, yuv
from musewave.engine.video.palette import Palette, brighten, gradient, section_palettes
from musewave.engine.video.transitions import SectionState, SectionTimeline
from musewave.engine.video.typography import text_mask

WIDTH, HEIGHT, FPS = 1280, 720, 30
MARGIN = 48
WIPE_EDGE_PX = 8
BASS_LIFT = 14.0  # luma levels the background brightens on a full bass hit
BASS_LIFT_STEP = 3.5
PROGRESS_Y, PROGRESS_H = HEIGHT - 10, 4


@functools.lru_cache(maxsize=64)
def cached_text(text: str, size: int) -> Mask:
    """``text_mask`` remembered: titles and section names are drawn on every frame."""
    return text_mask(text, size)


def section_title(label: str) -> str:
    """A plan label (``"chorus 2"``) as shown: ``"Chorus 2"``."""
    return label[:1].upper() + label[1:]


@dataclass(frozen=True, slots=True)
class Colours:
    """A palette converted for drawing: YUV colours (3,) and the background rows (H, 3)."""

    background: FloatArray
    accents: tuple[FloatArray, FloatArray, FloatArray]
    text: FloatArray
    dim_text: FloatArray
    highlight: FloatArray
    edge: FloatArray

    @classmethod
    def of(cls, palette: Palette) -> Colours:
        return cls(
            background=yuv(gradient(palette.top, palette.bottom, HEIGHT)),
            accents=(yuv(palette.accents[0]), yuv(palette.accents[1]), yuv(palette.accents[2])),
            text=yuv(palette.text),
            dim_text=yuv(palette.dim_text),
            highlight=yuv(palette.highlight),
            edge=yuv(brighten(palette.accents[0], 0.5)),
        )


class Scene:
    """The shared parts of one video of ``plan`` measured as ``features``."""

    def __init__(self, plan: Plan, features: AudioFeatures, n_frames: int) -> None:
        self.plan = plan
        self.features = features
        self.n_frames = n_frames
        palettes = section_palettes(plan)
        self.timeline = SectionTimeline([s.start_s for s in plan.sections], palettes)
        self._backgrounds = [Colours.of(p).background for p in palettes]
        self.title = plan.title
        self.subtitle = f"{plan.profile().name} · {plan.bpm:.0f} BPM · {plan.key}"

    def time_s(self, frame: int) -> float:
        """The time a frame shows: its start (frame 0 is the first instant)."""
        return frame / FPS

    def state(self, frame: int) -> tuple[SectionState, Colours]:
        state = self.timeline.at(self.time_s(frame))
        return state, Colours.of(state.palette)

    def background(self, canvas: Canvas, frame: int, state: SectionState) -> None:
        """The section's gradient, lifted by the bass; during a section change the new one
        sweeps in from the left behind a bright edge."""
        # In whole steps: a lift that changed every frame would make the encoder redo the
        # whole picture each time (a quarter of its time), for a difference no one sees.
        steps = round(BASS_LIFT * float(self.features.bass[frame]) / BASS_LIFT_STEP)
        lift = np.array([steps * BASS_LIFT_STEP, 0.0, 0.0], np.float32)
        current = self._backgrounds[state.index] + lift
        if state.previous is None:
            canvas.fill_gradient(current)
            return
        edge_x = round(state.wipe * WIDTH)
        canvas.fill_gradient(current, 0, edge_x)
        canvas.fill_gradient(self._backgrounds[state.previous] + lift, edge_x, WIDTH)
        palette = self.timeline.palettes[state.index]
        canvas.fill_rect(
            edge_x - WIPE_EDGE_PX, 0, edge_x, HEIGHT, yuv(brighten(palette.accents[0], 0.6))
        )

    def progress_bar(self, canvas: Canvas, frame: int, colours: Colours) -> None:
        """A thin bar along the bottom: the played share in the accent colour, with a tick at
        each section start."""
        played = round(WIDTH * frame / max(1, self.n_frames - 1))
        canvas.blend_rect(0, PROGRESS_Y, WIDTH, PROGRESS_Y + PROGRESS_H, colours.dim_text, 0.35)
        canvas.fill_rect(0, PROGRESS_Y, played, PROGRESS_Y + PROGRESS_H, colours.accents[0])
        for start in self.timeline.starts_s[1:]:
            x = round(WIDTH * start / max(self.plan.duration_s, 1e-6))
            canvas.fill_rect(x - 1, PROGRESS_Y - 4, x + 1, PROGRESS_Y + PROGRESS_H, colours.text)

    def heading(self, canvas: Canvas, colours: Colours, *, size: int = 30) -> None:
        """The title and, under it, genre · tempo · key, at the top left."""
        canvas.paint(cached_text(self.title, size), MARGIN, MARGIN - 14, colours.text)
        canvas.paint(
            cached_text(self.subtitle, size * 3 // 5),
            MARGIN,
            MARGIN - 8 + size + 6,
            colours.dim_text,
            opacity=0.85,
        )

    def section_name(
        self, canvas: Canvas, state: SectionState, colours: Colours, *, y: int, size: int = 34
    ) -> None:
        """The current section's name, centred at row ``y``, while it is fresh."""
        opacity = state.label_opacity
        if opacity <= 0.0:
            return
        mask = cached_text(section_title(self.plan.sections[state.index].label), size)
        canvas.paint(mask, (WIDTH - mask.width) // 2, y, colours.text, opacity=opacity)


def bar_colours(colours: Colours, n: int) -> list[FloatArray]:
    """``n`` colours from the first accent through the second (bars left to right)."""
    a, b = colours.accents[0], colours.accents[1]
    return [a + (b - a) * np.float32(i / max(1, n - 1)) for i in range(n)]


def bar_geometry(n_bars: int, left: int, right: int, gap: int) -> Sequence[tuple[int, int]]:
    """(x0, x1) of ``n_bars`` equal bars with ``gap`` px between them across [left, right)."""
    pitch = (right - left) / n_bars
    return [(round(left + i * pitch), round(left + (i + 1) * pitch) - gap) for i in range(n_bars)]
