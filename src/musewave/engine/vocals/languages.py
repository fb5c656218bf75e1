"""The languages the singer knows: request code → espeak-ng voice, and what a lyric in that
language must be written in. Pure data; ``musewave.engine.request`` validates against it."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Language:
    """``espeak_voice`` names the espeak-ng voice; ``unreadable`` matches characters espeak-ng
    cannot pronounce in this language (Japanese kanji, read as "Chinese letter")."""

    code: str
    name: str
    espeak_voice: str
    unreadable: re.Pattern[str] | None = None
    unreadable_hint: str = ""


_KANJI = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]")

LANGUAGES: dict[str, Language] = {
    lang.code: lang
    for lang in (
        Language("en", "English", "en-us"),
        Language("es", "Spanish", "es-419"),
        Language("fr", "French", "fr"),
        Language("de", "German", "de"),
        Language("it", "Italian", "it"),
        Language("pt", "Portuguese", "pt-br"),
        Language("hi", "Hindi", "hi"),
        Language(
            "ja",
            "Japanese",
            "ja",
            _KANJI,
            "Japanese lyrics must be written in kana (hiragana or katakana): espeak-ng "
            "cannot read kanji",
        ),
        Language("ko", "Korean", "ko"),
        Language("zh", "Mandarin Chinese", "cmn"),
        Language("nl", "Dutch", "nl"),
        Language("sv", "Swedish", "sv"),
        Language("pl", "Polish", "pl"),
        Language("ru", "Russian", "ru"),
        Language("tr", "Turkish", "tr"),
        Language("id", "Indonesian", "id"),
    )
}
DEFAULT_LANGUAGE = "en"
# Alternative spellings a client may send.
LANGUAGE_SYNONYMS = {"cmn": "zh", "zh-cn": "zh", "pt-br": "pt", "es-419": "es", "en-us": "en"}


def canonical_language(code: str) -> str | None:
    """``"EN"`` → ``"en"``, ``"zh-CN"`` → ``"zh"``; None for a language the singer lacks."""
    text = code.strip().lower().replace("_", "-")
    text = LANGUAGE_SYNONYMS.get(text, text)
    return text if text in LANGUAGES else None
