"""Read musical hints out of a free-text prompt: tempo, key, mood, energy, instruments, genres."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from musewave.engine.genres import GENRE_SYNONYMS
from musewave.engine.theory import Key, TheoryError, parse_key


@dataclass(frozen=True, slots=True)
class Mood:
    """How a mood word moves a genre's defaults."""

    tempo_shift: float  # fraction of the genre's tempo range, -1 … 1
    brightness_shift: float
    energy_shift: float
    prefers_minor: bool | None
    reverb_shift: float = 0.0


MOODS: Mapping[str, Mood] = MappingProxyType(
    {
        "dark": Mood(-0.2, -0.25, 0.0, True),
        "sad": Mood(-0.4, -0.2, -0.2, True),
        "melancholic": Mood(-0.3, -0.15, -0.15, True),
        "melancholy": Mood(-0.3, -0.15, -0.15, True),
        "moody": Mood(-0.1, -0.15, 0.0, True),
        "haunting": Mood(-0.2, -0.2, -0.1, True, 0.2),
        "mysterious": Mood(-0.1, -0.15, -0.1, True, 0.15),
        "happy": Mood(0.3, 0.2, 0.15, False),
        "uplifting": Mood(0.3, 0.25, 0.2, False),
        "joyful": Mood(0.3, 0.2, 0.2, False),
        "bright": Mood(0.1, 0.3, 0.1, False),
        "hopeful": Mood(0.1, 0.15, 0.05, False),
        "romantic": Mood(-0.2, 0.0, -0.1, False, 0.1),
        "epic": Mood(0.1, 0.15, 0.3, None, 0.2),
        "intense": Mood(0.3, 0.1, 0.3, True),
        "aggressive": Mood(0.4, 0.1, 0.35, True),
        "energetic": Mood(0.4, 0.15, 0.3, None),
        "chill": Mood(-0.3, -0.15, -0.25, None, 0.15),
        "relaxed": Mood(-0.3, -0.15, -0.25, None, 0.15),
        "calm": Mood(-0.4, -0.15, -0.3, None, 0.2),
        "peaceful": Mood(-0.4, -0.1, -0.3, False, 0.2),
        "dreamy": Mood(-0.2, -0.05, -0.2, None, 0.3),
        "nostalgic": Mood(-0.1, -0.1, -0.1, None, 0.15),
        "groovy": Mood(0.1, 0.1, 0.1, None),
    }
)

TEMPO_WORDS: Mapping[str, float] = MappingProxyType(
    {
        "slow": -0.8,
        "laid back": -0.5,
        "laid-back": -0.5,
        "mid-tempo": 0.0,
        "upbeat": 0.5,
        "fast": 0.8,
        "driving": 0.5,
    }
)

# Instrument words → (role, voice) so "with piano" puts a piano on the chords.
INSTRUMENT_WORDS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "piano": ("chords", "piano"),
        "rhodes": ("chords", "electric_piano"),
        "electric piano": ("chords", "electric_piano"),
        "organ": ("chords", "organ"),
        "guitar": ("chords", "guitar_clean"),
        "acoustic guitar": ("chords", "guitar_acoustic"),
        "clavinet": ("lead", "clavinet"),
        "clav": ("lead", "clavinet"),
        "slap bass": ("bass", "slap_bass"),
        "log drum": ("bass", "log_drum"),
        "distorted guitar": ("chords", "guitar_distorted"),
        "strings": ("pads", "strings"),
        "violin": ("lead", "strings"),
        "choir": ("pads", "choir"),
        "brass": ("lead", "brass"),
        "trumpet": ("lead", "brass"),
        "saxophone": ("lead", "tenor_sax"),
        "sax": ("lead", "tenor_sax"),
        "brushes": ("drums", "kit_brush"),
        "brushed drums": ("drums", "kit_brush"),
        "brush kit": ("drums", "kit_brush"),
        "bells": ("lead", "bell"),
        "marimba": ("lead", "marimba"),
        "pluck": ("lead", "pluck"),
        "arp": ("chords", "pluck"),
        "supersaw": ("chords", "supersaw"),
        "pad": ("pads", "pad"),
        "pads": ("pads", "pad"),
        "808": ("bass", "bass_808"),
        "sub bass": ("bass", "sub_bass"),
        "upright bass": ("bass", "upright_bass"),
        "acid": ("bass", "acid_bass"),
        "reese": ("bass", "reese_bass"),
    }
)

