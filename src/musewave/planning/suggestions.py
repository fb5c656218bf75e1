"""Suggestions for the studio: genres, artists, instruments, vocal languages, and a richer prompt.

The same contracts with and without a language model: a list of ``{value, label}`` items (at
most ``limit``, best first) and where they came from (``source``: ``rules`` or
``llm:<provider>:<model>``). The rules answer from our own tables; a model, when configured,
ranks within the same vocabulary (genres, instruments and languages are enums of ours; artist
names are checked as plain short text), topped up from the rules. A model's failure, or its
open breaker, gives the rules' answer; answers are cached per question and model.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from musewave.cache import Cache
from musewave.cache.keys import sha256_hex
from musewave.config import Settings
from musewave.engine.genres import DEFAULT_GENRE, GENRES, canonical_genre
from musewave.engine.prompt import INSTRUMENT_WORDS, read_prompt
from musewave.observability.logging import get_logger
from musewave.planning.catalog import ARTISTS, GENRE_MOODS, LANGUAGE_WORDS, LANGUAGES
from musewave.planning.llm import (
    AnswerRejected,
    LLMClient,
    ask_through,
    open_llm_client,
    planner_name,
)
from musewave.planning.planner import failure_reason
from musewave.planning.prompts import ENHANCE_INSTRUCTIONS, SUGGEST_INSTRUCTIONS, text_digest
from musewave.resilience import Breaker, Breakers

log = get_logger(__name__)

SuggestKind = Literal["genres", "artists", "instruments", "languages"]
SUGGEST_KINDS: tuple[SuggestKind, ...] = ("genres", "artists", "instruments", "languages")
MAX_LIMIT = 20
DEFAULT_LIMIT = 8
MAX_QUERY_CHARS = 500
MAX_PROMPT_CHARS = 500
MAX_ARTIST_CHARS = 60
# A studio waits for these while a person types: a shorter leash than a plan's.
SUGGEST_TIMEOUT_S = 10.0
CACHE_NAMESPACE = "suggestions"
CACHE_TTL_S = 3600.0
RULES = "rules"
# What a model's artist name may look like: words, with the punctuation names use.
_ARTIST_NAME = re.compile(r"^\w[\w .,'’\"$&!?()+\-]*$")


class Suggestion(BaseModel):
    value: str = Field(
        description="What to put in the request: a genre id (`genres`), an artist name "
        "(`artist_inspiration`), an instrument word for the prompt, a language code "
        "(`vocal_languages`)"
    )
    label: str = Field(description="How to show it")


class SuggestionList(BaseModel):
    """Suggestions of one kind, best first."""

    kind: SuggestKind
    items: list[Suggestion]
    source: str = Field(description="`rules`, or `llm:<provider>:<model>` when a model ranked them")


class PromptHintsView(BaseModel):
    """What the planner reads in a prompt (the rule-based prompt reader)."""

    genre: str | None = Field(description="The genre id the prompt names, if any")
    bpm: float | None
    key: str | None
    moods: list[str]
    instruments: dict[str, str] = Field(description="Role → voice the prompt asks for")


class EnhanceBody(BaseModel):
    """``POST /v1/prompt/enhance``: a prompt to enrich, and the genres already chosen."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True)

    prompt: Annotated[
        str,
        Field(min_length=1, max_length=MAX_PROMPT_CHARS, json_schema_extra={"pattern": r"\S"}),
    ]
    genres: Annotated[list[str], Field(max_length=3)] = []


class EnhancedPrompt(BaseModel):
    """A richer prompt (at most 500 characters, ready for ``POST /v1/generations``)."""

    prompt: str
    original: str
    hints: PromptHintsView = Field(description="What the planner reads in the new prompt")
    source: str = Field(description="`rules`, or `llm:<provider>:<model>` when a model wrote it")


def hints_view(prompt: str) -> PromptHintsView:
    hints = read_prompt(prompt)
    return PromptHintsView(
        genre=hints.genres[0] if hints.genres else None,
        bpm=hints.bpm,
        key=hints.key.name() if hints.key else None,
        moods=list(hints.moods),
        instruments=dict(hints.instruments),
    )


def _words(text: str) -> str:
    return " ".join(re.sub(r"[^\w#&]+", " ", text.lower()).split())


def _prefix_rank(query: str, names: Mapping[str, list[str]]) -> list[str]:
    """Values whose names start with (then contain) the query's last word(s): autocomplete."""
    if not query:
        return []
    starts = [v for v, ns in names.items() if any(n.startswith(query) for n in ns)]
    contains = [v for v, ns in names.items() if v not in starts and any(query in n for n in ns)]
    return starts + contains


def _genre_of(query: str, genre: str | None) -> str | None:
    if genre:
        return canonical_genre(genre)
    found = read_prompt(query).genres if query else ()
    return found[0] if found else None


