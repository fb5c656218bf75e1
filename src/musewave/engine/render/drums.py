"""Drum hit recipes. Each recipe is a small frozen dataclass of parameters (the kits in
:mod:`.kits` are tables of them) with a ``render`` method returning a mono hit.

``render(index, brightness, sample_rate, rng)`` -> shape ``(n,)`` float32, natural length;
``index`` selects e.g. which tom (0 = lowest), ``brightness`` in [0, 1] comes from velocity.
``t60_s`` values are times to -60 dB. ``takes`` is how many seeded variants of a noise-based
hit the renderer cycles through, so repeated hits are not identical copies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from musewave.engine import dsp

from ._types import Audio, Float64
from .envelopes import exp_decay, ramp_up
from .filters import bandpass, butterworth_gain, highpass, lowpass, soft_clip
from .oscillators import noise, sine
from .partials import (
    add_noise_band,
    add_partials,
    empty_spectrum,
    partial_bank,
    render_loop,
    repeat_loop,
)
from .soundfont import SoundFont, default_soundfont

_LOOP_LENGTH = 65536  # ~1.5 s: long enough that a cymbal's noise is not heard repeating


def _samples(seconds: float, sr: int) -> int:
    return max(1, round(seconds * sr))


def _time(n: int, sr: int) -> Float64:
    return np.arange(n, dtype=np.float64) / sr


@dataclass(frozen=True, slots=True)
class Membrane:
    """Kick, tom or taiko: a sine whose pitch falls from ``sweep_ratio * end_hz`` to
    ``end_hz`` (time constant ``sweep_s``), a beater click, optional skin noise and drive.
    Tom ``index`` raises the pitch by ``step_ratio`` per step."""

    end_hz: float
    sweep_ratio: float
    sweep_s: float
    t60_s: float
    click: float = 0.2
    click_band: tuple[float, float] = (1500.0, 6000.0)
    skin: float = 0.0
    skin_hz: float = 1200.0
    skin_t60_s: float = 0.08
    drive: float = 0.0
    step_ratio: float = 1.0
    level: float = 1.0

    @property
    def takes(self) -> int:
        return 2 if self.skin > 0.1 else 1

    def render(self, index: int, bright: float, sr: int, rng: np.random.Generator) -> Audio:
        n = _samples(self.t60_s, sr)
        end = self.end_hz * self.step_ratio**index
        ratio = 1.0 + (self.sweep_ratio - 1.0) * (0.85 + 0.3 * bright)
        freq = end * (1.0 + (ratio - 1.0) * np.exp(-_time(n, sr) / self.sweep_s))
        hit = sine(freq, n, sr) * exp_decay(n, sr, self.t60_s)
        if self.skin > 0.0:
            m = min(n, _samples(self.skin_t60_s, sr))
            skin = lowpass(noise(m, rng), self.skin_hz, sr) * exp_decay(m, sr, self.skin_t60_s)
            hit[:m] += np.float32(self.skin) * skin
        if self.click > 0.0:
            m = min(n, _samples(0.01, sr))
            click = bandpass(noise(m, rng), *self.click_band, sr) * exp_decay(m, sr, 0.008)
            hit[:m] += np.float32(self.click * (0.5 + bright)) * click
        return soft_clip(hit, self.drive) if self.drive > 0.0 else hit


@dataclass(frozen=True, slots=True)
class Snare:
    """Two drum-head modes around ``tone_hz`` plus band-passed noise; ``wires`` adds a
    longer, higher rattle (acoustic snares)."""

    tone_hz: float = 190.0
    tone_t60_s: float = 0.12
    noise_band: tuple[float, float] = (1000.0, 5000.0)
    noise_t60_s: float = 0.18
    tone_level: float = 0.6
    wires: float = 0.0
    wires_t60_s: float = 0.25
    level: float = 0.9
    takes: int = 4

    def render(self, index: int, bright: float, sr: int, rng: np.random.Generator) -> Audio:
        n = _samples(max(self.tone_t60_s, self.noise_t60_s, self.wires_t60_s), sr)
        t = _time(n, sr)
        freq = self.tone_hz * (1.0 + 0.4 * np.exp(-t / 0.01))
        tone = (sine(freq, n, sr) + np.float32(0.5) * sine(1.6 * freq, n, sr)) * exp_decay(
            n, sr, self.tone_t60_s
        )
        low, high = self.noise_band
        snap = bandpass(noise(n, rng), low, high * (0.8 + 0.4 * bright), sr)
        hit = np.float32(self.tone_level) * tone + snap * exp_decay(n, sr, self.noise_t60_s)
        if self.wires > 0.0:
            rattle = highpass(noise(n, rng), 3000.0, sr) * exp_decay(n, sr, self.wires_t60_s)
            hit += np.float32(self.wires) * rattle
        return hit


@dataclass(frozen=True, slots=True)
class Clap:
    """Several noise bursts ``spacing_s`` apart (hands not quite together), the last one
    ringing into a short tail. Also used for tambourine jingles in a high band."""

    bursts: int = 4
    spacing_s: float = 0.010
    band: tuple[float, float] = (800.0, 3000.0)
    burst_t60_s: float = 0.02
    tail_t60_s: float = 0.25
    level: float = 0.85
    takes: int = 4

    def render(self, index: int, bright: float, sr: int, rng: np.random.Generator) -> Audio:
        jitter = 1.0 + 0.25 * rng.uniform(-1.0, 1.0, self.bursts)
        onsets = np.cumsum(np.r_[0.0, np.full(self.bursts - 1, self.spacing_s)] * jitter)
        n = _samples(float(onsets[-1]) + self.tail_t60_s, sr)
        env = np.zeros(n, dtype=np.float32)
        for i, onset in enumerate(onsets):
            at = round(float(onset) * sr)
            t60 = self.tail_t60_s if i == self.bursts - 1 else self.burst_t60_s
            env[at:] += exp_decay(n - at, sr, t60) * np.float32(0.7 + 0.3 * rng.random())
        low, high = self.band
        return bandpass(noise(n, rng), low, high * (0.8 + 0.4 * bright), sr) * env


# The six square-wave oscillators of the TR-808 cymbal/hat circuit (Hz).
TR808_METAL_HZ = (205.3, 304.4, 369.6, 522.7, 540.0, 800.0)


@dataclass(frozen=True, slots=True)
class Metal:
    """Hats, cymbals, cowbell: square oscillators at inharmonic ratios (808 recipe) plus
    noise, high-passed. ``attack_s`` > 0 makes a swell; ``pings`` adds sine partials (a
    ride's bell and shimmer: close pairs beat).

    The sustained sound is one seamless loop built in the frequency domain (squares as
    band-limited odd harmonics, flat noise, filters as per-bin weights) and then enveloped,
    so a four-second crash costs one short inverse FFT.
    """

    t60_s: float
    freqs_hz: tuple[float, ...] = TR808_METAL_HZ
    scale: float = 1.0
    highpass_hz: float = 7000.0
    lowpass_hz: float | None = None
    noise_level: float = 0.3
    attack_s: float = 0.0
    pings: tuple[float, ...] = ()
    ping_level: float = 0.0
    level: float = 0.6

    @property
    def takes(self) -> int:
        return 4 if self.noise_level > 0.0 else 1

    def render(self, index: int, bright: float, sr: int, rng: np.random.Generator) -> Audio:
        n = _samples(self.t60_s + self.attack_s, sr)
        length = min(n, _LOOP_LENGTH)
        spectrum = empty_spectrum(length)
        for f in self.freqs_hz:
            k = np.arange(1, int(0.45 * sr / (f * self.scale)) + 1, 2, dtype=np.float64)
            phases = 2.0 * np.pi * rng.random() * k
            add_partials(
                spectrum,
                k * f * self.scale,
                4.0 / (np.pi * k * len(self.freqs_hz)),
                phases,
                length,
                sr,
            )
        if self.noise_level > 0.0:
            add_noise_band(spectrum, 20.0, 0.45 * sr, 0.6 * self.noise_level, length, sr, rng)
        bins = np.arange(spectrum.size, dtype=np.float64) * (sr / length)
        cutoff = self.highpass_hz * (1.1 - 0.2 * bright)
        spectrum *= 1.0 - butterworth_gain(bins, cutoff, 4)  # 4-pole high-pass magnitude
        if self.lowpass_hz is not None:
            spectrum *= butterworth_gain(bins, self.lowpass_hz, 2)
        tone = repeat_loop(render_loop(spectrum, length), n)
        if self.pings:
            decays = self.t60_s / 6.9 * np.linspace(1.0, 0.6, len(self.pings))
            phases = 2.0 * np.pi * rng.random(len(self.pings))
            tone += partial_bank(self.pings, self.ping_level, decays, phases, n, sr)
        if self.attack_s > 0.0:
            rise = min(n, _samples(self.attack_s, sr))
            env = np.ones(n, dtype=np.float32)
            env[:rise] = ramp_up(rise) ** 2
            env[rise:] = exp_decay(n - rise, sr, self.t60_s)
            return tone * env
        return tone * exp_decay(n, sr, self.t60_s)


@dataclass(frozen=True, slots=True)
class NoiseHit:
    """Band-passed noise with a short attack, optionally with a sine tone: shaker, rim,
    claves and the fallback for unmapped keys."""

    band: tuple[float, float]
    t60_s: float
    attack_s: float = 0.001
    noise_level: float = 1.0
    tone_hz: float = 0.0
    tone_level: float = 0.0
    level: float = 0.6
    takes: int = 4

    def render(self, index: int, bright: float, sr: int, rng: np.random.Generator) -> Audio:
        n = _samples(self.t60_s + self.attack_s, sr)
        hit = np.float32(self.noise_level) * bandpass(noise(n, rng), *self.band, sr)
        if self.tone_level > 0.0:
            hit += np.float32(self.tone_level) * sine(self.tone_hz, n, sr)
        rise = min(n, _samples(self.attack_s, sr))
        env = exp_decay(n, sr, self.t60_s)
        env[:rise] *= ramp_up(rise)
        return hit * env


GM_PERCUSSION_BANK = 128


@dataclass(frozen=True, slots=True)
class Sampled:
    """A hit played from the SoundFont's General-MIDI percussion bank: ``program`` is the
    GM drum kit (0 standard, 8 room, 16 power, 24 electronic, 25 TR-808, 32 jazz, 40 brush),
    ``keys`` the GM key per ``index`` (the last one repeats). Recorded drums are what
    listeners hear as a drum break; synthesis does not fake a miked snare. Cut after
    ``max_s``. Without a font, or when the kit has no sample for the key, ``fallback``
    renders the hit (at this recipe's ``level``)."""

    program: int
    keys: tuple[int, ...]
    fallback: Membrane | Snare | Clap | Metal | NoiseHit
    max_s: float = 1.5
    level: float = 0.9

    @property
    def takes(self) -> int:
        return 1 if self._font() is not None else self.fallback.takes

    def _font(self) -> SoundFont | None:
        font = default_soundfont()
        if font is None or not font.has_program(self.program, GM_PERCUSSION_BANK):
            return None
        return font

    def render(self, index: int, bright: float, sr: int, rng: np.random.Generator) -> Audio:
        font = self._font()
        key = self.keys[min(index, len(self.keys) - 1)]
        velocity = round(40 + 87 * bright)
        if font is None or not font.zones(self.program, key, velocity, GM_PERCUSSION_BANK):
            return self.fallback.render(index, bright, sr, rng)
        hit = font.render_note(
            self.program, key, velocity, _samples(self.max_s, sr), sr, GM_PERCUSSION_BANK
        ).mean(axis=0)
        loud = np.flatnonzero(np.abs(hit) > 1e-4)
        return np.ascontiguousarray(hit[: int(loud[-1]) + 1 if loud.size else 1])


@dataclass(frozen=True, slots=True)
class VoxShot:
    """A vocal one-shot from a producer's kit: a short shouted word ("yeah", "hey", "dale")
    spoken by espeak-ng, trimmed to the voice, band-limited to ``band``, saturated by
    ``drive`` (shouts are recorded hot and compressed hard) and cut after ``max_s``.
    ``words`` are ``(text, espeak voice)`` per ``index`` (the last one repeats). Ad-libs and
    chants on the beat are how trap, boom-bap and reggaeton beats carry a voice even without
    a verse; listeners heard those beats without one as electronic, ambient or indie."""

    words: tuple[tuple[str, str], ...]
    band: tuple[float, float] = (150.0, 7000.0)
    rate_wpm: int = 210
    drive: float = 6.0
    max_s: float = 0.6
    level: float = 1.0
    takes: int = 1

    def render(self, index: int, bright: float, sr: int, rng: np.random.Generator) -> Audio:
        from musewave.engine.errors import EngineError
        from musewave.engine.vocals import espeak  # the vocal engine's wheel, loaded on use

        try:
            # Every word of the kit, spoken by a fresh espeak-ng: the same in every process.
            words = espeak.speak_fresh(self.words, self.rate_wpm)
        except espeak.EspeakError as error:
            raise EngineError(f"cannot speak the drum kit's ad-libs: {error}") from error
        spoken = words[min(index, len(self.words) - 1)]
        voiced = np.flatnonzero(np.abs(spoken) > 0.02 * float(np.max(np.abs(spoken)) + 1e-9))
        if voiced.size:
            spoken = spoken[int(voiced[0]) : int(voiced[-1]) + 1]
        hit = _resampled(np.asarray(spoken, dtype=np.float32), espeak.SAMPLE_RATE, sr)
        hit = np.asarray(hit[: _samples(self.max_s, sr)], dtype=np.float32)
        hit = bandpass(hit, *self.band, sr)
        return soft_clip(hit / np.float32(np.max(np.abs(hit)) + 1e-9), self.drive)


Hit = Membrane | Snare | Clap | Metal | NoiseHit | Sampled | VoxShot


def _resampled(clip: Audio, from_hz: int, to_hz: int) -> Audio:
    """A short clip band-limited resampled from ``from_hz`` to ``to_hz`` through its spectrum
    (``musewave.engine.dsp``'s FFT, so a drum kit never imports scipy.signal). The clip is
    zero-padded to twice its length first, so its end does not wrap around onto its start."""
    if from_hz == to_hz or clip.size == 0:
        return clip
    padded = 2 * clip.size
    out_padded = round(padded * to_hz / from_hz)
    spectrum = dsp.rfft(clip, padded)
    out = dsp.irfft(spectrum, out_padded) * np.float32(out_padded / padded)
    return np.asarray(out[: round(clip.size * to_hz / from_hz)], dtype=np.float32)


def drive_and_darken(hit: Audio, sr: int, lowpass_hz: float | None, drive: float) -> Audio:
    """Kit-wide colour: soft saturation, then a low-pass (lo-fi kits)."""
    if drive > 0.0:
        hit = soft_clip(hit, drive)
    if lowpass_hz is not None:
        hit = lowpass(hit, lowpass_hz, sr)
    return hit
