"""Drum parts from the genre's grooves, with fills, crashes, rolls and builds."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from musewave.engine.compose.timeline import STEP_TICKS, bar_ticks, section_ticks, swing_tick
from musewave.engine.genres import (
    CLOSED_HAT,
    CRASH,
    KICK,
    OPEN_HAT,
    SNARE,
    TOM_FLOOR,
    TOM_HIGH,
    TOM_LOW,
    TOM_MID,
    VOX_KEYS,
    GenreProfile,
)
from musewave.engine.plan import Plan
from musewave.engine.score import Note, Score

STEP_VELOCITY = {"x": 100, "o": 120, "g": 48}
FOUR_ON_THE_FLOOR = "x...x...x...x..."


def _groove_notes(
    groove: dict[int, str], bar_start: int, steps: int, energy: float, skip_from_step: int
) -> list[Note]:
    notes: list[Note] = []
    scale = 0.75 + 0.25 * energy
    for key, pattern in groove.items():
        for step, char in enumerate(pattern[:steps]):
            if char == "." or step >= skip_from_step:
                continue
            length = 2 * STEP_TICKS if key == OPEN_HAT else STEP_TICKS
            velocity = round(STEP_VELOCITY[char] * scale)
            notes.append(Note(key, bar_start + step * STEP_TICKS, length, velocity))
    return notes


def _fill(style: str, bar_start: int, steps: int, energy: float) -> list[Note]:
    """A fill over the last half bar: a snare run or toms walking down, getting louder."""
    first = steps // 2
    keys = [TOM_HIGH, TOM_HIGH, TOM_MID, TOM_MID, TOM_LOW, TOM_LOW, TOM_FLOOR, TOM_FLOOR]
    notes: list[Note] = []
    for index, step in enumerate(range(first, steps)):
        key = SNARE if style == "snare" else keys[min(index, len(keys) - 1)]
        velocity = round((70 + 50 * index / max(1, steps - first - 1)) * (0.8 + 0.2 * energy))
        notes.append(Note(key, bar_start + step * STEP_TICKS, STEP_TICKS, min(127, velocity)))
    return notes


def _hat_roll(bar_start: int, beat: int, rng: np.random.Generator) -> list[Note]:
    """Trap hats: one beat split into 32nds or 16th triplets, velocity ramping."""
    divisions = 8 if rng.random() < 0.5 else 6
    length = 4 * STEP_TICKS // divisions
    start = bar_start + beat * 4 * STEP_TICKS
    return [
        Note(CLOSED_HAT, start + i * length, length, 60 + round(40 * i / divisions))
        for i in range(divisions)
    ]


def _build_roll(start: int, end: int, bar: int) -> list[Note]:
    """A snare build: quarters, then 8ths, then 16ths in the last bar before the drop."""
    total = max(1, (end - start) // bar)
    notes: list[Note] = []
    for index in range(total):
        bar_start = start + index * bar
        remaining = total - index
        interval = (
            STEP_TICKS if remaining == 1 else 2 * STEP_TICKS if remaining == 2 else 4 * STEP_TICKS
        )
        for offset, tick in enumerate(range(bar_start, bar_start + bar, interval)):
            velocity = 50 + round(60 * (index + offset * interval / bar) / total)
            notes.append(Note(SNARE, tick, min(interval, STEP_TICKS), min(120, velocity)))
    return notes


def compose_drums(plan: Plan, profile: GenreProfile, rng: np.random.Generator) -> list[Note]:
    bar = bar_ticks(plan)
    steps = plan.beats_per_bar * 4
    kick_is_straight = profile.grooves.get("full", {}).get(KICK, "") == FOUR_ON_THE_FLOOR
    notes: list[Note] = []
    for index, section in enumerate(plan.sections):
        if section.drums == "none" or not profile.grooves.get(section.drums):
            continue
        groove = dict(profile.grooves[section.drums])
        start, end = section_ticks(section)
        next_section = plan.sections[index + 1] if index + 1 < len(plan.sections) else None
        wants_fill = (
            profile.fill != "none"
            and section.drums == "full"
            and next_section is not None
            and next_section.kind != section.kind
            and section.beats >= 2 * plan.beats_per_bar
        )
        if section.kind == "build":
            notes.extend(_build_roll(start, end, bar))
        for bar_start in range(start, end, bar):
            is_last_bar = bar_start + bar >= end
            fill_here = wants_fill and is_last_bar
            skip_from = steps // 2 if fill_here else steps
            notes.extend(_groove_notes(groove, bar_start, steps, section.energy, skip_from))
            if fill_here:
                notes.extend(_fill(profile.fill, bar_start, steps, section.energy))
            elif profile.hat_rolls and section.drums == "full" and rng.random() < 0.5:
                notes.extend(_hat_roll(bar_start, int(rng.integers(1, plan.beats_per_bar)), rng))
        if profile.crash_on_sections and section.drums == "full" and index > 0:
            notes.append(Note(CRASH, start, 4 * STEP_TICKS, 110))
    notes = [n for n in notes if n.start_tick < plan.music_beats * 4 * STEP_TICKS]
    return _humanize_drums(notes, plan, profile, kick_is_straight, rng)


def _humanize_drums(
    notes: list[Note],
    plan: Plan,
    profile: GenreProfile,
    kick_is_straight: bool,
    rng: np.random.Generator,
) -> list[Note]:
    """Swing, then seeded timing (±humanize_ms) and velocity (±10 %) jitter."""
    ticks_per_ms = plan.bpm * 4 * STEP_TICKS / 60_000.0
    jitter = rng.normal(0.0, profile.humanize_ms / 2.5, len(notes)).clip(
        -profile.humanize_ms, profile.humanize_ms
    )
    gain = rng.uniform(0.9, 1.1, len(notes))
    out: list[Note] = []
    for note, jitter_ms, factor in zip(notes, jitter, gain, strict=True):
        start = swing_tick(note.start_tick, plan.swing)
        fixed = note.pitch == KICK and kick_is_straight
        if not fixed:
            start = max(0, start + round(float(jitter_ms) * ticks_per_ms))
        velocity = int(np.clip(round(note.velocity * float(factor)), 1, 127))
        out.append(Note(note.pitch, start, note.duration_ticks, velocity))
    return out


def without_vocal_shots(score: Score) -> Score:
    """``score`` without the kit's vocal one-shots (``VOX_KEYS``), for a plan without
    ``ad_libs``. Parts are copied."""
    parts = [
        replace(part, notes=[n for n in part.notes if n.pitch not in VOX_KEYS])
        if part.is_drums
        else part
        for part in score.parts
    ]
    return replace(score, parts=parts)
