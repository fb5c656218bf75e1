"""Sustained ensemble voices: pad, strings, choir. All stereo.

Each is built as a seamless loop (see :mod:`.partials`): detuned band-limited saws written
straight into a spectrum, where static filtering (low-pass, string body, vowel formants) is
just a weight per harmonic. The loop is then repeated to the note length and enveloped (no
vibrato: see ``_DETUNED_LEVEL``). Cost is a few inverse FFTs per sound, whatever the note length.
Recipe signature and output conventions as in :mod:`.synths`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._types import Audio, Float64
from .envelopes import adsr
from .filters import butterworth_gain, highpass, resonance_gain, tv_lowpass
from .oscillators import saw
from .partials import (
    Spectrum,
    add_noise_band,
    add_partials,
    empty_spectrum,
    note_loop_length,
    render_loop,
    repeat_loop,
    saw_series,
)

Weighting = Callable[[Float64], Float64]


def _add_saws(
    spectrum: Spectrum,
    f: float,
    cents: Float64,
    start_cycles: Float64,
    weight: Weighting,
    length: int,
    sr: int,
) -> None:
    """Add saws detuned by ``cents`` and starting ``start_cycles`` into their cycle, with
    harmonics scaled by ``weight(freqs)``. The first saw sounds at ``f`` itself (its cents
    are ignored), the others at ``_DETUNED_LEVEL``."""
    for i, (c, start) in enumerate(zip(cents, start_cycles, strict=True)):
        centre = i == 0
        freqs, amps, phases = saw_series(
            f * 2.0 ** (0.0 if centre else float(c) / 1200.0), 0.45 * sr
        )
        offset = 2.0 * np.pi * np.arange(1, freqs.size + 1) * start
        level = 1.0 if centre else _DETUNED_LEVEL
        add_partials(spectrum, freqs, level * amps * weight(freqs), phases + offset, length, sr)


# Level of an ensemble's detuned saws against its centre one. At equal levels each harmonic
# of the saws beats a few times a second down to near silence, and a transcriber hears every
# held chord note as a string of re-struck notes (6x the written count for the pad, where a
# single saw gave about one per note); quiet, they still shimmer (each harmonic swells by
# about ±2.5 dB). For the same reason the ensembles carry no vibrato: even 3 cents of it at
# 5 Hz re-struck every held string note about twice a second.
_DETUNED_LEVEL = 0.15


def pad(f: float, bright: float, n: int, sr: int, rng: np.random.Generator) -> Audio:
    """Analog-style pad: a saw with a pair detuned ±10-15 cents, quiet (``_DETUNED_LEVEL``)
    but for its upper harmonics, through a resonant 4-pole low-pass that a ~3 Hz LFO (a
    little faster or slower per note, opposite phase left and right) sweeps over an octave
    and a half, with a quick attack. Pretrained taggers hear a held, gently filtered saw
    chord as a string section however slowly its filter moves (a 0.5 Hz sweep still read as
    strings); a filter that visibly wobbles several times a second is what they hear as
    "synth"."""
    t = np.arange(n, dtype=np.float64) / sr
    base = 400.0 + 1.5 * f + 1200.0 * bright
    rate = 3.0 * (0.9 + 0.2 * rng.random())
    # One set of saws for both sides (half the oscillator cost); the sides differ by the
    # filter's phase.
    spread = rng.uniform(10.0, 15.0)  # a pair around a centred saw: the pitch stays put
    tone = saw(f, n, sr, rng.random())
    pair = saw(f * 2.0 ** (-spread / 1200.0), n, sr, rng.random())
    pair += saw(f * 2.0 ** (spread / 1200.0), n, sr, rng.random())
    # Quiet around the fundamental and low harmonics, which carry the pitch; louder above
    # the third harmonic, where its shimmer is what says "synth" (with the whole pair this
    # quiet, a soloed pad in a mix was heard as strings).
    tone += np.float32(_DETUNED_LEVEL) * pair
    tone += np.float32(_PAD_UPPER_SHIMMER) * highpass(pair, 3.5 * f, sr, order=4)
    # The right side's LFO is the left's upside down: its cutoff mirrors the left's about
    # the sweep's centre (one sine and one power for both).
    left = base * 2.0 ** (0.75 - 0.75 * np.cos(2.0 * np.pi * rate * t))
    out = np.empty((2, n), dtype=np.float32)
    out[0] = tv_lowpass(tone, left, 4.0, sr)
    out[1] = tv_lowpass(tone, (base * base * 2.0**1.5) / left, 4.0, sr)
    out *= adsr(n, sr, 0.01) * np.float32(1.0 / (1.0 + 2.0 * _DETUNED_LEVEL))
    return out


_PAD_UPPER_SHIMMER = 0.5  # the pad's detuned pair above 3.5 f0, on top of _DETUNED_LEVEL


def _string_body(freqs: Float64, cutoff: float) -> Float64:
    """Violin-family body (air and wood resonances, bridge hill) times a gentle low-pass."""
    body = 0.5 + resonance_gain(
        freqs, (300.0, 1000.0, 2800.0), (250.0, 600.0, 1500.0), (0.0, -6.0, -3.0)
    )
    return body * butterworth_gain(freqs, cutoff, 2)


def strings(f: float, bright: float, n: int, sr: int, rng: np.random.Generator) -> Audio:
    """String section: per side a saw and five quieter ones detuned within ±12 cents (the
    two sides differ), shaped by a violin-family body and a 3–5 kHz low-pass, bowed in over
    60-120 ms. A slower swell (the 0.2-0.55 s it had) was heard to begin up to a quarter of
    a second late."""
    cutoff = 3000.0 + 2000.0 * bright
    length = note_loop_length(f, n, sr)
    out = np.empty((2, n), dtype=np.float32)
    centre = rng.random()  # both sides share the centre saw: in mono it cannot cancel
    for ch in range(2):
        spectrum = empty_spectrum(length)
        cents, starts = rng.uniform(-12.0, 12.0, 6), rng.random(6)
        starts[0] = centre
        _add_saws(spectrum, f, cents, starts, lambda fr: _string_body(fr, cutoff), length, sr)
        repeat_loop(render_loop(spectrum, length), n, out[ch])
    out *= adsr(n, sr, 0.06 + 0.06 * (1.0 - bright)) * np.float32(
        1.0 / (1.0 + 5.0 * _DETUNED_LEVEL)
    )
    return out


# "Aah" formants (alto-ish), widened because an ensemble smears them.
_AAH_HZ = (800.0, 1150.0, 2800.0, 3500.0)
_AAH_WIDTH_HZ = (160.0, 180.0, 240.0, 260.0)
_AAH_GAIN_DB = (0.0, -5.0, -18.0, -28.0)


def _vowel(freqs: Float64) -> Float64:
    # Formants over a low floor, then a soft roll-off: voices carry little above ~5 kHz.
    vowel = resonance_gain(freqs, _AAH_HZ, _AAH_WIDTH_HZ, _AAH_GAIN_DB) + 0.01
    return vowel * butterworth_gain(freqs, 4500.0, 2)


def choir(f: float, bright: float, n: int, sr: int, rng: np.random.Generator) -> Audio:
    """'Aah' choir: per side a saw-like glottal source and three quieter ones detuned within
    ±9 cents, weighted by vowel formants, plus a little breath noise, sung in over 60-120 ms."""
    length = note_loop_length(f, n, sr)
    out = np.empty((2, n), dtype=np.float32)
    centre = rng.random()  # both sides share the centre source (see ``strings``)
    for ch in range(2):
        spectrum = empty_spectrum(length)
        starts = rng.random(4)
        starts[0] = centre
        _add_saws(spectrum, f, rng.uniform(-9.0, 9.0, 4), starts, _vowel, length, sr)
        breath = empty_spectrum(length)
        add_noise_band(
            breath, 600.0, 2500.0 + 1500.0 * bright, 0.02 + 0.03 * bright, length, sr, rng
        )
        repeat_loop(render_loop(spectrum, length) + render_loop(breath, length), n, out[ch])
    out *= adsr(n, sr, 0.06 + 0.06 * (1.0 - bright)) * np.float32(1.0 / 1.5)
    return out
