"""The composer: plan → score (notes per part), deterministic from the plan's seed."""

from __future__ import annotations

import zlib
from collections.abc import Collection
from dataclasses import replace

import numpy as np

from musewave.engine.compose.ad_libs import ad_libs_in_pockets
from musewave.engine.compose.bass import compose_bass
from musewave.engine.compose.drums import compose_drums, without_vocal_shots
from musewave.engine.compose.harmony import (
    compose_chords,
    compose_pads,
    gate_notes,
    without_unisons,
)
from musewave.engine.compose.melody import compose_lead
from musewave.engine.compose.timeline import chord_timeline, swing_tick
from musewave.engine.plan import Plan
from musewave.engine.render import GATED_PATCHES
from musewave.engine.score import TICKS_PER_BEAT, Note, Part, Score

# General-MIDI programs (0-based) for each renderer voice, used in the exported MIDI file.
MIDI_PROGRAMS = {
    "sub_bass": 38, "bass_808": 38, "reese_bass": 39, "acid_bass": 38, "synth_bass": 38,
    "upright_bass": 32, "electric_bass": 33, "supersaw": 81, "saw_lead": 81, "square_lead": 80,
    "pluck": 45, "electric_piano": 4, "piano": 0, "pad": 89, "strings": 48, "brass": 61,
    "bell": 11, "organ": 16, "guitar_clean": 27, "guitar_distorted": 30, "choir": 52,
    "guitar_overdriven": 29,
    "marimba": 12, "clavinet": 7, "slap_bass": 36, "guitar_acoustic": 25, "log_drum": 117,
    "trumpet": 56, "reed_organ": 20, "tenor_sax": 66, "drone_bass": 38, "layered_choir": 52,
}  # fmt: skip
# A gated patch is its held voice's instrument, chopped: the same program.
MIDI_PROGRAMS.update({patch: MIDI_PROGRAMS[held] for held, patch in GATED_PATCHES.items()})

__all__ = ["MIDI_PROGRAMS", "compose_score"]


def _part_rng(plan: Plan, role: str) -> np.random.Generator:
    return np.random.default_rng([plan.seed, zlib.crc32(role.encode())])


def _humanize(
    notes: list[Note], plan: Plan, rng: np.random.Generator, timing_ms: float
) -> list[Note]:
    """Swing plus seeded timing (± ``timing_ms``) and velocity (±10 %) jitter for tonal parts."""
    ticks_per_ms = plan.bpm * TICKS_PER_BEAT / 60_000.0
    jitter = rng.normal(0.0, timing_ms / 2.5, len(notes)).clip(-timing_ms, timing_ms)
    gain = rng.uniform(0.9, 1.1, len(notes))
    return [
        Note(
            n.pitch,
            max(0, swing_tick(n.start_tick, plan.swing) + round(float(j) * ticks_per_ms)),
            n.duration_ticks,
            int(np.clip(round(n.velocity * float(g)), 1, 127)),
        )
        for n, j, g in zip(notes, jitter, gain, strict=True)
    ]


def _tidy(notes: list[Note], total_ticks: int) -> list[Note]:
    """Sort, cut at the end, and shorten any note that would overlap the next one of the same
    pitch, so the MIDI file (where such overlaps are ambiguous) re-reads to the same notes."""
    ordered = sorted(
        (n for n in notes if n.start_tick < total_ticks and n.duration_ticks > 0),
        key=lambda n: (n.start_tick, n.pitch, n.duration_ticks),
    )
    next_start: dict[int, int] = {}
    kept: list[Note] = []
    for note in reversed(ordered):
        limit = min(next_start.get(note.pitch, total_ticks), total_ticks)
        duration = min(note.duration_ticks, limit - note.start_tick)
        if duration > 0:
            kept.append(Note(note.pitch, note.start_tick, duration, note.velocity))
            next_start[note.pitch] = note.start_tick
    kept.reverse()
    return kept


