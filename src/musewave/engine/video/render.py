"""One music video: measure the audio, pick the style's frame renderer, encode the MP4."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from musewave.engine.plan import Plan
from musewave.engine.request import VIDEO_STYLES
from musewave.engine.timed_lyrics import TimedLine
from musewave.engine.video.analysis import FloatArray, analyse
from musewave.engine.video.canvas import Canvas
from musewave.engine.video.encoder import n_video_frames, write_mp4
from musewave.engine.video.lyric import LyricStyle
from musewave.engine.video.scene import FPS, HEIGHT, WIDTH, Scene
from musewave.engine.video.spectrum import N_BANDS, SpectrumStyle
from musewave.engine.video.waveform import WaveformStyle

Draw = Callable[[Canvas, int], None]


def video_name(style: str) -> str:
    """The file a style's video is written to: ``video-<style>.mp4``."""
    return f"video-{style}.mp4"


def frame_renderer(
    style: str,
    plan: Plan,
    audio: FloatArray,
    sample_rate: int,
    lines: Sequence[TimedLine] = (),
) -> tuple[Draw, int]:
    """The ``draw(canvas, frame)`` function of ``style`` for ``plan`` with its mastered
    ``audio`` (float32 (channels, n)), and the number of frames. ``ValueError`` for an unknown
    style."""
    if style not in VIDEO_STYLES:
        raise ValueError(f"unknown video style {style!r}; styles: {', '.join(VIDEO_STYLES)}")
    n_frames = n_video_frames(audio.shape[1], sample_rate, FPS)
    scene = Scene(plan, analyse(audio, sample_rate, FPS, n_frames, N_BANDS), n_frames)
    if style == "spectrum":
        return SpectrumStyle(scene).draw, n_frames
    if style == "waveform":
        return WaveformStyle(scene, audio, sample_rate).draw, n_frames
    return LyricStyle(scene, lines).draw, n_frames


def render_video(
    style: str,
    plan: Plan,
    audio: FloatArray,
    sample_rate: int,
    path: Path,
    *,
    lines: Sequence[TimedLine] = (),
    should_cancel: Callable[[], bool] | None = None,
    on_progress: Callable[[float], None] | None = None,
) -> Path:
    """Write the ``style`` video of ``plan`` over ``audio`` (float32 (channels, n) at
    ``sample_rate``) to ``path``: 1280×720, 30 fps, H.264 + AAC in MP4. ``lines`` are the sung
    lines for the lyric style (none: the sections are shown instead).

    Raises ``Cancelled`` when ``should_cancel()`` turns true (checked every second of video)
    and ``ValueError`` for an unknown style.
    """
    draw, n_frames = frame_renderer(style, plan, audio, sample_rate, lines)
    return write_mp4(
        path,
        draw,
        n_frames,
        audio,
        sample_rate,
        width=WIDTH,
        height=HEIGHT,
        fps=FPS,
        should_cancel=should_cancel,
        on_progress=on_progress,
    )
