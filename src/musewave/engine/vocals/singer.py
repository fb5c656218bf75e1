"""The singer: spoken syllables re-timed and re-pitched onto their notes with WORLD.

Each distinct word is spoken once by espeak-ng and analysed by WORLD (F0, spectral envelope,
aperiodicity, 5 ms frames). A line is then resynthesised frame by frame from a time map:
onset consonants end exactly on the note's start (consonants before the beat), the vowel
is held across the note(s) (its first and last parts at speaking speed, the middle
stretched), coda consonants close the note or lead into the next syllable. The F0 is the
note contour with portamento, vibrato that grows on long notes and a slow seeded drift;
the spectral envelope is the spoken one (so the formants stay), optionally scaled by the
voice preset. Breaths fill the gaps between phrases.

Audio is float32; the vocoder runs at espeak-ng's 22.05 kHz and the result is resampled.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyworld
from scipy import ndimage, signal

from musewave.engine.errors import Cancelled
from musewave.engine.timed_lyrics import TimedLine, TimedWord
from musewave.engine.vocals.espeak import SAMPLE_RATE as VOCODER_RATE
from musewave.engine.vocals.espeak import Utterance
from musewave.engine.vocals.melody import VocalNote
from musewave.engine.vocals.syllables import Syllable
from musewave.engine.vocals.voices import Layer, VoicePreset

FloatArray = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

FRAME_MS = 5.0
FRAME_S = FRAME_MS / 1000.0
FFT_SIZE = pyworld.get_cheaptrick_fft_size(VOCODER_RATE)
SILENT_POWER = 1e-12  # spectral envelope of a silent frame
# The first and last parts of a vowel keep speaking speed; the middle is held.
VOWEL_ATTACK_SHARE, VOWEL_RELEASE_SHARE = 0.3, 0.25
MAX_CONSONANT_SHARE = 0.45  # consonants take at most this much of the note they borrow from
PORTAMENTO_S = 0.025  # Gaussian sigma of the glide between notes
VIBRATO_DELAY_S, VIBRATO_RAMP_S = 0.22, 0.45
AUDIBLE_DB = -30.0  # a word starts where its sound first rises above this, re its peak
BREATH_MIN_GAP_S, BREATH_S, BREATH_LEAD_S = 0.45, 0.28, 0.06
EDGE_S = 0.05  # frames kept around each line
# Dynamics: stressed syllables lean in, unstressed ones fall back, a phrase's last note
# relaxes over its second half.
STRESS_DB = {2: 1.5, 1: 0.5, 0: -1.0}
PHRASE_END_DB = -3.0
DYNAMICS_SMOOTH_S = 0.02


@dataclass(frozen=True, slots=True)
class SungSyllable:
    syllable: Syllable
    notes: tuple[VocalNote, ...]


@dataclass(frozen=True, slots=True)
class SungWord:
    text: str  # as written, for captions
    utterance: Utterance
    syllables: tuple[SungSyllable, ...]


@dataclass(frozen=True, slots=True)
class SungLine:
    words: tuple[SungWord, ...]
    section: str


@dataclass(frozen=True)
class _Analysis:
    f0: F64
    sp: F64
    ap: F64


def _analyse(utterance: Utterance) -> _Analysis:
    x = utterance.audio.astype(np.float64)
    if x.size < VOCODER_RATE * 0.02:
        x = np.pad(x, (0, round(VOCODER_RATE * 0.02) - x.size))
    f0, times = pyworld.dio(x, VOCODER_RATE, f0_floor=60.0, f0_ceil=500.0, frame_period=FRAME_MS)
    f0 = pyworld.stonemask(x, f0, times, VOCODER_RATE)
    sp = pyworld.cheaptrick(x, f0, times, VOCODER_RATE, fft_size=FFT_SIZE)
    ap = pyworld.d4c(x, f0, times, VOCODER_RATE, fft_size=FFT_SIZE)
    # float32 halves the memory of the words a render holds; WORLD's own precision is lower.
    return _Analysis(f0, sp.astype(np.float32), ap.astype(np.float32))


def _frames(samples: int) -> float:
    return samples / VOCODER_RATE / FRAME_S


@dataclass(slots=True)
class _Segment:
    """Output frames [out0, out1) read source frames src0→src1 of one word (linearly)."""

    word: int
    out0: float
    out1: float
    src0: float
    src1: float
    voiced: bool  # force voicing (vowels)


def _audible_start(utterance: Utterance) -> int:
    x = np.abs(utterance.audio)
    if not x.size or not x.max():
        return 0
    envelope = ndimage.maximum_filter1d(x, 64)
    loud = np.flatnonzero(envelope > x.max() * 10 ** (AUDIBLE_DB / 20))
    return int(loud[0]) if loud.size else 0


class _LinePlan:
    """The time map of one line: segments, the note contour and the words' sung times."""

    def __init__(self, line: SungLine, seconds_per_tick: float):
        self.segments: list[_Segment] = []
        self.words: list[TimedWord] = []
        self.notes: list[tuple[float, float, int]] = []  # (start_s, end_s, pitch)
        # (start_s, end_s, gain_db, ramped): a ramped gain grows from 0 across its span.
        self.dynamics: list[tuple[float, float, float, bool]] = []
        syllables = [
            (w, word, sung) for w, word in enumerate(line.words) for sung in word.syllables
        ]
        starts = [sung.notes[0].start_tick * seconds_per_tick for _, _, sung in syllables]
        ends = [sung.notes[-1].end_tick * seconds_per_tick for _, _, sung in syllables]
        for _, _, sung in syllables:
            self.notes += [
                (n.start_tick * seconds_per_tick, n.end_tick * seconds_per_tick, n.pitch)
                for n in sung.notes
            ]
        # Consonants between syllable k's vowel and syllable k+1's vowel, squeezed to fit.
        onset_s, coda_s = [], []
        for _, _, sung in syllables:
            syl = sung.syllable
            onset = (syl.vowel_start - syl.start) / VOCODER_RATE
            coda = (syl.end - syl.vowel_end) / VOCODER_RATE
            onset_s.append(onset)
            coda_s.append(coda)
        onset_scale = [1.0] * len(syllables)
        coda_scale = [1.0] * len(syllables)
        for k in range(len(syllables)):
            note = ends[k] - starts[k]
            cluster = coda_s[k] + (onset_s[k + 1] if k + 1 < len(syllables) else 0.0)
            room = MAX_CONSONANT_SHARE * note
            if cluster > room:
                scale = room / cluster
                coda_scale[k] = scale
                if k + 1 < len(syllables):
                    onset_scale[k + 1] = scale
        if syllables:
            onset_scale[0] = min(1.0, 0.25 / max(onset_s[0], 1e-6))
        word_first: dict[int, float] = {}
        word_last: dict[int, float] = {}
        for k, (w, word, sung) in enumerate(syllables):
            syl = sung.syllable
            t0, t1 = starts[k], ends[k]
            onset_out = min(onset_s[k] * onset_scale[k], t0)  # never before the song starts
            coda_out = coda_s[k] * coda_scale[k]
            next_onset = onset_s[k + 1] * onset_scale[k + 1] if k + 1 < len(syllables) else 0.0
            vowel_end = max(t0 + 0.3 * (t1 - t0), t1 - next_onset - coda_out)
            a = _frames(syl.start), _frames(syl.vowel_start)
            b = _frames(syl.vowel_end), _frames(syl.end)
            if onset_out > 0:
                self.segments.append(
                    _Segment(w, (t0 - onset_out) / FRAME_S, t0 / FRAME_S, *a, False)
                )
            self._vowel(w, t0, vowel_end, a[1], b[0])
            if coda_out > 0:
                self.segments.append(
                    _Segment(w, vowel_end / FRAME_S, (vowel_end + coda_out) / FRAME_S, *b, False)
                )
            self.dynamics.append(
                (t0 - onset_out, vowel_end + coda_out, STRESS_DB[syl.stress], False)
            )
            if k == len(syllables) - 1:
                middle = (t0 + vowel_end + coda_out) / 2
                self.dynamics.append((middle, vowel_end + coda_out, PHRASE_END_DB, True))
            if w not in word_first:
                audible = _audible_start(word.utterance)
                lead = 0.0
                if audible < syl.vowel_start and onset_out > 0:
                    lead = (
                        (syl.vowel_start - max(audible, syl.start))
                        / (syl.vowel_start - syl.start)
                        * onset_out
                    )
                word_first[w] = t0 - lead
            word_last[w] = vowel_end + coda_out
        for w, word in enumerate(line.words):
            if w in word_first:
                self.words.append(
                    TimedWord(word.text, round(word_first[w], 4), round(word_last[w], 4))
                )
        self.start_s = min(s.out0 for s in self.segments) * FRAME_S
        self.end_s = max(s.out1 for s in self.segments) * FRAME_S

    def _vowel(self, w: int, t0: float, t1: float, src0: float, src1: float) -> None:
        out = (t1 - t0) / FRAME_S
        src = src1 - src0
        if out <= src or src <= 2:
            self.segments.append(_Segment(w, t0 / FRAME_S, t1 / FRAME_S, src0, src1, True))
            return
        attack = min(src * VOWEL_ATTACK_SHARE, out * 0.3)
        release = min(src * VOWEL_RELEASE_SHARE, out * 0.25)
        o0, o1, o2, o3 = t0 / FRAME_S, t0 / FRAME_S + attack, t1 / FRAME_S - release, t1 / FRAME_S
        s1, s2 = src0 + src * VOWEL_ATTACK_SHARE, src1 - src * VOWEL_RELEASE_SHARE
        for seg in ((o0, o1, src0, s1), (o1, o2, s1, s2), (o2, o3, s2, src1)):
            self.segments.append(_Segment(w, *seg, True))


