"""Fonts and text layout: lines that fit, rows that wrap, karaoke split positions."""

from __future__ import annotations

import itertools

import pytest
from PIL import ImageFont

from musewave.engine.video.typography import font_for, installed_fonts, layout, text_mask

WORDS = [("Hold", 0.0, 0.4), ("on,", 0.5, 0.9), ("hold", 1.0, 1.4), ("on", 1.5, 1.9)]


def test_a_short_line_is_one_row_at_the_largest_size() -> None:
    size, rows = layout(WORDS, 1100, (64, 40))
    assert size == 64 and len(rows) == 1
    (row,) = rows
    spans = [(w.x0, w.x1) for w in row.words]
    assert all(a[1] < b[0] for a, b in itertools.pairwise(spans))  # in order, apart
    assert spans[-1][1] <= row.mask.width


def test_a_long_line_shrinks_then_wraps() -> None:
    words = [(f"word{i}", float(i), i + 0.5) for i in range(16)]
    size, rows = layout(words, 600, (64, 52, 40))
    assert size == 40 and len(rows) > 2  # too long for two rows even at the smallest size
    assert [w.start_s for r in rows for w in r.words] == [float(i) for i in range(16)]
    assert all(r.mask.width <= 600 + 8 for r in rows)


def test_the_split_follows_the_words_in_time() -> None:
    _, (row,) = layout(WORDS, 1100, (64,))
    first, second = row.words[0], row.words[1]
    assert row.split_x(-1.0) == 0
    assert row.split_x(0.2) == pytest.approx((first.x0 + first.x1) / 2, abs=1)
    assert row.split_x(0.45) == first.x1  # between words: the sung word stays filled
    assert row.split_x(0.7) == pytest.approx((second.x0 + second.x1) / 2, abs=1)
    assert row.split_x(5.0) == row.words[-1].x1
    splits = [row.split_x(t / 10) for t in range(25)]
    assert splits == sorted(splits)


def test_text_always_has_a_font() -> None:
    assert isinstance(font_for("Ünïcødé ça va", 40), ImageFont.FreeTypeFont)
    mask = text_mask("Title", 30)
    assert mask.alpha.max() > 0.9 and mask.height % 2 == 0 and mask.width % 2 == 0
    if installed_fonts():
        assert installed_fonts()[0].name == "DejaVuSans-Bold.ttf"
