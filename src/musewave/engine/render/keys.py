"""Keyboard and mallet voices: piano, electric piano, organ, bell, marimba, clavinet.

Recipe signature and output conventions as in :mod:`.synths`. Most are additive (see
:mod:`.partials`), which makes per-partial decay rates, inharmonicity and beating cheap.
"""

from __future__ import annotations

import numpy as np

from ._types import Audio, Float64, as_audio
from .envelopes import exp_decay
from .filters import bandpass, butterworth_gain, loop_vibrato, lowpass, tv_lowpass
from .oscillators import TWO_PI, noise, phase_cycles, pulse, sine
from .partials import (
    add_partials,
    empty_spectrum,
    note_loop_length,
    partial_bank,
    render_loop,
    repeat_loop,
)
from .placement import pan_gains

_MIDDLE_C_HZ = 261.63


def _time32(n: int, sr: int) -> Audio:
    return np.arange(n, dtype=np.float32) / np.float32(sr)


def _theta(f: float, n: int, sr: int) -> Audio:
    """Phase angle in radians in [0, 2*pi), float32, shape ``(n,)``."""
    phase = phase_cycles(f, n, sr)
    return (phase - np.floor(phase)).astype(np.float32) * TWO_PI


def piano(f: float, bright: float, n: int, sr: int, rng: np.random.Generator) -> Audio:
    """Additive acoustic piano: inharmonic partials, each a fast 'prompt' and a slow
    'aftersound' component tuned a fraction of a cent apart (unison strings beating), higher
    partials dying sooner, plus hammer noise. Panned by pitch, low notes to the left."""
    stiffness = float(np.clip(2.5e-4 * (f / _MIDDLE_C_HZ) ** 0.5, 5e-5, 2e-3))
    k = np.arange(1, 41, dtype=np.float64)
    fk = k * f * np.sqrt(1.0 + stiffness * k * k)
    keep = fk < min(0.45 * sr, 9000.0 + 6000.0 * bright)
    k, fk = k[keep], fk[keep]
    # Softer blows give a steeper spectrum; striking at ~1/8 of the string weakens
    # partials near multiples of 8.
    amps = k ** -(1.9 - 1.1 * bright) * (0.25 + np.abs(np.sin(np.pi * k * 0.12)))
    amps *= butterworth_gain(fk, 1500.0 + 4500.0 * bright, 2)
    amps /= np.sqrt(1.0 + (90.0 / fk) ** 2)
    tau0 = float(np.clip(2.5 * (_MIDDLE_C_HZ / f) ** 0.6, 0.5, 9.0))
    tau = tau0 / (1.0 + (fk / 1000.0) ** 1.3)
    cents = (0.4 + 0.8 * rng.random(k.size)) / 2400.0
    tone = partial_bank(
        np.concatenate([fk * 2.0**cents, fk * 2.0**-cents]),
        np.concatenate([0.7 * amps, 0.3 * amps]),
        np.concatenate([tau / 6.0, tau]),
        0.0,
        n,
        sr,
    )
    n_hammer = min(n, round(0.015 * sr))
    hammer = noise(n_hammer, rng) * exp_decay(n_hammer, sr, 0.015)
    hammer = bandpass(hammer, 500.0, 2500.0 + 4000.0 * bright, sr)
    tone[:n_hammer] += np.float32(0.04 + 0.08 * bright) * hammer
    left, right = pan_gains(float(np.clip(np.log2(f / _MIDDLE_C_HZ) / 3.0, -1.0, 1.0)) * 0.4)
    return np.stack([tone * np.float32(left), tone * np.float32(right)])


def electric_piano(f: float, bright: float, n: int, sr: int, rng: np.random.Generator) -> Audio:
    """Two-operator FM at 1:1 with a decaying index, a brief 14:1 'tine' ping, and the
    stereo tremolo of a suitcase Rhodes."""
    t = _time32(n, sr)
    theta = _theta(f, n, sr)
    index = np.float32(0.5 + 2.0 * bright) * np.exp(t * np.float32(-1.0 / 0.4)) + np.float32(0.2)
    phase = theta + index * np.sin(theta)
    if 15.0 * f < 0.4 * sr:  # the tine's sidebands must stay below Nyquist
        tine = np.float32(0.6 + 1.2 * bright) * np.exp(t * np.float32(-1.0 / 0.012))
        phase += tine * np.sin(theta * np.float32(14.0))
    t60 = float(np.clip(5.0 * (_MIDDLE_C_HZ / f) ** 0.5, 1.0, 8.0))
    tone = np.sin(phase) * exp_decay(n, sr, t60)
    wobble = np.float32(0.18) * np.sin(t * np.float32(2.0 * np.pi * 4.2))
    return as_audio(np.stack([tone * (1.0 + wobble), tone * (1.0 - wobble)]) / np.float32(1.18))


# Hammond drawbar footages as ratios of the 8' pitch: 16', 5 1/3', 8', 4', 2 2/3', 2', ...
_DRAWBAR_RATIOS = np.array([0.5, 1.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0])
# No 16' or 5 1/3' (both harmonics of the octave below): they made the written note sound
# an octave low to pitch trackers and listeners alike.
_DRAWBARS_SOFT = np.array([0, 0, 8, 6, 3, 3, 0, 0, 0])
_DRAWBARS_BRIGHT = np.array([0, 0, 8, 7, 5, 6, 3, 2, 4])


