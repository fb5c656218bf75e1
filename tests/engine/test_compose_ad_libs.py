"""The hype man shouts where the keys rest: ad-libs move a beat off the pitched attacks."""

from itertools import pairwise

import numpy as np
import pytest

from musewave.engine.compose import compose_score
from musewave.engine.compose.ad_libs import VOX_LENGTH_S, ad_libs_in_pockets
from musewave.engine.genres import KICK, VOX_KEYS, VOX_LETS_GO, VOX_UH, VOX_YO
from musewave.engine.plan import make_plan
from musewave.engine.render.drums import VoxShot
from musewave.engine.render.kits import VOX_FIRST_KEY, VOX_WORDS
from musewave.engine.request import GenerationRequest
from musewave.engine.score import TICKS_PER_BEAT, Note

BPM = 120.0  # a beat is 0.5 s: every one-shot fits inside one
BEAT = TICKS_PER_BEAT


def _keys(*beats: float) -> list[Note]:
    return [Note(60, round(b * BEAT), BEAT // 2, 80) for b in beats]


def test_an_ad_lib_over_a_chord_moves_a_beat_to_where_the_keys_rest() -> None:
    drums = [Note(KICK, 0, 60, 100), Note(VOX_YO, 0, 60, 120), Note(KICK, BEAT, 60, 100)]
    moved = ad_libs_in_pockets(drums, _keys(0, 2, 3), BPM)
    assert moved[1] == Note(VOX_YO, BEAT, 60, 120)  # beat 2 is free
    assert moved[0] == drums[0] and moved[2] == drums[2]  # the kit stays where it is


def test_an_ad_lib_stays_where_written_unless_moving_frees_more_attacks() -> None:
    shout = Note(VOX_YO, 2 * BEAT, 60, 120)
    assert ad_libs_in_pockets([shout], _keys(0.5, 1.5, 2.5, 3.5), BPM) == [shout]  # a tie
    assert ad_libs_in_pockets([shout], [], BPM) == [shout]
    # With a beat free on either side, it answers (later) rather than anticipates.
    assert ad_libs_in_pockets([shout], _keys(2), BPM) == [Note(VOX_YO, 3 * BEAT, 60, 120)]


def test_ad_libs_never_start_before_the_track_nor_over_another_one() -> None:
    first, second = Note(VOX_YO, 0, 60, 120), Note(VOX_UH, BEAT, 60, 120)
    # Beat 1 is taken by keys, but beat 2 is the second shout's place: the first stays (it
    # cannot go before the track either).
    assert ad_libs_in_pockets([second, first], _keys(0, 0.25), BPM) == [second, first]
    # "let's go" (1.1 beats here) runs over the shout written a beat later, which can go
    # neither back under it nor on into the third's place: it stays where it was written.
    shouts = [Note(VOX_LETS_GO, 0, 60, 120), Note(VOX_YO, BEAT, 60, 120)]
    third = Note(VOX_UH, 2 * BEAT, 60, 120)
    assert ad_libs_in_pockets([*shouts, third], [], BPM) == [*shouts, third]


def test_the_nominal_lengths_are_the_words_the_kit_speaks() -> None:
    # The composer cannot hear the kit: its table of how long each word sounds must follow
    # the words and the voice (VoxShot's speed, trim and cut).
    from musewave.engine.vocals import espeak

    shot = VoxShot(VOX_WORDS)
    spoken = espeak.speak_fresh(VOX_WORDS, shot.rate_wpm)
    assert set(VOX_LENGTH_S) == set(VOX_KEYS)
    for index, audio in enumerate(spoken):
        voiced = np.flatnonzero(np.abs(audio) > 0.02 * np.abs(audio).max())
        length_s = min((voiced[-1] - voiced[0] + 1) / espeak.SAMPLE_RATE, shot.max_s)
        assert abs(VOX_LENGTH_S[VOX_FIRST_KEY + index] - length_s) < 0.015, VOX_WORDS[index]


@pytest.mark.parametrize("genre", ["trap", "hiphop", "reggaeton"])
def test_fewer_notes_start_under_the_ad_libs_than_where_the_groove_writes_them(
    genre: str,
) -> None:
    plan = make_plan(GenerationRequest(prompt="test", genres=[genre], seed=11, duration_s=60))
    score = compose_score(plan)
    drums = next(p for p in score.parts if p.is_drums)
    pitched = sorted(n.start_tick for p in score.parts if not p.is_drums for n in p.notes)
    ticks_per_s = plan.bpm * TICKS_PER_BEAT / 60.0

    def covered(shots: list[Note]) -> int:
        return sum(
            int(np.searchsorted(pitched, s.start_tick + VOX_LENGTH_S[s.pitch] * ticks_per_s))
            - int(np.searchsorted(pitched, s.start_tick - 0.03 * ticks_per_s))
            for s in shots
        )

    shots = [n for n in drums.notes if n.pitch in VOX_KEYS]
    written = [n for n in _unmoved(score, plan) if n.pitch in VOX_KEYS]
    assert 0 < len(shots) <= len(written)
    assert covered(shots) < covered(written)
    # Each shout keeps its place in the beat (moved by whole beats).
    assert {s.start_tick % BEAT for s in shots} <= {w.start_tick % BEAT for w in written}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_no_shout_is_moved_onto_another_at_traps_tempo(seed: int) -> None:
    # At 130-150 bpm "let's go" is longer than a beat: moved a beat on, it landed on the next
    # shout's place (16-25 pairs of a 60 s trap score did).
    plan = make_plan(GenerationRequest(prompt="test", genres=["trap"], seed=seed, duration_s=60))
    score = compose_score(plan)
    drums = next(p for p in score.parts if p.is_drums)
    shots = sorted((n for n in drums.notes if n.pitch in VOX_KEYS), key=lambda n: n.start_tick)
    written = {(n.pitch, n.start_tick) for n in _unmoved(score, plan) if n.pitch in VOX_KEYS}
    ticks_per_s = plan.bpm * TICKS_PER_BEAT / 60.0
    assert len(shots) > 8
    for shot, after in pairwise(shots):
        end = shot.start_tick + round(VOX_LENGTH_S[shot.pitch] * ticks_per_s)
        # Only shouts the groove wrote overlapping may still overlap, never on one tick.
        assert (
            end <= after.start_tick
            or {
                (shot.pitch, shot.start_tick),
                (after.pitch, after.start_tick),
            }
            <= written
        )
        assert shot.start_tick != after.start_tick


def _unmoved(score: object, plan: object) -> list[Note]:
    """The drum part as the groove writes it, before the ad-libs find their pockets."""
    from unittest import mock

    with mock.patch(
        "musewave.engine.compose.ad_libs_in_pockets", lambda drums, pitched, bpm: list(drums)
    ):
        unmoved = compose_score(plan)  # type: ignore[arg-type]
    return next(p for p in unmoved.parts if p.is_drums).notes
