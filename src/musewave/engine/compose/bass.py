"""Bass lines, one style per genre: following the kick, offbeats, walking, acid riffs…"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from musewave.engine.compose.timeline import (
    STEP_TICKS,
    ChordSpan,
    bar_ticks,
    chord_at,
    section_ticks,
)
from musewave.engine.compose.voicing import bass_pitch
from musewave.engine.genres import KICK, GenreProfile
from musewave.engine.plan import Plan
from musewave.engine.score import TICKS_PER_BEAT, Note
from musewave.engine.theory import Key

BEAT = TICKS_PER_BEAT
EIGHTH = TICKS_PER_BEAT // 2

# Lowest pitch of each voice's bass register (the octave above it is used). The 808 starts at
# F#1 (46 Hz), the bass guitars at A1 (55 Hz): lower, a note's onset and pitch smear (the
# ear, and a transcriber, placed a D1 808 up to 80 ms off or missed it, and heard a G1 bass
# guitar note as its octave first, its fundamental 40 ms late). The 808 no higher: from G#1
# up, trap and reggaeton mixes started to lose their hip-hop reading; likewise the reese
# keeps its E1 (from A1 up an E-dorian dnb mix was no longer heard as fast).
REGISTER_LOW = {
    "bass_808": 30,
    "sub_bass": 28,
    "drone_bass": 28,
    "reese_bass": 28,
    "acid_bass": 36,
    "log_drum": 36,
    "slap_bass": 33,
    "electric_bass": 33,
    "upright_bass": 33,
}
DEFAULT_LOW = 31

Styler = Callable[[ChordSpan, int, int, "BassContext"], list[Note]]


class BassContext:
    def __init__(
        self, plan: Plan, profile: GenreProfile, key: Key, voice: str, rng: np.random.Generator
    ):
        self.plan = plan
        self.profile = profile
        self.key = key
        self.rng = rng
        self.low = REGISTER_LOW.get(voice, DEFAULT_LOW)
        self.bar = bar_ticks(plan)
        self.spans: list[ChordSpan] = []
        self.acid_riff: list[tuple[int, int, int]] | None = None
        self.riffs: dict[int, int] = {}

    def root(self, span: ChordSpan) -> int:
        return bass_pitch(span.chord.root, self.low, self.low + 11)

    def next_root(self, span: ChordSpan) -> int:
        following = (
            chord_at(self.spans, span.end_tick) if span.end_tick < self.spans[-1].end_tick else span
        )
        return self.root(following)

    def velocity(self, section_energy: float, accent: bool = False) -> int:
        return int(
            np.clip(round((78 + (18 if accent else 0)) * (0.8 + 0.3 * section_energy)), 1, 127)
        )


def _roots_passing(span: ChordSpan, start: int, end: int, ctx: BassContext) -> list[Note]:
    root, energy = ctx.root(span), ctx.plan.sections[span.section_index].energy
    notes: list[Note] = []
    for bar_start in range(start, end, ctx.bar):
        notes.append(Note(root, bar_start, round(1.5 * BEAT), ctx.velocity(energy, True)))
        if ctx.plan.beats_per_bar >= 4:
            fifth = root + 7 if ctx.rng.random() < 0.6 else root + 12
            notes.append(Note(fifth, bar_start + 2 * BEAT, BEAT, ctx.velocity(energy)))
        target = ctx.next_root(span)
        from_below = ctx.rng.random() < 0.5 and target - 1 >= ctx.low
        approach = target - 1 if from_below else target + 2
        last = bar_start + ctx.bar - EIGHTH
        if last + EIGHTH >= end:
            notes.append(Note(approach, last, EIGHTH, ctx.velocity(energy)))
    return notes


def _follow_kick(span: ChordSpan, start: int, end: int, ctx: BassContext) -> list[Note]:
    pattern = ctx.profile.grooves["full"].get(KICK, "x.......x.......")
    steps = [i for i, c in enumerate(pattern[: ctx.plan.beats_per_bar * 4]) if c != "."]
    root, energy = ctx.root(span), ctx.plan.sections[span.section_index].energy
    notes: list[Note] = []
    for bar_start in range(start, end, ctx.bar):
        ticks = [bar_start + s * STEP_TICKS for s in steps] + [bar_start + ctx.bar]
        for index, tick in enumerate(ticks[:-1]):
            length = min(ticks[index + 1], end) - tick
            pitch = root + 12 if index == len(ticks) - 2 and ctx.rng.random() < 0.25 else root
            notes.append(
                Note(pitch, tick, max(STEP_TICKS, length - 20), ctx.velocity(energy, index == 0))
            )
    return notes


def _offbeat(span: ChordSpan, start: int, end: int, ctx: BassContext) -> list[Note]:
    root, energy = ctx.root(span), ctx.plan.sections[span.section_index].energy
    return [
        Note(root + (12 if ctx.rng.random() < 0.15 else 0), tick, EIGHTH - 40, ctx.velocity(energy))
        for tick in range(start + EIGHTH, end, BEAT)
    ]


def _octave_8ths(span: ChordSpan, start: int, end: int, ctx: BassContext) -> list[Note]:
    root, energy = ctx.root(span), ctx.plan.sections[span.section_index].energy
    return [
        Note(root + (12 if i % 2 else 0), tick, EIGHTH - 30, ctx.velocity(energy, i % 4 == 0))
        for i, tick in enumerate(range(start, end, EIGHTH))
    ]


def _root_8ths(span: ChordSpan, start: int, end: int, ctx: BassContext) -> list[Note]:
    root, energy = ctx.root(span), ctx.plan.sections[span.section_index].energy
    return [
        Note(root, tick, EIGHTH - 30, ctx.velocity(energy, i % 4 == 0))
        for i, tick in enumerate(range(start, end, EIGHTH))
    ]


def _walking(span: ChordSpan, start: int, end: int, ctx: BassContext) -> list[Note]:
    """Quarter notes: root, chord tones or scale steps, a chromatic approach on the last beat."""
    root, energy = ctx.root(span), ctx.plan.sections[span.section_index].energy
    tones = sorted({root + ((pc - root) % 12) for pc in span.chord.pitch_classes})
    # Scale steps and approaches stay in the voice's register (see REGISTER_LOW).
    scale = [p for p in range(max(root - 5, ctx.low), root + 13) if p % 12 in ctx.key.scale]
    target = ctx.next_root(span)
    notes: list[Note] = []
    ticks = list(range(start, end, BEAT))
    for index, tick in enumerate(ticks):
        if index == 0:
            pitch = root
        elif index == len(ticks) - 1:
            from_above = ctx.rng.random() < 0.5 or target - 1 < ctx.low
            pitch = target + (1 if from_above else -1)
        elif ctx.rng.random() < 0.6:
            pitch = tones[int(ctx.rng.integers(len(tones)))]
        else:
            pitch = scale[int(ctx.rng.integers(len(scale)))]
        notes.append(Note(pitch, tick, BEAT - 30, ctx.velocity(energy, index == 0)))
    return notes


def _acid_16ths(span: ChordSpan, start: int, end: int, ctx: BassContext) -> list[Note]:
    """A repeating 16th-note riff (rests, octaves, the minor third and seventh), 303-style."""
    if ctx.acid_riff is None:
        riff: list[tuple[int, int, int]] = []
        for step in range(16):
            if ctx.rng.random() < 0.3:
                continue
            interval = [0, 0, 0, 12, 3, 7, 10, 12][int(ctx.rng.integers(8))]
            accent = 110 if ctx.rng.random() < 0.3 else 80
            riff.append((step, interval, accent))
        ctx.acid_riff = riff
    root = ctx.root(span)
    notes: list[Note] = []
    for bar_start in range(start, end, ctx.bar):
        for step, interval, velocity in ctx.acid_riff:
            tick = bar_start + step * STEP_TICKS
            if tick < end and step < ctx.plan.beats_per_bar * 4:
                notes.append(Note(root + interval, tick, STEP_TICKS - 15, velocity))
    return notes


def _long_roots(span: ChordSpan, start: int, end: int, ctx: BassContext) -> list[Note]:
    root, energy = ctx.root(span), ctx.plan.sections[span.section_index].energy
    half = max(ctx.bar, (end - start) // 2)
    return [
        Note(root, tick, min(half, end - tick) - 20, ctx.velocity(energy, True))
        for tick in range(start, end, half)
    ]


def _drone(span: ChordSpan, start: int, end: int, ctx: BassContext) -> list[Note]:
    root = bass_pitch(ctx.key.tonic, ctx.low, ctx.low + 11)
    return [Note(root, start, end - start - 10, 70)]


# Slap bass, one bar of 16ths: (step, semitones above the root, velocity). Thumbed roots,
# popped octaves on the syncopations, a ghost note between.
SLAP_FIGURE = ((0, 0, 118), (3, 0, 70), (6, 12, 108), (7, 0, 60), (8, 0, 96), (10, 7, 80))
SLAP_FIGURE_END = ((11, 12, 104), (14, 12, 100))
# Amapiano log drum: syncopated hits (step, semitones, velocity), the last one a fifth up.
LOG_DRUM_FIGURE = ((0, 0, 112), (3, 0, 92), (6, 0, 100), (10, 0, 96), (13, 7, 90))


# Roots-reggae bass riffs, one bar each: (step, chord tone, length in steps, velocity), the
# chord tone an index into ONE_DROP_TONES. A melodic figure with rests (the space is part of
# the line), leaning on beat one and answering around the drop on three; never the
# root-fifth alternation of a country two-beat.
ONE_DROP_TONES = ("root", "third", "fifth", "octave", "fifth_below")
ONE_DROP_RIFFS = (
    ((0, 0, 3, 112), (3, 0, 1, 76), (6, 1, 2, 92), (8, 2, 3, 100), (12, 0, 2, 94)),
    ((0, 0, 4, 112), (6, 2, 1, 84), (7, 3, 2, 96), (10, 2, 2, 88), (12, 1, 2, 90)),
    ((0, 0, 2, 110), (2, 0, 1, 80), (4, 4, 2, 92), (8, 0, 3, 104), (11, 1, 1, 84), (12, 2, 3, 92)),
)


def _chord_tone(span: ChordSpan, root: int, tone: int, low: int) -> int:
    """The riff's ``tone`` of the chord over ``root``; a fifth below that would fall under the
    bass's register (``low``) is played above instead."""
    intervals = span.chord.intervals
    name = ONE_DROP_TONES[tone]
    if name == "third":
        return root + (intervals[1] if len(intervals) > 1 else 12)
    if name == "fifth":
        return root + (intervals[2] if len(intervals) > 2 else 7)
    if name == "octave":
        return root + 12
    if name == "fifth_below":
        fifth = root + (intervals[2] if len(intervals) > 2 else 7)
        return fifth - 12 if fifth - 12 >= low else fifth
    return root


