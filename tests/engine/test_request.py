import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from musewave.engine.request import (
    CLI_DURATION_RANGE_S,
    DURATION_RANGE_CONTEXT,
    GenerationRequest,
)


def make(**fields: object) -> GenerationRequest:
    return GenerationRequest.model_validate({"prompt": "a song", **fields})


@pytest.mark.parametrize(
    ("given_name", "canonical"),
    [
        ("lo-fi", "lofi"),
        ("Lofi Hip Hop", "lofi"),
        ("LO FI", "lofi"),
        ("drum and bass", "dnb"),
        ("Drum & Bass", "dnb"),
        ("orchestral", "cinematic"),
        ("Hip-Hop", "hiphop"),
        ("retrowave", "synthwave"),
    ],
)
def test_genre_synonyms_map_to_profiles(given_name: str, canonical: str) -> None:
    assert make(genres=[given_name]).genres == [canonical]


def test_duplicate_genres_collapse_and_keep_order() -> None:
    assert make(genres=["house", "lofi", "lo-fi"]).genres == ["house", "lofi"]


def test_unknown_genre_names_the_known_ones() -> None:
    with pytest.raises(ValidationError, match=r"unknown genre 'polka'.*known genres: .*lofi"):
        make(genres=["polka"])


@pytest.mark.parametrize("prompt", ["", "   ", "x" * 501])
def test_prompt_length_is_enforced_after_trimming(prompt: str) -> None:
    with pytest.raises(ValidationError):
        make(prompt=prompt)


def test_prompt_whitespace_is_normalized() -> None:
    assert make(prompt="  dreamy \n synthwave  ").prompt == "dreamy synthwave"


@pytest.mark.parametrize("duration", [29.9, 120.1, 0, -5])
def test_api_duration_range(duration: float) -> None:
    with pytest.raises(ValidationError, match="between 30 and 120"):
        make(duration_s=duration)


def test_cli_context_widens_duration_range() -> None:
    context = {DURATION_RANGE_CONTEXT: CLI_DURATION_RANGE_S}
    request = GenerationRequest.model_validate({"prompt": "x", "duration_s": 12}, context=context)
    assert request.duration_s == 12
    with pytest.raises(ValidationError, match="between 10 and 300"):
        GenerationRequest.model_validate({"prompt": "x", "duration_s": 301}, context=context)


@pytest.mark.parametrize(
    ("key", "name"),
    [("D minor", "D minor"), ("f# dorian", "F# dorian"), ("Bb", "Bb major"), ("C#m", "C# minor")],
)
def test_keys_are_normalized(key: str, name: str) -> None:
    assert make(key=key).key == name


def test_unreadable_key_is_rejected() -> None:
    with pytest.raises(ValidationError, match="key"):
        make(key="H super")


def test_formats_are_checked_deduplicated_and_sorted() -> None:
    assert make(formats=["WAV", ".mp3", "wav"]).formats == ["mp3", "wav"]
    with pytest.raises(ValidationError, match="unknown format 'aiff'"):
        make(formats=["aiff"])


def test_extra_fields_are_rejected() -> None:
    with pytest.raises(ValidationError, match="colour"):
        make(colour="blue")


def test_fingerprint_ignores_spelling_but_not_content() -> None:
    a = make(prompt="chill  beats", genres=["lo-fi"], seed=1, formats=["wav", "mp3"])
    b = make(prompt="chill beats", genres=["lofi"], seed=1, formats=["mp3", "wav"])
    c = make(prompt="chill beats", genres=["lofi"], seed=2)
    assert a.fingerprint() == b.fingerprint()
    assert a.fingerprint() != c.fingerprint()
    assert len(a.fingerprint()) == 64


@given(
    duration=st.floats(min_value=30, max_value=120),
    bpm=st.one_of(st.none(), st.floats(min_value=40, max_value=220)),
    seed=st.one_of(st.none(), st.integers(min_value=0, max_value=2**32 - 1)),
)
def test_valid_numbers_are_accepted(duration: float, bpm: float | None, seed: int | None) -> None:
    request = make(duration_s=duration, bpm=bpm, seed=seed)
    assert request.duration_s == duration
    assert request.bpm == bpm


@given(bpm=st.one_of(st.floats(max_value=39.99), st.floats(min_value=220.01)))
def test_out_of_range_bpm_is_rejected(bpm: float) -> None:
    with pytest.raises(ValidationError):
        make(bpm=bpm)


def test_outputs_beyond_the_mix_are_opt_in_and_part_of_the_fingerprint() -> None:
    plain = GenerationRequest(prompt="x", seed=1)
    assert (plain.stems, plain.midi) == (False, False)
    chosen = GenerationRequest.model_validate({"prompt": "x", "seed": 1, "stems": ["lead", "bass"]})
    assert chosen.stems == ["bass", "lead"]  # stem order, whatever the request's
    assert chosen.wants_stem("bass") and not chosen.wants_stem("drums")
    assert GenerationRequest(prompt="x", seed=1, stems=True).wants_stem("drums")
    assert GenerationRequest.model_validate({"prompt": "x", "stems": []}).stems is False
    fingerprints = {
        plain.fingerprint(),
        chosen.fingerprint(),
        plain.model_copy(update={"midi": True}).fingerprint(),
    }
    assert len(fingerprints) == 3
    with pytest.raises(ValidationError, match="unknown stems"):
        GenerationRequest.model_validate({"prompt": "x", "stems": ["kazoo"]})
    assert GenerationRequest(prompt="x", stems=["vocals"]).wants_stem("vocals")


def test_voices_and_vocal_languages_are_checked_and_kept_in_order() -> None:
    request = GenerationRequest(prompt="x", vocal_languages=["ES", "zh-CN", "es"], voice="Soft")
    assert (request.vocal_languages, request.voice) == (["es", "zh"], "soft")
    assert GenerationRequest(prompt="x", voice=" ").voice is None
    with pytest.raises(ValidationError, match="unknown vocal language"):
        GenerationRequest(prompt="x", vocal_languages=["klingon"])
    with pytest.raises(ValidationError, match="unknown voice"):
        GenerationRequest(prompt="x", voice="robot")
    with pytest.raises(ValidationError, match="no words"):
        GenerationRequest(prompt="x", lyrics="[Verse]\n...\n")


def test_lyrics_mean_a_vocal_track() -> None:
    request = GenerationRequest(prompt="a song", lyrics="la la la")
    assert request.instrumental is False
    # The request validates again from its own dump (as the job queue stores it).
    assert GenerationRequest.model_validate(request.canonical()) == request
    with pytest.raises(ValidationError, match="instrumental is true"):
        GenerationRequest(prompt="a song", lyrics="la la la", instrumental=True)
    assert GenerationRequest(prompt="no words").instrumental is True


def test_reading_a_request_does_not_load_the_dsp_stack() -> None:
    # The CLI validates arguments and the API fingerprints requests with this model: neither
    # should pay for numpy and scipy (about a second) to do it.
    probe = (
        "import sys, musewave.engine.request as r;"
        "r.GenerationRequest(prompt='x', duration_s=30, seed=1).fingerprint();"
        "print(sorted(m for m in ('numpy', 'scipy', 'musewave.engine.render') if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "[]"
