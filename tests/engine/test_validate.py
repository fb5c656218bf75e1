"""Validate stage: good files pass with a full report; every kind of bad file is caught."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import soundfile

from musewave.engine.encode import encode
from musewave.engine.errors import ValidationFailed
from musewave.engine.validate import FileReport, decode_audio, validate_audio_file

SR = 44_100
SECONDS = 4.0
Audio = npt.NDArray[np.float32]


def tone_mix(seconds: float = SECONDS) -> Audio:
    """Two decaying notes and a noise tick per half second, peaking at -3 dBFS."""
    t = np.arange(int(seconds * SR)) / SR
    rng = np.random.default_rng(4)
    notes = np.sin(2 * np.pi * 440 * t) + 0.5 * np.sin(2 * np.pi * 660 * t)
    ticks = rng.standard_normal(t.shape[0]) * np.exp(-(t % 0.5) / 0.02)
    audio = np.stack([notes * np.exp(-(t % 1.0)), 0.8 * notes * np.exp(-(t % 1.0))]) + 0.2 * ticks
    return np.asarray(audio / np.abs(audio).max() * 0.7, dtype=np.float32)


def check(path: Path, **overrides: object) -> FileReport:
    options: dict[str, object] = {"expected_duration_s": SECONDS, "expected_sample_rate": SR}
    options.update(overrides)
    return validate_audio_file(path, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", ["wav", "flac", "mp3", "ogg", "opus"])
def test_good_file_gives_a_full_report(tmp_path: Path, fmt: str) -> None:
    path = encode(tone_mix(), SR, tmp_path / f"mix.{fmt}", fmt)
    report = check(path)
    assert report.path == path
    assert report.format == fmt
    assert report.channels == 2
    assert report.sample_rate == (48_000 if fmt == "opus" else SR)
    assert report.duration_s == pytest.approx(SECONDS, abs=0.05)
    assert report.size_bytes == path.stat().st_size
    assert report.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert -6.0 < report.peak_dbfs < 0.0
    assert -40.0 < report.rms_dbfs < report.peak_dbfs


def test_pipeline_style_opus_check_without_sample_rate(tmp_path: Path) -> None:
    path = encode(tone_mix(), SR, tmp_path / "mix.opus", "opus")
    assert check(path, expected_sample_rate=None).sample_rate == 48_000


@pytest.mark.parametrize("fmt", ["wav", "mp3", "flac"])
def test_truncated_file_fails(tmp_path: Path, fmt: str) -> None:
    path = encode(tone_mix(), SR, tmp_path / f"mix.{fmt}", fmt)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(ValidationFailed, match=r"(duration|decode) check failed"):
        check(path)


def test_header_only_file_fails(tmp_path: Path) -> None:
    path = encode(tone_mix(), SR, tmp_path / "mix.wav", "wav")
    path.write_bytes(path.read_bytes()[:60])
    with pytest.raises(ValidationFailed):
        check(path)


def test_silent_file_fails_unless_silence_is_allowed(tmp_path: Path) -> None:
    path = encode(np.zeros((2, int(SECONDS * SR)), np.float32), SR, tmp_path / "s.wav", "wav")
    with pytest.raises(ValidationFailed, match=r"silence check failed: measured RMS .* dBFS"):
        check(path)
    assert check(path, min_rms_dbfs=None).rms_dbfs < -60.0


def test_wrong_duration_expectation_fails_with_both_values(tmp_path: Path) -> None:
    path = encode(tone_mix(), SR, tmp_path / "mix.mp3", "mp3")
    with pytest.raises(ValidationFailed, match=r"duration .*4\.000 s.*4\.100 s"):
        check(path, expected_duration_s=4.1)
    assert check(path, expected_duration_s=4.04).duration_s == pytest.approx(SECONDS, abs=1e-3)


def test_wrong_channel_count_fails(tmp_path: Path) -> None:
    path = encode(tone_mix()[:1], SR, tmp_path / "mono.wav", "wav")
    with pytest.raises(ValidationFailed, match="channels check failed: measured 1, expected 2"):
        check(path)
    assert check(path, expected_channels=1).channels == 1


def test_wrong_sample_rate_fails(tmp_path: Path) -> None:
    path = encode(tone_mix(), 48_000, tmp_path / "mix.wav", "wav")
    with pytest.raises(ValidationFailed, match="sample rate"):
        check(path, expected_duration_s=SECONDS * SR / 48_000)


def test_clipped_file_fails(tmp_path: Path) -> None:
    path = tmp_path / "hot.wav"
    clipped = np.clip(tone_mix() * 3.0, -1.0, 1.0)
    soundfile.write(path, clipped.T, SR, subtype="FLOAT")
    with pytest.raises(ValidationFailed, match="clipping"):
        check(path)


def test_garbage_and_missing_files_fail(tmp_path: Path) -> None:
    garbage = tmp_path / "mix.mp3"
    garbage.write_bytes(np.random.default_rng(0).bytes(50_000))
    with pytest.raises(ValidationFailed):
        check(garbage)
    with pytest.raises(ValidationFailed, match="exists"):
        check(tmp_path / "nothing.wav")
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(ValidationFailed, match="size"):
        check(tmp_path / "empty.wav")


def test_file_named_as_another_format_fails(tmp_path: Path) -> None:
    path = encode(tone_mix(), SR, tmp_path / "mix.wav", "wav")
    renamed = path.rename(tmp_path / "mix.mp3")
    with pytest.raises(ValidationFailed, match="format check failed: measured wav"):
        check(renamed)


def test_mp3_below_the_bitrate_floor_fails(tmp_path: Path) -> None:
    from pedalboard.io import AudioFile

    path = tmp_path / "thin.mp3"
    with AudioFile(str(path), "w", SR, 2, quality="128 kbps") as file:
        file.write(tone_mix())
    with pytest.raises(ValidationFailed, match="size"):
        check(path)


def test_decode_audio_returns_channels_first_float(tmp_path: Path) -> None:
    audio = tone_mix()
    decoded, rate = decode_audio(encode(audio, SR, tmp_path / "mix.flac", "flac"))
    assert rate == SR
    assert decoded.shape == audio.shape and decoded.dtype == np.float32
    assert np.abs(decoded - audio).max() <= 1.5 / 32768