def rule_genres(query: str, genre: str | None) -> list[Suggestion]:
    words = _words(query)
    named = list(read_prompt(query).genres) if query else []
    names = {
        g: [_words(n) for n in (g, p.name, *p.synonyms)] for g, p in GENRES.items()
    }  # fmt: skip
    chosen = canonical_genre(genre) if genre else None
    order = [*([chosen] if chosen else []), *named, *_prefix_rank(words, names), *GENRES]
    return [Suggestion(value=g, label=GENRES[g].name) for g in dict.fromkeys(order)]


def rule_artists(query: str, genre: str | None) -> list[Suggestion]:
    words = _words(query)
    everyone = {
        a: g for g in (*ARTISTS, *GENRES) for a in ARTISTS.get(g, ())
    }  # artist → their first genre
    by_name = _prefix_rank(words, {a: [_words(a)] for a in everyone})
    picked = _genre_of(query, genre)
    of_genre = list(ARTISTS.get(picked, ())) if picked else []
    # Then one of each genre in turn, so an empty query still spans the styles.
    columns = [ARTISTS[g] for g in ARTISTS]
    round_robin = [c[i] for i in range(max(map(len, columns))) for c in columns if i < len(c)]
    order = [*by_name, *of_genre, *round_robin]
    return [
        Suggestion(value=a, label=f"{a} ({GENRES[everyone[a]].name})") for a in dict.fromkeys(order)
    ]


def _instrument_label(word: str) -> str:
    return word if word.isdigit() else word.capitalize()


def rule_instruments(query: str, genre: str | None) -> list[Suggestion]:
    words = _words(query)
    by_name = _prefix_rank(words, {w: [w] for w in INSTRUMENT_WORDS})
    picked = _genre_of(query, genre) or (None if query else DEFAULT_GENRE)
    palette: list[str] = []
    if picked:
        voices = GENRES[picked].voices
        for voice in (voices.chords, voices.lead, voices.pads, voices.bass):
            palette += [w for w, (_, v) in INSTRUMENT_WORDS.items() if v == voice][:1]
    order = [*by_name, *palette, *INSTRUMENT_WORDS]
    return [Suggestion(value=w, label=_instrument_label(w)) for w in dict.fromkeys(order)]


def rule_languages(query: str, genre: str | None) -> list[Suggestion]:
    words = _words(query)
    padded = f" {words} {_words(genre or '')} "
    pointed = [code for word, code in LANGUAGE_WORDS.items() if f" {word} " in padded]
    names = {code: [code, name.lower()] for code, name in LANGUAGES.items()}
    order = [*pointed, *_prefix_rank(words, names), *LANGUAGES]
    return [Suggestion(value=c, label=LANGUAGES[c]) for c in dict.fromkeys(order)]


RULES_BY_KIND: Mapping[SuggestKind, Callable[[str, str | None], list[Suggestion]]] = {
    "genres": rule_genres,
    "artists": rule_artists,
    "instruments": rule_instruments,
    "languages": rule_languages,
}


def rule_enhance(prompt: str, genres: list[str]) -> str:
    """The prompt with what it leaves open filled in from the genre: the genre's name, a
    typical mood, a tempo in its range and two of its instruments. At most 500 characters."""
    hints = read_prompt(prompt)
    chosen = [g for g in (canonical_genre(x) for x in genres) if g]
    genre = (chosen or list(hints.genres) or [DEFAULT_GENRE])[0]
    profile = GENRES[genre]
    additions: list[str] = []
    if not hints.genres:
        additions.append(profile.name.lower())
    if not hints.moods and genre in GENRE_MOODS:
        additions.append(GENRE_MOODS[genre])
    if hints.bpm is None and hints.tempo_bias == 0:
        low, high = profile.bpm_range
        additions.append(f"{round((low + high) / 2)} BPM")
    if not hints.instruments:
        words = [
            w
            for voice in (profile.voices.chords, profile.voices.lead, profile.voices.bass)
            for w in [next((w for w, (_, v) in INSTRUMENT_WORDS.items() if v == voice), None)]
            if w
        ]
        if words:
            additions.append("with " + " and ".join(dict.fromkeys(words[:2])))
    base = prompt.rstrip(" .,;")
    text = ", ".join([base, *additions]) if additions else base
    return text[:MAX_PROMPT_CHARS].rstrip()


class _Items(BaseModel):
    items: Annotated[list[Annotated[str, Field(max_length=200)]], Field(max_length=50)]


class _Enhanced(BaseModel):
    prompt: Annotated[str, Field(min_length=1, max_length=2000)]


def _clean_text(text: str, limit: int) -> str:
    printable = "".join(ch for ch in text if ch.isprintable())
    return " ".join(printable.split())[:limit].strip()