def _pitch_contour(
    plan: _LinePlan, frames: F64, preset: VoicePreset, rng: np.random.Generator
) -> F64:
    """MIDI pitch per frame time (s): held notes, glides, growing vibrato, slow drift."""
    midi = np.full(frames.size, float(plan.notes[0][2]))
    vibrato = np.zeros(frames.size)
    for start, _, pitch in plan.notes:
        midi[frames >= start - 0.06] = pitch  # the note is reached as its consonants start
    for start, end, _ in plan.notes:
        inside = (frames >= start) & (frames < end)
        t = frames[inside] - start
        depth = np.clip((t - VIBRATO_DELAY_S) / VIBRATO_RAMP_S, 0.0, 1.0)
        depth *= min(1.0, max(0.0, (end - start - 0.3) / 0.4))
        rate = preset.vibrato_hz * float(rng.uniform(0.95, 1.05))
        phase = float(rng.uniform(0, 2 * math.pi))
        vibrato[inside] = depth * np.sin(2 * math.pi * rate * t + phase)
    midi = ndimage.gaussian_filter1d(midi, PORTAMENTO_S / FRAME_S, mode="nearest")
    drift = ndimage.gaussian_filter1d(rng.standard_normal(frames.size), 0.15 / FRAME_S)
    drift *= 0.06 / max(float(np.std(drift)), 1e-9)  # about ±6 cents
    return np.asarray(midi + vibrato * preset.vibrato_cents / 100.0 + drift, dtype=np.float64)