# Words that name a genre only when nothing more specific does ("epic synthwave" is synthwave).
WEAK_GENRE_WORDS = frozenset(
    {"epic", "score", "swing", "808", "acid", "drone", "liquid", "piano", "orchestral"}
)

_BPM_RE = re.compile(r"(\d{2,3}(?:\.\d+)?)\s*(?:bpm|beats per minute)", re.IGNORECASE)
# "harmonic minor" before "minor"; the key ends where a word would not go on ("in F#, fast"
# is F#, which a plain \b after "#" would have cut back to F).
_MODE_WORDS = (
    r"harmonic minor|natural minor|major|minor|dorian|phrygian|lydian|mixolydian|aeolian|ionian"
)
_KEY_RE = re.compile(
    r"\b(?:in|key of)\s+([A-G][#b♯♭]?)\s*"
    rf"({_MODE_WORDS}|maj|min|m)?(?![\w#♯♭])",
    re.IGNORECASE,
)
# Words that ask for a track without any voice, so that trap, boom-bap and reggaeton kits
# leave out their shouted ad-libs ("instrumental" as beat-makers use it).
VOICELESS_PHRASES = (
    "instrumental",
    "no vocals",
    "no vocal",
    "no voice",
    "no voices",
    "without vocals",
    "without voice",
    "no ad libs",
    "no adlibs",
    "without ad libs",
    "without adlibs",
    "no shouts",
)
_KEY_BARE_RE = re.compile(
    rf"\b([A-G][#b♯♭]?)\s+({_MODE_WORDS})\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class PromptHints:
    bpm: float | None = None
    tempo_bias: float = 0.0  # -1 slow … 1 fast, within the genre's range
    key: Key | None = None
    moods: tuple[str, ...] = ()
    genres: tuple[str, ...] = ()
    instruments: Mapping[str, str] = field(default_factory=dict)  # role → voice
    voiceless: bool = False  # no voice at all: the kits' spoken ad-libs stay silent too


def _words(text: str) -> str:
    # Hyphens become spaces, as in the genre synonym table ("lo-fi" reads as "lo fi").
    return " " + " ".join(re.sub(r"[^\w#&]+", " ", text.lower()).split()) + " "


def _find_phrases(padded: str, phrases: list[str]) -> list[str]:
    """Phrases that occur as whole words, in prompt order; a longer phrase wins an overlap."""
    found: list[tuple[int, str]] = []
    taken = padded
    for phrase in sorted(phrases, key=len, reverse=True):
        needle = f" {phrase} "
        position = taken.find(needle)
        if position >= 0:
            found.append((position, phrase))
            taken = taken.replace(needle, " " + "|" * (len(needle) - 2) + " ")
    return [phrase for _, phrase in sorted(found)]


def read_prompt(prompt: str) -> PromptHints:
    """Extract what the prompt says explicitly; everything else is left to the genre."""
    bpm_match = _BPM_RE.search(prompt)
    bpm = float(bpm_match.group(1)) if bpm_match else None
    if bpm is not None and not 40 <= bpm <= 220:
        bpm = None

    key: Key | None = None
    for pattern in (_KEY_RE, _KEY_BARE_RE):
        match = pattern.search(prompt)
        if match:
            try:
                key = parse_key(f"{match.group(1)} {match.group(2) or ''}")
            except TheoryError:
                key = None
            if key:
                break

    padded = _words(prompt)
    moods = tuple(m for m in MOODS if f" {m} " in padded)
    tempo_words = _find_phrases(padded, list(TEMPO_WORDS))
    tempo_bias = max(-1.0, min(1.0, sum(TEMPO_WORDS[w] for w in tempo_words)))

    pairs = [(p, GENRE_SYNONYMS[p]) for p in _find_phrases(padded, list(GENRE_SYNONYMS))]
    if len({genre for _, genre in pairs}) > 1:
        pairs = [(p, genre) for p, genre in pairs if p not in WEAK_GENRE_WORDS]
    genres = list(dict.fromkeys(genre for _, genre in pairs))

    instruments: dict[str, str] = {}
    for phrase in _find_phrases(padded, list(INSTRUMENT_WORDS)):
        role, voice = INSTRUMENT_WORDS[phrase]
        instruments.setdefault(role, voice)

    voiceless = bool(_find_phrases(padded, list(VOICELESS_PHRASES)))
    return PromptHints(bpm, tempo_bias, key, moods, tuple(genres), instruments, voiceless)
