"""Text for the pictures: which font draws a line, and lines drawn once into alpha masks.

Fonts come from Debian packages when installed (DejaVu Sans Bold from ``fonts-dejavu-core``;
Noto from ``fonts-noto-core``/``fonts-noto-cjk`` for Devanagari and CJK lyrics), and otherwise
from the font inside Pillow's wheel (Aileron Regular, public domain), so text always renders.
Each line uses the first font that has a glyph for every one of its characters.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from musewave.engine.video.canvas import Mask

FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))
# (file name, Debian package); licences: DejaVu's is the Bitstream Vera licence (free, with a
# renaming clause), Noto's the SIL Open Font License 1.1.
FONT_FILES: tuple[tuple[str, str], ...] = (
    ("DejaVuSans-Bold.ttf", "fonts-dejavu-core"),
    ("NotoSans-Bold.ttf", "fonts-noto-core"),
    ("NotoSansDevanagari-Bold.ttf", "fonts-noto-core"),
    ("NotoSansCJK-Bold.ttc", "fonts-noto-cjk"),
    ("NotoSansCJK-Regular.ttc", "fonts-noto-cjk"),
)
_NOT_A_CHARACTER = "\uffff"  # no font maps it: it draws the font's "missing glyph" box


@functools.cache
def installed_fonts() -> tuple[Path, ...]:
    """The files of ``FONT_FILES`` found under ``FONT_DIRS``, in the table's order."""
    found: dict[str, Path] = {}
    names = {name for name, _ in FONT_FILES}
    for folder in FONT_DIRS:
        if folder.is_dir():
            for path in sorted(folder.rglob("*")):
                if path.name in names and path.name not in found:
                    found[path.name] = path
    return tuple(found[name] for name, _ in FONT_FILES if name in found)


@functools.cache
def _font(path: Path | None, size: int) -> ImageFont.FreeTypeFont:
    if path is None:
        default = ImageFont.load_default(size)
        assert isinstance(default, ImageFont.FreeTypeFont)  # Pillow wheels ship FreeType
        return default
    return ImageFont.truetype(str(path), size)


@functools.cache
def _missing_glyph(path: Path | None) -> bytes:
    return bytes(_font(path, 32).getmask(_NOT_A_CHARACTER))


@functools.cache
def _has_glyph(path: Path | None, character: str) -> bool:
    if character.isspace():
        return True
    return bytes(_font(path, 32).getmask(character)) != _missing_glyph(path)


def font_for(text: str, size: int) -> ImageFont.FreeTypeFont:
    """The first installed font (then Pillow's own) with a glyph for each character of
    ``text``; the first font there is when none has them all."""
    candidates: list[Path | None] = [*installed_fonts(), None]
    characters = set(text)
    for path in candidates:
        if all(_has_glyph(path, c) for c in characters):
            return _font(path, size)
    return _font(candidates[0], size)


def text_width(text: str, size: int) -> float:
    """How wide ``text`` draws at ``size`` px (its advance)."""
    return float(font_for(text, size).getlength(text))


def text_mask(text: str, size: int, *, pad: int = 4) -> Mask:
    """``text`` drawn once at ``size`` px (white on black, antialiased) as a mask: the
    baseline sits at ``pad`` + the font's ascent, the first glyph's origin at x = ``pad``."""
    font = font_for(text, size)
    ascent, descent = font.getmetrics()
    width = int(np.ceil(font.getlength(text))) + 2 * pad
    image = Image.new("L", (max(2, width), ascent + descent + 2 * pad), 0)
    ImageDraw.Draw(image).text((pad, pad + ascent), text, fill=255, font=font, anchor="ls")
    return Mask.from_uint8(np.asarray(image, dtype=np.uint8))


@dataclass(frozen=True, slots=True)
class WordSpan:
    """Where a word sits in its row's mask (x from the mask's left edge) and when it is sung."""

    x0: int
    x1: int
    start_s: float
    end_s: float


@dataclass(frozen=True, slots=True)
class TextRow:
    """One drawn row of a line and its words' places, for karaoke progress."""

    mask: Mask
    words: tuple[WordSpan, ...]

    def split_x(self, time_s: float) -> int:
        """How far (mask x) the row reads as sung at ``time_s``: whole words already sung,
        and the word being sung up to its share of its duration."""
        split = 0.0
        for word in self.words:
            if time_s >= word.end_s:
                split = word.x1
            elif time_s >= word.start_s:
                share = (time_s - word.start_s) / max(word.end_s - word.start_s, 1e-6)
                split = word.x0 + (word.x1 - word.x0) * share
                break
            else:
                break
        return round(split)


ROW_PAD_PX = 4


def layout(
    words: Sequence[tuple[str, float, float]], max_width: int, sizes: Sequence[int]
) -> tuple[int, tuple[TextRow, ...]]:
    """Lay out ``words`` ((text, start_s, end_s) in order) in rows at most ``max_width`` px
    wide: the largest of ``sizes`` that fits in one row, else in two, else the smallest size
    in as many rows as it takes. Returns (size, rows)."""
    texts = [text for text, _, _ in words]
    chosen, rows_of_words = _fit(texts, max_width, sizes)
    rows: list[TextRow] = []
    for indices in rows_of_words:
        row_text = " ".join(texts[i] for i in indices)
        font = font_for(row_text, chosen)
        spans: list[WordSpan] = []
        for position, index in enumerate(indices):
            before = " ".join(texts[i] for i in indices[:position])
            x0 = font.getlength(before + " ") if before else 0.0
            x1 = x0 + font.getlength(texts[index])
            _, start_s, end_s = words[index]
            spans.append(WordSpan(round(x0) + ROW_PAD_PX, round(x1) + ROW_PAD_PX, start_s, end_s))
        rows.append(TextRow(text_mask(row_text, chosen, pad=ROW_PAD_PX), tuple(spans)))
    return chosen, tuple(rows)


def _fit(texts: Sequence[str], max_width: int, sizes: Sequence[int]) -> tuple[int, list[list[int]]]:
    for max_rows in (1, 2):
        for size in sizes:
            rows = _wrap(texts, size, max_width)
            if len(rows) <= max_rows:
                return size, rows
    return sizes[-1], _wrap(texts, sizes[-1], max_width)


def _wrap(texts: Sequence[str], size: int, max_width: int) -> list[list[int]]:
    """Greedy word wrap: indices of ``texts`` per row."""
    rows: list[list[int]] = [[]]
    for index in range(len(texts)):
        candidate = " ".join(texts[i] for i in [*rows[-1], index])
        if rows[-1] and text_width(candidate, size) + 2 * ROW_PAD_PX > max_width:
            rows.append([index])
        else:
            rows[-1].append(index)
    return rows
