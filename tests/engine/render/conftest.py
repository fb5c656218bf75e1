"""Small helpers for renderer tests: short buffers, one-note parts, spectral measurements."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from musewave.engine.score import TICKS_PER_BEAT, Note, Part

SR = 44100
BPM = 120.0
SAMPLES_PER_BEAT = SR * 60 // int(BPM)  # 22050 at 120 BPM


def one_note(voice: str, pitch: int, beats: float = 1.0, velocity: int = 100) -> Part:
    """A part holding one note at tick 0."""
    note = Note(pitch, 0, round(beats * TICKS_PER_BEAT), velocity)
    return Part(name=f"{voice}-{pitch}", stem="lead", voice=voice, midi_program=0, notes=[note])


def drum_hit(kit: str, key: int, velocity: int = 100, at_beat: float = 0.0) -> Part:
    note = Note(key, round(at_beat * TICKS_PER_BEAT), TICKS_PER_BEAT // 4, velocity)
    return Part(name="drums", stem="drums", voice=kit, midi_program=0, is_drums=True, notes=[note])


def power_spectrum(
    x: NDArray[np.float32], pad: int = 1
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(freqs_hz, power) of a Hann-windowed signal, zero-padded ``pad`` times."""
    windowed = x.astype(np.float64) * np.hanning(x.size)
    size = x.size * pad
    return np.fft.rfftfreq(size, 1.0 / SR), np.abs(np.fft.rfft(windowed, size)) ** 2


def fundamental_hz(x: NDArray[np.float32], expected_hz: float) -> float:
    """Strongest spectral peak between 0.6x and 1.4x ``expected_hz``, refined to the power-
    weighted mean within ±2 % of it (ensembles of detuned voices have a spread peak)."""
    freqs, power = power_spectrum(x, pad=8)
    window = (freqs > 0.6 * expected_hz) & (freqs < 1.4 * expected_hz)
    peak = freqs[window][np.argmax(power[window])]
    near = (freqs > 0.98 * peak) & (freqs < 1.02 * peak)
    return float(np.sum(freqs[near] * power[near]) / np.sum(power[near]))


def spectral_centroid_hz(x: NDArray[np.float32]) -> float:
    freqs, power = power_spectrum(x)
    return float(np.sum(freqs * power) / np.sum(power))


def energy_share_below(x: NDArray[np.float32], cutoff_hz: float) -> float:
    freqs, power = power_spectrum(x)
    return float(power[freqs < cutoff_hz].sum() / power.sum())


@pytest.fixture
def sr() -> int:
    return SR
