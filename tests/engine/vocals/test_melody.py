"""The vocal melody: stress on strong beats, chord tones where they matter, inside the range."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from musewave.engine.compose.timeline import chord_at, chord_timeline, section_ticks
from musewave.engine.plan import Plan
from musewave.engine.score import TICKS_PER_BEAT
from musewave.engine.vocals.melody import (
    MelodyError,
    compose_line,
    line_windows,
    place_onsets,
)

BAR = 4 * TICKS_PER_BEAT


def _verse(plan: Plan) -> int:
    return next(i for i, s in enumerate(plan.sections) if s.kind == "verse")


def test_line_windows_share_a_section_by_syllables_on_bar_lines(pop_plan: Plan) -> None:
    index = _verse(pop_plan)
    span = section_ticks(pop_plan.sections[index])
    windows = line_windows(pop_plan, span, [4, 12])
    assert windows[0][0] == span[0] and windows[-1][1] == span[1]
    assert windows[0][1] == windows[1][0]
    assert all((end - start) % TICKS_PER_BEAT == 0 for start, end in windows)
    assert windows[1][1] - windows[1][0] >= windows[0][1] - windows[0][0]
    with pytest.raises(MelodyError, match="lines do not fit"):
        line_windows(pop_plan, (0, 2 * TICKS_PER_BEAT), [1, 1, 1])


def test_stressed_syllables_land_on_beats(pop_plan: Plan) -> None:
    stresses = [0, 2, 0, 2, 0, 0, 2]  # "a-WAY from the NIGHT and the LIGHT"
    onsets, end = place_onsets((0, 2 * BAR), stresses, pop_plan, np.random.default_rng(1))
    assert onsets == sorted(set(onsets)) and onsets[0] >= 0 and end <= 2 * BAR
    stressed = [t for t, s in zip(onsets, stresses, strict=True) if s == 2]
    assert all(t % TICKS_PER_BEAT == 0 for t in stressed)


def test_too_many_syllables_for_the_window_is_an_error(pop_plan: Plan) -> None:
    with pytest.raises(MelodyError, match="even as 16ths"):
        place_onsets((0, TICKS_PER_BEAT), [0] * 8, pop_plan, np.random.default_rng(1))


def test_a_line_fits_chords_range_and_ends_on_a_chord_tone(pop_plan: Plan) -> None:
    key = pop_plan.parsed_key()
    spans = chord_timeline(pop_plan, key)
    index = _verse(pop_plan)
    window = section_ticks(pop_plan.sections[index])
    for seed in range(8):
        stresses = [2, 0, 1, 0, 2, 0, 0, 2, 0, 2]
        notes = compose_line(
            pop_plan, key, spans, window, stresses, (57, 76),
            center=66.0, block_end=True, rng=np.random.default_rng(seed),
        )  # fmt: skip
        assert len(notes) == len(stresses)
        flat = [n for group in notes for n in group]
        assert all(57 <= n.pitch <= 76 for n in flat)
        assert all(a.end_tick <= b.start_tick for a, b in itertools.pairwise(flat))
        assert all(n.duration_ticks > 0 for n in flat)
        assert all(n.pitch % 12 in key.scale for n in flat)
        last = flat[-1]
        chord = chord_at(spans, last.start_tick).chord
        assert last.pitch % 12 in chord.pitch_classes
        # Strong positions (stressed syllables' first notes) are chord tones.
        for group, stress in zip(notes, stresses, strict=True):
            if stress == 2:
                tones = chord_at(spans, group[0].start_tick).chord.pitch_classes
                assert group[0].pitch % 12 in tones or group is notes[-1]
        leaps = [abs(a.pitch - b.pitch) for a, b in itertools.pairwise(flat)]
        assert max(leaps) <= 9


def test_long_notes_sometimes_carry_a_melisma(pop_plan: Plan) -> None:
    key = pop_plan.parsed_key()
    spans = chord_timeline(pop_plan, key)
    found = 0
    for seed in range(20):
        notes = compose_line(
            pop_plan, key, spans, (0, 2 * BAR), [2, 0, 2], (48, 67),
            center=57.0, block_end=False, rng=np.random.default_rng(seed),
        )  # fmt: skip
        for group in notes:
            if len(group) > 1:
                found += 1
                assert group[0].end_tick == group[1].start_tick
                assert abs(group[0].pitch - group[1].pitch) <= 2
    assert found > 0
