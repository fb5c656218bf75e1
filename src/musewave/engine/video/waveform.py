"""The ``waveform`` style: a live oscilloscope trace of the audio with a soft glow, over an
overview of the whole track's waveform that fills with colour as it plays, sections marked."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import signal

from musewave.engine.video.analysis import FloatArray, mono, overview, waveform
from musewave.engine.video.canvas import Canvas
from musewave.engine.video.scene import (
    FPS,
    MARGIN,
    WIDTH,
    Colours,
    Scene,
    cached_text,
    section_title,
)

TRACE_Y = 320
TRACE_AMPLITUDE_PX = 180
TRACE_GAIN = 2.0  # low-passed, mastered music rarely swings past ±0.5
TRACE_PX = 3
GLOW_PX = 11
GLOW_OPACITY = 0.35
TRACE_SPAN_FRAMES = 1  # the trace shows this many frames' worth of audio
# The trace is low-passed: cymbals would make it a jagged blur (and cost the encoder bits).
TRACE_LOWPASS_HZ = 500.0
STRIP_TOP, STRIP_BOTTOM = 590, 680
STRIP_LABEL_SIZE = 15
LEFT, RIGHT = MARGIN, WIDTH - MARGIN

IntArray = npt.NDArray[np.int32]


def _spans(rows: IntArray, thickness: int) -> tuple[IntArray, IntArray]:
    """Rows per column that join each point of a trace to the next, ``thickness`` px thick."""
    after = np.concatenate([rows[1:], rows[-1:]])
    low = np.minimum(rows, after) - thickness // 2
    high = np.maximum(rows, after) + (thickness + 1) // 2
    return low.astype(np.int32), high.astype(np.int32)


class WaveformStyle:
    """Draws frames of the ``waveform`` style for ``scene`` from the mastered ``audio``
    (float32 (channels, n) at ``sample_rate``)."""

    def __init__(self, scene: Scene, audio: FloatArray, sample_rate: int) -> None:
        self.scene = scene
        self.signal = mono(audio)
        self.sample_rate = sample_rate
        sos = signal.butter(2, TRACE_LOWPASS_HZ, fs=sample_rate, output="sos")
        self.trace_signal = signal.sosfilt(sos, self.signal).astype(np.float32)
        self.width = (RIGHT - LEFT) - (RIGHT - LEFT) % 2
        # sqrt: quiet passages stay visible in the overview.
        reach = np.sqrt(overview(self.signal, self.width)) * ((STRIP_BOTTOM - STRIP_TOP) // 2)
        reach = np.maximum(1, np.round(reach)).astype(np.int32)
        middle = (STRIP_TOP + STRIP_BOTTOM) // 2
        self.strip_low: IntArray = (middle - reach).astype(np.int32)
        self.strip_high: IntArray = (middle + reach).astype(np.int32)
        self.span = round(TRACE_SPAN_FRAMES * sample_rate / FPS)

    def draw(self, canvas: Canvas, frame: int) -> None:
        scene = self.scene
        state, colours = scene.state(frame)
        scene.background(canvas, frame, state)
        centre = round((frame + 0.5) * self.sample_rate / FPS)
        trace = waveform(self.trace_signal, centre, self.width, self.span)
        reach = TRACE_AMPLITUDE_PX * (0.6 + 0.4 * float(scene.features.level[frame]))
        rows = np.round(TRACE_Y - np.clip(trace * TRACE_GAIN, -1.0, 1.0) * reach).astype(np.int32)
        # The glow: a wider trace in the accent mixed into the background, under the line.
        behind = colours.background[TRACE_Y]
        glow = behind + (colours.accents[1] - behind) * np.float32(GLOW_OPACITY)
        canvas.fill_columns(LEFT, *_spans(rows, GLOW_PX), glow)
        canvas.fill_columns(LEFT, *_spans(rows, TRACE_PX), colours.accents[0])
        self._overview(canvas, frame, state.index, colours)
        scene.heading(canvas, colours)
        scene.section_name(canvas, state, colours, y=TRACE_Y - TRACE_AMPLITUDE_PX - 40)

    def _overview(self, canvas: Canvas, frame: int, current: int, colours: Colours) -> None:
        """The whole track's waveform: played in the accent, the rest dim; a playhead; a tick
        and a name at each section start (the current one brighter)."""
        scene = self.scene
        played = min(self.width, round(self.width * frame / max(1, scene.n_frames - 1)))
        played -= played % 2
        canvas.blend_rect(LEFT - 8, STRIP_TOP - 8, RIGHT + 8, STRIP_BOTTOM + 8, colours.text, 0.08)
        if played > 0:
            canvas.fill_columns(
                LEFT, self.strip_low[:played], self.strip_high[:played], colours.accents[0]
            )
        if played < self.width:
            canvas.fill_columns(
                LEFT + played, self.strip_low[played:], self.strip_high[played:], colours.dim_text
            )
        canvas.fill_rect(
            LEFT + played - 1, STRIP_TOP - 10, LEFT + played + 1, STRIP_BOTTOM + 10, colours.text
        )
        for index, section in enumerate(scene.plan.sections):
            x = LEFT + round(self.width * section.start_s / max(scene.plan.duration_s, 1e-6))
            canvas.fill_rect(x, STRIP_TOP - 14, x + 2, STRIP_TOP - 8, colours.text)
            label = cached_text(section_title(section.label), STRIP_LABEL_SIZE)
            canvas.paint(
                label,
                x + 4,
                STRIP_TOP - 34,
                colours.text,
                opacity=1.0 if index == current else 0.5,
            )
