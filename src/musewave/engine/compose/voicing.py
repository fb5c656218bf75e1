"""Chord voicings with voice leading: each chord takes the voicing nearest the one before."""

from __future__ import annotations

import itertools

from musewave.engine.theory import Chord


def _home_chord_tones(chord: Chord, max_notes: int) -> list[int] | None:
    """The tonic chord's tones: its triad whole, no minor seventh (in a minor chord b3-5-b7
    is the relative major's triad; over a mixolydian I7 it pulled to the major key a fourth
    up), extensions dropped from the top when there are too many; ``None`` for a chord
    without a third (sus2) to keep."""
    intervals = [i for i in chord.intervals if (i < 12 and i != 10) or i == 14]
    while len(intervals) > max_notes and max(intervals) > 11:
        intervals.remove(max(intervals))
    if not {3, 4} & set(intervals) or len(intervals) > max_notes:
        return None
    return [(chord.root + i) % 12 for i in intervals]


def chord_tones(chord: Chord, max_notes: int, keep_triad: bool = False) -> list[int]:
    """Pitch classes to voice. Large chords drop the fifth, then the root (the bass has it).

    ``keep_triad`` (the key's home chord) keeps root, third and fifth: A minor's i9 without
    its fifth (A-C-G-B) is most of C major's Imaj7 (C-E-G-B) and of G major's triad, and even
    with its fifth the minor seventh (A-C-E-G, C6) pulled a key detector to C or G major; as
    A-C-E-B it was heard in A minor. A major seventh (the leading tone) stays."""
    if keep_triad and (home := _home_chord_tones(chord, max_notes)) is not None:
        return home
    tones = list(chord.pitch_classes)
    if len(tones) > max_notes and len(chord.intervals) > 3 and 7 in chord.intervals:
        tones.remove((chord.root + 7) % 12)
    if len(tones) > max_notes:
        tones.remove(chord.root)
    return tones[:max_notes]


def _candidates(tones: list[int], low: int, high: int) -> list[list[int]]:
    out: list[list[int]] = []
    for order in itertools.permutations(tones):
        for base in range(low, high):
            if base % 12 != order[0]:
                continue
            voicing = [base]
            for pc in order[1:]:
                step = (pc - voicing[-1]) % 12 or 12
                voicing.append(voicing[-1] + step)
            if voicing[-1] <= high and voicing[-1] - voicing[0] <= 14:
                out.append(voicing)
    return out


def voice_chord(
    chord: Chord,
    previous: list[int] | None,
    center: int,
    max_notes: int = 4,
    root_position: bool = False,
) -> list[int]:
    """A voicing of ``chord`` within about an octave of ``center``, moving least from
    ``previous`` (sum of semitone motion), with a pull towards ``center`` so it doesn't drift.

    ``root_position`` puts the root at the bottom and keeps the triad whole (see
    ``chord_tones``): the tonic chord of a minor key voiced third-first (C-E-A in A minor) is
    its relative major's tonic in first inversion."""
    tones = chord_tones(chord, max_notes, keep_triad=root_position)
    candidates = _candidates(tones, center - 12, center + 12)
    if root_position and chord.root in tones:
        candidates = [v for v in candidates if v[0] % 12 == chord.root] or candidates

    def cost(voicing: list[int]) -> float:
        drift = abs(sum(voicing) / len(voicing) - center)
        if previous is None or len(previous) != len(voicing):
            return drift
        motion = sum(abs(a - b) for a, b in zip(sorted(voicing), sorted(previous), strict=True))
        return motion + 0.5 * drift

    return min(candidates, key=lambda v: (cost(v), v))


def bass_pitch(pitch_class: int, low: int, high: int) -> int:
    """The pitch with this pitch class in [low, high] (lowest such)."""
    for pitch in range(low, high + 1):
        if pitch % 12 == pitch_class:
            return pitch
    raise ValueError(f"no pitch class {pitch_class} in [{low}, {high}]")
