"""Frames as drawn (before encoding): visualizers follow the audio, the lyric line fills as it
is sung, section changes wipe in the new palette."""

from __future__ import annotations

import numpy as np
import pytest

from musewave.engine.plan import Plan
from musewave.engine.timed_lyrics import TimedLine
from musewave.engine.video import frame_renderer
from musewave.engine.video.analysis import analyse
from musewave.engine.video.canvas import Canvas, rgb_from_yuv
from musewave.engine.video.lyric import LINE_CENTRE_Y, LINE_SIZES, MAX_LINE_PX, section_lines
from musewave.engine.video.scene import FPS, HEIGHT, WIDTH, Colours, Scene
from musewave.engine.video.spectrum import FLOOR_Y, MAX_BAR_PX, N_BANDS
from musewave.engine.video.transitions import WIPE_S
from musewave.engine.video.typography import layout
from musewave.engine.video.waveform import TRACE_AMPLITUDE_PX, TRACE_Y
from tests.engine.video.support import SR, short_plan, sung_line, tone_and_noise


def draw_at(
    style: str, plan: Plan, audio: np.ndarray, time_s: float, lines: list[TimedLine] | None = None
) -> Canvas:
    draw, _ = frame_renderer(style, plan, audio, SR, lines or [])
    canvas = Canvas(WIDTH, HEIGHT)
    draw(canvas, round(time_s * FPS))
    return canvas


def changed_pixels(canvas: Canvas, top: int, bottom: int, left: int, right: int) -> int:
    """Pixels in the box whose luma differs from the background (column 2, no drawing)."""
    region = canvas.y[top:bottom, left:right].astype(int)
    background = canvas.y[top:bottom, 2:3].astype(int)
    return int(np.count_nonzero(np.abs(region - background) > 12))


def test_spectrum_bars_rise_with_the_audio() -> None:
    plan, audio = short_plan(3.0), tone_and_noise(3.0, loud_from_s=1.5)
    quiet = draw_at("spectrum", plan, audio, 0.5)
    loud = draw_at("spectrum", plan, audio, 2.5)
    box = (FLOOR_Y - MAX_BAR_PX, FLOOR_Y - 16, 60, WIDTH - 60)  # above the resting bars
    assert changed_pixels(quiet, *box) < 500
    assert changed_pixels(loud, *box) > 20 * max(1, changed_pixels(quiet, *box))


def test_waveform_trace_swings_with_the_audio() -> None:
    plan, audio = short_plan(3.0), tone_and_noise(3.0, loud_from_s=1.5)
    box = (TRACE_Y - TRACE_AMPLITUDE_PX, TRACE_Y + TRACE_AMPLITUDE_PX, 60, WIDTH - 60)

    def rows_reached(canvas: Canvas) -> int:
        top, bottom, left, right = box
        differs = (
            np.abs(canvas.y[top:bottom, left:right].astype(int) - canvas.y[top:bottom, 2:3]) > 12
        )
        return int(np.count_nonzero(differs.any(axis=1)))

    quiet = rows_reached(draw_at("waveform", plan, audio, 0.5))
    loud = rows_reached(draw_at("waveform", plan, audio, 2.5))
    assert quiet <= 12  # a flat line, a few pixels thick
    assert loud > 5 * quiet


def test_frames_follow_the_audio_not_the_clock() -> None:
    plan = short_plan(2.0)
    silent = np.zeros((2, 2 * SR), np.float32)
    a = draw_at("spectrum", plan, silent, 1.0)
    b = draw_at("spectrum", plan, tone_and_noise(2.0, loud_from_s=0.0), 1.0)
    assert not np.array_equal(a.buffer, b.buffer)


def _classify(canvas: Canvas, colours: Colours, top: int, bottom: int) -> tuple[np.ndarray, ...]:
    """Columns of pixels in rows top..bottom drawn in the highlight and in the text colour.

    A few edge pixels of highlighted glyphs read as text: their chroma is shared with the
    background (4:2:0), so checks below allow 1 % strays."""
    rgb = canvas.rgb()[top:bottom].astype(float)
    highlight = rgb_from_yuv(colours.highlight) * 255
    text = rgb_from_yuv(colours.text) * 255
    near_highlight = np.linalg.norm(rgb - highlight, axis=-1) < 40
    near_text = np.linalg.norm(rgb - text, axis=-1) < 40
    return np.nonzero(near_highlight)[1], np.nonzero(near_text)[1]