def _warp_formants(sp: F64, scale: float) -> F64:
    """Move the envelope's peaks up (``scale`` > 1) or down along frequency."""
    if scale == 1.0:
        return sp
    bins = np.arange(sp.shape[1], dtype=np.float64)
    source = np.clip(bins / scale, 0, sp.shape[1] - 1)
    low = np.floor(source).astype(np.int64)
    high = np.minimum(low + 1, sp.shape[1] - 1)
    frac = source - low
    return sp[:, low] * (1 - frac) + sp[:, high] * frac


def _render_layer(
    plan: _LinePlan,
    analyses: list[_Analysis],
    preset: VoicePreset,
    layer: Layer,
    rng: np.random.Generator,
) -> tuple[int, F64]:
    """One layer of one line: (first sample at the vocoder rate, audio)."""
    first = max(0, math.floor((plan.start_s - EDGE_S) / FRAME_S))
    last = math.ceil((plan.end_s + EDGE_S) / FRAME_S)
    n = last - first
    times = (first + np.arange(n, dtype=np.float64)) * FRAME_S
    bins = FFT_SIZE // 2 + 1
    sp = np.full((n, bins), SILENT_POWER)
    ap = np.ones((n, bins))
    voiced = np.zeros(n, dtype=bool)
    for seg in plan.segments:
        lo = max(0, math.ceil(seg.out0) - first)
        hi = min(n, math.ceil(seg.out1) - first)
        if hi <= lo:
            continue
        out = np.arange(lo, hi) + first
        src = seg.src0 + (out - seg.out0) / max(seg.out1 - seg.out0, 1e-9) * (seg.src1 - seg.src0)
        analysis = analyses[seg.word]
        last_frame = analysis.f0.size - 1
        src = np.clip(src, 0, last_frame)
        i0 = np.floor(src).astype(np.int64)
        i1 = np.minimum(i0 + 1, last_frame)
        frac = (src - i0)[:, None]
        sp[lo:hi] = analysis.sp[i0] * (1 - frac) + analysis.sp[i1] * frac
        ap[lo:hi] = analysis.ap[i0] * (1 - frac) + analysis.ap[i1] * frac
        nearest = np.rint(src).astype(np.int64)
        voiced[lo:hi] = seg.voiced | (analysis.f0[nearest] > 0)
    gain_db = np.zeros(n)
    for start, end, db, ramped in plan.dynamics:
        inside = (times >= start) & (times < end)
        if ramped and end > start:
            gain_db[inside] += db * (times[inside] - start) / (end - start)
        else:
            gain_db[inside] += db
    gain_db = ndimage.gaussian_filter1d(gain_db, DYNAMICS_SMOOTH_S / FRAME_S, mode="nearest")
    sp *= (10.0 ** (gain_db / 10.0))[:, None]  # sp is a power spectrum
    midi = _pitch_contour(plan, times, preset, rng) + layer.detune_cents / 100.0
    f0 = np.where(voiced, 440.0 * 2.0 ** ((midi - 69.0) / 12.0), 0.0)
    sp = _warp_formants(sp, preset.formant_scale * layer.formant_scale)
    if preset.breathiness > 0:
        ap = ap + preset.breathiness * (1.0 - ap) * voiced[:, None]
    audio = pyworld.synthesize(
        f0, np.ascontiguousarray(sp), np.ascontiguousarray(ap), VOCODER_RATE, FRAME_MS
    )
    offset = round(first * FRAME_S * VOCODER_RATE + layer.delay_ms / 1000.0 * VOCODER_RATE)
    return offset, audio


