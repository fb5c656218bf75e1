"""Captions from the sung lines: SRT (line by line), LRC (enhanced, with word times) and a
JSON of word timings; and readers for them, which output validation uses.

Times come straight from the alignment (``TimedLine``/``TimedWord``), in seconds.
"""

from __future__ import annotations

import json
import re
from typing import Any

from musewave.engine.timed_lyrics import TimedLine, TimedWord

CAPTIONS_SCHEMA_VERSION = 1
# A caption stays up until the next line starts, at most this long after its last word.
HOLD_S = 1.0
_SRT_TIME = re.compile(r"(\d+):(\d{2}):(\d{2}),(\d{3})")
_LRC_LINE = re.compile(r"^\[(\d+):(\d{2})\.(\d{2})\](.*)$")
_LRC_WORD = re.compile(r"<(\d+):(\d{2})\.(\d{2})>([^<]*)")


class CaptionError(ValueError):
    """A caption file that does not parse."""


def _srt_time(seconds: float) -> str:
    ms = max(0, round(seconds * 1000))
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    secs, ms = divmod(ms, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d},{ms:03d}"


def _lrc_time(seconds: float) -> str:
    cs = max(0, round(seconds * 100))
    minutes, cs = divmod(cs, 6000)
    return f"{minutes:02d}:{cs // 100:02d}.{cs % 100:02d}"


def _display_ends(lines: list[TimedLine]) -> list[float]:
    ends = []
    for index, line in enumerate(lines):
        end = line.end_s + HOLD_S
        if index + 1 < len(lines):
            end = max(line.end_s, min(end, lines[index + 1].start_s))
        ends.append(end)
    return ends


def to_srt(lines: list[TimedLine]) -> str:
    """SubRip: one cue per sung line, from its first word's start."""
    cues = []
    for number, (line, end) in enumerate(zip(lines, _display_ends(lines), strict=True), 1):
        cues.append(f"{number}\n{_srt_time(line.start_s)} --> {_srt_time(end)}\n{line.text}\n")
    return "\n".join(cues)


def to_lrc(lines: list[TimedLine], *, title: str = "", length_s: float | None = None) -> str:
    """Enhanced LRC: ``[mm:ss.xx]`` per line with ``<mm:ss.xx>`` before each word."""
    head = []
    if title:
        head.append(f"[ti:{title}]")
    if length_s is not None:
        head.append(f"[length:{_lrc_time(length_s)[:5]}]")
    body = []
    for line in lines:
        words = " ".join(f"<{_lrc_time(w.start_s)}>{w.text}" for w in line.words)
        body.append(f"[{_lrc_time(line.start_s)}]{words}")
    return "\n".join([*head, *body]) + "\n"


def to_json(lines: list[TimedLine], *, language: list[str], voice: str) -> str:
    """Word timings: ``{"lines": [{"start_s", "end_s", "section", "text", "words": [...]}]}``."""
    data: dict[str, Any] = {
        "schema_version": CAPTIONS_SCHEMA_VERSION,
        "languages": language,
        "voice": voice,
        "lines": [
            {
                "start_s": line.start_s,
                "end_s": line.end_s,
                "section": line.section,
                "text": line.text,
                "words": [
                    {"text": w.text, "start_s": w.start_s, "end_s": w.end_s} for w in line.words
                ],
            }
            for line in lines
        ],
    }
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def parse_srt(text: str) -> list[tuple[float, float, str]]:
    """(start_s, end_s, text) per cue. Raises ``CaptionError`` on a malformed cue."""
    cues = []
    for block in re.split(r"\n\s*\n", text.strip()):
        rows = block.splitlines()
        if len(rows) < 3 or not rows[0].strip().isdigit() or "-->" not in rows[1]:
            raise CaptionError(f"not an SRT cue: {block[:60]!r}")
        times = [_SRT_TIME.search(part) for part in rows[1].split("-->")]
        if not all(times):
            raise CaptionError(f"bad SRT times: {rows[1]!r}")
        start, end = (
            int(m[1]) * 3600 + int(m[2]) * 60 + int(m[3]) + int(m[4]) / 1000
            for m in times
            if m is not None
        )
        if end < start:
            raise CaptionError(f"SRT cue ends before it starts: {rows[1]!r}")
        cues.append((start, end, "\n".join(rows[2:])))
    return cues


def parse_lrc(text: str) -> list[tuple[float, list[tuple[float, str]]]]:
    """(line start_s, [(word start_s, word)]) per timed line; tag lines are skipped."""
    lines = []
    for row in text.splitlines():
        match = _LRC_LINE.match(row)
        if not match:
            if row.strip() and not re.match(r"^\[[a-z]+:.*\]$", row):
                raise CaptionError(f"not an LRC line: {row[:60]!r}")
            continue
        start = int(match[1]) * 60 + int(match[2]) + int(match[3]) / 100
        words = [
            (int(m[1]) * 60 + int(m[2]) + int(m[3]) / 100, m[4].strip())
            for m in _LRC_WORD.finditer(match[4])
        ]
        lines.append((start, words))
    return lines


def parse_words_json(text: str) -> list[TimedLine]:
    """The lines back from ``to_json``'s output. Raises ``CaptionError`` if malformed."""
    try:
        data = json.loads(text)
        return [
            TimedLine(
                tuple(TimedWord(w["text"], w["start_s"], w["end_s"]) for w in line["words"]),
                line["section"],
            )
            for line in data["lines"]
        ]
    except (ValueError, KeyError, TypeError) as error:
        raise CaptionError(f"not a word-timing file: {error}") from error
