"""Lead melodies from motifs: a two-bar idea, repeated, varied, and closed on a chord tone.

Every section of one kind (all choruses, say) shares its motif, so hooks come back.
"""

from __future__ import annotations

import zlib

import numpy as np

from musewave.engine.compose.timeline import (
    STEP_TICKS,
    ChordSpan,
    bar_ticks,
    chord_at,
    section_ticks,
)
from musewave.engine.plan import Plan, SectionPlan
from musewave.engine.score import Note
from musewave.engine.theory import Key

Cell = tuple[tuple[int, int], ...]  # (start step, length in steps) within one bar

RHYTHM_CELLS: dict[str, tuple[Cell, ...]] = {
    "sparse": (
        ((0, 6), (8, 4), (12, 4)),
        ((0, 8), (10, 6)),
        ((2, 4), (8, 8)),
        ((0, 4), (6, 2), (8, 8)),
    ),
    "hook": (
        ((0, 2), (2, 2), (4, 4), (8, 2), (10, 2), (12, 4)),
        ((0, 3), (3, 3), (6, 2), (8, 4), (12, 2), (14, 2)),
        ((0, 2), (4, 2), (6, 2), (8, 6), (14, 2)),
        ((2, 2), (4, 2), (6, 4), (10, 2), (12, 4)),
    ),
    "busy": (
        ((0, 2), (2, 2), (4, 1), (5, 1), (6, 2), (8, 2), (10, 2), (12, 2), (14, 2)),
        ((0, 3), (3, 1), (4, 2), (6, 2), (8, 2), (10, 1), (11, 1), (12, 4)),
        ((0, 2), (2, 2), (4, 2), (6, 2), (8, 4), (12, 2), (14, 2)),
    ),
}
CADENCE_CELLS: tuple[Cell, ...] = (((0, 4), (4, 12)), ((0, 8),), ((0, 2), (2, 2), (4, 12)))

LEAD_CENTER = {
    "brass": 67, "bell": 79, "pluck": 74, "guitar_clean": 67, "guitar_overdriven": 67,
    "marimba": 74,
}  # fmt: skip
DEFAULT_LEAD_CENTER = 72
STEP_WEIGHTS = {-2: 0.12, -1: 0.3, 0: 0.08, 1: 0.3, 2: 0.12, 3: 0.04, -3: 0.04}


