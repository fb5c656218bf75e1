"""Encode: write mastered audio (float32, (channels, n)) as WAV, FLAC, MP3, Ogg Vorbis or Opus.

Every writer goes to a temporary name in the destination directory and is moved into place with
``os.replace``, so a crash never leaves a partial file under the final name.
"""

from __future__ import annotations

import math
import os
import secrets
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import av
import numpy as np
import numpy.typing as npt
import soundfile
from pedalboard.io import AudioFile

from musewave.engine.mp3 import write_mp3

FloatArray = npt.NDArray[np.float32]


class AudioBlocks(Protocol):
    """Audio that reads itself a block at a time (e.g. a stem parked on disk): shaped
    (channels, n) like an array, ``audio[:, start:stop]`` a float32 block."""

    @property
    def shape(self) -> tuple[int, ...]: ...

    @property
    def ndim(self) -> int: ...

    def __getitem__(self, index: tuple[slice, slice]) -> FloatArray: ...

    def __array__(self, dtype: Any = None, copy: Any = None) -> FloatArray: ...


FORMATS = ("wav", "flac", "mp3", "ogg", "opus")
_OGG_FORMATS = frozenset({"ogg", "opus"})
_PCM_CONTAINERS = {"wav": "WAV", "flac": "FLAC"}  # format → libsndfile container
OPUS_SAMPLE_RATE = 48000  # Opus only runs at 48 kHz (and divisors); decoders output 48 kHz
MP3_QUALITY = "256 kbps"  # constant bit rate, comfortably above the 192 kbps floor
VORBIS_QUALITY = "192 kbps"
OPUS_BIT_RATE = 160_000
# Fixed seed: the same audio always gets the same dither, so WAV output is byte-identical.
_DITHER_SEED = 16
_PCM16_SCALE = 32768.0
_PCM_BLOCK_FRAMES = 1 << 16  # frames per block when converting to 16 bit
# The dither repeats every ~6 s (a whole number of blocks). Drawing fresh noise for every
# sample of every file cost more than the rest of the conversion, six times per track.
_DITHER_FRAMES = 4 * _PCM_BLOCK_FRAMES
_DITHER_STEP = 1.0 / 65536.0  # resolution of each uniform: 16 random bits


@lru_cache(maxsize=1)
def _dither_table() -> npt.NDArray[np.float32]:
    """TPDF dither of ±1 LSB, shape ``(_DITHER_FRAMES, 2)``, float32, read-only: the
    difference of two uniforms on [0, 1) (16 bits each, both halves of one 32-bit draw)."""
    rng = np.random.default_rng(_DITHER_SEED)
    bits = rng.integers(0, 1 << 32, _DITHER_FRAMES * 2, dtype=np.uint32).view(np.uint16)
    table = bits[0::2].astype(np.float32)
    table -= bits[1::2]
    table *= np.float32(_DITHER_STEP)
    table = table.reshape(_DITHER_FRAMES, 2)
    table.flags.writeable = False
    return table


@lru_cache(maxsize=1)
def _dither_rows() -> npt.NDArray[np.float32]:
    """:func:`_dither_table` channels first, shape ``(2, _DITHER_FRAMES)``, contiguous and
    read-only: the dither is added to the audio where it lies (channels first)."""
    rows = np.ascontiguousarray(_dither_table().T)
    rows.flags.writeable = False
    return rows


def _pcm16_blocks(audio: FloatArray | AudioBlocks) -> Iterator[npt.NDArray[np.int16]]:
    """(channels, n) float → (frames, channels) int16 blocks with TPDF dither of ±1 LSB.

    Block by block, so only one block of float32 frames and int16 samples exists at a time.
    The dither is ``_dither_table()`` repeated along time (a mono file uses its first
    column): the same for every file, so identical audio gives identical bytes.
    """
    channels, n_frames = audio.shape
    dither = _dither_rows()[:channels]
    for start in range(0, n_frames, _PCM_BLOCK_FRAMES):
        stop = min(n_frames, start + _PCM_BLOCK_FRAMES)
        # Scaled, dithered and rounded channels first (contiguous rows, ~2x faster than on
        # the transposed frames); only the int16 result is interleaved. Same float32 steps
        # per sample, so the same samples.
        rows = audio[:, start:stop] * np.float32(_PCM16_SCALE)
        # Triangular on (-1, 1) LSB: decorrelates the rounding error from the signal.
        offset = start % _DITHER_FRAMES
        rows += dither[:, offset : offset + stop - start]
        np.rint(rows, out=rows)
        np.clip(rows, -_PCM16_SCALE, _PCM16_SCALE - 1.0, out=rows)
        frames = np.empty((stop - start, channels), dtype=np.int16)
        frames.T[...] = rows  # the cast to int16 writes the interleaved frames
        yield frames


