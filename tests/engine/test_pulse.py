"""Grooves that carry the written tempo: every beat is played, not only the half-time backbeat.

A beat tracker (and a listener tapping along) heard trap's outro and fast jazz at half tempo
when beats 2 and 4 were left to quiet hats; these tests pin the parts that keep them.
"""

import numpy as np
import pytest

from musewave.engine.compose import compose_score
from musewave.engine.genres import CLOSED_HAT, GENRES, KICK, RIDE
from musewave.engine.plan import Plan, make_plan
from musewave.engine.request import GenerationRequest
from musewave.engine.score import TICKS_PER_BEAT, Note, Score

NEAR = TICKS_PER_BEAT // 8  # the kits' humanizing moves hits by a few ms, far less than this


def render_plan(
    genre: str, seed: int, duration: float = 60, bpm: float | None = None, prompt: str = "test"
) -> Plan:
    return make_plan(
        GenerationRequest(prompt=prompt, genres=[genre], seed=seed, duration_s=duration, bpm=bpm)
    )


def part(score: Score, name: str) -> list[Note]:
    if name == "drums":
        return next(p for p in score.parts if p.is_drums).notes
    return [n for p in score.parts if p.stem == name for n in p.notes]


def drummed_spans(plan: Plan) -> list[tuple[str, int, int]]:
    """``(groove, first tick, end tick)`` of every section the kit plays in."""
    return [
        (s.drums, s.start_beat * TICKS_PER_BEAT, (s.start_beat + s.beats) * TICKS_PER_BEAT)
        for s in plan.sections
        if s.drums != "none"
    ]


def beat_offset(tick: int) -> int:
    """Distance in ticks from ``tick`` to the nearest beat."""
    offset = tick % TICKS_PER_BEAT
    return min(offset, TICKS_PER_BEAT - offset)


@pytest.mark.parametrize("seed", [1, 2])
def test_trap_kick_lands_under_every_808_in_light_and_full_sections(seed: int) -> None:
    plan = render_plan("trap", seed)
    score = compose_score(plan)
    kicks = np.array([n.start_tick for n in part(score, "drums") if n.pitch == KICK])
    spans = drummed_spans(plan)
    assert {groove for groove, _, _ in spans} == {"full", "light"}
    for _, start, end in spans:
        bass = [n.start_tick for n in part(score, "bass") if start <= n.start_tick < end]
        assert bass
        # An 808 without its kick on beat 3 made the light sections read as half time.
        assert all(np.min(np.abs(kicks - tick)) <= NEAR for tick in bass)


@pytest.mark.parametrize("groove", ["full", "light"])
def test_trap_hats_accent_every_beat(groove: str) -> None:
    hats = GENRES["trap"].grooves[groove][CLOSED_HAT]
    on_beat, between = hats[::4], [c for i, c in enumerate(hats) if i % 4]
    assert set(on_beat) == {"o"}
    assert "o" not in between and any(c != "." for c in between)


def test_jazz_rides_spang_a_lang_over_a_feathered_kick() -> None:
    plan = render_plan("jazz", 3)
    drums = part(compose_score(plan), "drums")
    for _, start, end in drummed_spans(plan):
        ride = [n for n in drums if n.pitch == RIDE and start - NEAR <= n.start_tick < end - NEAR]
        beats = {
            round(n.start_tick / TICKS_PER_BEAT) for n in ride if beat_offset(n.start_tick) <= NEAR
        }
        # The ride plays every beat of the section (a fill may take its last half bar)…
        fill_from = end // TICKS_PER_BEAT - plan.beats_per_bar // 2
        assert set(range(start // TICKS_PER_BEAT, fill_from)) <= beats
        # …louder on 2 and 4, where the skip note (swung towards the last triplet) leads in.
        by_beat: dict[int, list[int]] = {0: [], 1: [], 2: [], 3: []}
        skips = []
        for note in ride:
            if beat_offset(note.start_tick) <= NEAR:
                by_beat[round(note.start_tick / TICKS_PER_BEAT) % 4].append(note.velocity)
            else:
                skips.append(note.start_tick % TICKS_PER_BEAT / TICKS_PER_BEAT)
        assert np.mean(by_beat[1] + by_beat[3]) > np.mean(by_beat[0] + by_beat[2])
        assert skips and np.allclose(skips, 2 / 3, atol=0.08)
    start, end = next((s, e) for g, s, e in drummed_spans(plan) if g == "full")
    window = [n for n in drums if start - NEAR <= n.start_tick < end - NEAR]
    kicks = [n for n in window if n.pitch == KICK]
    fill_from = end // TICKS_PER_BEAT - plan.beats_per_bar // 2
    kick_beats = {round(n.start_tick / TICKS_PER_BEAT) for n in kicks}
    # The bass drum is feathered: on every beat, under the ride.
    assert set(range(start // TICKS_PER_BEAT, fill_from)) <= kick_beats
    assert max(n.velocity for n in kicks) < min(n.velocity for n in window if n.pitch == RIDE)


def test_jazz_picks_medium_swing_unless_a_tempo_is_asked_for() -> None:
    # Even asked to be fast, a jazz track without a tempo stays where swing is heard as such.
    fast = [render_plan("jazz", seed, 30, prompt="fast jazz").bpm for seed in range(12)]
    assert all(115 <= bpm <= 167 for bpm in fast), fast
    assert render_plan("jazz", 1, duration=30, bpm=220).bpm == 220
