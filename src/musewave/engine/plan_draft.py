"""A plan an outside planner proposes (a *draft*), checked and repaired into a :class:`Plan`.

An LLM planner (``musewave.planning``) answers with JSON in the shape :func:`draft_json_schema`
describes. That answer is untrusted input: :class:`PlanDraft` reads it (a missing field or a
wrong type raises ``pydantic.ValidationError``: the caller falls back to the rules), and
:func:`plan_from_draft` turns it into a plan the composer can trust:

- what the user asked for wins: the request's genre, key and tempo, and the prompt's own
  genre, tempo, key and instrument words, as the rule-based planner reads them;
- the genre is one of ours (a synonym is mapped; anything else: the rules' choice);
- the key is read leniently (``"Dm"``, ``"D-flat major"``, ``"f# Dorian"``) and normalized;
- the tempo is clamped to the genre's range, then nudged so whole bars fill the duration;
- sections get known kinds, and their bars are re-summed to exactly the requested duration;
- instruments are mapped onto our palette (a voice, a known instrument word, a close name),
  or left to the genre;
- chord progressions that do not read in the key are replaced by the genre's.

Pure and deterministic: the same request, seed and draft always give the same plan.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from musewave.engine.genres import GENRES, SECTION_KINDS, canonical_genre
from musewave.engine.plan import (
    ROLES,
    PartPlan,
    Plan,
    _assemble,
    _choose_genre,
    _choose_key,
    _levels,
    _parts,
    _progressions,
    _rules_title,
    _sections,
    _target_bpm,
    _timing,
    fit_arrangement,
)
from musewave.engine.prompt import INSTRUMENT_WORDS, MOODS, read_prompt
from musewave.engine.render import DRUM_KITS, PLAN_VOICES
from musewave.engine.request import GenerationRequest
from musewave.engine.theory import (
    Key,
    TheoryError,
    parse_key,
    parse_progression,
    progression_symbols,
)

MAX_TITLE_CHARS = 80
MAX_SECTIONS = 24
MAX_SECTION_BARS = 64
MAX_CHORDS = 16
# How close a name must be to one of ours to be taken for it (difflib's ratio).
_CLOSE_NAME = 0.75

# Section names models use for our kinds.
SECTION_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "pre chorus": "pre",
        "prechorus": "pre",
        "pre-chorus": "pre",
        "refrain": "chorus",
        "instrumental": "solo",
        "interlude": "breakdown",
        "break": "breakdown",
        "buildup": "build",
        "build up": "build",
        "riser": "build",
        "ending": "outro",
        "coda": "outro",
        "opening": "intro",
        "main": "groove",
        "loop": "groove",
        "post chorus": "hook",
    }
)

# Instrument names beyond the prompt's words (INSTRUMENT_WORDS) and our voice ids.
INSTRUMENT_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "grand piano": "piano",
        "acoustic piano": "piano",
        "keys": "electric_piano",
        "wurlitzer": "electric_piano",
        "synth pad": "pad",
        "warm pad": "pad",
        "bass guitar": "electric_bass",
        "electric bass": "electric_bass",
        "synth bass": "synth_bass",
        "double bass": "upright_bass",
        "contrabass": "upright_bass",
        "cello": "strings",
        "viola": "strings",
        "string ensemble": "strings",
        "orchestra": "strings",
        "horns": "brass",
        "horn section": "brass",
        "trombone": "brass",
        "lead synth": "saw_lead",
        "synth lead": "saw_lead",
        "saw": "saw_lead",
        "square": "square_lead",
        "chiptune": "square_lead",
        "acoustic guitar": "guitar_clean",
        "electric guitar": "guitar_clean",
        "clean guitar": "guitar_clean",
        "overdriven guitar": "guitar_distorted",
        "glockenspiel": "bell",
        "celesta": "bell",
        "vibraphone": "marimba",
        "xylophone": "marimba",
        "voices": "choir",
        "vocal pad": "choir",
    }
)

# Drum kit names models use.
KIT_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "acoustic": "kit_acoustic",
        "acoustic drums": "kit_acoustic",
        "live drums": "kit_acoustic",
        "drum kit": "kit_acoustic",
        "808": "kit_808",
        "tr 808": "kit_808",
        "trap drums": "kit_808",
        "electronic": "kit_electronic",
        "drum machine": "kit_electronic",
        "909": "kit_electronic",
        "lofi": "kit_lofi",
        "lo fi": "kit_lofi",
        "dusty": "kit_lofi",
        "cinematic": "kit_cinematic",
        "orchestral percussion": "kit_cinematic",
        "taiko": "kit_cinematic",
    }
)


def _finite(value: Any) -> Any:
    """NaN and infinities are not numbers a plan can use (JSON has neither; Python's reader
    accepts them)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


