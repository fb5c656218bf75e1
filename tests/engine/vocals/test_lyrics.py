"""Lyrics text → tagged blocks of lines, each placed in its own section of the plan."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from musewave.engine.plan import Plan
from musewave.engine.request import GenerationRequest
from musewave.engine.vocals.lyrics import LyricsError, parse_lyrics, place_blocks
from musewave.service.schemas import LYRICS_PATTERN
from tests.engine.vocals.conftest import plan_for

SONG = """
[Verse 1]
Walking down the empty road,
carrying a heavy load

[Pre-Chorus]
Here it comes

[Chorus | es]
¡Ven conmigo, corazón!

[Bridge]
Hold on
"""


def test_tags_open_blocks_and_name_their_kind_and_language() -> None:
    blocks = parse_lyrics(SONG)
    assert [b.tag for b in blocks] == ["verse", "pre", "chorus", "bridge"]
    assert [b.language for b in blocks] == [None, None, "es", None]
    assert blocks[0].lines[0].words == ("Walking", "down", "the", "empty", "road,")
    assert blocks[0].lines[0].spoken[-1] == "road"
    assert blocks[2].lines[0].spoken == ("Ven", "conmigo", "corazón")


def test_blank_lines_split_untagged_blocks_and_punctuation_is_no_word() -> None:
    blocks = parse_lyrics("one two\nthree\n\n\nfour — five ! ❤️ 3000\n")
    assert [b.tag for b in blocks] == [None, None]
    assert [line.words for line in blocks[1].lines] == [("four", "five", "3000")]


def test_a_blank_line_right_after_a_tag_keeps_the_tag() -> None:
    (block,) = parse_lyrics("[Chorus]\n\nla la\n")
    assert block.tag == "chorus"


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "no words"), ("[Verse]\n... !!!\n", "no words"), ("[Verse | xx]\nla\n", "xx")],
)
def test_unsingable_lyrics_are_refused(text: str, message: str) -> None:
    with pytest.raises(LyricsError, match=message):
        parse_lyrics(text)


def test_blocks_go_to_the_sections_their_tags_name_in_order(pop_plan: Plan) -> None:
    kinds = [s.kind for s in pop_plan.sections]
    placed = place_blocks(parse_lyrics(SONG), pop_plan)
    indexes = [p.section_index for p in placed]
    assert indexes == sorted(set(indexes))  # one block per section, in order
    assert [kinds[i] for i in indexes] == ["verse", "pre", "chorus", "bridge"]


def test_untagged_blocks_skip_the_intro() -> None:
    plan = plan_for(genres=["pop"], duration_s=60, bpm=120)
    placed = place_blocks(parse_lyrics("la la\n\nda da\n"), plan)
    assert plan.sections[placed[0].section_index].kind != "intro"


def test_more_blocks_than_sections_is_a_clear_error(pop_plan: Plan) -> None:
    too_many = "\n\n".join(f"line {i}" for i in range(len(pop_plan.sections) + 1))
    with pytest.raises(LyricsError, match="sections"):
        place_blocks(parse_lyrics(too_many), pop_plan)


# Tags aside ("[" and "]"), and lone surrogates (no JSON string holds one).
@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(exclude_categories=("Cs",), exclude_characters="[]"), max_size=40))
def test_the_documented_lyrics_pattern_is_what_the_request_accepts(text: str) -> None:
    documented = re.search(LYRICS_PATTERN, text) is not None
    try:
        GenerationRequest(prompt="x", lyrics=text)
        accepted = True
    except ValidationError:
        accepted = False
    assert accepted == documented, text
