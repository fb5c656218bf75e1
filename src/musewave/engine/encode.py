"""Encode: write mastered audio (float32, (channels, n)) as WAV, FLAC, MP3, Ogg Vorbis or Opus.

Every writer goes to a temporary name in the destination directory and is moved into place with
``os.replace``, so a crash never leaves a partial file under the final name.
"""

from __future__ import annotations

import math
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import soundfile
from pedalboard.io import AudioFile
from scipy import signal

FloatArray = npt.NDArray[np.float32]

FORMATS = ("wav", "flac", "mp3", "ogg", "opus")
OPUS_SAMPLE_RATE = 48000  # Opus only runs at 48 kHz (and divisors); decoders output 48 kHz
MP3_QUALITY = "256 kbps"  # constant bit rate, comfortably above the 192 kbps floor
VORBIS_QUALITY = "192 kbps"
OPUS_BIT_RATE = 160_000
# Fixed seed: the same audio always gets the same dither, so WAV output is byte-identical.
_DITHER_SEED = 16
_PCM16_SCALE = 32768.0


def _pcm16(audio: FloatArray) -> npt.NDArray[np.int16]:
    """(channels, n) float → (n, channels) int16 with TPDF dither of ±1 LSB."""
    rng = np.random.default_rng(_DITHER_SEED)
    frames = np.empty((audio.shape[1], audio.shape[0]), dtype=np.float32)
    np.multiply(audio.T, np.float32(_PCM16_SCALE), out=frames)
    # Difference of two uniforms is triangular on (-1, 1) LSB: decorrelates the rounding error.
    frames += rng.random(frames.shape, dtype=np.float32)
    frames -= rng.random(frames.shape, dtype=np.float32)
    np.rint(frames, out=frames)
    np.clip(frames, -_PCM16_SCALE, _PCM16_SCALE - 1.0, out=frames)
    return frames.astype(np.int16)


def _write_wav(audio: FloatArray, sample_rate: int, path: Path) -> None:
    soundfile.write(path, _pcm16(audio), sample_rate, subtype="PCM_16", format="WAV")


def _write_flac(audio: FloatArray, sample_rate: int, path: Path) -> None:
    soundfile.write(path, _pcm16(audio), sample_rate, subtype="PCM_16", format="FLAC")


def _write_pedalboard(quality: str) -> Callable[[FloatArray, int, Path], None]:
    """MP3 (LAME) and Vorbis through pedalboard; it picks the codec from the file suffix.

    (soundfile crashes writing long stereo Ogg files in one call, so it is not used here.)
    """

    def write(audio: FloatArray, sample_rate: int, path: Path) -> None:
        with AudioFile(str(path), "w", sample_rate, audio.shape[0], quality=quality) as file:
            file.write(np.ascontiguousarray(audio))

    return write


def _write_opus(audio: FloatArray, sample_rate: int, path: Path) -> None:
    """Ogg Opus through PyAV/libopus at 48 kHz (resampled with a polyphase filter)."""
    if sample_rate != OPUS_SAMPLE_RATE:
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


@dataclass(frozen=True)
class _Format:
    media_type: str
    suffix: str
    write: Callable[[FloatArray, int, Path], None]


_FORMATS: dict[str, _Format] = {
    "wav": _Format("audio/wav", ".wav", _write_wav),
    "flac": _Format("audio/flac", ".flac", _write_flac),
    "mp3": _Format("audio/mpeg", ".mp3", _write_pedalboard(MP3_QUALITY)),
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


def encode(audio: FloatArray, sample_rate: int, path: Path, fmt: str) -> Path:
    """Write ``audio`` (float32, (channels, n), 1 or 2 channels) to ``path`` as ``fmt``.

    WAV and FLAC are 16-bit PCM with seeded TPDF dither (identical input → identical bytes),
    MP3 is 256 kbps CBR, Ogg Vorbis ~192 kbps, Opus ~160 kbps at 48 kHz. Returns ``path``.
    Raises ``ValueError`` for an unknown format or bad audio; on any failure no file is left
    under ``path`` or under the temporary name.
    """
    spec = _lookup(fmt)
    if audio.ndim != 2 or audio.shape[0] not in (1, 2) or audio.shape[1] == 0:
        raise ValueError(f"audio must be shaped (1 or 2, n > 0), got {audio.shape}")
    if not np.all(np.isfinite(audio)):
        raise ValueError("audio contains NaN or infinite samples")
    path = Path(path)
    # Same directory (so os.replace is atomic) and the real suffix (pedalboard reads it).
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part{spec.suffix}")
    try:
        spec.write(np.asarray(audio, dtype=np.float32), sample_rate, temporary)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path
