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


def tonic_chord(progression: list[str] | tuple[str, ...], key: Key) -> Chord:
    """The key's tonic chord as the progression spells it (``i9``, ``Imaj7``), else the
    plain triad on the first degree (minor in minor modes, major otherwise)."""
    for symbol in progression:
        chord = roman_chord(symbol, key)
        if chord.root == key.tonic and symbol.lstrip("b#♭♯")[:1] in ("i", "I"):
            return chord
    return roman_chord("i" if key.is_minor else "I", key)


def chord_timeline(plan: Plan, key: Key) -> list[ChordSpan]:
    """Each section's progression laid out bar by bar, cycling, cut at the section's end.

    A section of more than one chord ends on the tonic chord (a cadence to i or I), so the
    key's tonic, not its relative major or minor, is where every phrase comes to rest."""
    spans: list[ChordSpan] = []
    span_ticks = bar_ticks(plan) * plan.bars_per_chord
    for index, section in enumerate(plan.sections):
        start, end = section_ticks(section)
        chords = [roman_chord(symbol, key) for symbol in section.progression]
        first = len(spans)
        tick, position = start, 0
        while tick < end:
            spans.append(ChordSpan(tick, min(end, tick + span_ticks), chords[position], index))
            tick += span_ticks
            position = (position + 1) % len(chords)
        last = spans[-1]
        if len(spans) - first > 1 and last.chord.root != key.tonic:
            tonic = tonic_chord(section.progression, key)
            spans[-1] = ChordSpan(last.start_tick, last.end_tick, tonic, index)
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
