"""Hip-hop beats chant on the beat (the kit's vocal one-shots) until a singer takes over."""

import numpy as np
import pytest

from musewave.engine.compose import compose_score, without_vocal_shots
from musewave.engine.genres import CLOSED_HAT, GENRES, VOX_KEYS
from musewave.engine.plan import make_plan
from musewave.engine.request import GenerationRequest
from musewave.engine.score import TICKS_PER_BEAT, Score


def score_for(genre: str, seed: int = 5, duration: float = 60) -> Score:
    plan = make_plan(
        GenerationRequest(prompt="test", genres=[genre], seed=seed, duration_s=duration)
    )
    return compose_score(plan)


@pytest.mark.parametrize("genre", ["trap", "hiphop", "reggaeton"])
def test_hip_hop_beats_chant_on_the_beat_until_a_singer_takes_over(genre: str) -> None:
    score = score_for(genre)
    drums = next(p for p in score.parts if p.is_drums)
    shots = [n for n in drums.notes if n.pitch in VOX_KEYS]
    assert shots, genre
    # On the beat (within the kit's humanizing), in the sections the full groove plays.
    beat_offsets = [n.start_tick % TICKS_PER_BEAT for n in shots]
    near = [min(o, TICKS_PER_BEAT - o) for o in beat_offsets]
    assert np.median(near) < TICKS_PER_BEAT // 8
    sung = without_vocal_shots(score)
    sung_drums = next(p for p in sung.parts if p.is_drums)
    assert not any(n.pitch in VOX_KEYS for n in sung_drums.notes)
    assert len(sung_drums.notes) == len(drums.notes) - len(shots)
    assert drums.notes and len(drums.notes) > len(sung_drums.notes)  # the original is untouched
    assert [p.notes for p in sung.parts if not p.is_drums] == [
        p.notes for p in score.parts if not p.is_drums
    ]


def test_trap_hats_run_in_16ths_at_the_written_tempo() -> None:
    groove = GENRES["trap"].grooves["full"]
    assert "." not in groove[CLOSED_HAT] and len(groove[CLOSED_HAT]) == 16
