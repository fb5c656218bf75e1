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
    ticks = range(start, end, step)
    return [
        Note(pitch, tick, step - 10, ctx.velocity(span, 76 if i % 4 else 92))
        for i, (tick, pitch) in enumerate(
            zip(ticks, _broken_chord(span, voicing, len(ticks)), strict=True)
        )
    ]


def _broken_chord(span: ChordSpan, voicing: list[int], count: int) -> list[int]:
    """``count`` pitches of the chord broken in this section's order (``ARP_ORDERS``), over
    the voicing and its lowest tone an octave up."""
    order = ARP_ORDERS[span.section_index % len(ARP_ORDERS)]
    tones = [*voicing, voicing[0] + 12]
    return [tones[order[i % len(order)] % len(tones)] for i in range(count)]


def _arp_quarters(
    ctx: HarmonyContext, span: ChordSpan, start: int, end: int, voicing: list[int]
) -> list[Note]:
    """A slow broken chord, one tone per beat, each ringing to the next (a trap piano loop):
    the beat's pulse at the written tempo under a half-time backbeat."""
    ticks = range(start, end, BEAT)
    return [
        Note(pitch, tick, min(BEAT, end - tick) - 10, ctx.velocity(span, 72 if i % 4 else 88))
        for i, (tick, pitch) in enumerate(
            zip(ticks, _broken_chord(span, voicing, len(ticks)), strict=True)
        )
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


# Rock rhythm guitar: power chords rooted on the A and D strings (A2-G#3), not down on the
# low E string where they sat on the bass guitar's roots an octave below and the transcriber
# lost them (and the bass) in the mix; each 8th a palm-muted chug with a short gap before the
# next pick, so the repeated chord is heard as re-picked rather than as one long note (tied
# 8ths read as one). Shorter chugs (70 % of the 8th) were heard as techno rather than rock.
POWER_ROOTS = (45, 56)
POWER_CHUG_TICKS = EIGHTH * 85 // 100


def _power_8ths(
    ctx: HarmonyContext, span: ChordSpan, start: int, end: int, voicing: list[int]
) -> list[Note]:
    root = bass_pitch(span.chord.root, *POWER_ROOTS)
    shape: tuple[int, ...] = (root, root + 7, root + 12)
    thirds = [i for i in span.chord.intervals if i in (3, 4)]
    if _is_tonic(ctx.plan, span) and thirds:
        # The home chord as a full barre chord (third on top): root and fifth alone are major
        # and minor at once, and a minor key was heard as its parallel major. A suspended
        # chord has no third to add and stays a power chord.
        shape = (*shape, root + 12 + thirds[0])
    return [
        Note(p, tick, POWER_CHUG_TICKS, ctx.velocity(span, 96 if i % 2 == 0 else 80))
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


# Funk rhythm guitar: 16ths, chord stabs let ring for an 8th ("o"), accented dead-note
# scratches ("x", the "chk") and quiet ghost scratches ("g"). A muted scratch is the fretting
# hand's mute with one string ringing through it, not the whole chord: written as four quiet
# 100 ms chord tones, a transcriber found one in four. The accents were full chords cut to a
# 16th (~95 ms, under a transcriber's ~128 ms shortest note): a third of the part's notes, and
# most of the chord notes nobody heard in the mix (stem recall 0.41). As muted scratches the
# 16th drive that makes the part funk stays: ringing stabs with fewer scratches between them
# ("o.g" + a dotted 8th, or 3+3+3+3+4 stabs) were heard as rock or electro, not funk (1/3).
SCRATCH_PATTERN = "o.gxg.o.gxg.o.gx"
SCRATCH_STEPS = {"o": 2, "x": 1, "g": 1}
# The scratches speak (a muted "chk" is as loud as the pick makes it): at velocity 45-80
# behind the bass and horns a transcriber found one ghost scratch in eight in the mix.
SCRATCH_VELOCITY = {"o": 100, "x": 88, "g": 72}
# Reggae organ: chords on each beat's offbeat, doubling the skank (the "organ chop"). The
# 16th after each offbeat that a busier bubble adds made a beat tracker hear the one-drop at
# twice its tempo (2/3 renders at 64-75 BPM); the half-bar offbeat accent keeps the lilt.
BUBBLE_STEPS = ((2, 84), (6, 72), (10, 84), (14, 72))
# Strummed guitar, 8ths: down, down-up, up-down-up (D . D U . U D U); True strums down.
STRUM_STEPS = ((0, True), (4, True), (6, False), (10, False), (12, True), (14, False))
STRUM_SPREAD_TICKS = 12  # between neighbouring strings


def _scratch(
    ctx: HarmonyContext, span: ChordSpan, start: int, end: int, voicing: list[int]
) -> list[Note]:
    notes: list[Note] = []
    for bar_start in range(start, end, ctx.bar):
        for step, char in enumerate(SCRATCH_PATTERN[: ctx.steps]):
            tick = bar_start + step * STEP_TICKS
            if char == "." or tick >= end:
                continue
            length = SCRATCH_STEPS[char] * STEP_TICKS - 30
            velocity = ctx.velocity(span, SCRATCH_VELOCITY[char])
            sounding = voicing if char == "o" else voicing[-1:]  # a muted scratch: one string
            notes.extend(Note(p, tick, min(length, end - tick), velocity) for p in sounding)
    return notes


def _bubble(
    ctx: HarmonyContext, span: ChordSpan, start: int, end: int, voicing: list[int]
) -> list[Note]:
    notes: list[Note] = []
    for bar_start in range(start, end, ctx.bar):
        for step, base in BUBBLE_STEPS:
            tick = bar_start + step * STEP_TICKS
            if step < ctx.steps and tick < end:
                velocity = ctx.velocity(span, base)
                notes.extend(Note(p, tick, STEP_TICKS - 25, velocity) for p in voicing)
    return notes


def _strum(
    ctx: HarmonyContext, span: ChordSpan, start: int, end: int, voicing: list[int]
) -> list[Note]:
    notes: list[Note] = []
    for bar_start in range(start, end, ctx.bar):
        for step, down in STRUM_STEPS:
            tick = bar_start + step * STEP_TICKS
            if step >= ctx.steps or tick >= end:
                continue
            strings = voicing if down else voicing[::-1]
            velocity = ctx.velocity(span, 84 if down else 66)
            for index, pitch in enumerate(strings):
                at = tick + index * STRUM_SPREAD_TICKS
                if at < end:
                    notes.append(Note(pitch, at, min(2 * STEP_TICKS, end - at) - 10, velocity))
    return notes


STYLES: dict[str, Styler] = {
    "scratch": _scratch,
    "bubble": _bubble,
    "strum": _strum,
    "sustain": _sustain,
    "stabs": _stabs,
    "comp": _comp,
    "skank": _skank,
    "arp": _arp,
    "arp_quarters": _arp_quarters,
    "broken": _broken,
    "power_8ths": _power_8ths,
    "ostinato": _ostinato,
}


def _is_tonic(plan: Plan, span: ChordSpan) -> bool:
    return span.chord.root == plan.parsed_key().tonic


def compose_chords(
    plan: Plan,
    style: str,
    voice: str,
    spans: list[ChordSpan],
    rng: np.random.Generator,
    center: int | None = None,
) -> list[Note]:
    """The chords role in ``style``, voiced about ``center`` (MIDI pitch; the voice's
    ``CHORD_CENTER`` when ``None``)."""
    styler = STYLES[style]
    ctx = HarmonyContext(plan, rng)
    if center is None:
        center = CHORD_CENTER.get(voice, DEFAULT_CHORD_CENTER)
    previous: list[int] | None = None
    notes: list[Note] = []
    for span in spans:
        section = plan.sections[span.section_index]
        if "chords" not in section.roles:
            continue
        voicing = voice_chord(span.chord, previous, center, root_position=_is_tonic(plan, span))
        previous = voicing
        _, section_end = section_ticks(section)
        notes.extend(styler(ctx, span, span.start_tick, min(span.end_tick, section_end), voicing))
    return notes


# A pad style that holds only the tonic pedal, no chord: a drone under parts that carry the
# harmony themselves (trap's piano and bell), which a held chord in their register masked.
PEDAL = "pedal"


def compose_pads(
    plan: Plan, spans: list[ChordSpan], style: str = "sustain", center: int | None = None
) -> list[Note]:
    """Voice-led chords about ``center`` (MIDI pitch; ``PAD_CENTER`` when ``None``) that
    carry the harmony between sections: held (``"sustain"``, over a tonic pedal in minor and
    modal keys), played in any chord ``style`` (horn stabs, organ bubble, strums), or only the
    held tonic (``PEDAL``)."""
    ctx = HarmonyContext(plan, np.random.default_rng(0))
    styler = None if style == PEDAL else STYLES[style]
    key = plan.parsed_key()
    # Minor and modal keys hold their tonic under the held pad (a pedal point, as modal music
    # keeps its drone): the same notes over another tonic read as the relative major.
    center = PAD_CENTER if center is None else center
    held = style in ("sustain", PEDAL)
    pedal = (
        bass_pitch(key.tonic, center - 19, center - 8)
        if key.mode != "major" or style == PEDAL
        else None
    )
    previous: list[int] | None = None
    notes: list[Note] = []
    for span in spans:
        section = plan.sections[span.section_index]
        if "pads" not in section.roles:
            continue
        voicing = voice_chord(span.chord, previous, center, root_position=_is_tonic(plan, span))
        previous = voicing
        _, section_end = section_ticks(section)
        end = span.end_tick if held else min(span.end_tick, section_end)
        if styler is not None:
            notes.extend(styler(ctx, span, span.start_tick, end, voicing))
        if pedal is not None and held:
            notes.append(Note(pedal, span.start_tick, end - span.start_tick - 10, 64))
    return notes


GATE_GAP_TICKS = 10  # between a chop and the next, as between any two repeated notes


def gate_notes(notes: list[Note], pattern: str) -> list[Note]:
    """``notes`` cut into the open runs of a trance-gate ``pattern`` (16ths, ``"x"`` open,
    ``"."`` closed, repeating from tick 0): each run of open 16ths inside a note becomes a
    note of its own, at the note's pitch and velocity, ``GATE_GAP_TICKS`` short of the run's
    end. Raises ``ValueError`` for a pattern with no open step or other characters."""
    if "x" not in pattern or set(pattern) - {"x", "."}:
        raise ValueError(f"gate pattern must be 'x'/'.' 16ths with an 'x', got {pattern!r}")
    period = len(pattern)
    chops: list[Note] = []
    for note in notes:
        end = note.start_tick + note.duration_ticks
        first, last = note.start_tick // STEP_TICKS, -(-end // STEP_TICKS)
        run_start: int | None = None
        for step in range(first, last + 1):
            is_open = step < last and pattern[step % period] == "x"
            if is_open and run_start is None:
                run_start = max(step * STEP_TICKS, note.start_tick)
            elif not is_open and run_start is not None:
                run_end = min(step * STEP_TICKS, end)
                duration = run_end - run_start - GATE_GAP_TICKS
                if duration > 0:
                    chops.append(Note(note.pitch, run_start, duration, note.velocity))
                run_start = None
    return chops


def without_unisons(notes: list[Note], others: list[Note], window_ticks: int) -> list[Note]:
    """``notes`` less those that another part strikes at the same pitch within
    ``window_ticks`` of the same moment: a unison doubling is heard as one note (the louder
    part's), so a gated part leaves those tones to the part it would double."""
    struck: dict[int, list[int]] = {}
    for other in others:
        struck.setdefault(other.pitch, []).append(other.start_tick)
    return [
        n
        for n in notes
        if not any(abs(n.start_tick - t) < window_ticks for t in struck.get(n.pitch, ()))
    ]
