"""Placing notes in time and summing parts into stems."""

from __future__ import annotations

import numpy as np
import pytest

from musewave.engine.errors import Cancelled
from musewave.engine.render import render_part, render_stems, stem_names
from musewave.engine.score import TICKS_PER_BEAT, Note, Part, Score
from tests.engine.fresh_process import printed_by_a_fresh_interpreter

from .conftest import BPM, SAMPLES_PER_BEAT, SR, drum_hit, one_note


def _score(parts: list[Part]) -> Score:
    return Score(bpm=BPM, beats_per_bar=4, total_ticks=8 * TICKS_PER_BEAT, parts=parts)


def _first_sound(audio: np.ndarray) -> int:
    return int(np.flatnonzero(np.abs(audio).max(axis=0) > 1e-6)[0])


def test_note_starts_at_its_tick_converted_to_samples() -> None:
    start_tick = 3 * TICKS_PER_BEAT + 120  # beat 3.25
    part = Part("p", "chords", "pluck", 0, notes=[Note(60, start_tick, 240, 100)])
    audio = render_part(part, BPM, SR, 2 * SR, seed=1)
    expected = round(start_tick / TICKS_PER_BEAT * 60 / BPM * SR)
    assert expected <= _first_sound(audio) <= expected + 2


def test_velocity_scales_amplitude_by_the_1_5_power_law() -> None:
    loud = render_part(one_note("organ", 60, velocity=127), BPM, SR, SR, seed=1)
    soft = render_part(one_note("organ", 60, velocity=64), BPM, SR, SR, seed=1)
    # organ keeps one timbre across velocities, so only the gain differs
    np.testing.assert_allclose(soft, loud * (64 / 127) ** 1.5, atol=1e-6)


def test_notes_past_the_end_are_truncated_without_error() -> None:
    notes = [
        Note(48, 7 * TICKS_PER_BEAT, 8 * TICKS_PER_BEAT, 100),
        Note(50, 40 * TICKS_PER_BEAT, 480, 90),
    ]
    part = Part("p", "pads", "pad", 0, notes=notes)
    n = 8 * SAMPLES_PER_BEAT
    audio = render_part(part, BPM, SR, n, seed=1)
    assert audio.shape == (2, n)
    assert np.abs(audio[:, -1000:]).max() > 0.0


def test_stems_sum_parts_and_skip_stems_without_notes() -> None:
    parts = [
        drum_hit("kit_808", 36),
        one_note("sub_bass", 36),
        Part("extra", "bass", "acid_bass", 0, notes=[Note(48, 480, 240, 90)]),
        Part("silent", "lead", "saw_lead", 0, notes=[]),
    ]
    parts[1].stem = "bass"
    stems = render_stems(_score(parts), SR, SR, seed=9)
    assert list(stems) == ["drums", "bass"]
    expected_bass = render_part(parts[1], BPM, SR, SR, 9) + render_part(parts[2], BPM, SR, SR, 9)
    np.testing.assert_allclose(stems["bass"], expected_bass, atol=1e-6)
    assert all(s.shape == (2, SR) and s.dtype == np.float32 for s in stems.values())


def test_each_stem_is_handed_over_once_after_its_last_part() -> None:
    parts = [
        one_note("sub_bass", 36),
        drum_hit("kit_808", 36),
        Part("extra", "bass", "acid_bass", 0, notes=[Note(48, 480, 240, 90)]),
        Part("silent", "lead", "saw_lead", 0, notes=[]),
    ]
    parts[0].stem = "bass"
    handed: list[tuple[str, np.ndarray]] = []

    def take(name: str, audio: np.ndarray) -> None:
        handed.append((name, audio.copy()))

    stems = render_stems(_score(parts), SR, SR, seed=9, on_stem=take)
    # drums are complete after the second part, bass only after the third
    assert [name for name, _ in handed] == ["drums", "bass"]
    assert stem_names(_score(parts)) == list(stems) == ["drums", "bass"]
    for name, audio in handed:  # final when handed over: nothing was added afterwards
        np.testing.assert_array_equal(audio, stems[name])
    # With ``release`` the callee owns what it was handed: only the rest is returned.
    handed.clear()
    assert render_stems(_score(parts), SR, SR, seed=9, on_stem=take, release=True) == {}
    assert [name for name, _ in handed] == ["drums", "bass"]


def test_cancel_is_checked_before_each_part() -> None:
    calls: list[int] = []

    def cancel_on_second_part() -> bool:
        calls.append(1)
        return len(calls) == 2

    parts = [drum_hit("kit_electronic", 36), one_note("piano", 60), one_note("pad", 60)]
    with pytest.raises(Cancelled):
        render_stems(_score(parts), SR, SR, seed=1, should_cancel=cancel_on_second_part)
    assert len(calls) == 2


_DIGEST_SCRIPT = """
import hashlib
from musewave.engine.render import render_part
from musewave.engine.score import Note, Part

hits = [Note(38, 0, 120, 100), Note(42, 240, 120, 80), Note(46, 480, 120, 90)]
drums = render_part(Part("kit", "drums", "kit_lofi", 0, True, hits), 120.0, 44100, 44100, 3)
keys = Part("keys", "chords", "strings", 0, False, [Note(60, 0, 960, 90)])
strings = render_part(keys, 120.0, 44100, 44100, 3)
DIGEST = hashlib.sha256(drums.tobytes() + strings.tobytes()).hexdigest()
"""


def test_renders_are_bit_identical_across_processes() -> None:
    here: dict[str, str] = {}
    exec(_DIGEST_SCRIPT, here)
    other = printed_by_a_fresh_interpreter(_DIGEST_SCRIPT + "print(DIGEST)")
    assert other == here["DIGEST"]
