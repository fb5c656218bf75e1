"""Subtractive and FM-free synth voices: basses, leads, supersaw, brass.

Every recipe has the signature ``(freq_hz, brightness, n, sample_rate, rng) -> Audio`` where
``brightness`` in [0, 1] comes from the velocity bucket. Output is the held tone (attack and
decay included, no release), shape ``(n,)`` mono or ``(2, n)`` stereo; the caller normalises
its level.
"""

from __future__ import annotations

import numpy as np

from ._types import Audio, Float64, Hz, as_audio
from .envelopes import adsr, exp_decay
from .filters import butterworth_gain, lowpass, soft_clip, tv_lowpass
from .oscillators import noise, pulse, pwm, saw, sine
from .partials import (
    add_partials,
    empty_spectrum,
    note_loop_length,
    partial_bank,
    render_loop,
    repeat_loop,
    saw_series,
)


def _time(n: int, sample_rate: int) -> Float64:
    return np.arange(n, dtype=np.float64) / sample_rate


def _cents(cents: float) -> float:
    """Frequency ratio of an interval in cents."""
    return float(2.0 ** (cents / 1200.0))


def _vibrato_hz(
    freq_hz: float, n: int, sample_rate: int, rate_hz: float, depth_cents: float, onset_s: float
) -> Float64:
    """Per-sample frequency with a vibrato that fades in after ``onset_s``."""
    t = _time(n, sample_rate)
    depth = depth_cents * np.clip((t - onset_s) / 0.4, 0.0, 1.0)
    return freq_hz * 2.0 ** (depth * np.sin(2.0 * np.pi * rate_hz * t) / 1200.0)


def sub_bass(f: float, bright: float, n: int, sr: int, rng: np.random.Generator) -> Audio:
    """Sine plus a little 2nd and 3rd harmonic (more with velocity) through a gentle tanh
    for the whole note, which puts the held 3rd harmonic near -20 dB at any velocity:
    audible on small speakers.

    The first ~60 ms are driven harder (the "knock" a producer layers on a sub): its
    harmonics mark the attack, without which a low sine swells in and a listener, and a
    transcriber, places the note late or not at all."""
    return _sub(f, [1.0, 0.06 + 0.14 * bright, 0.02 + 0.05 * bright], n, sr)


def drone_bass(f: float, bright: float, n: int, sr: int, rng: np.random.Generator) -> Audio:
    """``sub_bass`` for a drone held under pads: the same knock, but nearly no held 2nd and
    3rd harmonic. Under a held tonic chord the sub's octave is the chord's missing
    fundamental, and the pads' motion made a transcriber hear it struck again and again
    (ambient: two thirds of its octave-and-twelfth wrong notes); the knock alone still marks
    the note's start and pitch."""
    return _sub(f, [1.0, 0.015, 0.005], n, sr)


def _sub(f: float, amps: list[float], n: int, sr: int) -> Audio:
    """Sine with harmonics ``amps`` (1st, 2nd, 3rd), its first ~60 ms driven hard."""
    tone = partial_bank([f, 2.0 * f, 3.0 * f], amps, np.inf, 0.0, n, sr)
    return _attack_drive(tone, 5.0, 0.06, sr) * adsr(n, sr, 0.004, 0.4, 0.85)


def _attack_drive(tone: Audio, extra: float, decay_s: float, sr: int, base: float = 1.0) -> Audio:
    """``tone`` through a tanh whose drive starts at ``base + extra`` and falls back to
    ``base`` with time constant ``decay_s``; level-matched so the peak stays about 1."""
    t = _time(tone.shape[-1], sr)
    drive = base + extra * np.exp(-t / decay_s)
    return (np.tanh(drive * tone) / np.tanh(drive)).astype(np.float32)


def bass_808(f: Hz, bright: float, n: int, sr: int, rng: np.random.Generator) -> Audio:
    """Sine with a touch of 2nd harmonic, a long decay and saturation that is heaviest in
    the first ~80 ms (the distorted punch of a trap 808) and a click.

    No pitch drop at the attack: a sine that starts several semitones sharp is heard (and
    transcribed) 30-40 ms after its written time, once it has settled. The punch comes from
    the drive instead: its harmonics sit on the written pitch from the first cycle.
    ``f`` may be a per-sample array: a glide from the previous note (see ``Voice.glide_s``)."""
    body = (sine(f, n, sr) + np.float32(0.15) * sine(2.0 * f, n, sr)) * exp_decay(n, sr, 3.0)
    tone = _attack_drive(body, 6.0, 0.08, sr, base=1.5 + 2.0 * bright)
    n_click = min(n, round(0.003 * sr))
    tone[:n_click] += np.float32(0.2 + 0.2 * bright) * np.linspace(
        1.0, 0.0, n_click, dtype=np.float32
    )
    return tone


