"""The ``lyric`` style: the line being sung, large, filling with colour word by word as it is
sung (karaoke), the next line under it, over the section's background with a low spectrum.

Without lyrics (an instrumental track) each section is one "line", its name, that fills over
the section's length under the track's title: the same karaoke, by section.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from musewave.engine.plan import Plan
from musewave.engine.timed_lyrics import TimedLine, TimedWord
from musewave.engine.video.canvas import Canvas
from musewave.engine.video.scene import (
    HEIGHT,
    MARGIN,
    WIDTH,
    Colours,
    Scene,
    bar_colours,
    bar_geometry,
    cached_text,
    section_title,
)
from musewave.engine.video.transitions import smoothstep
from musewave.engine.video.typography import TextRow, layout

LINE_SIZES = (64, 58, 52, 46, 40)
NEXT_LINE_SIZES = (34, 30, 26)
TITLE_CARD_SIZE = 60
LINE_CENTRE_Y = 330
LINE_GAP_PX = 6
NEXT_GAP_PX = 36
LEAD_S = 0.6  # a line shows this long before its first word
HOLD_S = 1.5  # and stays after its last word when a long gap follows
FADE_S = 0.25
NEXT_OPACITY = 0.6
MAX_LINE_PX = WIDTH - 2 * MARGIN - 40
STRIP_BANDS = 48
STRIP_FLOOR_Y = HEIGHT - 22
STRIP_MAX_PX = 70
STRIP_OPACITY = 0.45
_CACHED_LAYOUTS = 6


def section_lines(plan: Plan) -> list[TimedLine]:
    """An instrumental track's lines: each section's name, sung over the whole section."""
    return [
        TimedLine(
            (TimedWord(section_title(section.label), section.start_s, section.end_s),),
            section.label,
        )
        for section in plan.sections
    ]


@dataclass(frozen=True, slots=True)
class _Shown:
    """The line on screen (an index into the lines, or ``None``) and its opacity."""

    index: int | None
    opacity: float


class LyricStyle:
    """Draws frames of the ``lyric`` style for ``scene``, singing ``lines`` (in time order;
    empty for an instrumental track: see :func:`section_lines`)."""

    def __init__(self, scene: Scene, lines: Sequence[TimedLine]) -> None:
        self.scene = scene
        self.instrumental = not lines
        self.lines = sorted(lines or section_lines(scene.plan), key=lambda line: line.start_s)
        self.appears_s, self.leaves_s = self._schedule()
        self.bars = bar_geometry(STRIP_BANDS, MARGIN, WIDTH - MARGIN, 4)
        self._layouts: OrderedDict[tuple[int, bool], tuple[TextRow, ...]] = OrderedDict()

    def _schedule(self) -> tuple[list[float], list[float]]:
        """When each line appears and leaves: ``LEAD_S`` before it is sung (never before the
        previous line's last word), until the next one appears or ``HOLD_S`` after its end."""
        appears: list[float] = []
        for index, line in enumerate(self.lines):
            earliest = self.lines[index - 1].end_s if index else 0.0
            appears.append(max(0.0, min(line.start_s, max(earliest, line.start_s - LEAD_S))))
        leaves = [
            min(appears[i + 1], line.end_s + HOLD_S)
            if i + 1 < len(self.lines)
            else line.end_s + HOLD_S
            for i, line in enumerate(self.lines)
        ]
        if self.instrumental:  # sections follow each other without gaps
            leaves = [*appears[1:], float("inf")]
        return appears, leaves

    def _rows(self, index: int, *, current: bool) -> tuple[TextRow, ...]:
        key = (index, current)
        rows = self._layouts.get(key)
        if rows is None:
            words = [(w.text, w.start_s, w.end_s) for w in self.lines[index].words]
            sizes = LINE_SIZES if current else NEXT_LINE_SIZES
            _, rows = layout(words, MAX_LINE_PX, sizes)
            self._layouts[key] = rows
            if len(self._layouts) > _CACHED_LAYOUTS:
                self._layouts.popitem(last=False)
        else:
            self._layouts.move_to_end(key)
        return rows

    def shown(self, time_s: float) -> _Shown:
        """The line on screen at ``time_s`` (fading in after it appears and out before it
        leaves), or none."""
        for index in range(len(self.lines)):
            if self.appears_s[index] <= time_s < self.leaves_s[index]:
                fade_in = smoothstep((time_s - self.appears_s[index]) / FADE_S)
                fade_out = smoothstep((self.leaves_s[index] - time_s) / FADE_S)
                return _Shown(index, min(fade_in, fade_out))
        return _Shown(None, 0.0)

    def draw(self, canvas: Canvas, frame: int) -> None:
        scene = self.scene
        time_s = scene.time_s(frame)
        state, colours = scene.state(frame)
        scene.background(canvas, frame, state)
        self._strip(canvas, frame, colours)
        shown = self.shown(time_s)
        if self.instrumental:
            mask = cached_text(scene.title, TITLE_CARD_SIZE)
            canvas.paint(mask, (WIDTH - mask.width) // 2, LINE_CENTRE_Y - 200, colours.text)
            sub = cached_text(scene.subtitle, 24)
            canvas.paint(
                sub, (WIDTH - sub.width) // 2, LINE_CENTRE_Y - 118, colours.dim_text, opacity=0.9
            )
        else:
            scene.heading(canvas, colours)
            scene.section_name(canvas, state, colours, y=130, size=26)
            if shown.index is None and time_s < (self.appears_s[0] if self.lines else 0.0):
                mask = cached_text(scene.title, TITLE_CARD_SIZE)
                canvas.paint(
                    mask, (WIDTH - mask.width) // 2, LINE_CENTRE_Y - mask.height // 2, colours.text
                )
        if shown.index is not None:
            bottom = self._line(canvas, shown.index, time_s, colours, shown.opacity)
            following = shown.index + 1
            if following < len(self.lines):
                self._next_line(canvas, following, bottom + NEXT_GAP_PX, colours, shown.opacity)
        scene.progress_bar(canvas, frame, colours)

    def _line(
        self, canvas: Canvas, index: int, time_s: float, colours: Colours, opacity: float
    ) -> int:
        """Draw the current line centred on ``LINE_CENTRE_Y``, sung part highlighted; returns
        the row under it."""
        rows = self._rows(index, current=True)
        height = sum(r.mask.height for r in rows) + LINE_GAP_PX * (len(rows) - 1)
        y = LINE_CENTRE_Y - height // 2
        for row in rows:
            x = (WIDTH - row.mask.width) // 2
            x -= x % 2
            canvas.paint(
                row.mask,
                x,
                y,
                colours.highlight,
                opacity=opacity,
                split_x=x + row.split_x(time_s),
                colour_after=colours.text,
            )
            y += row.mask.height + LINE_GAP_PX
        return y

    def _next_line(
        self, canvas: Canvas, index: int, y: int, colours: Colours, opacity: float
    ) -> None:
        for row in self._rows(index, current=False):
            canvas.paint(
                row.mask,
                (WIDTH - row.mask.width) // 2,
                y,
                colours.dim_text,
                opacity=NEXT_OPACITY * opacity,
            )
            y += row.mask.height + LINE_GAP_PX

    def _strip(self, canvas: Canvas, frame: int, colours: Colours) -> None:
        """A low, translucent spectrum along the bottom edge."""
        bands = self.scene.features.bands[frame]
        # Resample the analysed bands to the strip's count (the analysis has more).
        levels = np.interp(
            np.linspace(0, len(bands) - 1, STRIP_BANDS), np.arange(len(bands)), bands
        )
        for (x0, x1), level, colour in zip(
            self.bars, levels, bar_colours(colours, STRIP_BANDS), strict=True
        ):
            top = STRIP_FLOOR_Y - 2 - round(float(level) * STRIP_MAX_PX)
            canvas.blend_rect(x0, top, x1, STRIP_FLOOR_Y, colour, STRIP_OPACITY)
