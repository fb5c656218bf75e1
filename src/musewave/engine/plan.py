"""The rule-based planner: request + seed → a musical plan (tempo, key, form, harmony, palette).

Deterministic: every choice comes from one ``numpy.random.Generator`` seeded by the request's
seed. The plan is serialized as ``plan.json`` and is all the composer needs; its ``planner``
says what made it (``rules`` here; an outside planner's draft becomes a plan through
:mod:`musewave.engine.plan_draft`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict

from musewave.engine.genres import DEFAULT_GENRE, GENRES, SECTION_KINDS, GenreProfile
from musewave.engine.prompt import MOODS, PromptHints, read_prompt
from musewave.engine.request import GenerationRequest
from musewave.engine.theory import (
    MINOR_MODES,
    Key,
    parse_key,
    parse_progression,
    progression_symbols,
    tonic_first,
)
from musewave.engine.version import ENGINE_VERSION

PLAN_SCHEMA_VERSION = 1
ROLES = ("drums", "bass", "chords", "pads", "lead")
RULES_PLANNER = "rules"

# How far the planner may nudge a genre's tempo range so whole bars fill the duration exactly.
_TEMPO_SLACK = 0.04
# Below this share of its template length a form loses sections rather than shrinking more.
_MIN_SCALE = 0.35
_MAIN_KINDS = ("chorus", "drop", "hook", "groove")
_OPTIONAL_KINDS = ("bridge", "breakdown", "build", "pre", "solo")


class SectionPlan(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: str
    label: str
    start_beat: int
    beats: int
    start_s: float
    end_s: float
    energy: float
    drums: str  # "none" | "light" | "full"
    roles: list[str]
    progression: list[str]  # Roman numerals, one per `bars_per_chord` bars


class PartPlan(BaseModel):
    model_config = ConfigDict(frozen=True)

    role: str
    voice: str
    stem: str


class Plan(BaseModel):
    model_config = ConfigDict(frozen=True)

    schema_version: int = PLAN_SCHEMA_VERSION
    engine_version: str = ENGINE_VERSION
    fingerprint: str
    title: str
    prompt: str
    seed: int
    genre: str
    bpm: float
    key: str
    time_signature: str
    beats_per_bar: int
    duration_s: float
    music_beats: int
    loop: bool
    swing: float
    brightness: float
    energy: float
    moods: list[str]
    bars_per_chord: int
    sections: list[SectionPlan]
    parts: list[PartPlan]
    mix_profile: str
    # The drum kit's spoken ad-libs may play (the kits that have them: trap, boom-bap,
    # reggaeton): an instrumental whose prompt does not ask for no voice at all (a singer
    # takes the voice they would give the beat). No default: a plan from before it is stale.
    ad_libs: bool
    # Who made the plan: "rules", or "llm:<provider>:<model>" for a draft a model proposed.
    planner: str = RULES_PLANNER

    @property
    def seconds_per_beat(self) -> float:
        return 60.0 / self.bpm

    def profile(self) -> GenreProfile:
        return GENRES[self.genre]

    def parsed_key(self) -> Key:
        return parse_key(self.key)


def _choose_genre(request: GenerationRequest, hints: PromptHints) -> str:
    if request.genres:
        return request.genres[0]
    if hints.genres:
        return hints.genres[0]
    return DEFAULT_GENRE


def _mood_sum(moods: tuple[str, ...], attribute: str) -> float:
    return float(sum(getattr(MOODS[m], attribute) for m in moods))


def _choose_key(
    request: GenerationRequest, hints: PromptHints, profile: GenreProfile, rng: np.random.Generator
) -> Key:
    if request.key:
        return parse_key(request.key)
    if hints.key:
        return hints.key
    wants_minor = [
        MOODS[m].prefers_minor for m in hints.moods if MOODS[m].prefers_minor is not None
    ]
    modes = list(profile.modes)
    if wants_minor:
        minor_votes = sum(1 for w in wants_minor if w) - sum(1 for w in wants_minor if not w)
        preferred = [m for m in modes if (m in MINOR_MODES) == (minor_votes > 0)]
        if minor_votes != 0:
            modes = preferred or (["minor"] if minor_votes > 0 else ["major"])
    mode = modes[0] if rng.random() < 0.6 else modes[int(rng.integers(len(modes)))]
    return Key(int(rng.integers(12)), mode)


def _target_bpm(
    request: GenerationRequest, hints: PromptHints, profile: GenreProfile, rng: np.random.Generator
) -> tuple[float, bool]:
    """The tempo to aim for and whether it is fixed (asked for) or may be nudged."""
    if request.bpm is not None:
        return float(request.bpm), True
    if hints.bpm is not None:
        return hints.bpm, True
    low, high = profile.bpm_range
    bias = hints.tempo_bias + _mood_sum(hints.moods, "tempo_shift")
    position = float(np.clip(0.5 + 0.5 * bias + rng.uniform(-0.2, 0.2), 0.0, 1.0))
    return low + position * (high - low), False


def _fit_tempo(
    target_bpm: float, fixed: bool, duration_s: float, beats_per_bar: int, profile: GenreProfile
) -> tuple[float, int]:
    """Tempo and total beats so the music fills ``duration_s`` (exactly, unless tempo is fixed)."""
    if fixed:
        return target_bpm, max(beats_per_bar, round(duration_s * target_bpm / 60.0))
    bars = max(1, round(duration_s * target_bpm / 60.0 / beats_per_bar))
    low = profile.bpm_range[0] * (1 - _TEMPO_SLACK)
    high = profile.bpm_range[1] * (1 + _TEMPO_SLACK)
    candidates = [b for b in (bars - 1, bars, bars + 1) if b >= 1]
    best = min(
        candidates,
        key=lambda b: (
            abs(b * beats_per_bar * 60.0 / duration_s - target_bpm)
            + (0 if low <= b * beats_per_bar * 60.0 / duration_s <= high else 1000)
        ),
    )
    bpm = best * beats_per_bar * 60.0 / duration_s
    return bpm, best * beats_per_bar


def _least_needed(sections: list[tuple[str, int]]) -> int:
    """Index of the section a shorter version drops first: a repeated section (its last
    occurrence), then a bridge-like one, then the intro, then the outro."""
    kinds = [kind for kind, _ in sections]
    for index in range(len(kinds) - 1, -1, -1):
        if kinds[index] in kinds[:index] and kinds[index] not in ("intro", "outro"):
            return index
    for index, kind in enumerate(kinds):
        if kind in _OPTIONAL_KINDS:
            return index
    if kinds[0] == "intro":
        return 0
    return len(kinds) - 1


def fit_arrangement(
    template: tuple[tuple[str, int], ...], total_bars: int, loop: bool
) -> list[tuple[str, int]]:
    """Stretch or shrink a genre's form to exactly ``total_bars`` bars.

    Core sections (everything but intro/outro) repeat when the track is much longer than the
    template; sections shrink proportionally when it is shorter. Loops drop intro and outro so
    the last bar flows into the first.
    """
    sections = [s for s in template if not (loop and s[0] in ("intro", "outro"))]
    if not sections:  # a form of only an intro and an outro: a loop plays one of them
        sections = list(template[:1]) if loop else list(template)
    core_start = 1 if sections[0][0] == "intro" else 0
    core_end = len(sections) - 1 if sections[-1][0] == "outro" else len(sections)
    core = sections[core_start:core_end] or list(sections)
    while sum(b for _, b in sections) * 1.5 < total_bars:
        # Skip the core's opening section when it would follow itself (verse, verse).
        repeat = core[1:] if core[0][0] == sections[core_end - 1][0] and len(core) > 1 else core
        sections[core_end:core_end] = repeat
        core_end += len(repeat)
    while len(sections) > 1 and (
        total_bars < len(sections)
        or (len(sections) > 2 and total_bars < _MIN_SCALE * sum(b for _, b in sections))
    ):
        # Too short for the whole form: drop what a short version of the song would skip.
        del sections[_least_needed(sections)]
    merged: list[tuple[str, int]] = []
    for kind, bars in sections:  # a repeat can put two verses side by side: one long verse
        if merged and merged[-1][0] == kind:
            merged[-1] = (kind, merged[-1][1] + bars)
        else:
            merged.append((kind, bars))
    return _allocate_bars(merged, total_bars)


def _allocate_bars(sections: list[tuple[str, int]], total_bars: int) -> list[tuple[str, int]]:
    """Share ``total_bars`` out in proportion to the template, in 4- or 2-bar phrases where the
    length allows (largest-remainder rounding); leftover bars go to the last section."""
    unit = next(u for u in (4, 2, 1) if total_bars // u >= len(sections) or u == 1)
    units = total_bars // unit
    template_total = sum(b for _, b in sections)
    kinds = [kind for kind, _ in sections]
    ideal = [b * units / template_total for _, b in sections]
    counts = [max(1, int(x)) for x in ideal]
    while sum(counts) > units:
        counts[max(range(len(counts)), key=lambda i: (counts[i], -i))] -= 1
    while sum(counts) < units:
        counts[
            max(
                range(len(counts)),
                key=lambda i: (ideal[i] - counts[i], kinds[i] in _MAIN_KINDS, -i),
            )
        ] += 1
    bars = [c * unit for c in counts]
    bars[-1] += total_bars - sum(bars)
    return [(kind, b) for (kind, _), b in zip(sections, bars, strict=True)]


def _progressions(profile: GenreProfile, key: Key, rng: np.random.Generator) -> dict[str, str]:
    """One progression per section kind: verses, choruses and bridges get their own, each
    starting on the tonic chord (a minor key that opens on VI is heard as its relative major)."""
    pool = profile.mode_progressions.get(key.mode) or (
        profile.minor_progressions if key.is_minor else profile.major_progressions
    )
    order = [
        "-".join(tonic_first(progression_symbols(pool[int(i)]))) for i in rng.permutation(len(pool))
    ]
    main, second, third = order[0], order[1 % len(order)], order[2 % len(order)]
    by_kind = {"verse": main, "groove": main, "intro": main, "outro": main, "pre": second}
    for kind in ("chorus", "hook", "drop", "solo"):
        by_kind[kind] = second
    for kind in ("bridge", "breakdown", "build"):
        by_kind[kind] = third
    for chords in by_kind.values():
        parse_progression(chords, key)  # fail early on a bad table entry
    return by_kind


def _parts(profile: GenreProfile, hints: PromptHints) -> list[PartPlan]:
    voices = {
        "drums": profile.voices.kit,
        "bass": profile.voices.bass,
        "chords": profile.voices.chords,
        "pads": profile.voices.pads,
        "lead": profile.voices.lead,
    }
    for role, voice in hints.instruments.items():
        if role == "bass" and voices["bass"] is None:
            continue
        voices[role] = voice
    return [PartPlan(role=r, voice=v, stem=r) for r, v in voices.items() if v is not None]


_STOP_WORDS = frozenset((
    "a", "an", "the", "and", "or", "of", "for", "with", "at", "in", "on", "to", "by", "from",
    "bpm", "beats", "beat", "song", "track", "music", "some", "very", "my", "our", "your",
    "that", "this", "like",
))  # fmt: skip
_TITLE_WORDS = (
    "Neon", "Midnight", "Glass", "Velvet", "Echo", "Drift", "Satellite", "Ember", "Harbor",
    "Static", "Lantern", "Orbit", "Tide", "Mirage", "Signal", "Horizon", "Paper", "Silver",
)  # fmt: skip


def _title(prompt: str, genre_words: set[str], rng: np.random.Generator) -> str:
    words = [w for w in re.findall(r"[A-Za-z']+", prompt) if w.lower() not in _STOP_WORDS]
    words = [w for w in words if w.lower() not in genre_words]
    if len(words) >= 2:
        return " ".join(w.capitalize() for w in words[:3])
    picks = rng.choice(len(_TITLE_WORDS), size=2, replace=False)
    return " ".join(_TITLE_WORDS[int(i)] for i in picks)


def _sections(
    arrangement: list[tuple[str, int]],
    beats_per_bar: int,
    timing: _Timing,
    energy: float,
    parts: list[PartPlan],
    progressions: dict[str, str],
    kind_energy: dict[str, float] | None = None,
) -> list[SectionPlan]:
    """The arrangement's sections, back to back from beat 0; the last takes the timing's
    ``extra_beats`` and ends at its ``duration_s`` at the latest; only ``parts``' roles play.
    ``kind_energy`` overrides a kind's table energy (0–1) before the track's energy scales it."""
    extra_beats, bpm, duration_s = timing.extra_beats, timing.bpm, timing.duration_s
    available_roles = {p.role for p in parts}
    sections: list[SectionPlan] = []
    start_beat = 0
    counts: dict[str, int] = {}
    for index, (kind, bars) in enumerate(arrangement):
        beats = bars * beats_per_bar + (extra_beats if index == len(arrangement) - 1 else 0)
        spec = SECTION_KINDS[kind]
        base = (kind_energy or {}).get(kind, spec.energy)
        counts[kind] = counts.get(kind, 0) + 1
        roles = [
            role
            for role, plays in (
                ("drums", spec.drums != "none"),
                ("bass", spec.bass),
                ("chords", spec.chords),
                ("pads", spec.pads),
                ("lead", spec.lead),
            )
            if plays and role in available_roles
        ]
        if not roles:  # a genre without that section's roles (solo piano) still plays something
            roles = [r for r in ("chords", "lead") if r in available_roles][:1]
        spb = 60.0 / bpm
        sections.append(
            SectionPlan(
                kind=kind,
                label=f"{kind} {counts[kind]}",
                start_beat=start_beat,
                beats=beats,
                start_s=round(start_beat * spb, 4),
                # A tempo that was asked for may leave a partial last beat: cut at the end.
                end_s=round(min((start_beat + beats) * spb, duration_s), 4),
                energy=round(float(np.clip(base * (0.6 + 0.4 * energy / 0.6), 0, 1)), 3),
                drums=spec.drums if "drums" in roles else "none",
                roles=roles,
                progression=progression_symbols(progressions[kind]),
            )
        )
        start_beat += beats
    return sections


@dataclass(frozen=True, slots=True)
class _Timing:
    """The tempo and length a plan settles on: ``total_beats`` of music at ``bpm``, as
    ``full_bars`` whole bars and ``extra_beats`` more."""

    bpm: float
    total_beats: int
    duration_s: float
    full_bars: int
    extra_beats: int


def _timing(
    request: GenerationRequest,
    target_bpm: float,
    fixed: bool,
    beats_per_bar: int,
    profile: GenreProfile,
) -> _Timing:
    duration_s = request.duration_s
    bpm, total_beats = _fit_tempo(target_bpm, fixed, duration_s, beats_per_bar, profile)
    if request.loop:
        # A loop is whole bars long: with a fixed tempo the duration follows the bars.
        total_beats = max(1, round(total_beats / beats_per_bar)) * beats_per_bar
        duration_s = total_beats * 60.0 / bpm
    full_bars, extra_beats = divmod(total_beats, beats_per_bar)
    return _Timing(bpm, total_beats, duration_s, full_bars, extra_beats)


def _levels(profile: GenreProfile, moods: tuple[str, ...]) -> tuple[float, float]:
    """``(energy, brightness)`` of a track in ``profile``'s genre with ``moods``."""
    energy = float(np.clip(0.6 + _mood_sum(moods, "energy_shift"), 0.1, 1.0))
    brightness = float(np.clip(profile.brightness + _mood_sum(moods, "brightness_shift"), 0, 1))
    return energy, brightness


