"""Syllables come from espeak-ng's phonemes, in every language."""

from __future__ import annotations

import pytest

from musewave.engine.vocals.espeak import EspeakError, Phone, speak
from musewave.engine.vocals.syllables import is_vowel, syllabify


def _phones(*names: str) -> tuple[Phone, ...]:
    return tuple(Phone(name, 100 * i, 100 * (i + 1)) for i, name in enumerate(names))


def test_vowels_are_recognized_by_their_ipa_letters() -> None:
    assert all(is_vowel(v) for v in ("a", "ˈaɪ", "əl", "ɔ̃", "ä", "ˌo̞", "ˈɐ̃ʊ", "ɯ"))
    assert not any(is_vowel(c) for c in ("t", "ʃ", "j", "w", "ŋ", "tɕ", "ɾ", "χ"))


def test_one_consonant_opens_the_next_syllable_two_split() -> None:
    mama = syllabify(_phones("m", "a", "m", "a"))
    assert [[p.ipa for p in s.phones] for s in mama] == [["m", "a"], ["m", "a"]]
    morning = syllabify(_phones("m", "ˈɔː", "n", "ɪ", "ŋ"))
    assert [[p.ipa for p in s.phones] for s in morning] == [["m", "ˈɔː"], ["n", "ɪ", "ŋ"]]
    sister = syllabify(_phones("s", "ɪ", "s", "t", "ɚ"))
    assert [[p.ipa for p in s.phones] for s in sister] == [["s", "ɪ", "s"], ["t", "ɚ"]]


def test_syllables_partition_the_phonemes_and_carry_stress() -> None:
    phones = _phones("b", "j", "ˈuː", "ɾ", "ɪ", "f", "əl")
    syllables = syllabify(phones)
    assert [p for s in syllables for p in s.phones] == list(phones)
    assert [s.stress for s in syllables] == [2, 0, 0]
    assert syllables[0].vowel_start == 200 and syllables[0].vowel_end == 300


def test_a_word_without_a_vowel_is_one_syllable_sung_whole() -> None:
    (hmm,) = syllabify(_phones("h", "m"))
    assert hmm.nucleus is None and (hmm.vowel_start, hmm.vowel_end) == (0, 200)
    assert syllabify(()) == ()


@pytest.mark.parametrize(
    ("voice", "word", "count"),
    [
        ("en-us", "beautiful", 3),
        ("es-419", "corazón", 3),
        ("fr", "bonjour", 2),
        ("de", "Schmetterling", 3),
        ("it", "amore", 3),
        ("pt-br", "saudade", 3),
        ("ja", "よぞら", 3),
        ("ko", "사랑해요", 4),
        ("cmn", "你好世界", 4),
        ("hi", "दिल", 1),
    ],
)
def test_espeak_words_split_into_their_syllables(voice: str, word: str, count: int) -> None:
    utterance = speak(word, voice)
    assert utterance.audio.dtype.name == "float32" and utterance.audio.size > 0
    assert len(syllabify(utterance.phones)) == count


def test_an_unknown_espeak_voice_is_an_error() -> None:
    with pytest.raises(EspeakError, match="no voice"):
        speak("hello", "xx-nonexistent")
