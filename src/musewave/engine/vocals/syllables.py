"""Syllables from espeak-ng's phonemes, so every language is split the way it is pronounced.

A syllable is one vowel nucleus with the consonants around it. Between two vowels a single
consonant opens the next syllable ("ma-ma"); of two or more the first closes the previous
one ("mor-ning"). The syllables of a word partition its phonemes exactly, so the singer
sings each sound once.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from itertools import pairwise

from musewave.engine.vocals.espeak import Phone

# IPA vowel letters (base characters, diacritics stripped); a phoneme containing one is a
# nucleus (diphthongs such as "aɪ" and syllabic "əl" included).
IPA_VOWELS = frozenset("aeiouyæɐɑɒɔəɘɚɛɜɝɞɤɨɪɯɵøœɶʉʊʌʏɿ")
PRIMARY_STRESS, SECONDARY_STRESS = "ˈ", "ˌ"


def is_vowel(ipa: str) -> bool:
    base = unicodedata.normalize("NFD", ipa)
    return any(char in IPA_VOWELS for char in base)


@dataclass(frozen=True, slots=True)
class Syllable:
    """Phonemes ``phones`` of one syllable; ``nucleus`` indexes its vowel within them (None
    for a word with no vowel, such as "hmm", sung on its voiced sound). ``stress`` is 2 for
    primary, 1 secondary, 0 none."""

    phones: tuple[Phone, ...]
    nucleus: int | None
    stress: int

    @property
    def start(self) -> int:
        return self.phones[0].start

    @property
    def end(self) -> int:
        return self.phones[-1].end

    @property
    def vowel_start(self) -> int:
        return self.phones[self.nucleus].start if self.nucleus is not None else self.start

    @property
    def vowel_end(self) -> int:
        return self.phones[self.nucleus].end if self.nucleus is not None else self.end


def _stress(ipa: str) -> int:
    if PRIMARY_STRESS in ipa:
        return 2
    return 1 if SECONDARY_STRESS in ipa else 0


def syllabify(phones: tuple[Phone, ...]) -> tuple[Syllable, ...]:
    """Group a word's phonemes into syllables (at least one when there are phonemes).

    Returns an empty tuple for no phonemes; otherwise the syllables' phonemes, concatenated,
    are exactly ``phones``.
    """
    if not phones:
        return ()
    vowels = [i for i, phone in enumerate(phones) if is_vowel(phone.ipa)]
    if not vowels:
        return (Syllable(phones, None, 0),)
    bounds = [0]
    for left, right in pairwise(vowels):
        consonants = right - left - 1
        bounds.append(left + 1 if consonants <= 1 else left + 2)
    bounds.append(len(phones))
    syllables = []
    for index, vowel in enumerate(vowels):
        start, end = bounds[index], bounds[index + 1]
        group = phones[start:end]
        syllables.append(Syllable(group, vowel - start, _stress(phones[vowel].ipa)))
    return tuple(syllables)
