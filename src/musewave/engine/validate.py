"""Validate: decode a written file back and check it is the audio we meant to write.

Every failed check raises ``ValidationFailed`` naming the check, the measured and the expected
values. Decoding goes through PyAV (FFmpeg) for every format, the same decoder family players
use; it trims MP3 encoder delay/padding from the LAME header and Opus pre-skip from the Ogg
header, so decoded lengths are exact.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import soundfile

from musewave.engine.encode import FORMATS, OPUS_SAMPLE_RATE
from musewave.engine.errors import ValidationFailed
from musewave.engine.timed_lyrics import TimedLine
from musewave.engine.vocals.captions import CaptionError, parse_lrc, parse_srt, parse_words_json

FloatArray = npt.NDArray[np.float32]

SILENCE_RMS_DBFS = -60.0
CLIP_LEVEL = 0.9999  # a decoded sample this large was (or nearly was) clipped


@dataclass(frozen=True)
class _SizeLimits:
    """Plausible stream bit rate (kbit/s) of a format, plus fixed overhead (headers)."""

    min_kbps: float
    max_kbps: float
    overhead_bytes: int


def _pcm16_kbps(sample_rate: int, channels: int) -> float:
    return 16.0 * sample_rate * channels / 1000.0


# WAV is checked exactly against 16-bit PCM; FLAC can compress quiet material a lot.
_SIZE_LIMITS: dict[str, _SizeLimits] = {
    "flac": _SizeLimits(min_kbps=32.0, max_kbps=1450.0, overhead_bytes=16_384),
    "mp3": _SizeLimits(min_kbps=180.0, max_kbps=330.0, overhead_bytes=4_096),
    "ogg": _SizeLimits(min_kbps=40.0, max_kbps=500.0, overhead_bytes=16_384),
    "opus": _SizeLimits(min_kbps=32.0, max_kbps=330.0, overhead_bytes=4_096),
}
_WAV_HEADER_MAX_BYTES = 4_096

# (container, codec) as FFmpeg names them → our format name.
_CONTAINER_FORMATS = {"wav": "wav", "flac": "flac", "mp3": "mp3"}
_OGG_CODECS = {"vorbis": "ogg", "libvorbis": "ogg", "opus": "opus", "libopus": "opus"}
# Integer sample formats and the divisor that maps them to [-1, 1).
_INTEGER_SCALE = {"s16": 32768.0, "s32": 2147483648.0, "u8": 128.0, "s64": 2.0**63}


@dataclass
class FileReport:
    """What a written audio file decodes to. Levels in dBFS; ``sha256`` of the file bytes."""

    path: Path
    format: str
    duration_s: float
    sample_rate: int
    channels: int
    size_bytes: int
    peak_dbfs: float
    rms_dbfs: float
    sha256: str


# WAV and FLAC decode through libsndfile: one call per block instead of thousands of frames.
_LIBSNDFILE_SUFFIXES = frozenset({".wav", ".flac"})
_PCM_BLOCK_FRAMES = 1 << 18
_AV_BLOCK_FRAMES = 1 << 16  # decoded frames are checked in blocks of at least this many


def _frame_samples(frame: av.AudioFrame) -> FloatArray:
    """One decoded frame as float32 (channels, n)."""
    data = frame.to_ndarray()
    channels = len(frame.layout.channels)
    fmt = frame.format
    if not fmt.is_planar:
        data = data.reshape(-1, channels).T
    base = fmt.name.rstrip("p")
    if base in _INTEGER_SCALE:
        offset = 128.0 if base == "u8" else 0.0
        return ((data.astype(np.float32) - offset) / _INTEGER_SCALE[base]).astype(np.float32)
    return np.asarray(data, dtype=np.float32)


@dataclass(frozen=True)
class _Stream:
    """A decodable file: its format name ('' if not ours), rate, channels and audio blocks."""

    fmt: str
    sample_rate: int
    channels: int
    blocks: Iterator[FloatArray]  # float32 (channels, n) each


def _open_pcm(path: Path, *, reuse: bool = False) -> _Stream:
    """libsndfile's blocks as (channels, n) views of its (n, channels) frames. With
    ``reuse``, every block is read into one buffer: each is gone when the next is read."""
    info = soundfile.info(str(path))
    fmt = {"WAV": "wav", "FLAC": "flac"}.get(info.format, "")
    if reuse:
        frames = min(_PCM_BLOCK_FRAMES, max(int(info.frames), 1))
        out = np.empty((frames, int(info.channels)), dtype=np.float32)
        read = soundfile.blocks(str(path), out=out)
    else:
        read = soundfile.blocks(
            str(path), blocksize=_PCM_BLOCK_FRAMES, dtype="float32", always_2d=True
        )
    blocks = (block.T for block in read)
    return _Stream(fmt, int(info.samplerate), int(info.channels), blocks)


def _open_av(path: Path) -> _Stream:
    container = av.open(str(path))
    if not container.streams.audio:
        container.close()
        raise ValueError("no audio stream")
    stream = container.streams.audio[0]
    codec = stream.codec_context.name
    if container.format.name == "ogg":
        fmt = _OGG_CODECS.get(codec, "")
    else:
        # FFmpeg may list aliases, e.g. "mov,mp4,m4a"
        names = container.format.name.split(",")
        fmt = next((ours for name, ours in _CONTAINER_FORMATS.items() if name in names), "")

    def blocks() -> Iterator[FloatArray]:
        # Frames (1152 samples for MP3) gathered into blocks: the per-block checks cost a
        # few numpy calls each, which per frame took a third of an MP3's check.
        pending: list[FloatArray] = []
        size = 0
        with container:
            for frame in container.decode(stream):
                samples = _frame_samples(frame)
                pending.append(samples)
                size += samples.shape[-1]
                if size >= _AV_BLOCK_FRAMES:
                    yield np.concatenate(pending, axis=1) if len(pending) > 1 else pending[0]
                    pending, size = [], 0
        if pending:
            yield np.concatenate(pending, axis=1) if len(pending) > 1 else pending[0]

    # The decoder's rate: Opus always decodes at 48 kHz whatever the header says.
    rate = int(stream.codec_context.sample_rate or stream.rate or 0)
    return _Stream(fmt, rate, int(stream.codec_context.channels), blocks())


def _open(path: Path, *, reuse: bool = False) -> _Stream:
    """Decode ``path``; ``reuse`` lets a decoder overwrite a block once the next is read."""
    if path.suffix.lower() in _LIBSNDFILE_SUFFIXES:
        return _open_pcm(path, reuse=reuse)
    return _open_av(path)


def _probe(path: Path) -> tuple[FloatArray, int, str]:
    """Decode ``path``: (audio (channels, n) float32, sample rate, our format name or '')."""
    stream = _open(path)
    chunks = list(stream.blocks)
    if not chunks:
        return np.zeros((stream.channels, 0), np.float32), stream.sample_rate, stream.fmt
    audio = np.ascontiguousarray(np.concatenate(chunks, axis=1))
    return audio, stream.sample_rate, stream.fmt


@dataclass
class _Levels:
    """Running totals over decoded blocks, so validation never holds the whole file."""

    channels: int
    n_samples: int = 0
    sum_squares: float = 0.0
    peak: float = 0.0
    finite: bool = True
    clipped: int = 0

    def add(self, block: FloatArray) -> None:
        flat = np.ravel(block, order="K")  # any order will do: no copy of a transposed view
        if flat.size == 0:
            return
        self.n_samples += block.shape[1]
        high, low = float(flat.max()), float(flat.min())
        if not (math.isfinite(high) and math.isfinite(low)):
            self.finite = False
            return
        self.peak = max(self.peak, high, -low)
        self.sum_squares += float(np.dot(flat, flat))  # float32 per block, summed in float64
        if self.peak >= CLIP_LEVEL:
            self.clipped += int(np.count_nonzero(np.abs(flat) >= CLIP_LEVEL))

    @property
    def rms_dbfs(self) -> float:
        total = self.n_samples * self.channels
        mean_square = self.sum_squares / total if total else 0.0
        return 10.0 * math.log10(mean_square) if mean_square > 0.0 else -math.inf

    @property
    def peak_dbfs(self) -> float:
        return 20.0 * math.log10(self.peak) if self.peak > 0.0 else -math.inf


def decode_audio(path: Path) -> tuple[FloatArray, int]:
    """Decode any supported file to float32 ``(channels, n)`` and its sample rate (Hz).

    Raises ``ValueError`` when the file has no audio stream and ``av.FFmpegError``/``OSError``
    when it cannot be read.
    """
    audio, sample_rate, _ = _probe(Path(path))
    return audio, sample_rate


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fail(check: str, measured: object, expected: object, path: Path) -> ValidationFailed:
    return ValidationFailed(
        f"{path.name}: {check} check failed: measured {measured}, expected {expected}"
    )


def validate_audio_file(
    path: Path,
    *,
    expected_duration_s: float,
    expected_sample_rate: int | None,
    expected_channels: int = 2,
    tolerance_s: float = 0.05,
    min_rms_dbfs: float | None = SILENCE_RMS_DBFS,
) -> FileReport:
    """Decode ``path`` and check format, channels, sample rate, duration, finiteness, level,
    clipping and size. Returns a ``FileReport``; raises ``ValidationFailed`` otherwise.

    Opus always decodes at 48 kHz, so for ``.opus`` files the expected rate is 48 kHz whatever
    ``expected_sample_rate`` says; ``None`` skips the rate check. ``min_rms_dbfs=None`` allows
    silent files (e.g. a stem with nothing in it).
    """
    path = Path(path)
    if not path.is_file():
        raise _fail("exists", "no file", "a file", path)
    size_bytes = path.stat().st_size
    if size_bytes == 0:
        raise _fail("size", "0 bytes", "a non-empty file", path)
    try:
        stream = _open(path, reuse=True)
        levels = _Levels(stream.channels)
        for block in stream.blocks:
            levels.add(block)
    except (av.FFmpegError, soundfile.SoundFileError, OSError, ValueError, EOFError) as error:
        raise _fail("decode", f"error {error!r}", "a decodable audio file", path) from error
    fmt, sample_rate, channels, n_samples = (
        stream.fmt,
        stream.sample_rate,
        stream.channels,
        levels.n_samples,
    )

    suffix = path.suffix.lstrip(".").lower()
    if not fmt:
        raise _fail("format", "an unrecognised container/codec", f"one of {FORMATS}", path)
    if suffix in FORMATS and suffix != fmt:
        raise _fail("format", fmt, f"{suffix} (from the file name)", path)
    if channels != expected_channels:
        raise _fail("channels", channels, expected_channels, path)
    expected_rate = OPUS_SAMPLE_RATE if fmt == "opus" else expected_sample_rate
    if expected_rate is not None and sample_rate != expected_rate:
        raise _fail("sample rate", f"{sample_rate} Hz", f"{expected_rate} Hz", path)
    if sample_rate <= 0:
        raise _fail("sample rate", f"{sample_rate} Hz", "a positive rate", path)
    duration_s = n_samples / sample_rate
    if abs(duration_s - expected_duration_s) > tolerance_s:
        raise _fail(
            "duration",
            f"{duration_s:.3f} s",
            f"{expected_duration_s:.3f} s ± {tolerance_s:.3f} s",
            path,
        )
    if not levels.finite:
        raise _fail("finite samples", "NaN or infinite samples", "finite samples", path)
    rms = levels.rms_dbfs
    if min_rms_dbfs is not None and not rms >= min_rms_dbfs:
        raise _fail("silence", f"RMS {rms:.1f} dBFS", f">= {min_rms_dbfs:.1f} dBFS", path)
    if levels.clipped:
        raise _fail("clipping", f"{levels.clipped} samples at |x| >= {CLIP_LEVEL}", "0", path)
    _check_size(fmt, size_bytes, n_samples, sample_rate, channels, path)
    return FileReport(
        path=path,
        format=fmt,
        duration_s=duration_s,
        sample_rate=sample_rate,
        channels=channels,
        size_bytes=size_bytes,
        peak_dbfs=levels.peak_dbfs,
        rms_dbfs=rms,
        sha256=_sha256(path),
    )


def _check_size(
    fmt: str, size_bytes: int, n_samples: int, sample_rate: int, channels: int, path: Path
) -> None:
    if fmt == "wav":
        pcm_bytes = n_samples * channels * 2
        if not 0 <= size_bytes - pcm_bytes <= _WAV_HEADER_MAX_BYTES:
            raise _fail("size", f"{size_bytes} bytes", f"{pcm_bytes} bytes of PCM + header", path)
        return
    limits = _SIZE_LIMITS[fmt]
    duration_s = n_samples / sample_rate
    low = limits.min_kbps * 1000.0 / 8.0 * duration_s
    high = min(limits.max_kbps, 1.05 * _pcm16_kbps(sample_rate, channels)) * 1000.0 / 8.0
    high = high * duration_s + limits.overhead_bytes
    if not low <= size_bytes <= high:
        kbps = size_bytes * 8.0 / 1000.0 / duration_s if duration_s > 0 else math.inf
        raise _fail(
            "size",
            f"{size_bytes} bytes ({kbps:.0f} kbit/s)",
            f"{limits.min_kbps:.0f}-{limits.max_kbps:.0f} kbit/s",
            path,
        )


def validate_captions(path: Path, lines: list[TimedLine], duration_s: float) -> None:
    """Read a caption file back (``.srt``, ``.lrc`` or word-timing ``.json``) and check it
    holds every sung line in order, with the sung times, inside the track.

    Raises ``ValidationFailed`` otherwise.
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    tolerance = 0.011  # LRC keeps centiseconds
    try:
        if path.suffix == ".srt":
            starts = [start for start, _, _ in parse_srt(text)]
            texts = [cue for _, _, cue in parse_srt(text)]
        elif path.suffix == ".lrc":
            parsed = parse_lrc(text)
            starts = [start for start, _ in parsed]
            texts = [" ".join(word for _, word in words) for _, words in parsed]
        else:
            read = parse_words_json(text)
            starts = [line.start_s for line in read]
            texts = [line.text for line in read]
    except CaptionError as error:
        raise _fail("parse", f"error {error}", "a caption file", path) from error
    expected = [line.text for line in lines]
    if texts != expected:
        raise _fail("lyrics", f"{len(texts)} lines", f"the {len(expected)} sung lines", path)
    for start, line in zip(starts, lines, strict=True):
        if abs(start - line.start_s) > tolerance or not 0.0 <= start <= duration_s:
            raise _fail("timing", f"{start:.3f} s", f"{line.start_s:.3f} s", path)
