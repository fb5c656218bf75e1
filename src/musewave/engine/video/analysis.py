"""What the pictures react to: the mastered audio measured once per video frame.

Band levels come from a Hann-windowed FFT centred on each frame, summed over log-spaced bands
(equal power per octave, so pink noise reads flat), in dB mapped to 0–1, then smoothed the way
meters are: an instant attack and an exponential release. Peaks hold and fall slowly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]

FFT_SIZE = 2048
LOW_HZ, HIGH_HZ = 40.0, 16_000.0
FLOOR_DB, CEILING_DB = -62.0, -8.0  # band level (dBFS) that reads as empty and as full
TILT_DB_PER_OCTAVE = 2.0  # above 1 kHz music falls faster than pink noise: lift it back
RELEASE_S = 0.18
PEAK_HOLD_S = 0.35
PEAK_FALL_PER_S = 0.9
_CHUNK_FRAMES = 256  # FFT frames computed at once, to bound memory on long tracks


@dataclass(frozen=True, slots=True)
class AudioFeatures:
    """Per video frame (rows): ``bands`` float32 (n_frames, n_bands) in 0–1, smoothed;
    ``peaks`` the same shape, held and falling; ``level`` (n_frames,) RMS loudness in 0–1;
    ``bass`` (n_frames,) the low bands' mean, 0–1."""

    bands: FloatArray
    peaks: FloatArray
    level: FloatArray
    bass: FloatArray

    @property
    def n_frames(self) -> int:
        return int(self.bands.shape[0])


def mono(audio: FloatArray) -> FloatArray:
    """(channels, n) float → (n,) float32, the channels' mean."""
    out: FloatArray = np.asarray(audio, dtype=np.float32).mean(axis=0, dtype=np.float32)
    return out


def band_edges(n_bands: int, sample_rate: int) -> npt.NDArray[np.int64]:
    """FFT bin edges (n_bands + 1,) of log-spaced bands from ``LOW_HZ`` to ``HIGH_HZ``; every
    band at least one bin wide."""
    high = min(HIGH_HZ, sample_rate / 2.0 * 0.95)
    hz = np.geomspace(LOW_HZ, high, n_bands + 1)
    bins = np.round(hz * FFT_SIZE / sample_rate).astype(np.int64)
    for i in range(1, len(bins)):  # a few low bands would share a bin: widen them
        bins[i] = max(bins[i], bins[i - 1] + 1)
    return bins


def _frames(signal: FloatArray, centres: npt.NDArray[np.int64]) -> FloatArray:
    """Windows of ``FFT_SIZE`` samples centred on ``centres`` (zeros past the ends)."""
    half = FFT_SIZE // 2
    padded = np.pad(signal, (half, half))
    index = centres[:, None] + np.arange(FFT_SIZE)[None, :]
    out: FloatArray = padded[index]
    return out


def _release(levels: FloatArray, fps: float, release_s: float) -> FloatArray:
    """Instant attack, exponential release with time constant ``release_s``."""
    out = np.empty_like(levels)
    keep = np.float32(np.exp(-1.0 / (release_s * fps)))
    state = np.zeros(levels.shape[1], dtype=np.float32)
    for i in range(levels.shape[0]):  # a recurrence over frames: each row is vectorized
        state = np.maximum(levels[i], state * keep)
        out[i] = state
    return out


def _peaks(levels: FloatArray, fps: float) -> FloatArray:
    out = np.empty_like(levels)
    hold = max(1, round(PEAK_HOLD_S * fps))
    fall = np.float32(PEAK_FALL_PER_S / fps)
    peak = np.zeros(levels.shape[1], dtype=np.float32)
    age = np.zeros(levels.shape[1], dtype=np.int64)
    for i in range(levels.shape[0]):
        rising = levels[i] >= peak
        age = np.where(rising, 0, age + 1)
        falling = np.where(age > hold, peak - fall, peak)
        peak = np.where(rising, levels[i], np.maximum(falling, levels[i]))
        out[i] = peak
    return out


def analyse(
    audio: FloatArray, sample_rate: int, fps: float, n_frames: int, n_bands: int
) -> AudioFeatures:
    """Measure ``audio`` (float32 (channels, n)) for ``n_frames`` video frames at ``fps``."""
    signal = mono(audio)
    window = np.hanning(FFT_SIZE).astype(np.float32)
    # A full-scale sine's bin magnitude is sum(window)/2: that is 0 dBFS.
    reference = float(window.sum()) / 2.0
    edges = band_edges(n_bands, sample_rate)
    centre_hz = np.sqrt(edges[:-1] * edges[1:]) * sample_rate / FFT_SIZE
    tilt_db = TILT_DB_PER_OCTAVE * np.maximum(0.0, np.log2(np.maximum(centre_hz, 1.0) / 1000.0))
    centres = np.round((np.arange(n_frames) + 0.5) / fps * sample_rate).astype(np.int64)
    raw = np.empty((n_frames, n_bands), dtype=np.float32)
    rms = np.empty(n_frames, dtype=np.float32)
    for first in range(0, n_frames, _CHUNK_FRAMES):
        block = _frames(signal, centres[first : first + _CHUNK_FRAMES])
        rms[first : first + len(block)] = np.sqrt(np.mean(block * block, axis=1))
        spectrum = np.abs(np.fft.rfft(block * window, axis=1)) / reference
        power = np.add.reduceat((spectrum * spectrum)[:, : edges[-1]], edges[:-1], axis=1)
        db = 10.0 * np.log10(power + 1e-12) + tilt_db
        raw[first : first + len(block)] = (db - FLOOR_DB) / (CEILING_DB - FLOOR_DB)
    np.clip(raw, 0.0, 1.0, out=raw)
    bands = _release(raw, fps, RELEASE_S)
    level_db = 20.0 * np.log10(rms + 1e-9)
    level = np.clip((level_db + 50.0) / 44.0, 0.0, 1.0).astype(np.float32)
    low = max(1, n_bands // 8)
    return AudioFeatures(
        bands=bands,
        peaks=_peaks(bands, fps),
        level=_release(level[:, None], fps, RELEASE_S)[:, 0],
        bass=bands[:, :low].mean(axis=1).astype(np.float32),
    )


def waveform(signal: FloatArray, centre: int, n_points: int, span: int) -> FloatArray:
    """``n_points`` samples of ``signal`` (mono) spread over ``span`` samples centred on
    ``centre`` (zeros past the ends): an oscilloscope trace, float32 (n_points,)."""
    index = centre - span // 2 + np.round(np.linspace(0, span - 1, n_points)).astype(np.int64)
    valid = (index >= 0) & (index < len(signal))
    out = np.zeros(n_points, dtype=np.float32)
    out[valid] = signal[index[valid]]
    return out


def overview(signal: FloatArray, n_columns: int) -> FloatArray:
    """The whole track's peak level per column, float32 (n_columns,) in 0–1 (a waveform
    overview: each column the largest |sample| of its share of the track)."""
    edges = np.linspace(0, len(signal), n_columns + 1).astype(np.int64)
    starts = np.minimum(edges[:-1], max(0, len(signal) - 1))
    magnitude = np.abs(signal)
    if len(magnitude) == 0:
        return np.zeros(n_columns, dtype=np.float32)
    peaks: FloatArray = np.maximum.reduceat(magnitude, starts).astype(np.float32)
    return np.clip(peaks, 0.0, 1.0)
