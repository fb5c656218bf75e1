"""Plucked-string voices built on Karplus–Strong: basses, pluck, clean and distorted guitar.

Recipe signature and output conventions as in :mod:`.synths`.
"""

from __future__ import annotations

import numpy as np

from ._types import Audio
from .filters import highpass, lowpass, peaking, soft_clip
from .karplus import karplus_strong
from .oscillators import noise


def pluck_excitation(
    f: float,
    sr: int,
    position: float,
    noise_amount: float,
    tone_hz: float,
    rng: np.random.Generator,
) -> Audio:
    """One period of initial string displacement, shape ``(round(sr / f),)``.

    A triangle peaked at ``position`` (0..1 along the string; near the bridge is brighter and
    thinner) plus ``noise_amount`` of noise for pick texture, low-passed at ``tone_hz``.
    """
    period = max(2, round(sr / f))
    x = np.arange(period, dtype=np.float32) / np.float32(period)
    tri = np.where(x < position, x / position, (1.0 - x) / (1.0 - position)).astype(np.float32)
    shape = lowpass(tri + np.float32(noise_amount) * noise(period, rng), tone_hz, sr, order=1)
    return shape / np.float32(max(float(np.abs(shape).max()), 1e-9))


def upright_bass(f: float, bright: float, n: int, sr: int, rng: np.random.Generator) -> Audio:
    """Warm, woody pluck: soft excitation, medium decay, dark body."""
    ex = pluck_excitation(f, sr, 0.3, 0.25, 900.0 + 1600.0 * bright, rng)
    string = karplus_strong(ex, f, n, sr, 1.8)
    return lowpass(peaking(string, 110.0, 3.0, 1.0, sr), 1200.0 + 1800.0 * bright, sr)


def electric_bass(f: float, bright: float, n: int, sr: int, rng: np.random.Generator) -> Audio:
    """Finger-style electric bass: pluck near the bridge, long sustain, round amp tone (highs
    rolled off), mild drive."""
    ex = pluck_excitation(f, sr, 0.15, 0.35, 1500.0 + 3000.0 * bright, rng)
    string = karplus_strong(ex, f, n, sr, 3.5)
    return soft_clip(lowpass(string, 1200.0 + 1500.0 * bright, sr), 1.3)


def pluck(f: float, bright: float, n: int, sr: int, rng: np.random.Generator) -> Audio:
    """Bright synth-style pluck; higher notes ring shorter, as on a real string."""
    ex = pluck_excitation(f, sr, 0.3, 0.6, 2500.0 + 7000.0 * bright, rng)
    t60 = float(np.clip(1.4 * (262.0 / f) ** 0.5, 0.4, 3.0))
    return lowpass(karplus_strong(ex, f, n, sr, t60), 3000.0 + 9000.0 * bright, sr)


def guitar_clean(f: float, bright: float, n: int, sr: int, rng: np.random.Generator) -> Audio:
    """Clean electric guitar: plucked string through a simple body/pickup EQ."""
    ex = pluck_excitation(f, sr, 0.17, 0.3, 2500.0 + 5000.0 * bright, rng)
    t60 = float(np.clip(3.0 * (196.0 / f) ** 0.4, 0.8, 5.0))
    string = karplus_strong(ex, f, n, sr, t60)
    body = peaking(peaking(string, 180.0, 3.0, 1.0, sr), 2500.0, 3.0, 1.2, sr)
    return lowpass(highpass(body, 70.0, sr), 5500.0, sr)


def guitar_distorted(f: float, bright: float, n: int, sr: int, rng: np.random.Generator) -> Audio:
    """Double-tracked distorted guitar: two plucks (left/right), waveshaper, cabinet EQ.

    Each note is distorted on its own, so root-fifth power chords stay clean of the
    intermodulation mud that a shared amp would add to thirds.
    """
    out = np.empty((2, n), dtype=np.float32)
    for ch, detune in enumerate((-1.5, 1.5)):
        fc = f * 2.0 ** (detune / 1200.0)
        ex = pluck_excitation(fc, sr, 0.12, 0.5, 5000.0, rng)
        string = karplus_strong(ex, fc, n, sr, 5.0)
        out[ch] = soft_clip(string, 6.0 + 10.0 * bright, bias=0.25)
    cab = highpass(out, 90.0, sr)
    cab = peaking(peaking(cab, 400.0, -3.0, 1.0, sr), 1800.0, 4.0, 1.0, sr)
    return lowpass(cab, 4800.0, sr, order=4)
