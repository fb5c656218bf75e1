"""SRT, LRC and word-timing JSON from the sung lines, read back and validated."""

from __future__ import annotations

from pathlib import Path

import pytest

from musewave.engine.errors import ValidationFailed
from musewave.engine.timed_lyrics import TimedLine, TimedWord
from musewave.engine.validate import validate_captions
from musewave.engine.vocals.captions import (
    CaptionError,
    parse_lrc,
    parse_srt,
    parse_words_json,
    to_json,
    to_lrc,
    to_srt,
)

LINES = [
    TimedLine((TimedWord("Hello", 1.234, 1.6), TimedWord("world,", 1.7, 2.5)), "verse 1"),
    TimedLine((TimedWord("夜空", 62.0, 63.0), TimedWord("の", 63.1, 64.0)), "chorus 1"),
]


def test_srt_has_one_cue_per_line_held_until_the_next() -> None:
    text = to_srt(LINES)
    assert text.startswith("1\n00:00:01,234 --> 00:00:03,500\nHello world,\n")
    cues = parse_srt(text)
    assert [(round(a, 3), round(b, 3), t) for a, b, t in cues] == [
        (1.234, 3.5, "Hello world,"),
        (62.0, 65.0, "夜空 の"),
    ]


def test_lrc_carries_line_and_word_times() -> None:
    text = to_lrc(LINES, title="Night Sky", length_s=90.0)
    assert "[ti:Night Sky]" in text and "[length:01:30]" in text
    assert "[00:01.23]<00:01.23>Hello <00:01.70>world," in text
    lines = parse_lrc(text)
    assert lines[1] == (62.0, [(62.0, "夜空"), (63.1, "の")])


def test_json_round_trips_the_timed_lines() -> None:
    text = to_json(LINES, language=["en", "ja"], voice="female")
    assert parse_words_json(text) == LINES
    assert '"夜空"' in text  # readable UTF-8, not escapes


@pytest.mark.parametrize(
    ("parse", "text"),
    [
        (parse_srt, "1\nno times here\nword\n"),
        (parse_srt, "1\n00:00:05,000 --> 00:00:04,000\nbackwards\n"),
        (parse_lrc, "just text\n"),
        (parse_words_json, '{"lines": [{"words": [{"text": "x"}]}]}'),
    ],
)
def test_malformed_captions_do_not_parse(parse, text: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CaptionError):
        parse(text)


def test_validation_reads_each_file_back_against_the_sung_lines(tmp_path: Path) -> None:
    for name, text in (
        ("a.srt", to_srt(LINES)),
        ("a.lrc", to_lrc(LINES)),
        ("a.json", to_json(LINES, language=["en"], voice="male")),
    ):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        validate_captions(path, LINES, duration_s=90.0)
        with pytest.raises(ValidationFailed, match="lyrics check"):
            validate_captions(path, LINES[:1], duration_s=90.0)
        with pytest.raises(ValidationFailed, match="timing check"):
            validate_captions(path, LINES, duration_s=30.0)
    broken = tmp_path / "b.srt"
    broken.write_text("garbage\n", encoding="utf-8")
    with pytest.raises(ValidationFailed, match="parse check"):
        validate_captions(broken, LINES, duration_s=90.0)
