"""The MP4 writer: H.264 video (libx264) and AAC audio through PyAV, fed frame by frame.

Frames are drawn into one reused buffer and handed to the encoder at once, so memory stays
flat whatever the length. Audio goes in alongside, a chunk per chunk of frames, so the muxer
interleaves the two. The file is written under a temporary name and moved into place.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from musewave.engine.errors import Cancelled
from musewave.engine.video.analysis import FloatArray
from musewave.engine.video.canvas import Canvas

VIDEO_CODEC = "libx264"
AUDIO_CODEC = "aac"
AUDIO_BIT_RATE = 192_000
# "superfast" keeps a 60 s video under 30 s of one core with the drawing included ("veryfast"
# cuts the file by a third but costs 40 % more time); one thread keeps the render on the core
# it was given, and the output identical from run to run.
X264_OPTIONS = {
    "preset": "superfast",
    "crf": "22",
    "x264-params": "colorprim=bt709:transfer=bt709:colormatrix=bt709",
}
CHUNK_FRAMES = 30  # frames between cancellation checks and progress reports

DrawFrame = Callable[[Canvas, int], None]


def n_video_frames(n_samples: int, sample_rate: int, fps: int) -> int:
    """Frames that cover ``n_samples`` of audio, to the nearest frame (so the two streams'
    durations differ by at most half a frame)."""
    return max(1, round(n_samples * fps / sample_rate))


def write_mp4(
    path: Path,
    draw: DrawFrame,
    n_frames: int,
    audio: FloatArray,
    sample_rate: int,
    *,
    width: int,
    height: int,
    fps: int,
    should_cancel: Callable[[], bool] | None = None,
    on_progress: Callable[[float], None] | None = None,
) -> Path:
    """Write an MP4 of ``n_frames`` frames made by ``draw(canvas, index)`` and ``audio``
    (float32 (channels, n), 1 or 2 channels) to ``path``.

    ``should_cancel`` is checked every ``CHUNK_FRAMES`` frames (raising ``Cancelled``) and
    ``on_progress(fraction)`` called there. On any error nothing is left at ``path``.
    """
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part.mp4")
    try:
        _encode(
            temporary,
            draw,
            n_frames,
            audio,
            sample_rate,
            Canvas(width, height),
            fps,
            should_cancel=should_cancel,
            on_progress=on_progress,
        )
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def _encode(
    path: Path,
    draw: DrawFrame,
    n_frames: int,
    audio: FloatArray,
    sample_rate: int,
    canvas: Canvas,
    fps: int,
    *,
    should_cancel: Callable[[], bool] | None,
    on_progress: Callable[[float], None] | None,
) -> None:
    """Encode into ``path``, drawing every frame into ``canvas`` (reused)."""
    layout = "stereo" if audio.shape[0] == 2 else "mono"
    with av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"}) as container:
        video = container.add_stream(VIDEO_CODEC, rate=fps, options=X264_OPTIONS)
        sound = container.add_stream(AUDIO_CODEC, rate=sample_rate, layout=layout)
        assert isinstance(video, av.VideoStream) and isinstance(sound, av.AudioStream)
        video.width, video.height, video.pix_fmt = canvas.width, canvas.height, "yuv420p"
        video.codec_context.thread_count = 1
        video.codec_context.time_base = Fraction(1, fps)
        sound.bit_rate = AUDIO_BIT_RATE
        samples_done = 0
        for first in range(0, n_frames, CHUNK_FRAMES):
            if should_cancel is not None and should_cancel():
                raise Cancelled("cancelled while rendering the video")
            last = min(n_frames, first + CHUNK_FRAMES)
            for index in range(first, last):
                draw(canvas, index)
                frame = av.VideoFrame.from_ndarray(canvas.buffer, format="yuv420p")
                frame.pts = index
                for packet in video.encode(frame):
                    container.mux(packet)
            # The audio up to the end of these frames (all of it after the last chunk).
            until = audio.shape[1] if last == n_frames else round(last * sample_rate / fps)
            if until > samples_done:
                block = np.ascontiguousarray(audio[:, samples_done:until], dtype=np.float32)
                audio_frame = av.AudioFrame.from_ndarray(block, format="fltp", layout=layout)
                audio_frame.sample_rate = sample_rate
                audio_frame.pts = samples_done
                for packet in sound.encode(audio_frame):
                    container.mux(packet)
                samples_done = until
            if on_progress is not None:
                on_progress(last / n_frames)
        container.mux(video.encode(None))
        container.mux(sound.encode(None))
