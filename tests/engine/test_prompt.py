import pytest

from musewave.engine.prompt import read_prompt
from musewave.engine.theory import Key


def test_explicit_tempo_is_read() -> None:
    assert read_prompt("dreamy synthwave at night, 100 bpm").bpm == 100
    assert read_prompt("techno at 132.5 BPM").bpm == 132.5


def test_absurd_tempo_is_ignored() -> None:
    assert read_prompt("999 bpm of chaos").bpm is None


@pytest.mark.parametrize(
    ("prompt", "key"),
    [
        ("a ballad in D minor", Key(2, "minor")),
        ("funk in the key of F# dorian", Key(6, "dorian")),
        ("Eb major anthem", Key(3, "major")),
        ("house in Am", Key(9, "minor")),
    ],
)
def test_keys_in_prompts(prompt: str, key: Key) -> None:
    assert read_prompt(prompt).key == key


def test_genres_moods_tempo_words_and_instruments() -> None:
    hints = read_prompt("slow dark lo-fi hip hop with rhodes and strings")
    assert hints.genres == ("lofi",)
    assert "dark" in hints.moods
    assert hints.tempo_bias < 0
    assert hints.instruments == {"chords": "electric_piano", "pads": "strings"}


def test_brushes_and_a_saxophone_are_what_the_prompt_gets() -> None:
    hints = read_prompt("cool jazz with brushed drums and a tenor sax")
    assert hints.instruments == {"drums": "kit_brush", "lead": "tenor_sax"}
    assert read_prompt("ballad on brushes, saxophone").instruments == {
        "drums": "kit_brush",
        "lead": "tenor_sax",
    }


def test_instrument_words_do_not_override_a_real_genre() -> None:
    assert read_prompt("epic synthwave with piano").genres == ("synthwave",)
    assert read_prompt("a gentle solo piano piece").genres == ("piano",)


def test_harmonic_minor_and_sharp_keys_are_read_whole() -> None:
    assert read_prompt("menacing trap beat in C# harmonic minor").key == Key(1, "harmonic minor")
    assert read_prompt("something in F#, fast").key == Key(6, "major")
    assert read_prompt("song in Bbm").key == Key(10, "minor")


@pytest.mark.parametrize(
    ("prompt", "voiceless"),
    [
        ("instrumental trap beat", True),
        ("boom bap, no vocals please", True),
        ("reggaeton without vocals", True),
        ("trap beat without ad-libs", True),
        ("trap with vocal chops", False),
        ("dark trap", False),
    ],
)
def test_prompts_can_ask_for_no_voice(prompt: str, voiceless: bool) -> None:
    assert read_prompt(prompt).voiceless is voiceless
