"""A planner's draft becomes a plan the composer can trust: what the user asked wins, bars fill
the duration exactly, names map onto our palette, and a stored plan renders bit-identically."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from musewave.engine import generate
from musewave.engine.compose import compose_score
from musewave.engine.genres import GENRES, SECTION_KINDS
from musewave.engine.plan import ROLES, Plan, make_plan
from musewave.engine.plan_draft import (
    PlanDraft,
    draft_json_schema,
    palette_voice,
    plan_from_draft,
    read_key,
    section_kind,
)
from musewave.engine.render import DRUM_KITS, GATED_PATCHES, PLAN_VOICES, VOICES
from musewave.engine.request import (
    CLI_DURATION_RANGE_S,
    DURATION_RANGE_CONTEXT,
    GenerationRequest,
)

LLM = "llm:test:model"
DRAFT: dict[str, Any] = {
    "title": "Glass Rain",
    "genre": "lofi",
    "bpm": 82,
    "key": "F dorian",
    "moods": ["chill"],
    "sections": [
        {"kind": "intro", "bars": 4, "energy": 0.2},
        {"kind": "verse", "bars": 8, "energy": 0.5},
        {"kind": "chorus", "bars": 8, "energy": 0.8},
        {"kind": "outro", "bars": 4, "energy": 0.2},
    ],
    "instruments": [{"role": "chords", "instrument": "piano"}],
    "progressions": [{"section": "verse", "chords": "i7-iv7-VII7-IIImaj7"}],
}


def request(**fields: Any) -> GenerationRequest:
    return GenerationRequest.model_validate(
        {"prompt": "a quiet evening", "seed": 11, "duration_s": 60, **fields},
        context={DURATION_RANGE_CONTEXT: CLI_DURATION_RANGE_S},
    )


def draft(**fields: Any) -> PlanDraft:
    return PlanDraft.model_validate({**DRAFT, **fields})


def fills(plan: Plan) -> bool:
    beat_s = 60.0 / plan.bpm
    starts_follow = all(
        a.start_beat + a.beats == b.start_beat
        for a, b in zip(plan.sections, plan.sections[1:], strict=False)
    )
    return (
        sum(s.beats for s in plan.sections) == plan.music_beats
        and abs(plan.music_beats * beat_s - plan.duration_s) <= beat_s + 1e-9
        and plan.sections[0].start_beat == 0
        and starts_follow
    )


def test_a_sound_draft_is_taken_as_proposed() -> None:
    result = plan_from_draft(request(), draft(), LLM)
    plan = result.plan
    assert (plan.planner, plan.genre, plan.key, plan.title) == (
        LLM,
        "lofi",
        "F dorian",
        "Glass Rain",
    )
    assert [s.kind for s in plan.sections] == ["intro", "verse", "chorus", "outro"]
    assert plan.sections[1].progression == ["i7", "iv7", "VII7", "IIImaj7"]
    assert {p.role: p.voice for p in plan.parts}["chords"] == "piano"
    assert fills(plan)
    assert "genre" not in result.repairs and "key" not in result.repairs


def test_what_the_user_asked_for_wins_over_the_draft() -> None:
    asked = request(prompt="house with strings in E minor", genres=["jazz"], bpm=150)
    proposed = draft(
        genre="techno", key="C major", bpm=90, instruments=[{"role": "pads", "instrument": "choir"}]
    )
    result = plan_from_draft(asked, proposed, LLM)
    plan = result.plan
    assert (plan.genre, plan.bpm) == ("jazz", 150)
    assert plan.key == "E minor"  # the prompt's key (the request has none)
    assert {p.role: p.voice for p in plan.parts}["pads"] == "strings"  # the prompt's word
    assert {"genre", "key", "bpm"} <= set(result.repairs)
    assert fills(plan)


def test_the_tempo_is_clamped_to_the_genre_unless_asked() -> None:
    low, high = GENRES["lofi"].bpm_range
    fast = plan_from_draft(request(), draft(bpm=200), LLM)
    assert fast.plan.bpm <= high * 1.04 and "bpm" in fast.repairs
    slow = plan_from_draft(request(), draft(bpm=41), LLM)
    assert slow.plan.bpm >= low * 0.96
    asked = plan_from_draft(request(prompt="lofi at 200 bpm"), draft(bpm=82), LLM)
    assert asked.plan.bpm == 200


@settings(max_examples=60, deadline=None)
@given(
    duration_s=st.floats(10, 300),
    loop=st.booleans(),
    sections=st.lists(
        st.tuples(
            st.sampled_from([*SECTION_KINDS, "Pre-Chorus", "bridge 2", "??"]), st.integers(0, 200)
        ),
        min_size=1,
        max_size=30,
    ),
    bpm=st.floats(1, 1000),
    time_signature=st.sampled_from(["4/4", "3/4"]),
)
# A loop of a form with only an intro and an outro (found by hypothesis): one section.
@example(
    duration_s=10.0, loop=True, sections=[("intro", 0), ("outro", 0)], bpm=1.0, time_signature="4/4"
)
def test_bars_always_fill_the_duration_exactly(
    duration_s: float, loop: bool, sections: list[tuple[str, int]], bpm: float,
    time_signature: str,
) -> None:  # fmt: skip
    asked = request(duration_s=duration_s, loop=loop, time_signature=time_signature)
    proposed = draft(bpm=bpm, sections=[{"kind": k, "bars": b} for k, b in sections])
    plan = plan_from_draft(asked, proposed, LLM).plan
    assert fills(plan)
    assert all(s.kind in SECTION_KINDS for s in plan.sections)
    if loop:
        assert (
            all(s.kind not in ("intro", "outro") for s in plan.sections) or len(plan.sections) == 1
        )


def test_the_same_draft_gives_the_same_plan() -> None:
    first = plan_from_draft(request(), draft(title=""), LLM).plan
    again = plan_from_draft(request(), draft(title=""), LLM).plan
    assert first == again
    assert first.title  # an empty title gets the rules' one


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("D minor", "D minor"),
        ("Dm", "D minor"),
        ("d-flat major", "C# major"),
        ("F# Dorian", "F# dorian"),
        ("A minor (aeolian)", "A minor"),
        ("E flat major key", "Eb major"),
        ("Bb", "Bb major"),
        ("harmonic minor in G", None),
        ("", None),
        ("the key of life", None),
    ],
)
def test_keys_are_read_the_ways_models_write_them(text: str, name: str | None) -> None:
    key = read_key(text)
    assert (key.name() if key else None) == name


def test_section_names_and_instruments_map_onto_ours() -> None:
    assert section_kind("Pre-Chorus") == "pre"
    assert section_kind("Verse 2") == "verse"
    assert section_kind("Refrain") == "chorus"
    assert section_kind("cadenza") is None
    assert palette_voice("chords", "Grand Piano") == "piano"
    assert palette_voice("chords", "warm Rhodes piano") == "electric_piano"
    assert palette_voice("pads", "strngs") == "strings"
    assert palette_voice("lead", "Saw Lead") == "saw_lead"
    assert palette_voice("lead", "kazoo") is None
    assert palette_voice("drums", "TR-808 drums") == "kit_808"
    assert palette_voice("drums", "brushed acoustic kit") == "kit_acoustic"
    assert palette_voice("drums", "kit_lofi") == "kit_lofi"
    # The gated patches are the gate's to choose: a plan naming one gets the held sound.
    assert palette_voice("pads", "gated pad") == "pad"
    assert palette_voice("chords", "gated_supersaw") == "supersaw"
    assert not PLAN_VOICES & set(GATED_PATCHES.values())
    assert set(GATED_PATCHES) | set(GATED_PATCHES.values()) <= VOICES


def test_every_voice_in_a_plan_is_one_we_can_render() -> None:
    weird = draft(
        instruments=[
            {"role": role, "instrument": name}
            for role, name in zip(ROLES, ["bongos", "tuba", "harp", "808", "oboe"], strict=True)
        ]
        + [{"role": "vocals", "instrument": "choir"}, {"role": "lead", "instrument": "bell"}]
    )
    result = plan_from_draft(request(), weird, LLM)
    for part in result.plan.parts:
        assert part.voice in (DRUM_KITS if part.role == "drums" else VOICES)
    assert "instrument-role" in result.repairs


def test_a_genre_without_bass_gets_none_from_a_draft() -> None:
    plan = plan_from_draft(
        request(genres=["piano"]),
        draft(genre="piano", instruments=[{"role": "bass", "instrument": "808"}]),
        LLM,
    ).plan
    assert "bass" not in {p.role for p in plan.parts}


def test_the_schema_is_strict_structured_output() -> None:
    """OpenAI's strict mode: every object lists all its properties as required and allows no
    others; the schema is plain JSON."""

    def check(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "object":
                assert node["required"] == list(node["properties"])
                assert node["additionalProperties"] is False
            for value in node.values():
                check(value)
        elif isinstance(node, list):
            for value in node:
                check(value)

    schema = draft_json_schema()
    check(schema)
    assert json.loads(json.dumps(schema)) == schema
    PlanDraft.model_validate(DRAFT)  # an answer that follows it reads as a draft


def test_the_rules_plan_says_rules_and_is_unchanged_by_the_field() -> None:
    plan = make_plan(request())
    assert plan.planner == "rules"
    assert Plan.model_validate_json(plan.model_dump_json()) == plan


def test_a_stored_llm_plan_renders_again_bit_identically(tmp_path: Path) -> None:
    asked = request(duration_s=10, formats=["wav"])
    plan = plan_from_draft(asked, draft(), LLM).plan
    first = generate(asked, tmp_path / "first", planner=lambda _: plan)
    stored = Plan.model_validate_json((tmp_path / "first" / "plan.json").read_text())
    assert stored == plan and stored.planner == LLM
    again = generate(asked, tmp_path / "again", planner=lambda _: stored)

    def digest(root: Path) -> str:
        return hashlib.sha256((root / "mix.wav").read_bytes()).hexdigest()

    assert digest(tmp_path / "first") == digest(tmp_path / "again")
    assert first.plan == again.plan


@pytest.mark.parametrize("chords", ["", " , ", "-–-", "i-" + "-".join(["iv"] * 40)])
def test_a_progression_without_chords_or_with_too_many_is_repaired(chords: str) -> None:
    result = plan_from_draft(
        request(), draft(progressions=[{"section": "verse", "chords": chords}]), LLM
    )
    assert "progression" in result.repairs
    verse = next(s for s in result.plan.sections if s.kind == "verse")
    assert verse.progression and all(verse.progression)
    compose_score(result.plan)  # the repaired plan plays


def test_a_progression_may_be_written_with_commas_and_spaces() -> None:
    chords = "i7, iv7 – VII7  IIImaj7"
    result = plan_from_draft(
        request(), draft(progressions=[{"section": "verse", "chords": chords}]), LLM
    )
    assert "progression" not in result.repairs
    assert result.plan.sections[1].progression == ["i7", "iv7", "VII7", "IIImaj7"]
