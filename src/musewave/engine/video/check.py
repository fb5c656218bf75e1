"""Decode a written video back and check it is what was meant: H.264 at the right size and
frame rate, every frame decodable, an AAC audio stream, both as long as the audio."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from musewave.engine.errors import ValidationFailed


@dataclass(frozen=True, slots=True)
class VideoReport:
    """What a written MP4 decodes to."""

    path: Path
    width: int
    height: int
    fps: Fraction
    n_frames: int
    video_duration_s: float
    audio_duration_s: float
    audio_sample_rate: int
    audio_channels: int
    size_bytes: int
    sha256: str


def _fail(path: Path, check: str, measured: object, expected: object) -> ValidationFailed:
    return ValidationFailed(
        f"{path.name}: {check} check failed: measured {measured}, expected {expected}"
    )


def validate_video_file(
    path: Path,
    *,
    expected_duration_s: float,
    width: int,
    height: int,
    fps: int,
    sample_rate: int | None = None,
) -> VideoReport:
    """Decode every frame and audio sample of ``path``; check the codecs (H.264, AAC), size,
    frame rate, and that the video and the audio each last ``expected_duration_s`` within one
    frame. Returns a ``VideoReport``; raises ``ValidationFailed`` otherwise."""
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        raise _fail(path, "exists", "no file or an empty one", "a video file")
    n_frames = 0
    n_samples = 0
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise _fail(path, "video stream", "none", "an H.264 stream")
            if not container.streams.audio:
                raise _fail(path, "audio stream", "none", "an AAC stream")
            video, audio = container.streams.video[0], container.streams.audio[0]
            video.thread_type = "AUTO"
            video_codec, audio_codec = video.codec_context.name, audio.codec_context.name
            rate = video.average_rate or video.guessed_rate or Fraction(0)
            size = (video.codec_context.width, video.codec_context.height)
            audio_rate = int(audio.codec_context.sample_rate or 0)
            channels = int(audio.codec_context.channels)
            for frame in container.decode(video, audio):
                if isinstance(frame, av.VideoFrame):
                    n_frames += 1
                    if (frame.width, frame.height) != size:
                        raise _fail(path, "frame size", frame.width, f"{size}")
                elif isinstance(frame, av.AudioFrame):
                    n_samples += frame.samples
    except ValidationFailed:
        raise
    except (av.FFmpegError, OSError, ValueError) as error:
        raise _fail(path, "decode", f"error {error!r}", "a decodable MP4") from error

    if video_codec != "h264":
        raise _fail(path, "video codec", video_codec, "h264")
    if audio_codec != "aac":
        raise _fail(path, "audio codec", audio_codec, "aac")
    if size != (width, height):
        raise _fail(path, "frame size", f"{size[0]}×{size[1]}", f"{width}×{height}")
    if rate != fps:
        raise _fail(path, "frame rate", f"{float(rate):g} fps", f"{fps} fps")
    if sample_rate is not None and audio_rate != sample_rate:
        raise _fail(path, "audio sample rate", f"{audio_rate} Hz", f"{sample_rate} Hz")
    one_frame = 1.0 / fps
    video_s = n_frames / fps
    audio_s = n_samples / audio_rate if audio_rate else 0.0
    for name, measured in (("video duration", video_s), ("audio duration", audio_s)):
        if abs(measured - expected_duration_s) > one_frame:
            raise _fail(path, name, f"{measured:.3f} s", f"{expected_duration_s:.3f} s ± one frame")
    data_hash = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            data_hash.update(chunk)
    return VideoReport(
        path=path,
        width=size[0],
        height=size[1],
        fps=Fraction(rate),
        n_frames=n_frames,
        video_duration_s=video_s,
        audio_duration_s=audio_s,
        audio_sample_rate=audio_rate,
        audio_channels=channels,
        size_bytes=path.stat().st_size,
        sha256=data_hash.hexdigest(),
    )
