"""The lyric writer: when vocals are asked for without lyrics, write them from the plan.

One block per singable section, two bars per line, each line about as many syllables as
the tempo lets a singer fit (counted the way the singer will pronounce them), line pairs
rhyming, the chorus's first line coming back as its third. Words come from the plan's title
(the prompt's own words) and from per-language tables in ``vocabulary``; the mood picks
the bright or the dark table (dark exists for English; other languages use their bright
table).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from musewave.engine.plan import Plan
from musewave.engine.prompt import MOODS
from musewave.engine.vocals.lyrics import SINGABLE_KINDS, LyricBlock, LyricLine
from musewave.engine.vocals.vocabulary import VOCABULARY, Vocabulary

SyllableCounter = Callable[[str, str], int]  # (text, language) -> syllables
BARS_PER_LINE = 2
MAX_LINES = 8
# Syllables per beat at 110 BPM; scaled inversely with tempo and clamped.
SYLLABLES_PER_BEAT, RATE_RANGE = 1.0, (0.45, 1.2)
KIND_TAG = {
    "verse": "verse", "groove": "verse", "chorus": "chorus", "hook": "chorus", "drop": "chorus",
    "pre": "pre", "build": "pre", "bridge": "bridge",
}  # fmt: skip
WRITER_LANGUAGES = tuple(sorted(VOCABULARY["bright"]))
# Title words that make no topic ("a song *about* rain").
_NOT_TOPICS = frozenset(
    [
        "about",
        "into",
        "over",
        "under",
        "through",
        "when",
        "where",
        "what",
        "just",
        "feel",
        "feeling",
        "make",
        "made",
        "vibe",
        "vibes",
        "sound",
        "sounds",
        "style",
        "type",
        "kind",
    ]
)


def prompt_topic(plan: Plan) -> str:
    """The prompt word a line sings about: the longest title word that is not filler."""
    words = [w.lower() for w in plan.title.split() if w.isalpha() and w.lower() not in _NOT_TOPICS]
    return max(words, key=len) if words else ""


def vocabulary_for(language: str, plan: Plan) -> Vocabulary:
    """The table for ``language`` in the plan's mood; English when the language has none."""
    dark = any(MOODS[m].prefers_minor for m in plan.moods if m in MOODS)
    tables = VOCABULARY["dark" if dark else "bright"]
    return (
        tables.get(language)
        or VOCABULARY["bright"].get(language)
        or tables.get("en", VOCABULARY["bright"]["en"])
    )


def _fill(opening: str, topic: str) -> str:
    return opening.replace("{X}", topic)


def _line(
    vocabulary: Vocabulary,
    endings: tuple[str, ...],
    target: int,
    used: set[str],
    topic: str,
    language: str,
    count: SyllableCounter,
    rng: np.random.Generator,
    *,
    about_topic: bool = False,
    written: frozenset[str] = frozenset(),
) -> str:
    best: tuple[float, str, str] | None = None
    openings = vocabulary.openings
    if about_topic and topic and any("{X}" in o for o in openings):
        openings = tuple(o for o in openings if "{X}" in o)
    for opening in openings:
        if "{X}" in opening and not topic:
            continue
        for ending in endings:
            if ending in used:
                continue
            text = f"{_fill(opening, topic)} {ending}"
            if _capitalize(text) in written:  # a line the song already sang
                continue
            miss = abs(count(text, language) - target) + float(rng.uniform(0, 0.9))
            if best is None or miss < best[0]:
                best = (miss, text, ending)
    if best is None:  # every ending used (or line sung): allow repeats
        return _line(vocabulary, endings, target, set(), topic, language, count, rng)
    used.add(best[2])
    return best[1]


def _capitalize(text: str) -> str:
    return text[:1].upper() + text[1:]


def write_lyrics(
    plan: Plan, languages: list[str], count: SyllableCounter, rng: np.random.Generator
) -> list[LyricBlock]:
    """Blocks for the plan's singable sections, in order (languages alternate by block)."""
    topic = prompt_topic(plan)
    blocks: list[LyricBlock] = []
    chorus_text: tuple[LyricLine, ...] | None = None
    langs = languages or ["en"]
    for index, section in enumerate(s for s in plan.sections if s.kind in SINGABLE_KINDS):
        language = langs[index % len(langs)]
        vocabulary = vocabulary_for(language, plan)
        bars = section.beats // plan.beats_per_bar
        n_lines = max(1, min(MAX_LINES, bars // BARS_PER_LINE))
        beats_per_line = section.beats / n_lines
        rate = min(max(SYLLABLES_PER_BEAT * 110.0 / plan.bpm, RATE_RANGE[0]), RATE_RANGE[1])
        tag = KIND_TAG.get(section.kind, "verse")
        if tag == "chorus":
            rate *= 0.85
            if chorus_text is not None and len(chorus_text) == n_lines:
                blocks.append(LyricBlock(tag, chorus_text, language))  # the chorus returns
                continue
        target = max(3, round(beats_per_line * rate))
        used: set[str] = set()
        lines: list[str] = []
        rhyme_sets = [vocabulary.rhymes[int(i)] for i in rng.permutation(len(vocabulary.rhymes))]
        for number in range(n_lines):
            if tag == "chorus" and number == 2 and n_lines >= 4:
                lines.append(lines[0])
                continue
            endings = rhyme_sets[(number // 2) % len(rhyme_sets)]
            text = _line(
                vocabulary,
                endings,
                target,
                used,
                topic,
                language,
                count,
                rng,
                about_topic=not blocks and number == 0,  # the song opens on the prompt's word
                written=frozenset(" ".join(line.words) for block in blocks for line in block.lines)
                | frozenset(lines),
            )
            lines.append(_capitalize(text))
        block_lines = tuple(LyricLine(tuple(text.split())) for text in lines)
        if tag == "chorus":
            chorus_text = block_lines
        blocks.append(LyricBlock(tag, block_lines, language))
    return blocks


def lyrics_text(blocks: list[LyricBlock]) -> str:
    """The blocks written out with their tags (what ``parse_lyrics`` reads back)."""
    parts = []
    for block in blocks:
        head = f"[{(block.tag or 'verse').capitalize()}" + (
            f" | {block.language}]" if block.language else "]"
        )
        parts.append("\n".join([head, *(" ".join(line.words) for line in block.lines)]))
    return "\n\n".join(parts) + "\n"
