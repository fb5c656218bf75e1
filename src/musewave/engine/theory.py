"""Pitch classes, keys, modes and Roman-numeral chords.

Keys are a tonic pitch class (0 = C) and a mode name. Roman numerals are read relative to the
key's own scale, so ``VI`` in A minor is F major; a numeral with an accidental (``bVII``,
``#iv``) names its degree of the major scale on the tonic, as rock and pop charts write it, so
``bVII`` is G in A major, A mixolydian and A minor alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_LETTER_PC = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}

# Semitone offsets of each mode's seven degrees.
MODES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
    "lydian": (0, 2, 4, 6, 7, 9, 11),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "harmonic minor": (0, 2, 3, 5, 7, 8, 11),
}
MODE_SYNONYMS = {
    "maj": "major",
    "ionian": "major",
    "min": "minor",
    "m": "minor",
    "aeolian": "minor",
    "natural minor": "minor",
    "harmonic": "harmonic minor",
    "harmonic_minor": "harmonic minor",
}
MINOR_MODES = frozenset({"minor", "dorian", "phrygian", "harmonic minor"})

# Chord-quality suffixes → intervals above the root.
CHORD_QUALITIES: dict[str, tuple[int, ...]] = {
    "maj": (0, 4, 7),
    "min": (0, 3, 7),
    "dim": (0, 3, 6),
    "aug": (0, 4, 8),
    "5": (0, 7),
    "sus2": (0, 2, 7),
    "sus4": (0, 5, 7),
    "7": (0, 4, 7, 10),
    "maj7": (0, 4, 7, 11),
    "min7": (0, 3, 7, 10),
    "m7b5": (0, 3, 6, 10),
    "dim7": (0, 3, 6, 9),
    "6": (0, 4, 7, 9),
    "min6": (0, 3, 7, 9),
    "9": (0, 4, 7, 10, 14),
    "maj9": (0, 4, 7, 11, 14),
    "min9": (0, 3, 7, 10, 14),
    "add9": (0, 4, 7, 14),
    "madd9": (0, 3, 7, 14),
    "13": (0, 4, 7, 10, 14, 21),
}

_ROMAN = {"i": 0, "ii": 1, "iii": 2, "iv": 3, "v": 4, "vi": 5, "vii": 6}
_ROMAN_RE = re.compile(r"^(?P<acc>[b#♭♯]?)(?P<num>[ivIV]+)(?P<suffix>.*)$")
_KEY_RE = re.compile(
    r"^\s*(?P<letter>[a-gA-G])(?P<acc>[#♯b♭]?)\s*(?P<mode>[a-zA-Z _]*)\s*$",
)


class TheoryError(ValueError):
    """A key or chord symbol could not be read."""


@dataclass(frozen=True, slots=True)
class Key:
    tonic: int  # pitch class 0-11
    mode: str  # a key of MODES

    @property
    def scale(self) -> tuple[int, ...]:
        """Pitch classes of the scale, tonic first."""
        return tuple((self.tonic + step) % 12 for step in MODES[self.mode])

    @property
    def is_minor(self) -> bool:
        return self.mode in MINOR_MODES

    def name(self) -> str:
        return f"{NOTE_NAMES[self.tonic]} {self.mode}"


@dataclass(frozen=True, slots=True)
class Chord:
    root: int  # pitch class 0-11
    intervals: tuple[int, ...]
    symbol: str

    @property
    def pitch_classes(self) -> tuple[int, ...]:
        return tuple((self.root + i) % 12 for i in self.intervals)


def pitch_class(name: str) -> int:
    """``"F#"`` → 6. Raises TheoryError for anything else."""
    text = name.strip()
    if not text or text[0].lower() not in _LETTER_PC:
        raise TheoryError(f"not a note name: {name!r}")
    pc = _LETTER_PC[text[0].lower()]
    for char in text[1:]:
        if char in "#♯":
            pc += 1
        elif char in "b♭":
            pc -= 1
        else:
            raise TheoryError(f"not a note name: {name!r}")
    return pc % 12


def normalize_mode(mode: str) -> str:
    text = " ".join(mode.lower().replace("_", " ").split())
    text = MODE_SYNONYMS.get(text, text)
    if text not in MODES:
        known = ", ".join(MODES)
        raise TheoryError(f"unknown mode {mode!r}; use one of: {known}")
    return text


def parse_key(text: str) -> Key:
    """Read ``"D minor"``, ``"F# dorian"``, ``"Bb"``, ``"C#m"``; a bare tonic means major."""
    match = _KEY_RE.match(text)
    if not match:
        raise TheoryError(f"cannot read key {text!r}; write it like 'D minor' or 'F# dorian'")
    tonic = pitch_class(match["letter"] + match["acc"])
    mode_text = match["mode"].strip()
    mode = normalize_mode(mode_text) if mode_text else "major"
    return Key(tonic, mode)


def _default_quality(is_upper: bool, suffix: str) -> str:
    if suffix in ("", "M"):
        return "maj" if is_upper else "min"
    if suffix in ("°", "o", "dim"):
        return "dim"
    if suffix in ("ø", "ø7", "m7b5"):
        return "m7b5"
    if suffix == "7":
        return "7" if is_upper else "min7"
    if suffix == "9":
        return "9" if is_upper else "min9"
    if suffix == "6":
        return "6" if is_upper else "min6"
    if suffix == "add9":
        return "add9" if is_upper else "madd9"
    if suffix in CHORD_QUALITIES:
        return suffix
    raise TheoryError(f"unknown chord suffix {suffix!r}")


def roman_chord(symbol: str, key: Key) -> Chord:
    """Build the chord a Roman numeral names in ``key`` (``"ii7"``, ``"bVII"``, ``"Imaj7"``)."""
    match = _ROMAN_RE.match(symbol.strip())
    if not match or match["num"].lower() not in _ROMAN:
        raise TheoryError(f"not a Roman-numeral chord: {symbol!r}")
    numeral = match["num"]
    degree = _ROMAN[numeral.lower()]
    shift = {"b": -1, "♭": -1, "#": 1, "♯": 1}.get(match["acc"], 0)
    scale = MODES["major"] if shift else MODES[key.mode]
    root = (key.tonic + scale[degree] + shift) % 12
    quality = _default_quality(numeral.isupper(), match["suffix"])
    return Chord(root, CHORD_QUALITIES[quality], symbol)


def progression_symbols(text: str) -> list[str]:
    """``"i-VI–III VII"`` → ``["i", "VI", "III", "VII"]`` (separators: ``-``, ``–``, spaces)."""
    return [s for s in re.split(r"[\s\-–]+", text.strip()) if s]


def parse_progression(text: str, key: Key) -> list[Chord]:
    """``"i-VI-III-VII"`` → four chords (separators as in :func:`progression_symbols`)."""
    return [roman_chord(s, key) for s in progression_symbols(text)]


def tonic_first(symbols: list[str]) -> list[str]:
    """The progression rotated to start on its first tonic chord (``VI-VII-i-i`` → ``i-i-VI-VII``),
    so a section opens on the key's home chord and the cycle's last chord leads back into it.

    A progression without a tonic chord is returned unchanged."""
    for index, symbol in enumerate(symbols):
        if _is_tonic_numeral(symbol):
            return [*symbols[index:], *symbols[:index]]
    return list(symbols)


def _is_tonic_numeral(symbol: str) -> bool:
    match = _ROMAN_RE.match(symbol.strip())
    return match is not None and not match["acc"] and match["num"].lower() == "i"


def midi_to_hz(pitch: float) -> float:
    return float(440.0 * 2.0 ** ((pitch - 69) / 12))


def nearest_pitch(pc: int, target: int) -> int:
    """The MIDI pitch with pitch class ``pc`` closest to ``target``."""
    base = target - ((target - pc) % 12)
    return base if target - base <= 6 else base + 12


def scale_pitches(key: Key, low: int, high: int) -> list[int]:
    """All MIDI pitches of the key's scale within [low, high]."""
    pcs = set(key.scale)
    return [p for p in range(low, high + 1) if p % 12 in pcs]
