"""Music videos: frames drawn with numpy and Pillow into YUV, encoded to MP4 with PyAV.

Styles: ``lyric`` (karaoke lines, or the sections of an instrumental), ``spectrum`` (FFT bars)
and ``waveform`` (oscilloscope and track overview), all in the plan's palette with a wipe at
each section change. One module per concept: ``palette``, ``canvas``, ``typography``,
``analysis``, ``transitions``, ``scene``, a module per style, ``encoder``, ``render`` and
``check`` (decoding a written video back).
"""

from __future__ import annotations

from musewave.engine.video.check import VideoReport, validate_video_file
from musewave.engine.video.render import frame_renderer, render_video, video_name
from musewave.engine.video.scene import FPS, HEIGHT, WIDTH

__all__ = [
    "FPS",
    "HEIGHT",
    "WIDTH",
    "VideoReport",
    "frame_renderer",
    "render_video",
    "validate_video_file",
    "video_name",
]
