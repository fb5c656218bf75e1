"""Note starts and ends are click-free."""

from __future__ import annotations

import numpy as np
import pytest

from musewave.engine.render import VOICES, render_part
from musewave.engine.score import TICKS_PER_BEAT, Note, Part

from .conftest import BPM, SAMPLES_PER_BEAT, SR, one_note


def test_sustained_pad_has_no_clicks_at_note_boundaries() -> None:
    beat = TICKS_PER_BEAT
    notes = [Note(60, 0, 4 * beat, 100), Note(64, 4 * beat, 4 * beat, 100)]
    audio = render_part(Part("pad", "pads", "pad", 0, notes=notes), BPM, SR, 6 * SR, seed=1)[0]
    steps = np.abs(np.diff(audio))
    # The pad's filter sweeps, so its brightness (and slope) changes over a note: compare each
    # boundary with the steepest slope of both held notes away from the boundaries.
    held = [steps[int(0.2 * SR) : 4 * SAMPLES_PER_BEAT - 220]]
    held.append(steps[4 * SAMPLES_PER_BEAT + 220 : 8 * SAMPLES_PER_BEAT - 220])
    steady = max(part.max() for part in held)
    for boundary in (0, 4 * SAMPLES_PER_BEAT, 8 * SAMPLES_PER_BEAT):
        around = steps[max(boundary - 220, 0) : boundary + 220]
        assert around.max() < 1.2 * steady, boundary
    assert abs(audio[0]) < 1e-3


@pytest.mark.parametrize("voice", sorted(VOICES))
def test_every_voice_starts_and_ends_quietly(voice: str) -> None:
    pitch = 40 if "bass" in voice else 64
    audio = render_part(one_note(voice, pitch, beats=1), BPM, SR, 2 * SR, seed=1)
    peak = np.abs(audio).max()
    # the first 0.5 ms rises gently from silence
    assert np.abs(audio[:, :22]).max() < 0.3 * peak
    # and the note has fully died away after its release
    assert np.abs(audio[:, SAMPLES_PER_BEAT + int(1.3 * SR) :]).max() < 1e-4
