"""The vocal melody: syllables → notes that fit the plan's chords and meter.

Each lyric line gets a window of its section (in proportion to its syllables). Inside it a
dynamic programme places one onset per syllable on a grid of 8ths (16ths when the line is
dense), putting stressed syllables on strong beats and keeping note lengths even; the
pitches follow an arch within the voice's range, strong positions take chord tones, and
every phrase ends on a chord tone (the tonic at the end of a block). Long notes sometimes
carry a melisma: one syllable over two notes.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np

from musewave.engine.compose.timeline import ChordSpan, bar_ticks, chord_at
from musewave.engine.plan import Plan
from musewave.engine.score import TICKS_PER_BEAT
from musewave.engine.theory import Key

EIGHTH = TICKS_PER_BEAT // 2
SIXTEENTH = TICKS_PER_BEAT // 4
REST_UNITS = 2  # grid units left silent at the end of each line, for a breath
# Metric weight of a position: bar start, middle of a 4/4 bar, other beats, 8ths, 16ths.
WEIGHT_BAR, WEIGHT_HALF, WEIGHT_BEAT, WEIGHT_EIGHTH, WEIGHT_SIXTEENTH = 1.0, 0.8, 0.6, 0.3, 0.1
STRESS_GAIN = {2: 2.0, 1: 1.0}
MELISMA_CHANCE = 0.25
# Section kinds sung higher than the voice's middle (semitones).
KIND_LIFT = {"chorus": 3, "hook": 3, "drop": 3, "bridge": 1, "pre": 1, "outro": -1}


class MelodyError(ValueError):
    """Lyrics too dense for the time they were given."""


@dataclass(frozen=True, slots=True)
class VocalNote:
    """A sung note in MIDI ticks (``TICKS_PER_BEAT`` per beat)."""

    pitch: int
    start_tick: int
    duration_ticks: int

    @property
    def end_tick(self) -> int:
        return self.start_tick + self.duration_ticks


COMFORTABLE_SYLLABLES_PER_S = 4.0  # above this a line sounds rushed


def comfortable_beats(plan: Plan, syllable_counts: list[int]) -> float:
    """Beats the lines need to be sung unhurried, with a breath after each."""
    per_beat = min(2.0, COMFORTABLE_SYLLABLES_PER_S * 60.0 / plan.bpm)
    return sum(n / per_beat + 1.0 for n in syllable_counts)


def line_windows(
    plan: Plan, span: tuple[int, int], syllable_counts: list[int]
) -> list[tuple[int, int]]:
    """Split ``span`` (ticks) into one window per line, in proportion to syllables, on whole
    bars where every line gets one, else on beats. Returns (start_tick, end_tick) per line.

    Raises ``MelodyError`` when there are more lines than beats.
    """
    start, end = span
    unit = bar_ticks(plan)
    if (end - start) // unit < len(syllable_counts):
        unit = TICKS_PER_BEAT
    units = (end - start) // unit
    if units < len(syllable_counts):
        raise MelodyError(
            f"{len(syllable_counts)} lines do not fit {units} beats; make the song longer"
        )
    total = sum(max(1, n) for n in syllable_counts)
    # Largest remainder, at least one unit each.
    ideal = [units * max(1, n) / total for n in syllable_counts]
    counts = [max(1, int(x)) for x in ideal]
    while sum(counts) > units:
        counts[max(range(len(counts)), key=lambda i: counts[i] - ideal[i])] -= 1
    while sum(counts) < units:
        counts[max(range(len(counts)), key=lambda i: ideal[i] - counts[i])] += 1
    windows, tick = [], start
    for count in counts:
        windows.append((tick, tick + count * unit))
        tick += count * unit
    return windows


def _weight(tick: int, plan: Plan) -> float:
    bar = bar_ticks(plan)
    position = tick % bar
    if position == 0:
        return WEIGHT_BAR
    if position % TICKS_PER_BEAT == 0:
        if plan.beats_per_bar % 2 == 0 and position == bar // 2:
            return WEIGHT_HALF
        return WEIGHT_BEAT
    return WEIGHT_EIGHTH if position % EIGHTH == 0 else WEIGHT_SIXTEENTH


def place_onsets(
    window: tuple[int, int], stresses: list[int], plan: Plan, rng: np.random.Generator
) -> tuple[list[int], int]:
    """Onset tick per syllable inside ``window`` and the tick the last note ends.

    Maximizes stress-on-strong-beat fit minus a cost for uneven note lengths (a dynamic
    programme over grid positions). Raises ``MelodyError`` if the syllables cannot fit even
    on 16ths.
    """
    n = len(stresses)
    start, end = window
    for unit in (EIGHTH, SIXTEENTH):
        slots = (end - start) // unit - REST_UNITS
        if slots >= n + (1 if unit == EIGHTH else 0):
            break
    else:
        raise MelodyError(
            f"{n} syllables do not fit {(end - start) / TICKS_PER_BEAT:g} beats, even as 16ths;"
            " make the song longer or the lyrics shorter"
        )
    weights = np.array([_weight(start + p * unit, plan) for p in range(slots)])
    noise = rng.uniform(0.0, 0.15, slots)
    target_gap = min(4.0, slots / n)
    max_gap = max(2, min(8, math.ceil(target_gap * 2.5)))
    fit = np.empty((n, slots))
    for i, stress in enumerate(stresses):
        if stress:
            fit[i] = STRESS_GAIN[stress] * weights
        else:
            fit[i] = -np.maximum(weights - WEIGHT_BEAT, 0.0) * 0.8 + 0.2 * weights
        fit[i] += noise
    best = np.full((n, slots), -np.inf)
    back = np.zeros((n, slots), dtype=np.int64)
    best[0, : min(slots, 3)] = fit[0, : min(slots, 3)] - 0.4 * np.arange(min(slots, 3))
    for i in range(1, n):
        for p in range(i, slots):
            low = max(i - 1, p - max_gap)
            gaps = p - np.arange(low, p)
            cost = 0.35 * np.abs(gaps - target_gap) + np.where(gaps % 2 == 1, 0.1, 0.0)
            scores = best[i - 1, low:p] - cost
            j = int(np.argmax(scores))
            best[i, p] = scores[j] + fit[i, p]
            back[i, p] = low + j
    # The last note should be long: prefer it a few units before the end of the window.
    final = best[n - 1] - 0.3 * np.abs((slots - np.arange(slots)) - min(4, slots - n + 1))
    position = int(np.argmax(final))
    positions = [position]
    for i in range(n - 1, 0, -1):
        position = int(back[i, position])
        positions.append(position)
    positions.reverse()
    return [start + p * unit for p in positions], start + slots * unit


def _chord_tones(spans: list[ChordSpan], tick: int, low: int, high: int) -> list[int]:
    pcs = chord_at(spans, tick).chord.pitch_classes[:3]
    return [p for p in range(low, high + 1) if p % 12 in pcs]


def compose_line(
    plan: Plan,
    key: Key,
    spans: list[ChordSpan],
    window: tuple[int, int],
    stresses: list[int],
    voice_range: tuple[int, int],
    *,
    center: float,
    block_end: bool,
    rng: np.random.Generator,
) -> list[tuple[VocalNote, ...]]:
    """Notes for one line: one tuple per syllable (two notes for a melisma), in order."""
    onsets, line_end = place_onsets(window, stresses, plan, rng)
    ends = [*onsets[1:], line_end]
    low, high = voice_range
    scale = [p for p in range(low, high + 1) if p % 12 in key.scale]
    n = len(stresses)
    rising = bool(rng.random() < 0.5)
    arch = 2.5 + 2.0 * float(rng.random())
    pitches: list[int] = []
    previous = round(center)
    for i, tick in enumerate(onsets):
        phase = (i + 0.5) / n
        shape = math.sin(math.pi * phase) if not rising else phase * 1.2 - 0.2
        target = center + arch * shape - (1.5 if i == n - 1 else 0.0)
        strong = stresses[i] > 0 or _weight(tick, plan) >= WEIGHT_BEAT
        if i == n - 1:
            chord = chord_at(spans, tick).chord
            goals = {chord.root, chord.pitch_classes[1] if len(chord.pitch_classes) > 1 else 0}
            if block_end and key.tonic in chord.pitch_classes:
                goals = {key.tonic}
            candidates = [p for p in range(low, high + 1) if p % 12 in goals]
        elif strong:
            candidates = _chord_tones(spans, tick, low, high)
        else:
            candidates = scale
        jitter = rng.uniform(0.0, 0.6, len(candidates))
        cost = [
            abs(p - target)
            + 0.8 * max(0, abs(p - previous) - 2)
            + (3.0 if abs(p - previous) > 7 else 0.0)
            + j
            for p, j in zip(candidates, jitter, strict=True)
        ]
        previous = candidates[int(np.argmin(cost))]
        pitches.append(previous)
    notes: list[tuple[VocalNote, ...]] = []
    for i, (tick, stop, pitch) in enumerate(zip(onsets, ends, pitches, strict=True)):
        length = stop - tick
        if length >= 3 * EIGHTH and rng.random() < MELISMA_CHANCE:
            split = tick + (length * 2 // 3 if i < n - 1 else length // 3) // SIXTEENTH * SIXTEENTH
            if i < n - 1:  # pass by step towards the next note
                direction = 1 if pitches[i + 1] > pitch else -1
                second = _step(scale, pitch, direction)
                notes.append(
                    (VocalNote(pitch, tick, split - tick), VocalNote(second, split, stop - split))
                )
            else:  # lean on the step above, resolve to the chord tone
                upper = _step(scale, pitch, 1)
                notes.append(
                    (VocalNote(upper, tick, split - tick), VocalNote(pitch, split, stop - split))
                )
            continue
        notes.append((VocalNote(pitch, tick, length),))
    return notes


def _step(scale: list[int], pitch: int, direction: int) -> int:
    above = [p for p in scale if p > pitch]
    below = [p for p in scale if p < pitch]
    if direction > 0 and above:
        return above[0]
    if below:
        return below[-1]
    return above[0] if above else pitch


def section_center(plan: Plan, section_index: int, voice_range: tuple[int, int]) -> float:
    low, high = voice_range
    kind = plan.sections[section_index].kind
    return (low + high) / 2 - 1.5 + KIND_LIFT.get(kind, 0)


def melody_rng(plan: Plan, section_kind: str, line: int) -> np.random.Generator:
    """Lines of repeated section kinds share their randomness, so choruses sound alike."""
    return np.random.default_rng([plan.seed, zlib.crc32(f"vocals/{section_kind}".encode()), line])
