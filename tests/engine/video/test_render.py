"""Whole videos written and decoded back with PyAV: streams, size, rate, length, determinism,
cancellation."""

from __future__ import annotations

import hashlib
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from musewave.engine.errors import Cancelled, ValidationFailed
from musewave.engine.video import render_video, validate_video_file, video_name
from musewave.engine.video.encoder import CHUNK_FRAMES
from tests.engine.video.support import SR, decoded_frames, short_plan, tone_and_noise


@pytest.mark.parametrize(("style", "duration_s"), [("spectrum", 3.0), ("waveform", 2.51)])
def test_video_decodes_at_720p_30fps_with_aac_audio_as_long_as_the_audio(
    tmp_path: Path, style: str, duration_s: float
) -> None:
    audio = tone_and_noise(duration_s, loud_from_s=1.0)
    path = render_video(style, short_plan(duration_s), audio, SR, tmp_path / video_name(style))
    assert path.name == f"video-{style}.mp4"
    with av.open(str(path)) as container:
        video, sound = container.streams.video[0], container.streams.audio[0]
        assert video.codec_context.name == "h264"
        assert (video.codec_context.width, video.codec_context.height) == (1280, 720)
        assert video.average_rate == Fraction(30)
        assert sound.codec_context.name == "aac"
        assert sound.codec_context.sample_rate == SR and sound.codec_context.channels == 2
    frames = decoded_frames(path)
    audio_s = audio.shape[1] / SR
    assert abs(len(frames) / 30 - audio_s) <= 1 / 30
    report = validate_video_file(
        path, expected_duration_s=audio_s, width=1280, height=720, fps=30, sample_rate=SR
    )
    assert report.n_frames == len(frames)
    assert abs(report.audio_duration_s - audio_s) <= 1 / 30
    assert not list(tmp_path.glob(".*"))  # the temporary name is gone


def test_same_seed_gives_identical_decoded_frames(tmp_path: Path) -> None:
    audio = tone_and_noise(2.0, loud_from_s=0.5)
    digests = []
    for run in ("a", "b"):
        path = render_video("waveform", short_plan(2.0), audio, SR, tmp_path / f"{run}.mp4")
        digest = hashlib.sha256()
        for frame in decoded_frames(path):
            digest.update(frame.tobytes())
        digests.append(digest.hexdigest())
    assert digests[0] == digests[1]


def test_another_seed_gives_other_colours(tmp_path: Path) -> None:
    audio = tone_and_noise(1.0)
    means = []
    for seed in (1, 2):
        path = render_video(
            "spectrum", short_plan(1.0, seed=seed), audio, SR, tmp_path / f"{seed}.mp4"
        )
        means.append(decoded_frames(path)[5].reshape(-1, 3).mean(axis=0))
    assert np.abs(means[0] - means[1]).max() > 2.0


def test_cancel_stops_between_chunks_and_leaves_no_file(tmp_path: Path) -> None:
    checks = 0

    def should_cancel() -> bool:
        nonlocal checks
        checks += 1
        return checks > 2

    progress: list[float] = []
    path = tmp_path / "video-lyric.mp4"
    with pytest.raises(Cancelled):
        render_video(
            "lyric",
            short_plan(5.0),
            tone_and_noise(5.0),
            SR,
            path,
            should_cancel=should_cancel,
            on_progress=progress.append,
        )
    assert checks == 3
    assert progress == [CHUNK_FRAMES / 150, 2 * CHUNK_FRAMES / 150]
    assert list(tmp_path.iterdir()) == []


def test_progress_reaches_one(tmp_path: Path) -> None:
    progress: list[float] = []
    render_video(
        "spectrum", short_plan(1.5), tone_and_noise(1.5), SR, tmp_path / "v.mp4",
        on_progress=progress.append,
    )  # fmt: skip
    assert progress == sorted(progress) and progress[-1] == 1.0


def test_unknown_style_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="slideshow"):
        render_video("slideshow", short_plan(1.0), tone_and_noise(1.0), SR, tmp_path / "v.mp4")


def test_validation_names_what_is_wrong(tmp_path: Path) -> None:
    audio = tone_and_noise(1.0)
    path = render_video("spectrum", short_plan(1.0), audio, SR, tmp_path / "v.mp4")
    with pytest.raises(ValidationFailed, match="video duration"):
        validate_video_file(path, expected_duration_s=1.2, width=1280, height=720, fps=30)
    with pytest.raises(ValidationFailed, match="frame size"):
        validate_video_file(path, expected_duration_s=1.0, width=1920, height=1080, fps=30)
    with pytest.raises(ValidationFailed, match="frame rate"):
        validate_video_file(path, expected_duration_s=1.0, width=1280, height=720, fps=25)
    with pytest.raises(ValidationFailed, match="audio sample rate"):
        validate_video_file(
            path, expected_duration_s=1.0, width=1280, height=720, fps=30, sample_rate=48_000
        )
    with pytest.raises(ValidationFailed, match="exists"):
        validate_video_file(
            tmp_path / "missing.mp4", expected_duration_s=1.0, width=1280, height=720, fps=30
        )
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(ValidationFailed):
        validate_video_file(broken, expected_duration_s=1.0, width=1280, height=720, fps=30)


def test_a_file_without_audio_fails_validation(tmp_path: Path) -> None:
    path = tmp_path / "silent.mp4"
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=30)
        assert isinstance(stream, av.VideoStream)
        stream.width, stream.height, stream.pix_fmt = 1280, 720, "yuv420p"
        for index in range(30):
            frame = av.VideoFrame.from_ndarray(
                np.zeros((720 * 3 // 2, 1280), np.uint8), format="yuv420p"
            )
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    with pytest.raises(ValidationFailed, match="audio stream"):
        validate_video_file(path, expected_duration_s=1.0, width=1280, height=720, fps=30)