def _one_drop(span: ChordSpan, start: int, end: int, ctx: BassContext) -> list[Note]:
    """One riff per section (``ONE_DROP_RIFFS``) on each chord's tones; the last beat of the
    bar before a chord change walks into the next root from a step below or above."""
    if span.section_index not in ctx.riffs:
        ctx.riffs[span.section_index] = int(ctx.rng.integers(len(ONE_DROP_RIFFS)))
    riff = ONE_DROP_RIFFS[ctx.riffs[span.section_index]]
    root, energy = ctx.root(span), ctx.plan.sections[span.section_index].energy
    steps = ctx.plan.beats_per_bar * 4
    notes: list[Note] = []
    for bar_start in range(start, end, ctx.bar):
        last_bar = bar_start + ctx.bar >= end
        for step, tone, length, velocity in riff:
            tick = bar_start + step * STEP_TICKS
            if step >= steps or tick >= end:
                continue
            pitch = _chord_tone(span, root, tone, ctx.low)
            if last_bar and step >= steps - 4:  # the bar's last beat, in any metre
                target = ctx.next_root(span)
                if target != root:
                    from_below = ctx.rng.random() < 0.5 and target - 1 >= ctx.low
                    pitch = target - 1 if from_below else target + 2
            duration = min(length * STEP_TICKS, end - tick) - 20
            scaled = round(velocity * (0.85 + 0.2 * energy))
            notes.append(Note(pitch, tick, duration, int(np.clip(scaled, 1, 127))))
    return notes


