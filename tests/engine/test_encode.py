"""Encode stage: every format round-trips; WAV is deterministic; writes are atomic."""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import soundfile

from musewave.engine.encode import (
    FORMATS,
    _dither_table,
    _pcm16,
    encode,
    media_type,
    set_ogg_serial,
)
from musewave.engine.validate import decode_audio, validate_audio_file

SR = 44_100
SECONDS = 3.0
Audio = npt.NDArray[np.float32]


def mastered_like(seconds: float = SECONDS, seed: int = 0) -> Audio:
    """Decaying notes plus noise bursts, peaking around -3 dBFS."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    notes = sum(
        np.sin(2 * np.pi * f * t) * np.exp(-((t - start) % 1.0) / 0.3)
        for f, start in ((261.6, 0.0), (329.6, 0.25), (392.0, 0.5))
    )
    bursts = rng.standard_normal(t.shape[0]) * np.exp(-(t % 0.5) / 0.03)
    left = 0.2 * notes + 0.1 * bursts
    right = 0.18 * notes + 0.1 * np.roll(bursts, 40)
    audio = np.stack([left, right])
    return np.asarray(audio / np.abs(audio).max() * 0.7, dtype=np.float32)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_round_trips(tmp_path: Path, fmt: str) -> None:
    audio = mastered_like()
    path = encode(audio, SR, tmp_path / f"mix.{fmt}", fmt)
    assert path == tmp_path / f"mix.{fmt}" and path.is_file()
    decoded, rate = decode_audio(path)
    assert decoded.dtype == np.float32
    assert decoded.shape[0] == 2
    assert rate == (48_000 if fmt == "opus" else SR)
    assert abs(decoded.shape[1] / rate - SECONDS) <= 0.05
    # The decoded audio is the same music: level within 1 dB.
    level = 10 * np.log10(np.mean(decoded.astype(np.float64) ** 2) / np.mean(audio**2.0))
    assert abs(level) < 1.0
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"mix.{fmt}"]  # no temp files left


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_is_byte_identical_for_identical_input(tmp_path: Path, fmt: str) -> None:
    # Ogg encoders pick a random stream serial; the encoder stamps one derived from the audio.
    audio = mastered_like()
    first = encode(audio, SR, tmp_path / f"a.{fmt}", fmt).read_bytes()
    second = encode(audio.copy(), SR, tmp_path / f"b.{fmt}", fmt).read_bytes()
    assert hashlib.sha256(first).digest() == hashlib.sha256(second).digest()


def _ogg_pages(data: bytes) -> list[tuple[int, int, bytes]]:
    """(serial, stored CRC, page with its CRC field zeroed) for every page."""
    pages, position = [], 0
    while position < len(data):
        assert data[position : position + 4] == b"OggS"
        n_segments = data[position + 26]
        end = position + 27 + n_segments + sum(data[position + 27 : position + 27 + n_segments])
        page = bytearray(data[position:end])
        serial, crc = struct.unpack_from("<I", page, 14)[0], struct.unpack_from("<I", page, 22)[0]
        page[22:26] = bytes(4)
        pages.append((serial, crc, bytes(page)))
        position = end
    return pages


def _reference_ogg_crc(page: bytes) -> int:
    """Bit by bit, straight from the Ogg spec (polynomial 0x04C11DB7, no reflection)."""
    crc = 0
    for byte in page:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7 if crc & 0x80000000 else crc << 1) & 0xFFFFFFFF
    return crc


@pytest.mark.parametrize("fmt", ["ogg", "opus"])
def test_ogg_pages_carry_the_given_serial_and_valid_crcs(tmp_path: Path, fmt: str) -> None:
    audio = mastered_like(seconds=1.0)
    pages = _ogg_pages(
        encode(audio, SR, tmp_path / f"a.{fmt}", fmt, ogg_serial=0xC0FFEE).read_bytes()
    )
    assert len(pages) >= 3
    assert {serial for serial, _, _ in pages} == {0xC0FFEE}
    assert all(crc == _reference_ogg_crc(page) for _, crc, page in pages)


def test_default_ogg_serial_differs_between_tracks(tmp_path: Path) -> None:
    # Players treat chained streams with one serial as one stream; distinct audio, distinct id.
    first = encode(mastered_like(seconds=1.0, seed=0), SR, tmp_path / "a.ogg", "ogg")
    second = encode(mastered_like(seconds=1.0, seed=1), SR, tmp_path / "b.ogg", "ogg")
    assert _ogg_pages(first.read_bytes())[0][0] != _ogg_pages(second.read_bytes())[0][0]


def test_wav_is_16_bit_with_at_most_one_lsb_of_dither(tmp_path: Path) -> None:
    audio = mastered_like()
    decoded, _ = decode_audio(encode(audio, SR, tmp_path / "a.wav", "wav"))
    error = np.abs(decoded - audio)
    assert error.max() <= 1.5 / 32768
    assert error.mean() > 0.1 / 32768  # dithered, not truncated to the same values


def test_mp3_is_at_least_192_kbps(tmp_path: Path) -> None:
    path = encode(mastered_like(), SR, tmp_path / "mix.mp3", "mp3")
    assert path.stat().st_size * 8 / SECONDS / 1000 >= 192


@pytest.mark.parametrize("fmt", ["opus", "ogg", "mp3", "flac"])
def test_lossy_and_lossless_files_pass_validation(tmp_path: Path, fmt: str) -> None:
    path = encode(mastered_like(), SR, tmp_path / f"mix.{fmt}", fmt)
    report = validate_audio_file(path, expected_duration_s=SECONDS, expected_sample_rate=SR)
    assert report.format == fmt


def test_unknown_format_lists_the_supported_ones(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="wav, flac, mp3, ogg, opus"):
        encode(mastered_like(), SR, tmp_path / "mix.aac", "aac")
    with pytest.raises(ValueError, match="supported"):
        media_type("aac")
    assert not list(tmp_path.iterdir())


def test_media_types() -> None:
    assert media_type("wav") == "audio/wav"
    assert media_type("flac") == "audio/flac"
    assert media_type("mp3") == "audio/mpeg"
    assert media_type("ogg") == "audio/ogg"
    assert media_type("opus").startswith(("audio/ogg; codecs=opus", "audio/opus"))


def test_failed_write_leaves_no_file_and_keeps_the_old_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "mix.wav"
    target.write_bytes(b"previous render")

    def crash_half_way(file: soundfile.SoundFile, *args: object, **kwargs: object) -> None:
        raise OSError("disk full")  # the file is open and has its header: a partial file

    monkeypatch.setattr(soundfile.SoundFile, "write", crash_half_way)
    with pytest.raises(OSError, match="disk full"):
        encode(mastered_like(), SR, target, "wav")
    assert target.read_bytes() == b"previous render"
    assert [p.name for p in tmp_path.iterdir()] == ["mix.wav"]
    with pytest.raises(OSError, match="disk full"):
        encode(mastered_like(), SR, tmp_path / "new.wav", "wav")
    assert not (tmp_path / "new.wav").exists()


def test_bad_audio_is_rejected(tmp_path: Path) -> None:
    bad = mastered_like()
    bad[0, 10] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        encode(bad, SR, tmp_path / "x.wav", "wav")
    with pytest.raises(ValueError, match="shaped"):
        encode(np.zeros((3, 100), np.float32), SR, tmp_path / "x.wav", "wav")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("shape", [(2, 9 * 65_536 + 7), (1, 65_536 + 1), (1, 3)])
def test_dither_is_one_seeded_tpdf_table_repeated_along_time(shape: tuple[int, int]) -> None:
    audio = np.random.default_rng(3).uniform(-1.0, 1.0, shape).astype(np.float32)
    table = _dither_table()
    repeats = -(-shape[1] // table.shape[0])
    dither = np.tile(table[:, : shape[0]], (repeats, 1))[: shape[1]]
    frames = audio.T * np.float32(32768.0) + dither
    expected = np.clip(np.rint(frames), -32768.0, 32767.0).astype(np.int16)
    np.testing.assert_array_equal(_pcm16(audio), expected)
    # Triangular on (-1, 1): zero mean, variance 1/6 LSB², no sample at ±1.
    assert abs(float(table.mean())) < 0.01
    assert abs(float(table.var()) - 1.0 / 6.0) < 0.01
    assert float(np.abs(table).max()) < 1.0
    assert abs(float(np.corrcoef(table[:, 0], table[:, 1])[0, 1])) < 0.01


def test_restamping_a_file_that_is_not_ogg_fails(tmp_path: Path) -> None:
    junk, truncated = tmp_path / "junk.ogg", tmp_path / "cut.ogg"
    junk.write_bytes(b"RIFF" + bytes(40))
    with pytest.raises(ValueError, match="no Ogg page"):
        set_ogg_serial(junk, 1)
    whole = encode(mastered_like(seconds=1.0), SR, tmp_path / "a.ogg", "ogg").read_bytes()
    truncated.write_bytes(whole[:-10])
    with pytest.raises(ValueError, match="truncated"):
        set_ogg_serial(truncated, 1)


class _Blocks:
    """Audio read a block at a time (like a stem parked on disk), counting its reads."""

    def __init__(self, audio: Audio) -> None:
        self._audio = audio
        self.shape = audio.shape
        self.ndim = audio.ndim
        self.widest = 0

    def __getitem__(self, index: tuple[slice, slice]) -> Audio:
        block = self._audio[index].copy()
        self.widest = max(self.widest, block.shape[-1])
        return block

    def __array__(self, dtype: object = None, copy: object = None) -> Audio:
        return self._audio.copy()


@pytest.mark.parametrize("fmt", FORMATS)
def test_audio_read_in_blocks_gives_the_same_file(tmp_path: Path, fmt: str) -> None:
    audio = mastered_like(5.0, seed=3)
    blocks = _Blocks(audio)
    encode(audio, SR, tmp_path / f"array.{fmt}", fmt)
    encode(blocks, SR, tmp_path / f"blocks.{fmt}", fmt)
    array_bytes = (tmp_path / f"array.{fmt}").read_bytes()
    assert (tmp_path / f"blocks.{fmt}").read_bytes() == array_bytes
    if fmt in ("wav", "flac"):  # 16-bit PCM never asks for the whole track at once
        assert 0 < blocks.widest < audio.shape[-1]
