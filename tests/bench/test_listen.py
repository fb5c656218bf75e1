"""The listening bench's judging, prompts and render cache (bench/listen), without its models.

The models live in the bench's own environment; what is tested here is everything that decides
what counts as heard, and that renders of a tree are made once and found again.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from musewave.engine.genres import GENRES

BENCH = Path(__file__).resolve().parents[2] / "bench" / "listen"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"listen_bench_{name}", BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


listen = _load("listen")
judge = listen.judge
prompts = listen.prompts


@pytest.mark.parametrize(
    ("written", "heard", "relation"),
    [
        ("F minor", "F minor", "exact"),
        ("D dorian", "D minor", "exact"),
        ("A mixolydian", "A major", "exact"),
        ("C# harmonic minor", "Db minor", "exact"),
        ("A minor", "C major", "relative"),
        ("C major", "A minor", "relative"),
        ("C major", "C minor", "parallel"),
        ("C major", "G major", "fifth"),
        ("D dorian", "C major", "other:10maj"),
        ("F harmonic minor", "E major", "other:11maj"),
    ],
)
def test_key_relation_reads_modes_as_their_parent(written: str, heard: str, relation: str) -> None:
    assert judge.key_relation(written, heard) == relation


def test_parse_key_rejects_text_that_is_no_key() -> None:
    with pytest.raises(ValueError, match="not a key"):
        judge.parse_key("unknown")


@pytest.mark.parametrize(
    ("written", "heard", "relation"),
    [
        (120, 122, "exact"),
        (174, 87.2, "half"),
        (85, 170, "double"),
        (90, 135, "3/2"),
        (100, 77, "other"),
    ],
)
def test_tempo_relation(written: float, heard: float, relation: str) -> None:
    assert judge.tempo_relation(written, heard) == relation


def _tags(labels: list[str], high: dict[str, float]) -> dict[str, float]:
    return {label: high.get(label, 0.01) for label in labels}


MSD = ["rock", "indie", "electronic", "dance", "House", "jazz", "Hip-Hop", "soul", "pop", "80s"]
MTT = ["guitar", "piano", "synth", "strings", "drums", "fast", "techno", "classical"]
SILENCE = judge.merged(_tags(MSD, {"rock": 0.2, "indie": 0.12}), _tags(MTT, {"guitar": 0.31}))
NOISE = judge.merged(_tags(MSD, {"electronic": 0.37, "dance": 0.3}), _tags(MTT, {"fast": 0.4}))


def test_a_genre_tag_counts_only_above_the_controls() -> None:
    quiet_rock = _tags(MSD, {"rock": 0.15, "indie": 0.1})
    loud_rock = _tags(MSD, {"rock": 0.45})
    mtt = _tags(MTT, {})
    assert judge.genre_heard("rock", quiet_rock, mtt, [SILENCE, NOISE]) is False
    assert judge.genre_heard("rock", loud_rock, mtt, [SILENCE, NOISE]) is True
    assert judge.genre_heard("rock", quiet_rock, mtt, []) is True  # raw top-5 alone would say yes
    assert judge.genre_heard("no-such-genre", loud_rock, mtt, []) is None


def test_dnb_needs_both_an_electronic_and_a_fast_reading() -> None:
    electronic = _tags(MSD, {"electronic": 0.6})
    assert not judge.genre_heard("dnb", electronic, _tags(MTT, {}), [SILENCE, NOISE])
    assert judge.genre_heard("dnb", electronic, _tags(MTT, {"fast": 0.5}), [SILENCE, NOISE])


def test_reggae_is_vetoed_by_a_rock_reading_on_top() -> None:
    soulful = _tags(MSD, {"soul": 0.4})
    rocky = _tags(MSD, {"soul": 0.4, "rock": 0.5})
    assert judge.genre_heard("reggae", soulful, _tags(MTT, {}), [SILENCE])
    assert not judge.genre_heard("reggae", rocky, _tags(MTT, {}), [SILENCE])


@pytest.mark.parametrize(
    ("voice", "family"),
    [
        ("kit_808", "drums"),
        ("bass_808", "bass"),
        ("acid_bass", "synth"),
        ("reese_bass", "synth"),
        ("slap_bass", "bass"),
        ("electric_piano", "keys"),
        ("clavinet", "keys"),
        ("piano", "piano"),
        ("pad", "synth"),
        ("supersaw", "synth"),
        ("strings", "strings"),
        ("choir", "choir"),
        ("brass", "brass"),
        ("bell", "mallets"),
        ("guitar_clean", "guitar"),
        ("theremin", "unknown"),
    ],
)
def test_voice_family(voice: str, family: str) -> None:
    assert judge.voice_family(voice) == family


def test_family_heard_judges_only_families_with_tags() -> None:
    pad_as_strings = _tags(MTT, {"strings": 0.5, "classical": 0.4})
    pad_as_synth = _tags(MTT, {"synth": 0.5})
    assert judge.family_heard(["synth"], {}, pad_as_strings, [SILENCE]) is False
    assert judge.family_heard(["synth"], {}, pad_as_synth, [SILENCE]) is True
    assert judge.family_heard(["bass"], {}, pad_as_synth, [SILENCE]) is None


def test_note_score_matches_onsets_pitch_and_reports_lag_and_octave_errors() -> None:
    ref = [(0.5 * i, 0.5 * i + 0.4, 60 + i % 5) for i in range(20)]
    assert judge.note_score(ref, ref).f1 == pytest.approx(1.0)
    late = [(on + 0.07, off + 0.07, p) for on, off, p in ref]
    score = judge.note_score(ref, late)
    assert score.f1 == 0.0
    assert score.median_lag_ms == pytest.approx(70.0)
    octave = [(on, off, p + 12) for on, off, p in ref]
    score = judge.note_score(ref, octave)
    assert (score.f1, score.chroma_f1) == (0.0, pytest.approx(1.0))
    half = judge.note_score(ref, ref[::2])
    assert (half.precision, half.recall) == (pytest.approx(1.0), pytest.approx(0.5))
    assert judge.note_score(ref, []).f1 == 0.0


def test_unisons_of_two_parts_are_one_note_of_the_mix() -> None:
    chord = [(0.0, 1.0, 48), (0.0, 1.0, 55), (0.01, 2.0, 60), (0.02, 0.5, 64)]
    doubled = sorted([*chord, (0.0, 0.5, 60), (0.03, 0.3, 48), (0.2, 0.4, 60)])
    assert sorted(judge.merge_unisons(doubled)) == [
        (0.0, 1.0, 48),  # the bass's C3 and the keys' C3 30 ms later: one note
        (0.0, 1.0, 55),
        (0.0, 2.0, 60),  # three C4s within 10 ms: one, to the last one's end
        (0.02, 0.5, 64),
        (0.2, 0.4, 60),  # a new strike of C4, 200 ms on
    ]
    # A transcription of the mix hears each doubled pitch once: against the merged notes it
    # misses nothing, against the written ones it misses the doubles.
    heard = [(0.0, 1.0, 48), (0.0, 1.0, 55), (0.01, 2.0, 60), (0.02, 0.5, 64), (0.2, 0.4, 60)]
    assert judge.note_score(judge.merge_unisons(doubled), heard).recall == pytest.approx(1.0)
    assert judge.note_score(doubled, heard).recall == pytest.approx(5 / 7)


def test_note_errors_say_where_each_wrong_or_missed_note_goes() -> None:
    ref = [
        (0.0, 2.0, 48),  # held: heard again at 1.0 (re-strike) and an octave up (partial)
        (3.0, 3.4, 60),  # heard 80 ms late
        (4.0, 4.4, 62),  # heard on time an octave down (also a partial: the octave below)
        (5.0, 5.4, 64),  # heard 100 ms early
        (6.0, 6.4, 65),  # not heard
        (7.0, 7.4, 67),  # heard right
    ]
    est = [
        (0.0, 1.0, 48),
        (1.0, 2.0, 48),
        (0.5, 1.5, 60),
        (3.08, 3.4, 60),
        (4.0, 4.4, 50),
        (4.9, 5.4, 64),
        (6.5, 6.7, 70),
        (7.0, 7.4, 67),
    ]
    errors = judge.note_errors(ref, est)
    assert errors["wrong"] == {"timing": 2, "restrike": 1, "harmonic": 2, "other": 1}
    assert errors["missed"] == {"timing": 2, "merged": 0, "octave": 1, "unheard": 1}
    # Without the late and early copies, those two written notes are unheard; a note of the
    # same pitch held from well before swallows the written one (merged).
    on_time = [n for n in est if n[0] not in (3.08, 4.9)]
    errors = judge.note_errors(ref, on_time)
    assert errors["missed"] == {"timing": 0, "merged": 0, "octave": 1, "unheard": 3}
    errors = judge.note_errors(ref, [*on_time, (4.7, 5.6, 64)])
    assert errors["missed"] == {"timing": 0, "merged": 1, "octave": 1, "unheard": 2}
    assert judge.note_errors(ref, [])["missed"]["unheard"] == len(ref)
    assert judge.note_errors([], est)["wrong"]["other"] == len(est)


def test_prompts_cover_the_issue_genres_with_keys_of_every_kind() -> None:
    required = {"rock", "techno", "house", "ambient", "cinematic", "piano", "jazz", "lofi"}
    required |= {"trap", "hiphop", "funk", "pop", "afrobeats", "dnb", "synthwave", "reggae"}
    assert required <= set(prompts.GENRE_ORDER)
    assert set(prompts.GENRE_ORDER) <= set(GENRES)
    for genre in prompts.GENRE_ORDER:
        assert len(prompts.select([genre], 10)) >= 3
    texts = " ".join(p.text for p in prompts.PROMPTS)
    for mode in ("major", "minor", "dorian", "mixolydian", "phrygian", "lydian", "harmonic minor"):
        assert f" {mode}" in texts
    assert len({p.seed for p in prompts.PROMPTS}) == len(prompts.PROMPTS)
    assert [p.genre for p in prompts.select(["trap", "pop"], 2)] == ["trap", "trap", "pop", "pop"]
    with pytest.raises(ValueError, match="no prompts for polka"):
        prompts.select(["polka"], 1)


def _raw(genre: str, key_heard: str, tempo: float, mtt_lead: dict[str, float]) -> dict[str, Any]:
    ref = [[0.5 * i, 0.5 * i + 0.3, 60 + i % 7] for i in range(16)]
    return {
        "job": {"genre": genre, "prompt": f"a {genre} prompt", "seed": 1},
        "plan": {
            "genre": genre,
            "key": "A minor",
            "bpm": 120.0,
            "parts": [
                {"role": "drums", "voice": "kit_acoustic", "stem": "drums"},
                {"role": "lead", "voice": "piano", "stem": "lead"},
            ],
        },
        "mix": {"msd": _tags(MSD, {"rock": 0.5}), "mtt": _tags(MTT, {}), "notes": ref[:8]},
        "key": {"label": key_heard, "p": 0.9},
        "tempo": [[tempo, 0.5]],
        "reference": {"lead": ref},
        "stems": {
            "drums": {"rms_db": -20.0, "mtt": _tags(MTT, {"drums": 0.7})},
            "lead": {"rms_db": -20.0, "mtt": _tags(MTT, mtt_lead), "notes": ref},
        },
    }


def test_report_totals_and_markdown() -> None:
    raws = [
        _raw("rock", "A minor", 120.0, {"piano": 0.6}),
        _raw("rock", "C major", 60.0, {"guitar": 0.6}),
        _raw("jazz", "A minor", 121.0, {"piano": 0.6}),
    ]
    report = listen.build_report(raws, {"silence": SILENCE, "white_noise": NOISE})
    totals = report["totals"]
    assert totals["genre_heard_pct"] == pytest.approx(200 / 3, abs=0.1)  # jazz heard as rock
    assert totals["genre_heard_raw_pct"] == pytest.approx(200 / 3, abs=0.1)
    assert totals["stem_family_pct"] == pytest.approx(5 / 6 * 100, abs=0.1)
    assert totals["lead_f1"] == 1.0
    assert totals["mix_f1"] == pytest.approx(2 / 3, abs=1e-3)
    assert totals["key_pct"] == totals["minor_modal_key_pct"] == pytest.approx(200 / 3, abs=0.1)
    assert totals["exact_tempo_pct"] == pytest.approx(200 / 3, abs=0.1)
    rock = report["genres"]["rock"]
    assert rock["key_relations"] == ["exact", "relative"]
    assert rock["tempo_relations"] == ["exact", "half"]
    assert report["voices"]["piano"]["heard"] == [2, 3]
    markdown = listen.render_markdown(report)
    assert "| genre heard (tags above the controls) | ≥ 90 % | 66.7 % |" in markdown
    assert "| rock | rock," in markdown
    assert "2/2 (relative)" not in markdown and "1/2 (relative)" in markdown
    # The mix heard the first 8 of the 16 written notes: the other 8 are missed, unheard.
    assert "| rock | 16 → 8 (8) | 0 / 0 / 0 / 0 | 0 / 0 / 0 / 8 | lead 0.50 |" in markdown
    before = {"totals": {**totals, "key_pct": 25.0}, "run": {"git": "abc123"}}
    # A baseline that kept its raw outputs is judged again by today's rules.
    controls = {"silence": SILENCE, "white_noise": NOISE}
    again = listen.rejudged({**before, "raw": raws}, controls)
    assert again["totals"] == totals and again["run"] == {"git": "abc123"}
    assert listen.rejudged(before, controls) is before
    compared = listen.render_markdown(report, before)
    assert "| criterion | target | before (abc123) | after |" in compared
    assert "| key (tonic + major/minor parent) | ≥ 85 % | 25.0 % | 66.7 % |" in compared
    details = listen.render_details(report)
    assert "### jazz: a jazz prompt (seed 1) — NOT heard" in details
    assert "- lead (piano, piano): guitar" in details


def test_renders_are_cached_by_tree_prompt_and_seed(tmp_path: Path) -> None:
    src = Path(__file__).resolve().parents[2] / "src"
    args = argparse.Namespace(out=tmp_path, duration=10.0, render_python=sys.executable)
    chosen = prompts.select(["piano"], 1)
    tree = listen.tree_hash(src)
    jobs = listen.render_all(chosen, src, tree, args)
    folder = Path(jobs[0]["dir"])
    assert {p.name for p in folder.iterdir()} >= {"mix.wav", "plan.json", "score.mid", "stems"}
    assert (folder / "stems" / "lead.wav").is_file()
    made = (folder / "mix.wav").stat().st_mtime_ns
    assert listen.render_all(chosen, src, tree, args) == jobs
    assert (folder / "mix.wav").stat().st_mtime_ns == made  # found in the cache, not re-made


def test_a_render_that_fails_is_reported_and_left_out(tmp_path: Path) -> None:
    # A stand-in for the project's Python: fails the first job as render.py reports failures.
    fake = tmp_path / "fake-python"
    fake.write_text(
        f"#!{sys.executable}\n"
        "import json, sys\n"
        "jobs = json.load(sys.stdin)\n"
        "print(json.dumps({'dir': jobs[0]['dir'], 'error': 'ValidationFailed: boom'}))\n"
    )
    fake.chmod(0o755)
    args = argparse.Namespace(out=tmp_path, duration=10.0, render_python=str(fake))
    jobs = listen.render_all(prompts.select(["trap"], 2), tmp_path, "0" * 64, args)
    assert [j.get("error") for j in jobs] == [
        "ValidationFailed: boom",
        "the renderer did not report this job",
    ]
    report = {"totals": listen.totals([]), "genres": {}, "voices": {}, "controls": {}}
    report["run"] = {"failed": [{"prompt": jobs[0]["prompt"], "error": jobs[0]["error"]}]}
    assert "FAILED to render 'hard trap beat" in listen.render_markdown(report)


def test_tree_hash_follows_engine_files_not_the_service_or_caches(tmp_path: Path) -> None:
    engine = tmp_path / "musewave" / "engine"
    service = tmp_path / "musewave" / "service"
    for folder in (engine / "__pycache__", service, tmp_path / "musewave.egg-info"):
        folder.mkdir(parents=True)
    (engine / "render.py").write_text("A = 1\n")
    first = listen.tree_hash(tmp_path)
    (engine / "__pycache__" / "render.cpython-311.pyc").write_bytes(b"\0")
    (service / "app.py").write_text("B = 2\n")
    (tmp_path / "musewave.egg-info" / "PKG-INFO").write_text("x")
    assert listen.tree_hash(tmp_path) == first
    (engine / "render.py").write_text("A = 2\n")
    assert listen.tree_hash(tmp_path) != first


def test_results_of_another_selection_of_one_tree_do_not_overwrite_the_full_run() -> None:
    def name(*argv: str) -> str:
        return listen.results_name("a" * 40, listen._parse_args(list(argv)))

    full = name()
    assert full == "results-aaaaaaaaaaaa"
    others = [
        name("--seed-offset", "500"),
        name("--seed-offset", "900"),
        name("--duration", "20"),
        name("--genres", "trap,funk"),
        name("--genres", "trap", "--per-genre", "2"),
        name("--quick"),
    ]
    assert len({full, *others}) == 1 + len(others)
    assert all(other.startswith(full + "-") for other in others)