def _rules_title(
    request: GenerationRequest, genre: str, profile: GenreProfile, rng: np.random.Generator
) -> str:
    genre_words = set(profile.synonyms) | {genre, *profile.name.lower().split()}
    genre_words |= {w for s in profile.synonyms for w in s.split()}
    return _title(request.prompt, genre_words | set(MOODS), rng)


def _assemble(
    request: GenerationRequest,
    *,
    genre: str,
    key: Key,
    timing: _Timing,
    beats_per_bar: int,
    levels: tuple[float, float],
    moods: list[str],
    sections: list[SectionPlan],
    parts: list[PartPlan],
    title: str,
    planner: str = "rules",
) -> Plan:
    """The plan of these choices (the rules' and a model draft's planner share it)."""
    assert request.seed is not None
    profile = GENRES[genre]
    energy, brightness = levels
    return Plan(
        fingerprint=request.fingerprint(),
        title=title,
        prompt=request.prompt,
        seed=request.seed,
        genre=genre,
        bpm=round(timing.bpm, 6),
        key=key.name(),
        time_signature=request.time_signature,
        beats_per_bar=beats_per_bar,
        duration_s=round(timing.duration_s, 6),
        music_beats=timing.total_beats,
        loop=request.loop,
        swing=profile.swing,
        brightness=round(brightness, 3),
        energy=round(energy, 3),
        moods=moods,
        bars_per_chord=profile.bars_per_chord,
        sections=sections,
        parts=parts,
        mix_profile=genre,
        ad_libs=request.instrumental and not read_prompt(request.prompt).voiceless,
        planner=planner,
    )


