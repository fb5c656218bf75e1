"""The ``spectrum`` style: the FFT bands as bars standing on a floor line, their reflection
below it, and a cap marking each band's recent peak."""

from __future__ import annotations

import numpy as np

from musewave.engine.video.canvas import Canvas
from musewave.engine.video.scene import (
    HEIGHT,
    MARGIN,
    WIDTH,
    Scene,
    bar_colours,
    bar_geometry,
)

N_BANDS = 64
FLOOR_Y = 470  # where the bars stand
MAX_BAR_PX = 300
MIN_BAR_PX = 4
REFLECTION = 0.3  # the reflection's length as a share of the bar's
REFLECTION_OPACITY = 0.35
CAP_PX = 4
GAP_PX = 5
SHAPE = 1.3  # > 1: quiet bands shorter, so loud ones stand out


class SpectrumStyle:
    """Draws frames of the ``spectrum`` style for ``scene``."""

    n_bands = N_BANDS

    def __init__(self, scene: Scene) -> None:
        self.scene = scene
        self.bars = bar_geometry(N_BANDS, MARGIN + 16, WIDTH - MARGIN - 16, GAP_PX)

    def draw(self, canvas: Canvas, frame: int) -> None:
        scene = self.scene
        state, colours = scene.state(frame)
        scene.background(canvas, frame, state)
        heights = MIN_BAR_PX + (MAX_BAR_PX - MIN_BAR_PX) * np.power(
            scene.features.bands[frame], SHAPE
        )
        caps = MIN_BAR_PX + (MAX_BAR_PX - MIN_BAR_PX) * np.power(scene.features.peaks[frame], SHAPE)
        for (x0, x1), height, cap, colour in zip(
            self.bars, heights, caps, bar_colours(colours, N_BANDS), strict=True
        ):
            top = FLOOR_Y - round(float(height))
            canvas.fill_rect(x0, top, x1, FLOOR_Y, colour)
            cap_top = FLOOR_Y - round(float(cap)) - CAP_PX - 2
            canvas.fill_rect(x0, cap_top, x1, cap_top + CAP_PX, colours.highlight)
            reflection = FLOOR_Y + 4 + round(float(height) * REFLECTION)
            canvas.blend_rect(x0, FLOOR_Y + 4, x1, reflection, colour, REFLECTION_OPACITY)
        canvas.fill_rect(MARGIN, FLOOR_Y, WIDTH - MARGIN, FLOOR_Y + 2, colours.dim_text)
        scene.heading(canvas, colours)
        scene.section_name(canvas, state, colours, y=HEIGHT - 130)
        scene.progress_bar(canvas, frame, colours)
