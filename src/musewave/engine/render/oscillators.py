"""Band-limited oscillators and noise.

Phase is accumulated in float64 cycles (so long notes do not drift) and the waveform is
produced in float32. Saw and pulse use PolyBLEP, which only touches the two samples around
each discontinuity, so the cost is a handful of vector operations per sample.
"""

from __future__ import annotations

import numpy as np

from ._types import Audio, Float64, Hz, as_audio

TWO_PI = np.float32(2.0 * np.pi)


def midi_to_hz(pitch: float) -> float:
    """Equal-tempered frequency in Hz of MIDI ``pitch`` (A4 = 69 = 440 Hz)."""
    return float(440.0 * 2.0 ** ((pitch - 69.0) / 12.0))


def phase_cycles(freq_hz: Hz, n: int, sample_rate: int, phase0: float = 0.0) -> Float64:
    """Unwrapped phase in cycles, shape ``(n,)``, with ``phase[0] == phase0``."""
    if not isinstance(freq_hz, np.ndarray):
        return phase0 + np.arange(n, dtype=np.float64) * (float(freq_hz) / sample_rate)
    inc = np.asarray(freq_hz, dtype=np.float64)[:n] / sample_rate
    phase = np.empty(n, dtype=np.float64)
    phase[0] = 0.0
    np.cumsum(inc[: n - 1], out=phase[1:])
    phase += phase0
    return phase


def _fraction(phase: Float64) -> Audio:
    return (phase - np.floor(phase)).astype(np.float32)


def sine(freq_hz: Hz, n: int, sample_rate: int, phase0: float = 0.0) -> Audio:
    """Sine wave of unit amplitude, shape ``(n,)``; ``phase0`` in cycles."""
    return as_audio(np.sin(_fraction(phase_cycles(freq_hz, n, sample_rate, phase0)) * TWO_PI))


def _blep_saw(phase: Float64, inc: Hz) -> Audio:
    """PolyBLEP saw in [-1, 1] for an unwrapped phase (cycles) advancing by ``inc`` per sample."""
    cycle = np.floor(phase)
    t = (phase - cycle).astype(np.float32)
    out = t * np.float32(2.0) - np.float32(1.0)
    after = np.flatnonzero(cycle[1:] != cycle[:-1]) + 1
    before = after - 1
    # The increment across each wrap (the BLEP width) applies to both neighbouring samples.
    dt = np.broadcast_to(np.asarray(inc, dtype=np.float64), phase.shape)[before]
    x = t[after] / dt
    out[after] -= (x + x - x * x - 1.0).astype(np.float32)
    x = (t[before] - 1.0) / dt
    out[before] -= (x * x + x + x + 1.0).astype(np.float32)
    return out


def _increment(freq_hz: Hz, n: int, sample_rate: int) -> Hz:
    if isinstance(freq_hz, np.ndarray):
        return np.asarray(freq_hz, dtype=np.float64)[:n] / sample_rate
    return float(freq_hz) / sample_rate


def saw(freq_hz: Hz, n: int, sample_rate: int, phase0: float = 0.0) -> Audio:
    """Band-limited (PolyBLEP) rising saw in [-1, 1], shape ``(n,)``."""
    phase = phase_cycles(freq_hz, n, sample_rate, phase0)
    return _blep_saw(phase, _increment(freq_hz, n, sample_rate))


def pwm(freq_hz: float, width: Float64, n: int, sample_rate: int, phase0: float = 0.0) -> Audio:
    """Band-limited pulse whose duty cycle follows ``width`` (shape ``(n,)``, 0..1), in
    [-1, 1] around zero: a saw minus the same saw ``width`` of a cycle later."""
    phase = phase_cycles(freq_hz, n, sample_rate, phase0)
    inc = _increment(freq_hz, n, sample_rate)
    return as_audio((_blep_saw(phase, inc) - _blep_saw(phase - width, inc)) * np.float32(0.5))


def pulse(freq_hz: Hz, n: int, sample_rate: int, width: float = 0.5, phase0: float = 0.0) -> Audio:
    """Band-limited pulse in [-1, 1] with duty cycle ``width``, zero mean, shape ``(n,)``.

    Built as the difference of two PolyBLEP saws offset by ``width`` cycles.
    """
    phase = phase_cycles(freq_hz, n, sample_rate, phase0)
    inc = _increment(freq_hz, n, sample_rate)
    return _blep_saw(phase, inc) - _blep_saw(phase + width, inc)


def noise(n: int, rng: np.random.Generator) -> Audio:
    """Uniform white noise in [-1, 1), shape ``(n,)``."""
    return rng.random(n, dtype=np.float32) * np.float32(2.0) - np.float32(1.0)