def compose_score(plan: Plan) -> Score:
    """Compose every part the plan lists; parts are returned in the plan's order."""
    profile = plan.profile()
    key = plan.parsed_key()
    spans = chord_timeline(plan, key)
    total_ticks = plan.music_beats * TICKS_PER_BEAT
    humanize_ms = profile.humanize_ms
    parts: list[Part] = []
    gated: set[str] = set()  # roles written as gate chops
    for part_plan in plan.parts:
        rng = _part_rng(plan, part_plan.role)
        role, voice = part_plan.role, part_plan.voice
        if role == "drums":
            notes = compose_drums(plan, profile, rng)
        elif role == "bass":
            notes = _humanize(
                compose_bass(plan, profile, key, spans, voice, rng), plan, rng, humanize_ms / 2
            )
        elif role == "chords":
            notes = compose_chords(
                plan, profile.chord_style, voice, spans, rng, profile.chord_center
            )
            notes = _humanize(notes, plan, rng, humanize_ms)
        elif role == "pads":
            notes = compose_pads(plan, spans, profile.pad_style, profile.pad_center)
            notes = _humanize(notes, plan, rng, humanize_ms)
        else:
            notes = compose_lead(plan, key, spans, profile.lead_style, voice)
            notes = _humanize(notes, plan, rng, humanize_ms)
        gate = profile.gates.get(role)
        if gate is not None and voice in GATED_PATCHES:
            # Chopped after humanizing: the gate is a tempo-synced effect, on the grid. Only
            # a synth with a gated patch is chopped: a piano or a choir the user asked for on
            # that role plays its chords as written.
            notes = gate_notes(notes, gate)
            voice = GATED_PATCHES[voice]
            gated.add(role)
        parts.append(
            Part(
                name=role,
                stem=part_plan.stem,
                voice=voice,
                midi_program=0 if role == "drums" else MIDI_PROGRAMS.get(voice, 0),
                is_drums=role == "drums",
                notes=_tidy(notes, total_ticks),
            )
        )
    parts = _without_unisons_below(parts, gated)
    if plan.ad_libs:
        parts = _ad_libs_in_pockets(parts, plan.bpm, total_ticks)
    score = Score(
        bpm=plan.bpm, beats_per_bar=plan.beats_per_bar, total_ticks=total_ticks, parts=parts
    )
    return score if plan.ad_libs else without_vocal_shots(score)


def _ad_libs_in_pockets(parts: list[Part], bpm: float, total_ticks: int) -> list[Part]:
    """``parts`` with the kit's ad-libs moved off the pitched parts' attacks (``ad_libs``),
    the drum part tidied again (in time order, inside the track)."""
    pitched = [n for part in parts if not part.is_drums for n in part.notes]
    return [
        replace(part, notes=_tidy(ad_libs_in_pockets(part.notes, pitched, bpm), total_ticks))
        if part.is_drums
        else part
        for part in parts
    ]


# Who keeps a tone two parts strike together: the gated parts give way to the melody, the
# bass and the chords (in that order), as an arranger thins a synth wall around the lines.
_UNISON_PRIORITY = ("lead", "bass", "chords", "pads")


def _without_unisons_below(parts: list[Part], thinned: Collection[str]) -> list[Part]:
    """``parts`` with the notes of each part named in ``thinned`` that double a part ranked
    above it (``_UNISON_PRIORITY``) in unison removed (see ``without_unisons``); the window
    is half a 16th."""
    window = round(TICKS_PER_BEAT / 8)
    rank = {role: i for i, role in enumerate(_UNISON_PRIORITY)}
    result: list[Part] = []
    for part in parts:
        if part.name in thinned and not part.is_drums:
            above = [
                n
                for other in parts
                if other is not part
                and not other.is_drums
                and rank.get(other.name, -1) < rank.get(part.name, len(rank))
                for n in other.notes
            ]
            part = replace(part, notes=without_unisons(part.notes, above, window))
        result.append(part)
    return result