def make_plan(request: GenerationRequest) -> Plan:
    """Plan a track. ``request.seed`` must be set (the pipeline picks one when it is not)."""
    if request.seed is None:
        raise ValueError("make_plan needs a seeded request; call request.with_seed(...) first")
    rng = np.random.default_rng(request.seed)
    hints = read_prompt(request.prompt)
    genre = _choose_genre(request, hints)
    profile = GENRES[genre]
    beats_per_bar = int(request.time_signature.split("/")[0])

    key = _choose_key(request, hints, profile, rng)
    target_bpm, fixed = _target_bpm(request, hints, profile, rng)
    timing = _timing(request, target_bpm, fixed, beats_per_bar, profile)

    arrangement = fit_arrangement(profile.arrangement, max(1, timing.full_bars), request.loop)
    progressions = _progressions(profile, key, rng)
    levels = _levels(profile, hints.moods)
    parts = _parts(profile, hints)
    sections = _sections(arrangement, beats_per_bar, timing, levels[0], parts, progressions)
    return _assemble(
        request,
        genre=genre,
        key=key,
        timing=timing,
        beats_per_bar=beats_per_bar,
        levels=levels,
        moods=list(hints.moods),
        sections=sections,
        parts=parts,
        title=_rules_title(request, genre, profile, rng),
    )
