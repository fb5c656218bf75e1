"""The score's time grid: ticks, steps, swing, and the chord under every moment."""

from __future__ import annotations

from dataclasses import dataclass

from musewave.engine.plan import Plan, SectionPlan
from musewave.engine.score import TICKS_PER_BEAT
from musewave.engine.theory import Chord, Key, roman_chord

STEP_TICKS = TICKS_PER_BEAT // 4  # a 16th note


@dataclass(frozen=True, slots=True)
class ChordSpan:
    start_tick: int
    end_tick: int
    chord: Chord
    section_index: int


def bar_ticks(plan: Plan) -> int:
    return plan.beats_per_bar * TICKS_PER_BEAT


def section_ticks(section: SectionPlan) -> tuple[int, int]:
    start = section.start_beat * TICKS_PER_BEAT
    return start, start + section.beats * TICKS_PER_BEAT


def chord_timeline(plan: Plan, key: Key) -> list[ChordSpan]:
    """Each section's progression laid out bar by bar, cycling, cut at the section's end."""
    spans: list[ChordSpan] = []
    span_ticks = bar_ticks(plan) * plan.bars_per_chord
    for index, section in enumerate(plan.sections):
        start, end = section_ticks(section)
        chords = [roman_chord(symbol, key) for symbol in section.progression]
        tick, position = start, 0
        while tick < end:
            spans.append(ChordSpan(tick, min(end, tick + span_ticks), chords[position], index))
            tick += span_ticks
            position = (position + 1) % len(chords)
    return spans


def chord_at(spans: list[ChordSpan], tick: int) -> ChordSpan:
    """The chord sounding at ``tick`` (spans are sorted and contiguous)."""
    low, high = 0, len(spans) - 1
    while low < high:
        middle = (low + high + 1) // 2
        if spans[middle].start_tick <= tick:
            low = middle
        else:
            high = middle - 1
    return spans[low]


def swing_tick(tick: int, swing: float) -> int:
    """Delay off-beat notes: 16ths for a light swing, 8ths (towards triplets) above 0.6."""
    position = tick % TICKS_PER_BEAT
    if swing > 0.6:
        if position == TICKS_PER_BEAT // 2:
            return tick + round((swing - 0.5) * TICKS_PER_BEAT)
        return tick
    if position % (2 * STEP_TICKS) == STEP_TICKS:
        return tick + round((swing - 0.5) * 2 * STEP_TICKS)
    return tick
