"""Hip-hop beats chant on the beat (the kit's vocal one-shots) until a singer takes over."""

import numpy as np
import pytest

from musewave.engine.compose import compose_score
from musewave.engine.genres import CLOSED_HAT, GENRES, VOX_KEYS
from musewave.engine.plan import Plan, make_plan
from musewave.engine.request import GenerationRequest
from musewave.engine.score import TICKS_PER_BEAT, Score


def plan_for(genre: str, seed: int = 5, duration: float = 60, **fields: object) -> Plan:
    return make_plan(
        GenerationRequest.model_validate(
            {"prompt": "test", "genres": [genre], "seed": seed, "duration_s": duration, **fields}
        )
    )


def score_for(genre: str, seed: int = 5, duration: float = 60) -> Score:
    return compose_score(plan_for(genre, seed, duration))


@pytest.mark.parametrize("genre", ["trap", "hiphop", "reggaeton"])
def test_hip_hop_beats_chant_in_time_until_a_singer_takes_over(genre: str) -> None:
    score = score_for(genre)
    drums = next(p for p in score.parts if p.is_drums)
    shots = [n for n in drums.notes if n.pitch in VOX_KEYS]
    assert shots, genre
    # On the 8th-note grid (within the kit's humanizing), in the sections the full groove
    # plays: on the beat, or in the pockets between (trap).
    offsets = [n.start_tick % (TICKS_PER_BEAT // 2) for n in shots]
    near = [min(o, TICKS_PER_BEAT // 2 - o) for o in offsets]
    assert np.median(near) < TICKS_PER_BEAT // 8
    sung = compose_score(plan_for(genre).model_copy(update={"ad_libs": False}))
    sung_drums = next(p for p in sung.parts if p.is_drums)
    assert not any(n.pitch in VOX_KEYS for n in sung_drums.notes)
    assert len(sung_drums.notes) == len(drums.notes) - len(shots)
    assert drums.notes and len(drums.notes) > len(sung_drums.notes)  # the original is untouched
    assert [p.notes for p in sung.parts if not p.is_drums] == [
        p.notes for p in score.parts if not p.is_drums
    ]


def test_trap_ad_libs_answer_the_keys_between_the_beats() -> None:
    # Shouted on the beat, the ad-libs landed on every note of the quarter-note keys and hid
    # half of them: they sit on the offbeat 8ths, where no key or hook note starts.
    score = score_for("trap")
    drums = next(p for p in score.parts if p.is_drums)
    shots = [n.start_tick for n in drums.notes if n.pitch in VOX_KEYS]
    half = TICKS_PER_BEAT // 2
    offsets = np.array(shots) % TICKS_PER_BEAT
    assert shots and np.all(np.abs(offsets - half) < TICKS_PER_BEAT // 8)
    keys = {n.start_tick for p in score.parts if p.stem == "chords" for n in p.notes}
    assert keys and not any(abs(k - s) < TICKS_PER_BEAT // 8 for k in keys for s in shots)


def test_trap_hats_run_in_16ths_at_the_written_tempo() -> None:
    groove = GENRES["trap"].grooves["full"]
    assert "." not in groove[CLOSED_HAT] and len(groove[CLOSED_HAT]) == 16


@pytest.mark.parametrize(
    ("fields", "ad_libs"),
    [
        ({}, True),
        ({"instrumental": False}, False),  # a singer takes the voice
        ({"prompt": "instrumental trap beat, no vocals"}, False),
        ({"prompt": "trap beat without ad libs"}, False),
    ],
)
def test_the_plan_says_whether_the_kit_chants(fields: dict[str, object], ad_libs: bool) -> None:
    plan = plan_for("trap", **fields)
    assert plan.ad_libs is ad_libs
    drums = next(p for p in compose_score(plan).parts if p.is_drums)
    assert any(n.pitch in VOX_KEYS for n in drums.notes) is ad_libs
