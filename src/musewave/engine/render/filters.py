"""Filters, waveshapers and modulated delays over whole buffers (time on the last axis).

Static filters are Butterworth/RBJ biquads run by ``scipy.signal.sosfilt``. The time-varying
low-pass (filter envelopes) holds its coefficients constant over short segments and carries the
filter state across them, so the recursion still runs in C.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from .. import dsp
from ._types import Audio, Float64, as_audio

Sos = NDArray[np.float64]


def _nyquist_clip(freq_hz: float, sample_rate: int) -> float:
    return float(min(max(freq_hz, 10.0), 0.45 * sample_rate))


@lru_cache(maxsize=512)
def _butter(kind: str, order: int, edges: tuple[int, ...], sample_rate: int) -> Sos:
    wn = edges[0] if len(edges) == 1 else edges
    sos: Sos = dsp.butter(order, wn, kind, sample_rate)  # type: ignore[arg-type]
    sos.setflags(write=False)
    return sos


def _run(sos: Sos, x: Audio) -> Audio:
    return np.asarray(dsp.sosfilt(sos.astype(np.float32), x), dtype=np.float32)


def lowpass(x: Audio, cutoff_hz: float, sample_rate: int, order: int = 2) -> Audio:
    """Butterworth low-pass of ``order`` poles; cutoff rounded to 1 Hz (designs are cached)."""
    edge = round(_nyquist_clip(cutoff_hz, sample_rate))
    return _run(_butter("lowpass", order, (edge,), sample_rate), x)


def highpass(x: Audio, cutoff_hz: float, sample_rate: int, order: int = 2) -> Audio:
    """Butterworth high-pass of ``order`` poles."""
    edge = round(_nyquist_clip(cutoff_hz, sample_rate))
    return _run(_butter("highpass", order, (edge,), sample_rate), x)


def bandpass(x: Audio, low_hz: float, high_hz: float, sample_rate: int, order: int = 2) -> Audio:
    """Butterworth band-pass between ``low_hz`` and ``high_hz`` (``order`` poles per edge)."""
    low = round(_nyquist_clip(low_hz, sample_rate))
    high = round(_nyquist_clip(high_hz, sample_rate))
    if high <= low:
        return highpass(x, low, sample_rate, order)
    return _run(_butter("bandpass", order, (low, high), sample_rate), x)


def peaking(x: Audio, center_hz: float, gain_db: float, q: float, sample_rate: int) -> Audio:
    """RBJ peaking EQ: boost/cut of ``gain_db`` around ``center_hz``."""
    amp = 10.0 ** (gain_db / 40.0)
    w0 = 2.0 * np.pi * _nyquist_clip(center_hz, sample_rate) / sample_rate
    alpha = np.sin(w0) / (2.0 * q)
    b = np.array([1.0 + alpha * amp, -2.0 * np.cos(w0), 1.0 - alpha * amp])
    a = np.array([1.0 + alpha / amp, -2.0 * np.cos(w0), 1.0 - alpha / amp])
    sos = np.concatenate([b / a[0], a / a[0]])[None, :]
    return _run(sos, x)


def _rbj_lowpass(cutoff_hz: Float64, q: float, sample_rate: int) -> tuple[Float64, Float64]:
    """RBJ low-pass biquads for an array of cutoffs: ``(b, a)`` each of shape ``(S, 3)``."""
    w0 = 2.0 * np.pi * cutoff_hz / sample_rate
    cos_w0 = np.cos(w0)
    alpha = np.sin(w0) / (2.0 * q)
    a0 = 1.0 + alpha
    b = np.stack([(1.0 - cos_w0) / 2.0, 1.0 - cos_w0, (1.0 - cos_w0) / 2.0], axis=1)
    a = np.stack([a0, -2.0 * cos_w0, 1.0 - alpha], axis=1)
    return b / a0[:, None], a / a0[:, None]


def tv_lowpass(
    x: Audio,
    cutoff_hz: Float64,
    resonance_q: float,
    sample_rate: int,
    steps_per_octave: int = 8,
    min_segment: int = 48,
) -> Audio:
    """Four-pole low-pass whose cutoff follows ``cutoff_hz`` (shape ``(n,)``, Hz) over time.

    One resonant biquad (``resonance_q``) in series with a Butterworth-Q biquad, i.e. a
    24 dB/oct ladder-like response. The cutoff is quantised to ``steps_per_octave`` steps;
    each run of constant cutoff (at least ``min_segment`` samples) is one ``lfilter`` call
    with the state carried over. Input and output shape ``(n,)``.
    """
    n = x.shape[-1]
    fc = np.clip(cutoff_hz[:n], 20.0, 0.45 * sample_rate)
    code = np.round(np.log2(fc) * steps_per_octave).astype(np.int64)
    changes = np.flatnonzero(code[1:] != code[:-1]) + 1
    starts = [0]
    for c in changes.tolist():
        if c - starts[-1] >= min_segment:
            starts.append(c)
    bounds = np.array([*starts, n])
    seg_fc = 2.0 ** (code[bounds[:-1]] / steps_per_octave)
    b1, a1 = _rbj_lowpass(seg_fc, resonance_q, sample_rate)
    b2, a2 = _rbj_lowpass(seg_fc, float(np.sqrt(0.5)), sample_rate)
    src = x.astype(np.float64)
    y = np.empty(n, dtype=np.float64)
    zi = np.zeros(4)
    for i in range(len(bounds) - 1):
        s, e = int(bounds[i]), int(bounds[i + 1])
        b = np.convolve(b1[i], b2[i])
        a = np.convolve(a1[i], a2[i])
        y[s:e], zi = dsp.lfilter(b, a, src[s:e], zi)
    return y.astype(np.float32)


def butterworth_gain(freqs_hz: Float64, cutoff_hz: float, order: int) -> Float64:
    """Magnitude of an ``order``-pole Butterworth low-pass at ``freqs_hz`` (for additive voices)."""
    return 1.0 / np.sqrt(1.0 + (freqs_hz / cutoff_hz) ** (2 * order))


def resonance_gain(
    freqs_hz: Float64,
    centers_hz: tuple[float, ...],
    bandwidths_hz: tuple[float, ...],
    gains_db: tuple[float, ...],
) -> Float64:
    """Sum of resonance peaks (formants, body modes) evaluated at ``freqs_hz``; linear gain."""
    total = np.zeros_like(freqs_hz)
    for center, width, gain_db in zip(centers_hz, bandwidths_hz, gains_db, strict=True):
        detune = (freqs_hz - center) / (0.5 * width)
        total += 10.0 ** (gain_db / 20.0) / np.sqrt(1.0 + detune * detune)
    return total


def soft_clip(x: Audio, drive: float, bias: float = 0.0) -> Audio:
    """``tanh`` saturation normalised so a full-scale input stays near full scale.

    ``bias`` shifts the curve for even harmonics; the resulting DC offset is removed.
    """
    d = np.float32(drive)
    shaped = np.tanh(x * d + np.float32(bias)) - np.float32(np.tanh(bias))
    return np.asarray(shaped / np.float32(np.tanh(drive)), dtype=np.float32)


def vibrato_delay(
    n: int,
    sample_rate: int,
    rate_hz: float,
    depth_cents: float,
    phase: float = 0.0,
) -> Audio:
    """Delay curve (samples, shape ``(n,)``, float32) giving ``depth_cents`` peak vibrato.

    For ``y(t) = x(t - d(t))`` the pitch ratio is ``1 - d'(t)``, so a sinusoidal delay of
    amplitude ``(2**(c/1200) - 1) / (2*pi*rate)`` seconds gives ``c`` cents of vibrato.
    """
    amp = (2.0 ** (depth_cents / 1200.0) - 1.0) / (2.0 * np.pi * rate_hz) * sample_rate
    angle = np.arange(n, dtype=np.float32) * np.float32(2.0 * np.pi * rate_hz / sample_rate)
    return as_audio(np.float32(amp) * (np.float32(1.0) - np.cos(angle + np.float32(phase))))


def loop_vibrato(
    loop: Audio, sample_rate: int, rate_hz: float, depth_cents: float, phase: float = 0.0
) -> Audio:
    """Vibrato applied to a seamless loop (shape ``(P,)``), keeping it seamless.

    The rate is rounded to a whole number of cycles per loop and the read position wraps;
    reading is linear interpolation.
    """
    length = loop.shape[-1]
    cycles = max(1, round(rate_hz * length / sample_rate))
    delay = vibrato_delay(length, sample_rate, cycles * sample_rate / length, depth_cents, phase)
    # Shift by one loop so every read position is positive; float32 is exact enough here
    # (loops are far shorter than 2**24 samples).
    where = np.arange(length, 2 * length, dtype=np.float32) - delay
    base = where.astype(np.int32)
    frac = where - base.astype(np.float32)
    base %= length
    wrapped = np.concatenate([loop, loop[:1]])
    left = wrapped[base]
    return as_audio(left + frac * (wrapped[base + 1] - left))