def log_drum(f: Hz, bright: float, n: int, sr: int, rng: np.random.Generator) -> Audio:
    """Amapiano log drum: a pitched, woody thump. A sine and a hollow 2.4x partial, both
    with a small downward pitch bend, a fast-decaying body and a knock of filtered noise;
    decays within half a second so syncopated notes stay distinct."""
    t = _time(n, sr)
    freq = f * (1.0 + 0.12 * np.exp(-t / 0.02))
    body = sine(freq, n, sr) * exp_decay(n, sr, 0.55)
    wood = np.float32(0.35 + 0.25 * bright) * sine(2.4 * freq, n, sr) * exp_decay(n, sr, 0.12)
    tone = body + wood
    n_knock = min(n, round(0.012 * sr))
    knock = noise(n_knock, rng) * exp_decay(n_knock, sr, 0.012)
    tone[:n_knock] += np.float32(0.2) * lowpass(knock, 1800.0 + 1500.0 * bright, sr)
    return soft_clip(tone, 1.5 + bright)


def reese_bass(f: float, bright: float, n: int, sr: int, rng: np.random.Generator) -> Audio:
    """Detuned saw pair plus a centre saw and sub sine, 4-pole low-pass with slow movement.

    The filter also snaps open for the first ~60 ms of each note: without that bite the
    dark, beating saws swell in and the note is heard a few tens of milliseconds late."""
    spread = 11.0 + 6.0 * rng.random()
    phases = rng.random(3)
    tone = (
        saw(f * _cents(-spread), n, sr, phases[0])
        + saw(f * _cents(spread), n, sr, phases[1])
        + 0.6 * saw(f, n, sr, phases[2])
    ) / np.float32(2.6) + np.float32(0.5) * sine(f, n, sr)
    t = _time(n, sr)
    cutoff = (300.0 + 900.0 * bright + 1.5 * f) * 2.0 ** (
        0.6 * np.sin(2.0 * np.pi * 0.23 * t + 2.0 * np.pi * rng.random())
    ) + (1500.0 + 2000.0 * bright) * np.exp(-t / 0.06)
    return tv_lowpass(tone, cutoff, 1.1, sr) * adsr(n, sr, 0.003, 0.4, 0.9)


def acid_bass(f: float, bright: float, n: int, sr: int, rng: np.random.Generator) -> Audio:
    """303-style: saw into a resonant 4-pole low-pass with a fast decaying filter envelope.

    Harder velocities (accents) open the filter further and raise the resonance.
    """
    t = _time(n, sr)
    base = 1.8 * f + 120.0
    peak = base + 1200.0 + 4000.0 * bright
    cutoff = base + (peak - base) * np.exp(-t / (0.07 + 0.1 * (1.0 - bright)))
    tone = tv_lowpass(saw(f, n, sr), cutoff, 4.0 + 7.0 * bright, sr)
    return soft_clip(tone, 1.8) * adsr(n, sr, 0.003, 0.25, 0.7)


def synth_bass(f: float, bright: float, n: int, sr: int, rng: np.random.Generator) -> Audio:
    """Saw + narrow pulse + sine, low-pass with a short filter envelope (plucky, round)."""
    t = _time(n, sr)
    tone = (
        np.float32(0.7) * saw(f, n, sr)
        + np.float32(0.45) * pulse(f, n, sr, 0.3, rng.random())
        + np.float32(0.4) * sine(f, n, sr)
    )
    cutoff = (2.5 * f + 250.0 + 900.0 * bright) + (1500.0 + 3000.0 * bright) * np.exp(-t / 0.09)
    return tv_lowpass(tone, cutoff, 1.3, sr) * adsr(n, sr, 0.004, 0.3, 0.75)


# Detune within about ±12 cents: wide enough to shimmer, narrow enough that the saws' beating
# does not pump each chord note several times a second (at ±24 cents it did, and a
# transcriber heard every held chord as a string of repeated notes).
_SUPERSAW_CENTS = np.array([-12.0, -8.0, -4.0, 0.0, 4.0, 8.0, 12.0])
# Interleaved so that pitch offset and stereo side are not correlated.
_SUPERSAW_PANS = np.array([-1.0, 0.67, -0.33, 0.0, 0.33, -0.67, 1.0])