def _all_finite(audio: FloatArray | AudioBlocks) -> bool:
    """No NaN or infinity in ``audio``: checked a cache-sized block at a time (a whole
    track's boolean mask would be 10 MB per file, with several files written at once)."""
    return all(
        np.isfinite(audio[:, start : start + _PCM_BLOCK_FRAMES]).all()
        for start in range(0, audio.shape[-1], _PCM_BLOCK_FRAMES)
    )


def _pcm16(audio: FloatArray) -> npt.NDArray[np.int16]:
    """The whole of :func:`_pcm16_blocks`: shape (n, channels)."""
    blocks = list(_pcm16_blocks(audio))
    return np.concatenate(blocks) if blocks else np.zeros((0, audio.shape[0]), np.int16)


def _write_pcm16(
    audio: FloatArray | AudioBlocks, sample_rate: int, path: Path, container: str
) -> None:
    """16-bit WAV or FLAC, written block by block (no whole-file int16 copy)."""
    with soundfile.SoundFile(
        path, "w", sample_rate, audio.shape[0], subtype="PCM_16", format=container
    ) as file:
        for block in _pcm16_blocks(audio):
            file.write(block)


def _write_wav(audio: FloatArray, sample_rate: int, path: Path) -> None:
    _write_pcm16(audio, sample_rate, path, "WAV")


def _write_flac(audio: FloatArray, sample_rate: int, path: Path) -> None:
    _write_pcm16(audio, sample_rate, path, "FLAC")


def _write_mp3(audio: FloatArray, sample_rate: int, path: Path) -> None:
    """LAME through pedalboard, a long track in pieces on several cores (``engine.mp3``)."""
    write_mp3(audio, sample_rate, path, MP3_QUALITY)


def _write_pedalboard(quality: str) -> Callable[[FloatArray, int, Path], None]:
    """Vorbis through pedalboard; it picks the codec from the file suffix.

    (soundfile crashes writing long stereo Ogg files in one call, so it is not used here.)
    """

    def write(audio: FloatArray, sample_rate: int, path: Path) -> None:
        with AudioFile(str(path), "w", sample_rate, audio.shape[0], quality=quality) as file:
            file.write(np.ascontiguousarray(audio))

    return write


def _write_opus(audio: FloatArray, sample_rate: int, path: Path) -> None:
    """Ogg Opus through PyAV/libopus at 48 kHz (resampled with a polyphase filter)."""
    if sample_rate != OPUS_SAMPLE_RATE:
        from scipy import signal  # only here: importing scipy.signal costs ~0.7 s

        common = math.gcd(sample_rate, OPUS_SAMPLE_RATE)
        audio = signal.resample_poly(
            audio, OPUS_SAMPLE_RATE // common, sample_rate // common, axis=-1
        ).astype(np.float32)
    layout = "stereo" if audio.shape[0] == 2 else "mono"
    with av.open(str(path), "w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=OPUS_SAMPLE_RATE, layout=layout)
        stream.bit_rate = OPUS_BIT_RATE
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(audio, dtype=np.float32), format="fltp", layout=layout
        )
        frame.sample_rate = OPUS_SAMPLE_RATE
        frame.pts = 0
        # PyAV cuts the one long frame into the encoder's 20 ms frames.
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


# Ogg's page CRC is CRC-32 with polynomial 0x04C11DB7, unreflected, init 0, no final xor: the
# bit-mirror of zlib's reflected CRC-32, so zlib computes it over bit-reversed bytes.
_BIT_REVERSED = bytes(int(f"{byte:08b}"[::-1], 2) for byte in range(256))
_OGG_CAPTURE = b"OggS"
_OGG_HEADER_BYTES = 27  # up to and including the segment count
_OGG_SERIAL = struct.Struct("<I")
_OGG_SERIAL_OFFSET = 14
_OGG_CRC_OFFSET = 22


def _ogg_crc(page: bytes | bytearray) -> int:
    mirrored = zlib.crc32(page.translate(_BIT_REVERSED), 0xFFFFFFFF) ^ 0xFFFFFFFF
    return int(f"{mirrored:032b}"[::-1], 2)