def organ(f: float, bright: float, n: int, sr: int, rng: np.random.Generator) -> Audio:
    """Drawbar organ with 3rd-harmonic percussion, key click and a slow rotary-speaker
    chorus (opposite pitch/amplitude wobble left and right), built as a seamless loop."""
    bars = _DRAWBARS_SOFT + bright * (_DRAWBARS_BRIGHT - _DRAWBARS_SOFT)
    amps = np.where(bars > 0, 10.0 ** (-3.0 * (8.0 - bars) / 20.0), 0.0)
    length = note_loop_length(f, n, sr)
    spectrum = empty_spectrum(length)
    add_partials(spectrum, f * _DRAWBAR_RATIOS, amps, TWO_PI * rng.random(amps.size), length, sr)
    loop = render_loop(spectrum, length)
    rotor_hz = round(0.9 * length / sr) * sr / length  # whole cycles per loop
    swirl = np.sin(np.arange(length, dtype=np.float32) * np.float32(TWO_PI * rotor_hz / sr))
    sides = np.stack(
        [
            loop_vibrato(loop, sr, rotor_hz, 8.0, offset) * (1.0 + 0.12 * sign * swirl)
            for offset, sign in ((0.0, 1.0), (np.pi, -1.0))
        ]
    ).astype(np.float32)
    out = repeat_loop(sides, n)
    n_attack = min(n, round(1.5 * sr))
    percussion = np.float32(0.25 + 0.35 * bright) * sine(3.0 * f, n_attack, sr)
    percussion *= exp_decay(n_attack, sr, 1.7)
    n_click = min(n, round(0.004 * sr))
    percussion[:n_click] += np.float32(0.15) * lowpass(
        noise(n_click, rng) * exp_decay(n_click, sr, 0.004), 3000.0, sr
    )
    out[:, :n_attack] += percussion
    return out


# Harmonic partials carry the pitch; two inharmonic bar modes (as on a glockenspiel) give the
# strike its metallic colour and die within a tenth of a second, so the written note stays
# the strongest and the only perceived pitch.
_BELL_RATIOS = np.array([1.0, 2.0, 3.0, 2.76, 5.40])
_BELL_AMPS = np.array([1.0, 0.3, 0.08, 0.25, 0.12])
_BELL_DECAY_SHARE = np.array([1.0, 0.45, 0.25, 0.08, 0.04])


def bell(f: float, bright: float, n: int, sr: int, rng: np.random.Generator) -> Audio:
    """Struck bell/celesta: a dominant fundamental with weaker 2nd and 3rd harmonics and a
    brief inharmonic strike (see ``_BELL_RATIOS``); upper partials die sooner."""
    t60 = float(np.clip(4.5 * (523.0 / f) ** 0.4, 1.5, 8.0))
    keep = f * _BELL_RATIOS < 0.45 * sr
    amps = _BELL_AMPS * np.where(_BELL_RATIOS > 1.0, 0.5 + bright, 1.0)
    decays: Float64 = t60 / 6.9 * _BELL_DECAY_SHARE  # t60 -> time constant
    return partial_bank(f * _BELL_RATIOS[keep], amps[keep], decays[keep], 0.0, n, sr)


_MARIMBA_RATIOS = np.array([1.0, 3.9, 9.2])


def marimba(f: float, bright: float, n: int, sr: int, rng: np.random.Generator) -> Audio:
    """Modal bar: partials at 1, 3.9 and 9.2 times the pitch, the upper ones dying fast,
    plus a soft mallet thud."""
    tau1 = float(np.clip(0.4 * (_MIDDLE_C_HZ / f) ** 0.5, 0.08, 1.2))
    amps = np.array([1.0, 0.25 + 0.35 * bright, 0.08 + 0.2 * bright])
    decays: Float64 = np.array([tau1, tau1 * 0.25, tau1 * 0.08])
    tone = partial_bank(f * _MARIMBA_RATIOS, amps, decays, 0.0, n, sr)
    n_mallet = min(n, round(0.006 * sr))
    mallet = lowpass(
        noise(n_mallet, rng) * exp_decay(n_mallet, sr, 0.006), 1500 + 2500 * bright, sr
    )
    tone[:n_mallet] += np.float32(0.12) * mallet
    return tone


def clavinet(f: float, bright: float, n: int, sr: int, rng: np.random.Generator) -> Audio:
    """Clavinet (the synthesised fallback for the sampled one): a narrow pulse, as a string
    struck near its end, through a bright band-pass 'pickup' and a short decay."""
    t = np.arange(n, dtype=np.float64) / sr
    tone = pulse(f, n, sr, 0.12, rng.random()) * np.float32(0.7) + sine(f, n, sr)
    cutoff = 1.5 * f + 800.0 + (2500.0 + 4000.0 * bright) * np.exp(-t / 0.08)
    tone = tv_lowpass(as_audio(tone), cutoff, 2.5, sr)
    return as_audio(tone * exp_decay(n, sr, float(np.clip(1.2 * (262.0 / f) ** 0.3, 0.4, 2.0))))