def _slap_16ths(span: ChordSpan, start: int, end: int, ctx: BassContext) -> list[Note]:
    root = ctx.root(span)
    notes: list[Note] = []
    for bar_start in range(start, end, ctx.bar):
        for step, interval, velocity in SLAP_FIGURE + SLAP_FIGURE_END:
            tick = bar_start + step * STEP_TICKS
            if step < ctx.plan.beats_per_bar * 4 and tick < end:
                length = STEP_TICKS - 20 if velocity < 75 else 2 * STEP_TICKS - 30
                notes.append(Note(root + interval, tick, min(length, end - tick), velocity))
    return notes


def _log_drum(span: ChordSpan, start: int, end: int, ctx: BassContext) -> list[Note]:
    root = ctx.root(span)
    notes: list[Note] = []
    for bar_start in range(start, end, ctx.bar):
        for step, interval, velocity in LOG_DRUM_FIGURE:
            tick = bar_start + step * STEP_TICKS
            if step < ctx.plan.beats_per_bar * 4 and tick < end:
                length = min(3 * STEP_TICKS, end - tick) - 20
                notes.append(Note(root + interval, tick, length, velocity))
    return notes


STYLES: dict[str, Styler] = {
    "slap_16ths": _slap_16ths,
    "log_drum": _log_drum,
    "roots_passing": _roots_passing,
    "one_drop": _one_drop,
    "follow_kick": _follow_kick,
    "offbeat": _offbeat,
    "octave_8ths": _octave_8ths,
    "root_8ths": _root_8ths,
    "walking": _walking,
    "acid_16ths": _acid_16ths,
    "long_roots": _long_roots,
    "drone": _drone,
}


def compose_bass(
    plan: Plan,
    profile: GenreProfile,
    key: Key,
    spans: list[ChordSpan],
    voice: str,
    rng: np.random.Generator,
) -> list[Note]:
    styler = STYLES.get(profile.bass_style)
    if styler is None:
        return []
    ctx = BassContext(plan, profile, key, voice, rng)
    ctx.spans = spans
    notes: list[Note] = []
    for span in spans:
        section = plan.sections[span.section_index]
        if "bass" not in section.roles:
            continue
        _, section_end = section_ticks(section)
        notes.extend(styler(span, span.start_tick, min(span.end_tick, section_end), ctx))
    return notes
