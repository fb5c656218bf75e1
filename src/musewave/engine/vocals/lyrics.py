"""Lyrics as text → blocks of lines of words, each block placed in one section of the plan.

Tags such as ``[Verse]``, ``[Chorus 2]``, ``[Pre-Chorus]`` or ``[Bridge]`` open a block and say
which kind of section sings it; a language code after a bar (``[Chorus | es]``) switches that
block's language. Untagged blocks (separated by blank lines) take the next singable section.
Blocks are sung once each, in order: a section left without a block stays instrumental.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from musewave.engine.vocals.languages import canonical_language

if TYPE_CHECKING:  # the request validates lyrics, and the plan imports the request
    from musewave.engine.plan import Plan

# Lyric tag → the plan's section kinds that may sing it, best first.
TAG_KINDS: dict[str, tuple[str, ...]] = {
    "verse": ("verse", "groove", "hook", "chorus", "drop", "bridge"),
    "pre": ("pre", "build", "verse", "bridge"),
    "chorus": ("chorus", "hook", "drop", "groove", "verse"),
    "hook": ("hook", "chorus", "drop", "groove", "verse"),
    "bridge": ("bridge", "breakdown", "solo", "pre", "verse", "chorus"),
    "intro": ("intro", "verse", "groove"),
    "outro": ("outro", "chorus", "hook", "verse"),
}
TAG_SYNONYMS = {
    "pre-chorus": "pre", "prechorus": "pre", "pre chorus": "pre", "refrain": "chorus",
    "break": "bridge", "middle 8": "bridge", "interlude": "bridge", "drop": "chorus",
    "coda": "outro", "post-chorus": "chorus",
}  # fmt: skip
# Sections that take an untagged block (intro and outro sing only when a tag asks).
SINGABLE_KINDS = ("verse", "chorus", "hook", "pre", "bridge", "drop", "groove", "build")
_TAG_RE = re.compile(r"^\s*\[(?P<body>[^\]]*)\]\s*$")
# Punctuation kept in the caption but not spoken: the word is what is left.
_EDGE_PUNCT = "\"'“”‘’«»()[]{}.,;:!?¡¿…-–—~*/\\|。、，！？：；「」『』"


class LyricsError(ValueError):
    """Lyrics that cannot be sung (no words, or a tag that names nothing)."""


@dataclass(frozen=True, slots=True)
class LyricLine:
    """Words as written (punctuation kept, for captions); ``spoken`` without edge punctuation."""

    words: tuple[str, ...]

    @property
    def spoken(self) -> tuple[str, ...]:
        return tuple(word.strip(_EDGE_PUNCT) for word in self.words)


@dataclass(frozen=True, slots=True)
class LyricBlock:
    tag: str | None  # a key of TAG_KINDS, or None when untagged
    lines: tuple[LyricLine, ...]
    language: str | None = None  # from the tag; None: the request's language


@dataclass(frozen=True, slots=True)
class PlacedBlock:
    block: LyricBlock
    section_index: int


def _words(text: str) -> tuple[str, ...]:
    """Whitespace-separated tokens with a letter or digit in them (an emoji or a dash alone
    is not a word: nothing would be sung for it)."""
    return tuple(word for word in text.split() if any(char.isalnum() for char in word))


def _read_tag(body: str) -> tuple[str | None, str | None]:
    name, _, language = body.partition("|")
    words = re.sub(r"[\d:#]+", " ", name).strip().lower()
    words = " ".join(words.split())
    tag: str | None = TAG_SYNONYMS.get(words, words)
    if tag not in TAG_KINDS:
        tag = next((t for t in TAG_KINDS if t in words.split()), None)
    lang = None
    if language.strip():
        lang = canonical_language(language)
        if lang is None:
            raise LyricsError(f"unknown language {language.strip()!r} in tag [{body.strip()}]")
    return tag, lang


def parse_lyrics(text: str) -> list[LyricBlock]:
    """Split lyrics into blocks of lines. Raises ``LyricsError`` when there is no word."""
    blocks: list[LyricBlock] = []
    tag: str | None = None
    language: str | None = None
    lines: list[LyricLine] = []

    def close() -> None:
        nonlocal lines
        if lines:
            blocks.append(LyricBlock(tag, tuple(lines), language))
        lines = []

    for raw in text.splitlines():
        match = _TAG_RE.match(raw)
        if match:
            close()
            tag, language = _read_tag(match["body"])
            continue
        if not raw.strip():
            if lines:  # a blank line ends a block; what follows is untagged until a tag
                close()
                tag, language = None, None
            continue
        words = _words(raw)
        if words:
            lines.append(LyricLine(words))
    close()
    if not blocks:
        raise LyricsError("the lyrics have no words to sing")
    return blocks


def place_blocks(blocks: list[LyricBlock], plan: Plan) -> list[PlacedBlock]:
    """Give each block its own section, in order: the first unused section after the previous
    block's whose kind the tag allows, else any singable one after it, else any after it.

    Raises ``LyricsError`` when there are more blocks than sections to sing them in.
    """
    kinds = [section.kind for section in plan.sections]
    placed: list[PlacedBlock] = []
    after = 0
    for number, block in enumerate(blocks):
        remaining = len(blocks) - number - 1
        # Leave enough sections for the blocks still to come.
        last = len(kinds) - remaining
        window = range(after, last)
        choice = None
        for wanted in TAG_KINDS.get(block.tag or "", SINGABLE_KINDS):
            choice = next((i for i in window if kinds[i] == wanted), None)
            if choice is not None:
                break
        if choice is None:
            choice = next((i for i in window if kinds[i] in SINGABLE_KINDS), None)
        if choice is None:
            choice = next(iter(window), None)
        if choice is None:
            raise LyricsError(
                f"{len(blocks)} lyric blocks but the {plan.duration_s:g} s song has only "
                f"{len(kinds)} sections; make the song longer or merge blocks"
            )
        placed.append(PlacedBlock(block, choice))
        after = choice + 1
    return placed
