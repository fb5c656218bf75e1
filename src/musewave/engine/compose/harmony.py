"""Chord parts (stabs, comping, arpeggios, strums, ostinati) and sustained pads."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from musewave.engine.compose.timeline import STEP_TICKS, ChordSpan, bar_ticks, section_ticks
from musewave.engine.compose.voicing import bass_pitch, voice_chord
from musewave.engine.plan import Plan
from musewave.engine.score import TICKS_PER_BEAT, Note

BEAT = TICKS_PER_BEAT
EIGHTH = BEAT // 2

# Rhythm cells in 16th steps: (start_step, length_steps). Chosen per section, repeated per bar.
STAB_CELLS = (
    ((2, 1), (6, 1), (10, 1), (14, 1)),  # house offbeats
    ((0, 2), (6, 1), (10, 2)),
    ((3, 1), (6, 1), (10, 1), (13, 1)),
)
COMP_CELLS = (
    ((0, 6), (6, 2), (10, 6)),
    ((2, 4), (7, 3), (12, 4)),
    ((0, 3), (3, 5), (11, 5)),
    ((0, 10), (10, 6)),
)
SKANK_CELL = ((2, 1), (6, 1), (10, 1), (14, 1))
ARP_ORDERS = ((0, 1, 2, 3), (0, 1, 2, 3, 2, 1), (0, 2, 1, 3), (3, 2, 1, 0))

CHORD_CENTER = {"bell": 76, "pluck": 70, "marimba": 72, "guitar_distorted": 52, "strings": 62}
DEFAULT_CHORD_CENTER = 63
PAD_CENTER = 67

Styler = Callable[["HarmonyContext", ChordSpan, int, int, list[int]], list[Note]]


class HarmonyContext:
    def __init__(self, plan: Plan, rng: np.random.Generator):
        self.plan = plan
        self.rng = rng
        self.bar = bar_ticks(plan)
        self.steps = plan.beats_per_bar * 4
        self.cells: dict[int, tuple[tuple[int, int], ...]] = {}

    def velocity(self, span: ChordSpan, base: int = 80) -> int:
        energy = self.plan.sections[span.section_index].energy
        return int(np.clip(round(base * (0.75 + 0.35 * energy)), 1, 127))

    def cell(
        self, span: ChordSpan, cells: tuple[tuple[tuple[int, int], ...], ...]
    ) -> tuple[tuple[int, int], ...]:
        """One rhythm cell per section, so a section grooves on one figure."""
        if span.section_index not in self.cells:
            self.cells[span.section_index] = cells[int(self.rng.integers(len(cells)))]
        return self.cells[span.section_index]


def _cell_notes(
    ctx: HarmonyContext,
    span: ChordSpan,
    start: int,
    end: int,
    voicing: list[int],
    cell: tuple[tuple[int, int], ...],
) -> list[Note]:
    notes: list[Note] = []
    for bar_start in range(start, end, ctx.bar):
        for step, length in cell:
            if step >= ctx.steps:
                continue
            tick = bar_start + step * STEP_TICKS
            if tick >= end:
                continue
            duration = min(length * STEP_TICKS, end - tick) - 10
            notes.extend(Note(p, tick, duration, ctx.velocity(span)) for p in voicing)
    return notes


def _sustain(
    ctx: HarmonyContext, span: ChordSpan, start: int, end: int, voicing: list[int]
) -> list[Note]:
    return [Note(p, start, end - start - 10, ctx.velocity(span, 72)) for p in voicing]


def _stabs(
    ctx: HarmonyContext, span: ChordSpan, start: int, end: int, voicing: list[int]
) -> list[Note]:
    return _cell_notes(ctx, span, start, end, voicing, ctx.cell(span, STAB_CELLS))


def _comp(
    ctx: HarmonyContext, span: ChordSpan, start: int, end: int, voicing: list[int]
) -> list[Note]:
    return _cell_notes(ctx, span, start, end, voicing, ctx.cell(span, COMP_CELLS))


def _skank(
    ctx: HarmonyContext, span: ChordSpan, start: int, end: int, voicing: list[int]
) -> list[Note]:
    return _cell_notes(ctx, span, start, end, voicing, SKANK_CELL)


def _arp(
    ctx: HarmonyContext, span: ChordSpan, start: int, end: int, voicing: list[int]
) -> list[Note]:
    energy = ctx.plan.sections[span.section_index].energy
    step = STEP_TICKS if energy > 0.7 and ctx.plan.bpm < 120 else 2 * STEP_TICKS
    order = ARP_ORDERS[span.section_index % len(ARP_ORDERS)]
    tones = [*voicing, voicing[0] + 12]
    return [
        Note(
            tones[order[i % len(order)] % len(tones)],
            tick,
            step - 10,
            ctx.velocity(span, 76 if i % 4 else 92),
        )
        for i, tick in enumerate(range(start, end, step))
    ]


def _broken(
    ctx: HarmonyContext, span: ChordSpan, start: int, end: int, voicing: list[int]
) -> list[Note]:
    """Piano left hand: root, fifth, tenth, fifth in 8ths, the root held like a pedal."""
    root = bass_pitch(span.chord.root, 36, 47)
    third = root + 12 + (span.chord.intervals[1] if len(span.chord.intervals) > 1 else 4)
    figure = [root, root + 7, third, root + 7]
    notes = [Note(root, start, end - start - 10, ctx.velocity(span, 70))]
    for i, tick in enumerate(range(start + EIGHTH, end, EIGHTH)):
        notes.append(Note(figure[(i + 1) % 4], tick, BEAT, ctx.velocity(span, 58)))
    upper = [p for p in voicing if p > third]
    notes.extend(
        Note(p, start, min(2 * BEAT, end - start) - 10, ctx.velocity(span, 66)) for p in upper[:2]
    )
    return notes


def _power_8ths(
    ctx: HarmonyContext, span: ChordSpan, start: int, end: int, voicing: list[int]
) -> list[Note]:
    root = bass_pitch(span.chord.root, 40, 51)
    shape = (root, root + 7, root + 12)
    return [
        Note(p, tick, EIGHTH - 25, ctx.velocity(span, 96 if i % 2 == 0 else 80))
        for i, tick in enumerate(range(start, end, EIGHTH))
        for p in shape
    ]


def _ostinato(
    ctx: HarmonyContext, span: ChordSpan, start: int, end: int, voicing: list[int]
) -> list[Note]:
    root = bass_pitch(span.chord.root, 48, 59)
    third = root + (span.chord.intervals[1] if len(span.chord.intervals) > 1 else 4)
    figure = (root, root + 7, root + 12, third + 12, root + 12, root + 7)
    return [
        Note(
            figure[i % len(figure)], tick, EIGHTH - 20, ctx.velocity(span, 82 if i % 2 == 0 else 68)
        )
        for i, tick in enumerate(range(start, end, EIGHTH))
    ]


STYLES: dict[str, Styler] = {
    "sustain": _sustain,
    "stabs": _stabs,
    "comp": _comp,
    "skank": _skank,
    "arp": _arp,
    "broken": _broken,
    "power_8ths": _power_8ths,
    "ostinato": _ostinato,
}


def compose_chords(
    plan: Plan, style: str, voice: str, spans: list[ChordSpan], rng: np.random.Generator
) -> list[Note]:
    styler = STYLES[style]
    ctx = HarmonyContext(plan, rng)
    center = CHORD_CENTER.get(voice, DEFAULT_CHORD_CENTER)
    previous: list[int] | None = None
    notes: list[Note] = []
    for span in spans:
        section = plan.sections[span.section_index]
        if "chords" not in section.roles:
            continue
        voicing = voice_chord(span.chord, previous, center)
        previous = voicing
        _, section_end = section_ticks(section)
        notes.extend(styler(ctx, span, span.start_tick, min(span.end_tick, section_end), voicing))
    return notes


def compose_pads(plan: Plan, spans: list[ChordSpan]) -> list[Note]:
    """Sustained, voice-led chords an octave up; they carry the harmony between sections."""
    ctx = HarmonyContext(plan, np.random.default_rng(0))
    previous: list[int] | None = None
    notes: list[Note] = []
    for span in spans:
        section = plan.sections[span.section_index]
        if "pads" not in section.roles:
            continue
        voicing = voice_chord(span.chord, previous, PAD_CENTER)
        previous = voicing
        notes.extend(_sustain(ctx, span, span.start_tick, span.end_tick, voicing))
    return notes