class Suggestions:
    """Answers ``/v1/suggest/*`` and ``/v1/prompt/enhance``: from rules, or ranked by a model
    through ``breaker`` (``client`` None: the rules alone). Blocking: call off the event loop."""

    def __init__(
        self, client: LLMClient | None, breaker: Breaker | None, cache: Cache | None = None
    ) -> None:
        if client is not None and breaker is None:
            raise ValueError("LLM suggestions need a breaker")
        self.client = client
        self.breaker = breaker
        self.cache = cache

    @classmethod
    def from_settings(
        cls, settings: Settings, breakers: Breakers, cache: Cache | None = None
    ) -> Suggestions:
        timeout_s = min(SUGGEST_TIMEOUT_S, breakers.llm.config.call_timeout_s)
        client = open_llm_client(settings, timeout_s)
        return cls(client, breakers.llm if client is not None else None, cache)

    def suggest(
        self, kind: SuggestKind, query: str = "", genre: str | None = None, limit: int = 8
    ) -> SuggestionList:
        """Up to ``limit`` suggestions of ``kind`` for what the person typed (``query``) and
        the genre chosen, if any."""
        rules = RULES_BY_KIND[kind](query, genre)
        if self.client is None or not (query or genre):
            return SuggestionList(kind=kind, items=rules[:limit], source=RULES)
        allowed = {s.value: s for s in rules}
        data = {"kind": kind, "typed": query, "genre": genre, "limit": limit}
        schema = self._items_schema(kind, sorted(allowed), limit)
        instructions = SUGGEST_INSTRUCTIONS.format(what=kind, limit=limit)
        answer = self._ask(instructions, data, schema, f"musewave_{kind}", _Items)
        if answer is None:
            return SuggestionList(kind=kind, items=rules[:limit], source=RULES)
        assert isinstance(answer, _Items)
        items: list[Suggestion] = []
        for value in answer.items:
            if kind == "artists":
                name = _clean_text(value, MAX_ARTIST_CHARS)
                if _ARTIST_NAME.fullmatch(name):
                    items.append(allowed.get(name) or Suggestion(value=name, label=name))
            elif value in allowed:
                items.append(allowed[value])
        unique = {s.value: s for s in [*items, *rules]}  # the model's first, topped up
        return SuggestionList(kind=kind, items=list(unique.values())[:limit], source=self._name())

    def enhance(self, prompt: str, genres: list[str]) -> EnhancedPrompt:
        """A richer prompt for ``prompt``: the model's, checked, or the rules'."""
        text = rule_enhance(prompt, genres)
        source = RULES
        if self.client is not None:
            data = {"prompt": prompt, "genres": genres, "known_genres": sorted(GENRES)}
            schema = {
                "type": "object",
                "properties": {"prompt": {"type": "string"}},
                "required": ["prompt"],
                "additionalProperties": False,
            }
            answer = self._ask(ENHANCE_INSTRUCTIONS, data, schema, "musewave_prompt", _Enhanced)
            if answer is not None:
                assert isinstance(answer, _Enhanced)
                cleaned = _clean_text(answer.prompt, MAX_PROMPT_CHARS)
                if cleaned:
                    text, source = cleaned, self._name()
        return EnhancedPrompt(prompt=text, original=prompt, hints=hints_view(text), source=source)

    def _name(self) -> str:
        assert self.client is not None
        return planner_name(self.client)

    @staticmethod
    def _items_schema(kind: SuggestKind, allowed: list[str], limit: int) -> dict[str, Any]:
        item: dict[str, Any] = {"type": "string"}
        if kind != "artists":
            item["enum"] = allowed
        return {
            "type": "object",
            "properties": {"items": {"type": "array", "items": item, "maxItems": limit}},
            "required": ["items"],
            "additionalProperties": False,
        }

    def _ask(
        self,
        instructions: str,
        data: dict[str, Any],
        schema: dict[str, Any],
        name: str,
        model: type[_Items] | type[_Enhanced],
    ) -> BaseModel | None:
        """The model's answer read as ``model``, from the cache or the model; None on any
        failure (logged by kind, never with the person's words)."""
        assert self.client is not None and self.breaker is not None
        client = self.client
        key = sha256_hex(
            json.dumps([name, data, client.provider, client.model], sort_keys=True).encode()
        )
        if self.cache is not None:
            raw = self.cache.get(CACHE_NAMESPACE, key)
            if raw is not None:
                try:
                    return model.model_validate_json(raw)
                except ValidationError:
                    pass

        def attempt() -> BaseModel:
            text = client.answer_json(instructions, data, schema, name)
            try:
                return model.model_validate_json(text)
            except ValidationError:
                raise AnswerRejected("schema_violation") from None

        try:
            answer = ask_through(self.breaker, attempt)
        except Exception as error:
            log.warning(
                "suggestion fell back to rules",
                question=name,
                reason=failure_reason(error),
                text_sha256=text_digest(json.dumps(data, sort_keys=True)),
            )
            return None
        if self.cache is not None:
            self.cache.set(CACHE_NAMESPACE, key, answer.model_dump_json().encode(), CACHE_TTL_S)
        return answer

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