Finite = Annotated[float, BeforeValidator(_finite)]


class SectionDraft(BaseModel):
    model_config = ConfigDict(extra="ignore")

    kind: Annotated[str, Field(max_length=40)]
    bars: Annotated[int, Field(ge=0, le=10_000)]
    energy: Finite | None = None


class PartDraft(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Annotated[str, Field(max_length=40)]
    instrument: Annotated[str, Field(max_length=80)]


class ProgressionDraft(BaseModel):
    model_config = ConfigDict(extra="ignore")

    section: Annotated[str, Field(max_length=40)]
    chords: Annotated[str, Field(max_length=200)]


class PlanDraft(BaseModel):
    """What an outside planner proposes. Only the shape is checked here: a missing field or a
    wrong type is a ``ValidationError``; values are repaired by :func:`plan_from_draft`."""

    model_config = ConfigDict(extra="ignore")

    title: Annotated[str, Field(max_length=500)] = ""
    genre: Annotated[str, Field(max_length=80)]
    bpm: Finite
    key: Annotated[str, Field(max_length=80)]
    moods: Annotated[list[Annotated[str, Field(max_length=40)]], Field(max_length=20)] = []
    sections: Annotated[list[SectionDraft], Field(min_length=1, max_length=64)]
    instruments: Annotated[list[PartDraft], Field(max_length=20)] = []
    progressions: Annotated[list[ProgressionDraft], Field(max_length=20)] = []


def draft_json_schema() -> dict[str, Any]:
    """The JSON schema a planner's answer must follow, for structured output (OpenAI's
    ``response_format`` in strict mode, Gemini's ``responseJsonSchema``): every property
    required, no others, our names as enums where a free word would only need mapping back."""

    def obj(properties: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": properties,
            "required": list(properties),
            "additionalProperties": False,
        }

    kinds = sorted(SECTION_KINDS)
    return obj(
        {
            "title": {"type": "string", "description": "A short track title, 1-5 words"},
            "genre": {"type": "string", "enum": sorted(GENRES)},
            "bpm": {"type": "number", "minimum": 40, "maximum": 220},
            "key": {
                "type": "string",
                "description": "Tonic and mode, e.g. 'D minor', 'F# dorian', 'Bb major'",
            },
            "moods": {"type": "array", "items": {"type": "string", "enum": sorted(MOODS)}},
            "sections": {
                "type": "array",
                "description": "The form in order; bars should add up to the duration",
                "items": obj(
                    {
                        "kind": {"type": "string", "enum": kinds},
                        "bars": {"type": "integer", "minimum": 1, "maximum": MAX_SECTION_BARS},
                        "energy": {"type": "number", "minimum": 0, "maximum": 1},
                    }
                ),
            },
            "instruments": {
                "type": "array",
                "description": "At most one instrument per role; drums take a kit",
                "items": obj(
                    {
                        "role": {"type": "string", "enum": list(ROLES)},
                        "instrument": {
                            "type": "string",
                            "description": "One of: " + ", ".join(sorted(PLAN_VOICES | DRUM_KITS)),
                        },
                    }
                ),
            },
            "progressions": {
                "type": "array",
                "description": "Roman-numeral chords per section kind, e.g. 'i-VI-III-VII'",
                "items": obj(
                    {
                        "section": {"type": "string", "enum": kinds},
                        "chords": {"type": "string"},
                    }
                ),
            },
        }
    )


@dataclass(frozen=True, slots=True)
class RepairedPlan:
    """The plan, and what had to be changed to make it (short codes such as ``"bpm"``,
    ``"bars"``, ``"instrument:lead"``: never the draft's own words, so they may be logged)."""

    plan: Plan
    repairs: tuple[str, ...]


def _words(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9#]+", " ", text.lower()).split())


_FLAT_SHARP = re.compile(r"\s*[- ]\s*(flat|sharp)\b", re.IGNORECASE)


def read_key(text: str) -> Key | None:
    """A key written the ways models write it: ``"D minor"``, ``"Dm"``, ``"D-flat major"``,
    ``"f# Dorian"``, ``"A minor (aeolian)"``, ``"C major key"``; None when it is none."""
    cleaned = re.sub(r"\(.*?\)", " ", text)
    cleaned = _FLAT_SHARP.sub(lambda m: "b" if m.group(1).lower() == "flat" else "#", cleaned)
    cleaned = re.sub(r"\b(key|scale|mode)\b", " ", cleaned, flags=re.IGNORECASE)
    cleaned = cleaned.replace("_", " ")
    cleaned = " ".join(cleaned.split())
    if not cleaned:
        return None
    try:
        return parse_key(cleaned[0].upper() + cleaned[1:])
    except TheoryError:
        return None


def section_kind(text: str) -> str | None:
    """Our section kind for a model's section name (``"Pre-Chorus"`` → ``"pre"``), or None."""
    words = _words(text)
    words = re.sub(r"\s*\d+$", "", words)  # "verse 2"
    if words in SECTION_KINDS:
        return words
    return SECTION_ALIASES.get(words) or SECTION_ALIASES.get(words.replace(" ", ""))


def palette_voice(role: str, text: str) -> str | None:
    """Our voice (or drum kit, for ``drums``) for an instrument name, or None when nothing of
    ours is close enough."""
    words = _words(text)
    ids = DRUM_KITS if role == "drums" else PLAN_VOICES
    as_id = words.replace(" ", "_")
    for candidate in (as_id, f"kit_{as_id}"):
        if candidate in ids:
            return candidate
    if role == "drums":
        stripped = re.sub(r"\b(kit|drums?)\b", " ", words)
        phrase = " ".join(stripped.split())
        known = _named_in(words, KIT_ALIASES) or _named_in(phrase, KIT_ALIASES)
        if known is not None:
            return known
        close = difflib.get_close_matches(as_id, sorted(ids), n=1, cutoff=_CLOSE_NAME)
        return close[0] if close else None
    names = {word: voice for word, (_, voice) in INSTRUMENT_WORDS.items()}
    names.update(INSTRUMENT_ALIASES)
    known = _named_in(words, names)
    if known is not None:
        return known
    close = difflib.get_close_matches(words, sorted(names), n=1, cutoff=_CLOSE_NAME)
    if close:
        return names[close[0]]
    close = difflib.get_close_matches(as_id, sorted(ids), n=1, cutoff=_CLOSE_NAME)
    return close[0] if close else None


def _named_in(words: str, names: Mapping[str, str]) -> str | None:
    """The value of the longest name in ``names`` that ``words`` contains as whole words
    (``"warm rhodes piano"`` names ``rhodes``), or None."""
    padded = f" {words} "
    for name in sorted(names, key=lambda n: (-len(n), n)):
        if f" {name} " in padded:
            return names[name]
    return None


def _clean_title(text: str) -> str:
    printable = "".join(ch for ch in text if ch.isprintable())
    return " ".join(printable.split())[:MAX_TITLE_CHARS].strip()


def plan_from_draft(request: GenerationRequest, draft: PlanDraft, planner: str) -> RepairedPlan:
    """A plan for ``request`` (seeded) from ``draft``, repaired as the module says; ``planner``
    is recorded in it (``"llm:<provider>:<model>"``).

    Raises ``ValueError`` when the request has no seed.
    """
    if request.seed is None:
        raise ValueError("plan_from_draft needs a seeded request")
    repairs: list[str] = []
    # The rules' own draws, in the rules' order: they fill whatever the draft cannot.
    rng = np.random.default_rng(request.seed)
    hints = read_prompt(request.prompt)

    proposed_genre = canonical_genre(draft.genre)
    if request.genres or hints.genres or proposed_genre is None:
        genre = _choose_genre(request, hints)
    else:
        genre = proposed_genre
    if genre != proposed_genre:
        repairs.append("genre")
    profile = GENRES[genre]
    beats_per_bar = int(request.time_signature.split("/")[0])

    rules_key = _choose_key(request, hints, profile, rng)
    proposed_key = read_key(draft.key)
    if request.key or hints.key or proposed_key is None:
        key = rules_key
        if proposed_key != key:
            repairs.append("key")
    else:
        key = proposed_key
        if key.name() != draft.key.strip():
            repairs.append("key-name")

    rules_bpm, fixed = _target_bpm(request, hints, profile, rng)
    if fixed:  # the user asked for a tempo
        target_bpm = rules_bpm
        if abs(draft.bpm - target_bpm) > 0.5:
            repairs.append("bpm")
    else:
        low, high = profile.bpm_range
        target_bpm = float(np.clip(draft.bpm, low, high))
        if target_bpm != draft.bpm:
            repairs.append("bpm")
    timing = _timing(request, target_bpm, fixed, beats_per_bar, profile)

    template: list[tuple[str, int]] = []
    kind_energy: dict[str, float] = {}
    for section in draft.sections[:MAX_SECTIONS]:
        kind = section_kind(section.kind)
        if kind is None:
            repairs.append("section-kind")
            kind = "verse"
        bars = int(np.clip(section.bars, 1, MAX_SECTION_BARS))
        template.append((kind, bars))
        if section.energy is not None:
            kind_energy.setdefault(kind, float(np.clip(section.energy, 0.0, 1.0)))
    if len(draft.sections) > MAX_SECTIONS:
        repairs.append("sections")
    arrangement = fit_arrangement(tuple(template), max(1, timing.full_bars), request.loop)
    if arrangement != template:
        repairs.append("bars")

    progressions = _progressions(profile, key, rng)
    proposed_chords: dict[str, str] = {}
    for item in draft.progressions:
        kind = section_kind(item.section)
        symbols = progression_symbols(item.chords.replace(",", " "))
        chords = "-".join(symbols)
        try:
            if kind is None or not 1 <= len(symbols) <= MAX_CHORDS:
                raise TheoryError("no such section, no chords, or too many chords")
            parse_progression(chords, key)
        except TheoryError:
            repairs.append("progression")
            continue
        proposed_chords.setdefault(kind, chords)
    progressions.update(proposed_chords)

    moods = list(hints.moods)
    for mood in draft.moods:
        word = _words(mood)
        if word in MOODS and word not in moods:
            moods.append(word)
        elif word not in MOODS:
            repairs.append("mood")
    levels = _levels(profile, tuple(moods))

    parts = _draft_parts(_parts(profile, hints), set(hints.instruments), draft, repairs)
    sections = _sections(
        arrangement, beats_per_bar, timing, levels[0], parts, progressions, kind_energy
    )

    rules_title = _rules_title(request, genre, profile, rng)
    title = _clean_title(draft.title)
    if not title:
        repairs.append("title")
        title = rules_title

    plan = _assemble(
        request,
        genre=genre,
        key=key,
        timing=timing,
        beats_per_bar=beats_per_bar,
        levels=levels,
        moods=moods,
        sections=sections,
        parts=parts,
        title=title,
        planner=planner,
    )
    return RepairedPlan(plan, tuple(dict.fromkeys(repairs)))


def _draft_parts(
    profile_parts: list[PartPlan], hints_roles: set[str], draft: PlanDraft, repairs: list[str]
) -> list[PartPlan]:
    """The genre's parts (with the prompt's instrument words), the draft's instruments on the
    roles the user did not name. A genre without a bass keeps none, as with the rules."""
    voices = {p.role: p.voice for p in profile_parts}
    seen: set[str] = set()
    for part in draft.instruments:
        role = _words(part.role)
        if role not in ROLES or role in seen:
            repairs.append("instrument-role")
            continue
        seen.add(role)
        if role in hints_roles or (role == "bass" and "bass" not in voices):
            continue
        voice = palette_voice(role, part.instrument)
        if voice is None:
            repairs.append(f"instrument:{role}")
            continue
        if voice != part.instrument:
            repairs.append(f"instrument-name:{role}")
        voices[role] = voice
    return [PartPlan(role=r, voice=voices[r], stem=r) for r in ROLES if r in voices]