LYRIC = "alpha beta gamma delta"


@pytest.mark.parametrize(
    ("time_s", "expected"),
    [(0.8, "nothing sung"), (1.7, "half of beta"), (2.3, "into gamma"), (3.1, "all sung")],
)
def test_lyric_line_is_highlighted_up_to_the_word_being_sung(time_s: float, expected: str) -> None:
    plan = short_plan(4.0)
    audio = np.zeros((2, 4 * SR), np.float32)
    line = sung_line(LYRIC, 1.0, 0.5)  # alpha 1.0–1.4, beta 1.5–1.9, gamma 2.0–2.4, delta 2.5–2.9
    canvas = draw_at("lyric", plan, audio, time_s, [line])
    frame = round(time_s * FPS)
    scene = Scene(plan, analyse(audio, SR, FPS, 4 * FPS, N_BANDS), 4 * FPS)
    _, colours = scene.state(frame)
    _, rows = layout([(w.text, w.start_s, w.end_s) for w in line.words], MAX_LINE_PX, LINE_SIZES)
    (row,) = rows
    left = (WIDTH - row.mask.width) // 2
    left -= left % 2
    split = left + row.split_x(frame / FPS)
    top = LINE_CENTRE_Y - row.mask.height // 2
    sung, unsung = _classify(canvas, colours, top, top + row.mask.height)
    if expected == "nothing sung":
        assert unsung.size > 500 and sung.size < unsung.size / 100
    elif expected == "all sung":
        assert sung.size > 500 and unsung.size < sung.size / 100
    else:
        assert sung.size > 100 and unsung.size > 100
        assert np.quantile(sung, 0.99) < split <= np.quantile(unsung, 0.01) + 2
        beta = row.words[1]
        if expected == "half of beta":
            share = (frame / FPS - beta.start_s) / (beta.end_s - beta.start_s)
            assert split == pytest.approx(left + beta.x0 + share * (beta.x1 - beta.x0), abs=2)
        else:
            assert split > left + beta.x1


def test_instrumental_lyric_video_sings_the_section_names() -> None:
    plan = short_plan(4.0)
    lines = section_lines(plan)
    assert [line.text for line in lines] == [s.label.capitalize() for s in plan.sections]
    assert [line.start_s for line in lines] == [s.start_s for s in plan.sections]
    section = plan.sections[1]
    middle = (section.start_s + section.end_s) / 2
    canvas = draw_at("lyric", plan, np.zeros((2, 4 * SR), np.float32), middle)
    scene = Scene(plan, analyse(np.zeros((2, 4 * SR), np.float32), SR, FPS, 120, N_BANDS), 120)
    _, colours = scene.state(round(middle * FPS))
    sung, unsung = _classify(canvas, colours, LINE_CENTRE_Y - 50, LINE_CENTRE_Y + 50)
    assert sung.size > 100 and unsung.size > 100
    assert sung.mean() < unsung.mean()
    # The title is up too, above the line.
    _, title = _classify(canvas, colours, LINE_CENTRE_Y - 210, LINE_CENTRE_Y - 120)
    assert title.size > 500


def test_a_section_change_wipes_the_new_palette_in_from_the_left() -> None:
    plan = short_plan(4.0)
    boundary = plan.sections[1].start_s
    silent = np.zeros((2, 4 * SR), np.float32)
    canvas = draw_at("spectrum", plan, silent, boundary + WIPE_S / 2)
    scene = Scene(plan, analyse(silent, SR, FPS, 120, N_BANDS), 120)
    old = Colours.of(scene.timeline.palettes[0]).background
    new = Colours.of(scene.timeline.palettes[1]).background
    row = 600
    assert abs(int(canvas.y[row, 4]) - round(float(new[row, 0]))) <= 1
    assert abs(int(canvas.y[row, WIDTH - 4]) - round(float(old[row, 0]))) <= 1
    assert abs(int(canvas.u[row // 2, 2]) - round(float(new[row, 1]))) <= 1
    before = draw_at("spectrum", plan, silent, boundary - 0.1)
    assert abs(int(before.y[row, 4]) - round(float(old[row, 0]))) <= 1