_BREATH_SOS = signal.butter(2, (500.0, 3800.0), "bandpass", fs=VOCODER_RATE, output="sos")


def _breath(rng: np.random.Generator, level: float) -> F64:
    n = round(BREATH_S * VOCODER_RATE)
    noise = signal.sosfilt(_BREATH_SOS, rng.standard_normal(n))
    envelope = np.sin(np.linspace(0.0, math.pi, n)) ** 2
    noise *= envelope / max(float(np.sqrt(np.mean(noise**2))), 1e-12)
    return np.asarray(noise * level, dtype=np.float64)


def sing(
    lines: list[SungLine],
    preset: VoicePreset,
    *,
    seconds_per_tick: float,
    n_samples: int,
    sample_rate: int,
    rng: np.random.Generator,
    should_cancel: Callable[[], bool] = lambda: False,
) -> tuple[FloatArray, list[TimedLine]]:
    """Render ``lines`` into a stereo vocal of ``n_samples`` at ``sample_rate``.

    Returns the audio, float32 (2, n_samples) with its active level near -18 dBFS RMS, and
    the sung lines with each word's start (its first audible sound) and end in seconds.
    Raises ``Cancelled`` when ``should_cancel()`` turns true (checked between lines).
    """
    n_vocoder = math.ceil(n_samples * VOCODER_RATE / sample_rate) + VOCODER_RATE
    channels = np.zeros((2, n_vocoder))
    timed: list[TimedLine] = []
    previous_end = -math.inf
    breaths: list[int] = []
    cache: dict[Utterance, _Analysis] = {}
    for line in lines:
        if should_cancel():
            raise Cancelled("cancelled during vocals")
        plan = _LinePlan(line, seconds_per_tick)
        analyses = []
        for word in line.words:
            if word.utterance not in cache:
                cache[word.utterance] = _analyse(word.utterance)
            analyses.append(cache[word.utterance])
        for layer in preset.layers:
            offset, audio = _render_layer(plan, analyses, preset, layer, rng)
            stop = min(n_vocoder, offset + audio.size)
            left, right = _pan(layer.pan)
            gain = 10 ** (layer.gain_db / 20)
            channels[0, offset:stop] += audio[: stop - offset] * left * gain
            channels[1, offset:stop] += audio[: stop - offset] * right * gain
        if plan.start_s - previous_end >= BREATH_MIN_GAP_S:
            breaths.append(round((plan.start_s - BREATH_LEAD_S - BREATH_S) * VOCODER_RATE))
        previous_end = plan.end_s
        timed.append(TimedLine(tuple(plan.words), line.section))
    mono = channels.mean(axis=0)
    active = mono[np.abs(mono) > 1e-4]
    rms = float(np.sqrt(np.mean(active**2))) if active.size else 1.0
    channels *= 10 ** (-18 / 20) / max(rms, 1e-9)
    breath_level = 10 ** (-18 / 20) * 10 ** (preset.breath_db / 20)
    for start in breaths:
        if start >= 0:
            breath = _breath(rng, breath_level)
            stop = min(n_vocoder, start + breath.size)
            channels[:, start:stop] += breath[: stop - start]
    up, down = sample_rate, VOCODER_RATE
    common = math.gcd(up, down)
    audio = signal.resample_poly(channels, up // common, down // common, axis=-1)
    return np.ascontiguousarray(audio[:, :n_samples], dtype=np.float32), timed


def _pan(pan: float) -> tuple[float, float]:
    angle = (min(max(pan, -1.0), 1.0) + 1.0) * math.pi / 4.0
    return math.sqrt(2.0) * math.cos(angle), math.sqrt(2.0) * math.sin(angle)
