"""The bench's prompts, as data: natural prompts per genre, keys across major, minor and modes.

Each genre's first prompt is the one ``--per-genre 1`` (and ``--quick``) keeps; prompts without
a key leave the choice to the engine, the others name major, minor or modal keys so that the
key detector is tested on all of them. Seeds are fixed per prompt so that a run is repeatable.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Prompt:
    genre: str  # the engine's genre id, passed as the request's genre
    text: str
    seed: int


_TABLE: dict[str, tuple[str, ...]] = {
    "rock": (
        "driving indie rock with crunchy guitars, 128 bpm",
        "anthemic hard rock in E minor, big drums",
        "sunny alt rock in A mixolydian, 120 bpm",
    ),
    "techno": (
        "dark warehouse techno, 130 bpm",
        "hypnotic minimal techno in A minor",
        "acid techno in F phrygian, 136 bpm",
    ),
    "house": (
        "deep house groove for a late night, 122 bpm",
        "uplifting house with piano stabs in C major",
        "soulful deep house in D dorian, 124 bpm",
    ),
    "ambient": (
        "calm ambient soundscape for meditation",
        "floating ambient drone in D lydian",
        "slow evolving ambient in B minor",
    ),
    "cinematic": (
        "epic orchestral trailer music, building tension",
        "heroic film score in D major",
        "dark cinematic score in C harmonic minor",
    ),
    "piano": (
        "gentle solo piano ballad",
        "melancholic solo piano in E minor",
        "bright classical piano piece in G major",
    ),
    "jazz": (
        "smooth late-night jazz trio",
        "cool jazz in F major, brushed drums",
        "modal jazz in D dorian, 110 bpm",
    ),
    "lofi": (
        "chill lofi hip hop beats to study to",
        "dusty lo-fi beat in A minor, 80 bpm",
        "warm lofi chillhop in E dorian",
    ),
    "trap": (
        "hard trap beat with heavy 808s",
        "dark trap in F minor, 140 bpm",
        "menacing trap beat in C# harmonic minor",
    ),
    "hiphop": (
        "classic boom bap hip hop beat, 90 bpm",
        "gritty old school hip hop in D minor",
        "jazzy boom bap in G dorian",
    ),
    "funk": (
        "funky groove with slap bass and horns, 110 bpm",
        "disco funk in E dorian",
        "upbeat funk jam in A mixolydian",
    ),
    "pop": (
        "catchy upbeat pop song, 118 bpm",
        "bright dance pop in C major",
        "emotional pop ballad in A minor",
    ),
    "afrobeats": (
        "afrobeats party groove, 105 bpm",
        "sunny afrobeat in G major",
        "amapiano log drum groove in F minor, 112 bpm",
    ),
    "dnb": (
        "fast liquid drum and bass, 174 bpm",
        "dark jungle drum and bass in F minor",
        "rolling drum & bass in E dorian, 172 bpm",
    ),
    "synthwave": (
        "dreamy synthwave at night, 100 bpm",
        "retro outrun drive in A minor",
        "nostalgic 80s synthwave in D major",
    ),
    "reggae": (
        "laid-back roots reggae one drop, 75 bpm",
        "sunny reggae in G major",
        "deep dub reggae in A minor",
    ),
    "reggaeton": (
        "reggaeton dembow party beat, 95 bpm",
        "dark reggaeton in B minor",
        "latin urban perreo in D minor",
    ),
}

PROMPTS: tuple[Prompt, ...] = tuple(
    Prompt(genre, text, seed=1000 + 10 * g + i)
    for g, (genre, texts) in enumerate(_TABLE.items())
    for i, text in enumerate(texts)
)
GENRE_ORDER: tuple[str, ...] = tuple(_TABLE)


def select(genres: list[str] | None, per_genre: int, *, seed_offset: int = 0) -> list[Prompt]:
    """The first ``per_genre`` prompts of each genre in ``genres`` (all genres when ``None``),
    with ``seed_offset`` added to their seeds (another set of renders of the same prompts).

    Raises ``ValueError`` for a genre the bench has no prompts for.
    """
    wanted = genres or list(GENRE_ORDER)
    unknown = sorted(set(wanted) - set(_TABLE))
    if unknown:
        raise ValueError(f"no prompts for {', '.join(unknown)}; genres: {', '.join(_TABLE)}")
    chosen = [p for g in wanted for p in [q for q in PROMPTS if q.genre == g][:per_genre]]
    return [Prompt(p.genre, p.text, p.seed + seed_offset) for p in chosen]