class _Motif:
    def __init__(self, style: str, rng: np.random.Generator):
        cells = RHYTHM_CELLS[style]
        self.cells = (cells[int(rng.integers(len(cells)))], cells[int(rng.integers(len(cells)))])
        self.cadence = CADENCE_CELLS[int(rng.integers(len(CADENCE_CELLS)))]
        steps, weights = zip(*STEP_WEIGHTS.items(), strict=True)
        probabilities = np.array(weights) / sum(weights)
        self.contours = [
            [int(s) for s in rng.choice(steps, size=len(cell), p=probabilities)]
            for cell in self.cells
        ]
        # The varied repeat keeps the opening and answers with an inverted ending.
        tail = [-d for d in self.contours[0][len(self.contours[0]) // 2 :]]
        self.varied = self.contours[0][: len(self.contours[0]) // 2] + tail


def _section_rng(plan: Plan, section: SectionPlan) -> np.random.Generator:
    return np.random.default_rng([plan.seed, zlib.crc32(section.kind.encode())])


def _nearest_chord_tone(pitch: int, chord_pcs: tuple[int, ...], low: int, high: int) -> int:
    candidates = [p for p in range(low, high + 1) if p % 12 in chord_pcs]
    return min(candidates, key=lambda p: (abs(p - pitch), p))


class _Realizer:
    """Turns scale-degree steps into pitches over the chords, inside the lead's range."""

    def __init__(self, key: Key, spans: list[ChordSpan], center: int):
        self.spans = spans
        self.tonic = key.tonic
        self.low, self.high = center - 8, center + 10
        self.scale = [p for p in range(self.low, self.high + 1) if p % 12 in key.scale]
        self.center = center
        self.reset()

    def reset(self) -> None:
        """Start from the tonic nearest the centre, so a motif sounds the same each time its
        section returns and opens on the key's home note (not on its relative major's)."""
        self.index = min(
            range(len(self.scale)),
            key=lambda i: (self.scale[i] % 12 != self.tonic, abs(self.scale[i] - self.center)),
        )

    def pitch(self, step: int, tick: int, strong: bool, downbeat: bool = False) -> int:
        index = self.index + step
        if not 0 <= index < len(self.scale):  # bounce off the range edges
            index = self.index - step
        self.index = max(0, min(len(self.scale) - 1, index))
        pitch = self.scale[self.index]
        if strong:
            chord = chord_at(self.spans, tick).chord
            # On a downbeat over a chord that holds the tonic, the tonic itself: it is what
            # makes a minor key heard as minor rather than as its relative major.
            targets = (
                (self.tonic,)
                if downbeat and self.tonic in chord.pitch_classes
                else chord.pitch_classes
            )
            pitch = _nearest_chord_tone(pitch, targets, self.low, self.high)
            self.index = min(range(len(self.scale)), key=lambda i: abs(self.scale[i] - pitch))
        return pitch

    def cadence_pitch(self, tick: int) -> int:
        """A phrase ends on the tonic when the chord holds it, else on the chord's root."""
        chord = chord_at(self.spans, tick).chord
        targets = (self.tonic,) if self.tonic in chord.pitch_classes else (chord.root,)
        return _nearest_chord_tone(self.scale[self.index], targets, self.low, self.high)


def _bar_notes(
    cell: Cell,
    contour: list[int],
    bar_start: int,
    end: int,
    steps_per_bar: int,
    realizer: _Realizer,
    velocity: int,
) -> list[Note]:
    notes: list[Note] = []
    for (step, length), move in zip(cell, contour, strict=False):
        tick = bar_start + step * STEP_TICKS
        if step >= steps_per_bar or tick >= end:
            continue
        strong = step % 8 == 0 or length >= 4
        pitch = realizer.pitch(move, tick, strong, downbeat=step == 0)
        duration = min(length * STEP_TICKS, end - tick) - 15
        accent = 12 if step % 4 == 0 else 0
        notes.append(Note(pitch, tick, max(30, duration), min(127, velocity + accent)))
    return notes


def compose_lead(
    plan: Plan, key: Key, spans: list[ChordSpan], style: str, voice: str
) -> list[Note]:
    if style not in RHYTHM_CELLS:
        return []
    bar = bar_ticks(plan)
    steps_per_bar = plan.beats_per_bar * 4
    realizer = _Realizer(key, spans, LEAD_CENTER.get(voice, DEFAULT_LEAD_CENTER))
    notes: list[Note] = []
    for section in plan.sections:
        if "lead" not in section.roles:
            continue
        section_style = "sparse" if section.energy < 0.5 else style
        motif = _Motif(section_style, _section_rng(plan, section))
        velocity = round(70 + 30 * section.energy)
        realizer.reset()
        start, end = section_ticks(section)
        for bar_index, bar_start in enumerate(range(start, end, bar)):
            position = bar_index % 4
            is_last_bar = bar_start + bar >= end
            if position == 3 or is_last_bar:
                cell, contour = motif.cadence, [0] * len(motif.cadence)
                bar_notes = _bar_notes(
                    cell, contour, bar_start, end, steps_per_bar, realizer, velocity
                )
                if bar_notes:
                    last = bar_notes[-1]
                    bar_notes[-1] = Note(
                        realizer.cadence_pitch(last.start_tick),
                        last.start_tick,
                        last.duration_ticks,
                        last.velocity,
                    )
            else:
                cell = motif.cells[position % 2]
                contour = motif.varied if position == 2 else motif.contours[position % 2]
                bar_notes = _bar_notes(
                    cell, contour, bar_start, end, steps_per_bar, realizer, velocity
                )
            notes.extend(bar_notes)
    return notes
