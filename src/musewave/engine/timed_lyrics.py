"""Sung words with their times: what the vocals stage produces and captions and the lyric video
read. Plain data; times are seconds from the start of the track."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TimedWord:
    """One word as sung: its text and when its first syllable starts and its last one ends."""

    text: str
    start_s: float
    end_s: float

    def __post_init__(self) -> None:
        if not self.text:
            raise ValueError("a timed word needs text")
        if self.end_s < self.start_s:
            raise ValueError(f"word {self.text!r} ends ({self.end_s}) before it starts")


@dataclass(frozen=True, slots=True)
class TimedLine:
    """One lyric line: its words in order and the plan section it is sung in."""

    words: tuple[TimedWord, ...]
    section: str

    def __post_init__(self) -> None:
        if not self.words:
            raise ValueError("a timed line needs at least one word")
        starts = [word.start_s for word in self.words]
        if starts != sorted(starts):
            raise ValueError("the words of a line must be in time order")

    @property
    def start_s(self) -> float:
        return self.words[0].start_s

    @property
    def end_s(self) -> float:
        return self.words[-1].end_s

    @property
    def text(self) -> str:
        return " ".join(word.text for word in self.words)
