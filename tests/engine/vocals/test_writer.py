"""The lyric writer: lines that fit the tempo, rhyme in pairs, in the requested language."""

from __future__ import annotations

import re

import numpy as np
import pytest

from musewave.engine.plan import Plan
from musewave.engine.vocals.lyrics import SINGABLE_KINDS, parse_lyrics
from musewave.engine.vocals.track import count_syllables
from musewave.engine.vocals.vocabulary import VOCABULARY
from musewave.engine.vocals.writer import (
    WRITER_LANGUAGES,
    lyrics_text,
    prompt_topic,
    write_lyrics,
)
from tests.engine.vocals.conftest import plan_for

SCRIPTS = {
    "hi": r"[\u0900-\u097f]",
    "ja": r"[\u3040-\u30ff]",
    "ko": r"[\uac00-\ud7af]",
    "zh": r"[\u4e00-\u9fff]",
}


def test_the_writer_knows_the_ten_listed_languages() -> None:
    assert set(WRITER_LANGUAGES) >= {"en", "es", "fr", "de", "it", "pt", "hi", "ja", "ko", "zh"}


@pytest.mark.parametrize("language", WRITER_LANGUAGES)
def test_each_singable_section_gets_a_block_in_the_language(pop_plan: Plan, language: str) -> None:
    blocks = write_lyrics(pop_plan, [language], count_syllables, np.random.default_rng(1))
    singable = [s for s in pop_plan.sections if s.kind in SINGABLE_KINDS]
    assert len(blocks) == len(singable)
    assert all(block.language == language for block in blocks)
    text = " ".join(" ".join(line.words) for block in blocks for line in block.lines)
    if language in SCRIPTS:
        assert re.search(SCRIPTS[language], text)
    # What the writer wrote reads back as the same blocks.
    assert parse_lyrics(lyrics_text(blocks)) == blocks


def test_line_pairs_rhyme_and_fit_the_syllable_target() -> None:
    plan = plan_for(genres=["pop"], duration_s=90, bpm=100)
    blocks = write_lyrics(plan, ["en"], count_syllables, np.random.default_rng(3))
    rhymes = VOCABULARY["bright"]["en"].rhymes
    for block in blocks:
        endings = [" ".join(line.words) for line in block.lines]
        for first, second in zip(endings[::2], endings[1::2], strict=False):
            group = next(g for g in rhymes if any(first.endswith(e) for e in g))
            assert any(second.endswith(e) for e in group), (first, second)
        counts = [count_syllables(" ".join(line.words), "en") for line in block.lines]
        assert max(counts) - min(counts) <= 4


def test_dark_moods_use_the_dark_vocabulary_and_prompt_words() -> None:
    plan = plan_for(prompt="dark melancholic song about rain", genres=["pop"], duration_s=60)
    blocks = write_lyrics(plan, ["en"], count_syllables, np.random.default_rng(2))
    text = " ".join(" ".join(line.words) for block in blocks for line in block.lines).lower()
    dark_endings = {e for group in VOCABULARY["dark"]["en"].rhymes for e in group}
    assert any(ending in text for ending in dark_endings)
    assert prompt_topic(plan) == "rain"
    assert "rain" in " ".join(blocks[0].lines[0].words).lower()


def test_lines_do_not_repeat_except_the_chorus_coming_back() -> None:
    plan = plan_for(genres=["pop"], duration_s=120, bpm=110)
    blocks = write_lyrics(plan, ["en"], count_syllables, np.random.default_rng(9))
    lines = [
        " ".join(line.words) for block in blocks if block.tag != "chorus" for line in block.lines
    ]
    assert len(lines) == len(set(lines))


def test_several_languages_alternate_by_block(pop_plan: Plan) -> None:
    blocks = write_lyrics(pop_plan, ["en", "es"], count_syllables, np.random.default_rng(1))
    assert [b.language for b in blocks][:2] == ["en", "es"]