def supersaw(f: float, bright: float, n: int, sr: int, rng: np.random.Generator) -> Audio:
    """Seven band-limited saws detuned by up to about ±13 cents, spread across the stereo
    field and gently low-passed. Built as a seamless loop (see :mod:`.partials`)."""
    cents = _SUPERSAW_CENTS * (0.85 + 0.3 * rng.random(_SUPERSAW_CENTS.size))
    starts = rng.random(_SUPERSAW_CENTS.size)
    cutoff = 5000.0 + 9000.0 * bright
    length = note_loop_length(f, n, sr)
    sides = (empty_spectrum(length), empty_spectrum(length))
    for c, pan, start in zip(cents, _SUPERSAW_PANS, starts, strict=True):
        freqs, amps, phases = saw_series(f * _cents(float(c)), 0.45 * sr)
        amps = amps * butterworth_gain(freqs, cutoff, 2)
        phases = phases + 2.0 * np.pi * np.arange(1, freqs.size + 1) * start
        angle = 0.25 * np.pi * (pan + 1.0)
        for side, gain in zip(sides, (np.cos(angle), np.sin(angle)), strict=True):
            add_partials(side, freqs, amps * gain, phases, length, sr)
    out = repeat_loop(np.stack([render_loop(side, length) for side in sides]), n)
    # The filter opens over the attack, then breathes slowly: movement that says "synth".
    t = _time(n, sr)
    opening = 1.0 - 0.7 * np.exp(-t / 0.25)
    breathing = 2.0 ** (0.5 * np.sin(2.0 * np.pi * 0.3 * t + 2.0 * np.pi * rng.random()))
    sweep = (1.5 * f + 1500.0 + 5000.0 * bright) * opening * breathing
    for ch in range(2):
        out[ch] = tv_lowpass(out[ch], sweep, 1.6, sr)
    out *= adsr(n, sr, 0.01, 0.5, 0.85)
    return out


def saw_lead(f: float, bright: float, n: int, sr: int, rng: np.random.Generator) -> Audio:
    """Two detuned saws (±12 cents) and a square into a resonant 4-pole low-pass whose
    envelope snaps open and closes most of the way, over a level that settles to 60 %: a
    plucked-then-held synth lead. A held, bright, steady saw line was heard as a violin
    (no vibrato was not enough); the per-note filter decay is what reads as "synth"."""
    t = _time(n, sr)
    phases = rng.random(3)
    tone = (
        saw(f * _cents(-12.0), n, sr, phases[0])
        + saw(f * _cents(12.0), n, sr, phases[1])
        + np.float32(0.7) * pulse(f, n, sr, 0.5, phases[2])
    ) / np.float32(2.4)
    envelope = 0.15 + 0.85 * np.exp(-t / 0.12)
    cutoff = 1.5 * f + 300.0 + (3000.0 + 6000.0 * bright) * envelope
    return tv_lowpass(as_audio(tone), cutoff, 4.0, sr) * adsr(n, sr, 0.003, 0.25, 0.6)


def square_lead(f: float, bright: float, n: int, sr: int, rng: np.random.Generator) -> Audio:
    """Pulse-width-modulated square (two pulses whose widths drift apart) through a
    resonant low-pass with a short envelope: the chip/analog lead sound, no vibrato."""
    t = _time(n, sr)
    width = 0.5 + 0.18 * np.sin(2.0 * np.pi * 0.9 * t)
    tone = pwm(f, width, n, sr, rng.random())
    envelope = 0.4 + 0.6 * np.exp(-t / 0.15)
    cutoff = 1.5 * f + 400.0 + (2000.0 + 6000.0 * bright) * envelope
    return tv_lowpass(tone, cutoff, 2.0, sr) * adsr(n, sr, 0.004, 0.25, 0.85)


def synth_pluck(f: float, bright: float, n: int, sr: int, rng: np.random.Generator) -> Audio:
    """The classic synth pluck: two detuned saws and a square an octave down through a
    resonant low-pass whose envelope closes within a fraction of a second."""
    t = _time(n, sr)
    phases = rng.random(3)
    tone = (
        saw(f * _cents(-6.0), n, sr, phases[0])
        + saw(f * _cents(6.0), n, sr, phases[1])
        + np.float32(0.4) * pulse(f, n, sr, 0.5, phases[2])
    ) / np.float32(2.4)
    decay = float(np.clip(0.16 * (262.0 / f) ** 0.3, 0.06, 0.3))
    cutoff = 1.2 * f + 200.0 + (3000.0 + 7000.0 * bright) * np.exp(-t / decay)
    return tv_lowpass(as_audio(tone), cutoff, 3.0, sr) * exp_decay(n, sr, 1.2 + 0.8 * bright)


def brass(f: float, bright: float, n: int, sr: int, rng: np.random.Generator) -> Audio:
    """Saw pair with a pitch scoop, a filter that opens as the note swells, and late vibrato."""
    t = _time(n, sr)
    attack_s = 0.04 + 0.08 * (1.0 - bright)
    scoop = -35.0 * np.exp(-t / 0.04)
    vibrato = 8.0 * np.sin(2.0 * np.pi * 5.2 * t) * np.clip((t - 0.35) / 0.4, 0.0, 1.0)
    freq = f * 2.0 ** ((scoop + vibrato) / 1200.0)
    tone = np.float32(0.55) * saw(freq, n, sr) + np.float32(0.45) * saw(
        freq * _cents(5.0), n, sr, rng.random()
    )
    opening = (1.0 - np.exp(-t / (0.6 * attack_s))) * (0.8 + 0.2 * np.exp(-t / 0.3))
    cutoff = 1.2 * f + 200.0 + (f * (2.0 + 6.0 * bright) + 800.0 * bright) * opening
    tone = soft_clip(tv_lowpass(tone, cutoff, 0.9, sr), 1.4)
    return tone * adsr(n, sr, attack_s, 0.5, 0.85)
