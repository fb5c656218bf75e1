import pytest

from musewave.engine.theory import (
    Key,
    TheoryError,
    parse_key,
    parse_progression,
    progression_symbols,
    roman_chord,
    tonic_first,
)


def test_roman_numerals_follow_the_key_scale() -> None:
    a_minor = Key(9, "minor")
    chords = parse_progression("i-VI-III-VII", a_minor)
    assert [c.root for c in chords] == [9, 5, 0, 7]  # A, F, C, G
    assert chords[0].intervals == (0, 3, 7)
    assert chords[1].intervals == (0, 4, 7)


def test_sevenths_and_accidentals() -> None:
    c_major = Key(0, "major")
    assert roman_chord("V7", c_major).pitch_classes == (7, 11, 2, 5)
    assert roman_chord("ii7", c_major).pitch_classes == (2, 5, 9, 0)
    assert roman_chord("Imaj7", c_major).pitch_classes == (0, 4, 7, 11)
    assert roman_chord("bVII", c_major).root == 10


def test_bad_symbols_raise() -> None:
    with pytest.raises(TheoryError):
        roman_chord("X7", Key(0, "major"))
    with pytest.raises(TheoryError):
        parse_key("Q minor")


def test_tonic_first_rotates_a_progression_to_open_on_the_tonic() -> None:
    assert tonic_first(["VI", "VII", "i", "i"]) == ["i", "i", "VI", "VII"]
    assert tonic_first(["ii7", "v7", "i9", "i9"]) == ["i9", "i9", "ii7", "v7"]
    assert tonic_first(["i", "VI", "III", "VII"]) == ["i", "VI", "III", "VII"]
    # bII (phrygian) shares the numeral's letter but not the tonic; no tonic: unchanged.
    assert tonic_first(["bII", "VII", "VI"]) == ["bII", "VII", "VI"]
    assert tonic_first(["vi", "IV", "I", "V"]) == ["I", "V", "vi", "IV"]


def test_an_accidental_names_a_degree_of_the_major_scale_in_every_mode() -> None:
    """``bVII`` is G over an A tonic whatever the mode: read from A mixolydian's own (already
    flat) seventh it was A-flat-flat, an A major chord in a rock I-bVII-IV-I."""
    for mode in ("major", "mixolydian", "minor"):
        assert roman_chord("bVII", Key(9, mode)).root == 7
    assert roman_chord("bVI", Key(0, "minor")).pitch_classes == (8, 0, 3)
    assert roman_chord("#iv", Key(0, "major")).root == 6
    # Without an accidental a numeral still reads the key's own scale.
    assert roman_chord("VII", Key(9, "minor")).root == 7
    assert roman_chord("II", Key(2, "lydian")).pitch_classes == (4, 8, 11)


def test_progression_symbols_split_on_every_separator_a_table_may_use() -> None:
    assert progression_symbols("i-VI–III VII") == ["i", "VI", "III", "VII"]
    assert progression_symbols("  ii7 -  V7 –Imaj7 ") == ["ii7", "V7", "Imaj7"]