def set_ogg_serial(path: Path, serial: int) -> None:
    """Give every page of the single-stream Ogg file at ``path`` the stream serial number
    ``serial`` (0 ≤ serial < 2**32) and fix each page's CRC, in place.

    Encoders pick the serial at random, so without this the same audio gives different bytes.
    Raises ``ValueError`` if the file is not a well-formed Ogg stream.
    """
    data = bytearray(Path(path).read_bytes())
    position = 0
    while position < len(data):
        if data[position : position + 4] != _OGG_CAPTURE or len(data) < position + 27:
            raise ValueError(f"{path}: no Ogg page at byte {position}")
        n_segments = data[position + _OGG_HEADER_BYTES - 1]
        table_end = position + _OGG_HEADER_BYTES + n_segments
        end = table_end + sum(data[position + _OGG_HEADER_BYTES : table_end])
        if end > len(data):
            raise ValueError(f"{path}: Ogg page at byte {position} is truncated")
        _OGG_SERIAL.pack_into(data, position + _OGG_SERIAL_OFFSET, serial)
        _OGG_SERIAL.pack_into(data, position + _OGG_CRC_OFFSET, 0)
        crc = _ogg_crc(memoryview(data)[position:end].tobytes())
        _OGG_SERIAL.pack_into(data, position + _OGG_CRC_OFFSET, crc)
        position = end
    Path(path).write_bytes(data)


def ogg_serial_for(audio: FloatArray) -> int:
    """A stream serial number that depends only on the audio (so the same seed gives the
    same bytes, and different tracks rarely share a serial)."""
    return zlib.crc32(np.ascontiguousarray(audio, dtype=np.float32).data)


@dataclass(frozen=True)
class _Format:
    media_type: str
    suffix: str
    write: Callable[[FloatArray, int, Path], None]


_FORMATS: dict[str, _Format] = {
    "wav": _Format("audio/wav", ".wav", _write_wav),
    "flac": _Format("audio/flac", ".flac", _write_flac),
    "mp3": _Format("audio/mpeg", ".mp3", _write_mp3),
    "ogg": _Format("audio/ogg", ".ogg", _write_pedalboard(VORBIS_QUALITY)),
    "opus": _Format("audio/ogg; codecs=opus", ".opus", _write_opus),
}


def _lookup(fmt: str) -> _Format:
    try:
        return _FORMATS[fmt]
    except KeyError:
        raise ValueError(
            f"unsupported audio format {fmt!r}; supported: {', '.join(FORMATS)}"
        ) from None


def media_type(fmt: str) -> str:
    """The MIME type for ``fmt`` (one of ``FORMATS``); ``ValueError`` otherwise."""
    return _lookup(fmt).media_type


def encode(
    audio: FloatArray | AudioBlocks,
    sample_rate: int,
    path: Path,
    fmt: str,
    *,
    ogg_serial: int | None = None,
) -> Path:
    """Write ``audio`` (float32, (channels, n), 1 or 2 channels) to ``path`` as ``fmt``.
    ``audio`` may be :class:`AudioBlocks` (an array-like read block by block); WAV and FLAC
    then never hold it whole.

    WAV and FLAC are 16-bit PCM with seeded TPDF dither (identical input → identical bytes),
    MP3 is 256 kbps CBR, Ogg Vorbis ~192 kbps, Opus ~160 kbps at 48 kHz. Ogg files (Vorbis,
    Opus) get the stream serial ``ogg_serial`` (default: one derived from the audio), so
    identical input gives identical bytes in every format. Returns ``path``.
    Raises ``ValueError`` for an unknown format or bad audio; on any failure no file is left
    under ``path`` or under the temporary name.
    """
    spec = _lookup(fmt)
    if audio.ndim != 2 or audio.shape[0] not in (1, 2) or audio.shape[1] == 0:
        raise ValueError(f"audio must be shaped (1 or 2, n > 0), got {audio.shape}")
    if not _all_finite(audio):
        raise ValueError("audio contains NaN or infinite samples")
    path = Path(path)
    # Same directory (so os.replace is atomic) and the real suffix (pedalboard reads it).
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part{spec.suffix}")
    try:
        if fmt in _PCM_CONTAINERS and not isinstance(audio, np.ndarray):
            # 16-bit PCM reads the audio a block at a time: audio that reads its blocks from
            # elsewhere (a stem parked on disk) is never loaded whole.
            _write_pcm16(audio, sample_rate, temporary, _PCM_CONTAINERS[fmt])
        else:
            data = np.asarray(audio, dtype=np.float32)
            spec.write(data, sample_rate, temporary)
            if fmt in _OGG_FORMATS:
                serial = ogg_serial_for(data) if ogg_serial is None else ogg_serial
                set_ogg_serial(temporary, serial)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path
