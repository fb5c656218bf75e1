"""MP3 in pieces: the joined stream decodes like one LAME run, with a whole-stream Info tag."""

from __future__ import annotations

import os
from itertools import pairwise
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from musewave.engine import mp3
from musewave.engine.encode import MP3_QUALITY
from musewave.engine.validate import decode_audio, validate_audio_file
from tests.engine.test_encode import SR, mastered_like

Audio = npt.NDArray[np.float32]
LONG_S = 16.0  # long enough to be cut in pieces
TAG = 4 + 32  # the Info tag follows a stereo frame's header and side info


def _frame_snr_db(decoded: Audio, source: Audio) -> npt.NDArray[np.float64]:
    """Signal-to-error ratio of each 1152-sample frame of ``decoded`` against ``source``."""
    n = source.shape[1] // mp3.FRAME_SAMPLES * mp3.FRAME_SAMPLES
    shape = (source.shape[0], -1, mp3.FRAME_SAMPLES)
    signal = (source[:, :n].reshape(shape) ** 2).mean(axis=(0, 2))
    error = ((decoded[:, :n] - source[:, :n]).reshape(shape) ** 2).mean(axis=(0, 2))
    return np.asarray(10 * np.log10(signal / np.maximum(error, 1e-20)))


def _reference_crc16(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


@pytest.fixture(scope="module")
def long_track() -> Audio:
    return mastered_like(LONG_S, seed=3)


@pytest.fixture(scope="module")
def joined(long_track: Audio, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("mp3") / "joined.mp3"
    mp3.write_mp3(long_track, SR, path, MP3_QUALITY)
    return path


@pytest.mark.parametrize("size", [0, 1, 5, 190, 4095, 4097, 10_000])
def test_crc16_matches_the_bytewise_definition(size: int) -> None:
    data = os.urandom(size)
    assert mp3.crc16(data) == _reference_crc16(data)


def test_one_lame_run_has_the_tag_and_seek_table_this_module_writes(long_track: Audio) -> None:
    data = mp3._encode(long_track, SR, MP3_QUALITY)
    piece = mp3._split(data, 0, SR, 2)
    music = b"".join(piece.frames)
    rewritten = mp3._whole_stream_info(
        piece, mp3._delay_padding(piece)[1], len(piece.frames), music
    )
    assert rewritten == piece.info


def test_joined_stream_is_one_stream_of_the_track(joined: Path, long_track: Audio) -> None:
    one_run = mp3._encode(long_track, SR, MP3_QUALITY)
    data = joined.read_bytes()
    assert data != one_run  # really joined from pieces
    piece = mp3._split(data, 0, SR, 2)
    reference = mp3._split(one_run, 0, SR, 2)
    # Same frame count, delay and padding as one run; the CRCs cover this stream.
    assert len(piece.frames) == len(reference.frames)
    assert mp3._delay_padding(piece) == mp3._delay_padding(reference)
    info = piece.info
    assert int.from_bytes(info[TAG + 12 : TAG + 16], "big") == len(data)
    assert int.from_bytes(info[TAG + 152 : TAG + 154], "big") == _reference_crc16(
        b"".join(piece.frames)
    )
    assert int.from_bytes(info[TAG + 154 : TAG + 156], "big") == _reference_crc16(info[: TAG + 154])
    decoded, rate = decode_audio(joined)
    assert rate == SR and decoded.shape == long_track.shape  # sample-accurate
    validate_audio_file(joined, expected_duration_s=LONG_S, expected_sample_rate=SR)


def test_join_is_no_worse_than_one_lame_run(joined: Path, long_track: Audio) -> None:
    decoded, _ = decode_audio(joined)
    one_run = Path(joined.with_name("one.mp3"))
    one_run.write_bytes(mp3._encode(long_track, SR, MP3_QUALITY))
    reference, _ = decode_audio(one_run)
    snr, reference_snr = _frame_snr_db(decoded, long_track), _frame_snr_db(reference, long_track)
    join = round(long_track.shape[1] // mp3.FRAME_SAMPLES / 2)
    window = slice(join - 2, join + mp3.SEARCH_FRAMES + 2)  # wherever the join fell
    assert np.all(snr[window] >= reference_snr[window] - 1.0)
    assert np.median(snr) >= np.median(reference_snr) - 0.1
    # Before the join it is the same LAME run's output.
    assert np.array_equal(
        decoded[:, : (join - 2) * mp3.FRAME_SAMPLES], reference[:, : (join - 2) * mp3.FRAME_SAMPLES]
    )


def test_joined_stream_is_byte_identical_for_identical_input(
    joined: Path, long_track: Audio, tmp_path: Path
) -> None:
    again = tmp_path / "again.mp3"
    mp3.write_mp3(long_track.copy(), SR, again, MP3_QUALITY)
    assert again.read_bytes() == joined.read_bytes()


def test_short_track_is_one_lame_run(tmp_path: Path) -> None:
    audio = mastered_like(3.0)
    path = tmp_path / "short.mp3"
    mp3.write_mp3(audio, SR, path, MP3_QUALITY)
    assert path.read_bytes() == mp3._encode(audio, SR, MP3_QUALITY)


def test_mono_track_is_joined_too(tmp_path: Path, long_track: Audio) -> None:
    mono = long_track[:1].copy()
    path = tmp_path / "mono.mp3"
    mp3.write_mp3(mono, SR, path, MP3_QUALITY)
    assert path.read_bytes() != mp3._encode(mono, SR, MP3_QUALITY)
    decoded, _ = decode_audio(path)
    assert decoded.shape == mono.shape


def test_silence_is_joined_too(tmp_path: Path) -> None:
    silence = np.zeros((2, int(LONG_S * SR)), dtype=np.float32)
    path = tmp_path / "silence.mp3"
    mp3.write_mp3(silence, SR, path, MP3_QUALITY)
    assert path.read_bytes() != mp3._encode(silence, SR, MP3_QUALITY)  # joined, not the fallback
    decoded, _ = decode_audio(path)
    assert decoded.shape == silence.shape and np.abs(decoded).max() < 1e-4


# A granule's block type is reachable from the previous frame's second granule in two steps
# (long -> long/start, start -> short, short -> short/stop, stop -> long/start): these never are.
_IMPOSSIBLE_WINDOW_STEPS = {(0, 3), (1, 0), (1, 1), (3, 3)}


@pytest.mark.parametrize("channels", [1, 2])
def test_window_shapes_are_read_from_the_side_info(channels: int) -> None:
    # Clicks make LAME switch between long and short windows; shapes read at the wrong bits
    # give impossible sequences.
    audio = np.zeros((channels, 10 * SR), dtype=np.float32)
    audio[:, :: SR // 7] = 0.9
    piece = mp3._split(mp3._encode(audio, SR, MP3_QUALITY), 0, SR, channels)
    shapes = [mp3._last_window_shapes(frame, piece.side_info_bytes) for frame in piece.frames]
    steps = {(a[c], b[c]) for a, b in pairwise(shapes) for c in range(channels)}
    assert 2 in {shape for frame in shapes for shape in frame}  # short windows were used
    assert not steps & _IMPOSSIBLE_WINDOW_STEPS, steps


def test_no_join_falls_back_to_one_lame_run(
    tmp_path: Path, long_track: Audio, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(left: object, right: object, nominal: int) -> int:
        raise mp3._CannotJoin("no join")

    monkeypatch.setattr(mp3, "_join_frame", refuse)
    path = tmp_path / "one.mp3"
    mp3.write_mp3(long_track, SR, path, MP3_QUALITY)
    assert path.read_bytes() == mp3._encode(long_track, SR, MP3_QUALITY)


def test_variable_bit_rate_is_one_lame_run(tmp_path: Path, long_track: Audio) -> None:
    path = tmp_path / "vbr.mp3"
    mp3.write_mp3(long_track, SR, path, "V2")
    assert path.read_bytes() == mp3._encode(long_track, SR, "V2")
