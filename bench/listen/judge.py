"""What counts as heard: genre tags, instrument families, key and tempo agreement, onset F1.

Pure functions over plain data (tag → probability dicts, note lists, key names) with numpy only,
so they can be read, tested and changed without the models. The judgement rules are tables.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

TOP_K = 5
Tags = Mapping[str, float]

# A genre is heard when every clause has at least one of its tags among the top-5 of that
# tagger ("msd:" Million Song Dataset, "mtt:" MagnaTagATune) and above the controls (see
# ``counted_tags``). Neither tagger has tags for several of these genres; the proxies are
# listed here so that the judgement is explicit:
# - techno/house/dnb: "electronic" alone is what white noise gets, so each needs its own sign:
#   techno the MTT "techno" tag or MSD "electro"; house MSD "House" (or "dance" with MTT
#   "techno"/"beat"); dnb an electronic tag AND MTT "fast" (dnb at 174 BPM heard as slow fails).
# - synthwave: MSD "80s" or MTT "synth"; cinematic: orchestral MTT tags; lofi: hip-hop/chill.
# - afrobeats: dance/party/rnb/funk/soul-like tags (no afro tag exists in either tagger).
# - reggae: no reggae tag either. Judged heard when the taggers find a groove-based
#   "soul/funk/rnb/oldies/70s/easy listening/chill" reading and no rock/metal/electronic
#   reading on top; a weak proxy, reported as such.
GENRE_RULES: Mapping[str, tuple[frozenset[str], ...]] = {
    "rock": (
        frozenset(
            {"msd:rock", "msd:hard rock", "msd:classic rock", "msd:alternative rock"}
            | {"msd:indie rock", "msd:punk", "msd:metal", "msd:heavy metal", "mtt:rock"}
            | {"mtt:metal"}
        ),
    ),
    "techno": (frozenset({"mtt:techno", "msd:electro"}),),
    "house": (frozenset({"msd:House"}),),
    "ambient": (frozenset({"msd:ambient", "msd:chillout", "mtt:ambient", "mtt:new age"}),),
    "cinematic": (
        frozenset({"mtt:classical", "mtt:strings", "mtt:violin", "mtt:cello", "mtt:choir"})
        | frozenset({"mtt:choral", "mtt:opera"}),
    ),
    "piano": (frozenset({"mtt:piano"}),),
    "jazz": (frozenset({"msd:jazz"}),),
    "lofi": (frozenset({"msd:Hip-Hop", "msd:chillout", "msd:chill"}),),
    "trap": (frozenset({"msd:Hip-Hop", "msd:rnb"}),),
    "hiphop": (frozenset({"msd:Hip-Hop", "msd:rnb"}),),
    "funk": (frozenset({"msd:funk", "msd:soul", "msd:rnb"}),),
    "pop": (frozenset({"msd:pop", "msd:indie pop", "msd:catchy", "mtt:pop"}),),
    "afrobeats": (
        frozenset({"msd:dance", "msd:party", "msd:rnb", "msd:funk", "msd:soul", "msd:Hip-Hop"}),
    ),
    "dnb": (
        frozenset({"msd:electronic", "msd:electronica", "msd:electro", "msd:dance"}),
        frozenset({"mtt:fast"}),
    ),
    "synthwave": (frozenset({"msd:80s", "mtt:synth", "msd:electro"}),),
    "reggae": (
        frozenset({"msd:soul", "msd:funk", "msd:rnb", "msd:oldies", "msd:70s"})
        | frozenset({"msd:easy listening", "msd:chill", "msd:chillout"}),
    ),
    "reggaeton": (frozenset({"msd:Hip-Hop", "msd:rnb", "msd:dance", "msd:party", "msd:sexy"}),),
}
# Readings that rule a genre out even when its clause matched: the top MSD tag being one of these.
GENRE_VETO: Mapping[str, frozenset[str]] = {
    "reggae": frozenset({"rock", "metal", "hard rock", "punk", "electronic", "electro", "House"}),
}

# Instrument families: which tags (top-5 of the soloed stem, above the controls) mean the stem
# is heard as its family. MTT has no bass, brass, organ or mallet tags: those families are
# reported with their tags but not judged (None).
FAMILY_TAGS: Mapping[str, frozenset[str] | None] = {
    "drums": frozenset({"mtt:drums", "mtt:beat", "mtt:beats", "mtt:techno"}),
    "piano": frozenset({"mtt:piano"}),
    "keys": frozenset({"mtt:piano", "mtt:harpsichord"}),
    "synth": frozenset({"mtt:synth", "mtt:electronic", "mtt:techno"}),
    "guitar": frozenset({"mtt:guitar"}),
    "strings": frozenset({"mtt:strings", "mtt:violin", "mtt:cello"}),
    "choir": frozenset(
        {"mtt:choir", "mtt:choral", "mtt:voice", "mtt:vocal", "mtt:vocals", "mtt:singing"}
        | {"mtt:opera"}
    ),
    "bass": None,
    "brass": None,
    "organ": None,
    "mallets": None,
    "unknown": None,
}
# Voice id → family, first matching pattern wins; new voices are placed by their names.
VOICE_FAMILY_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"kit|drum|perc|break", "drums"),
    (r"acid|reese|synth_bass|wobble", "synth"),
    (r"808|bass", "bass"),
    (r"electric_piano|e_piano|epiano|rhodes|wurl|clav|harpsichord", "keys"),
    (r"piano", "piano"),
    (r"organ", "organ"),
    (r"guitar|skank", "guitar"),
    (r"string|violin|cello|viola", "strings"),
    (r"choir|vox|voice|vocal", "choir"),
    (r"brass|horn|trumpet|sax|trombone", "brass"),
    (r"bell|marimba|vibra|mallet|glock|celesta|kalimba", "mallets"),
    (r"saw|square|synth|pad|pluck|lead|arp|chip", "synth"),
)


def voice_family(voice: str) -> str:
    """``"electric_piano"`` → ``"keys"``; ``"unknown"`` when no pattern matches."""
    for pattern, family in VOICE_FAMILY_PATTERNS:
        if re.search(pattern, voice):
            return family
    return "unknown"


def top_tags(tags: Tags, k: int = TOP_K) -> list[str]:
    return [name for name, _ in sorted(tags.items(), key=lambda kv: -kv[1])[:k]]


def merged(msd: Tags, mtt: Tags) -> dict[str, float]:
    """One namespaced dict: ``{"msd:rock": p, "mtt:guitar": p, ...}``."""
    return {**{f"msd:{k}": v for k, v in msd.items()}, **{f"mtt:{k}": v for k, v in mtt.items()}}


def counted_tags(msd: Tags, mtt: Tags, controls: Sequence[Mapping[str, float]]) -> set[str]:
    """Namespaced tags in their tagger's top-5 that beat every control's probability for them.

    ``controls`` are ``merged`` tag dicts of inputs that are not music (silence, noise): a tag
    the tagger gives silence as readily as this audio says nothing about this audio.
    """
    out: set[str] = set()
    for prefix, tags in (("msd", msd), ("mtt", mtt)):
        for name in top_tags(tags):
            key = f"{prefix}:{name}"
            if all(tags[name] > control.get(key, 0.0) for control in controls):
                out.add(key)
    return out


def genre_heard(genre: str, msd: Tags, mtt: Tags, controls: Sequence[Tags]) -> bool | None:
    """Whether the taggers hear ``genre``; ``None`` for a genre with no rule."""
    rules = GENRE_RULES.get(genre)
    if rules is None:
        return None
    counted = counted_tags(msd, mtt, controls)
    if not all(clause & counted for clause in rules):
        return False
    veto = GENRE_VETO.get(genre, frozenset())
    return top_tags(msd, 1)[0] not in veto


def family_heard(
    families: Iterable[str], msd: Tags, mtt: Tags, controls: Sequence[Tags]
) -> bool | None:
    """Whether a soloed stem is heard as (one of) its families; ``None`` when none is judged."""
    accepted: set[str] = set()
    judged = False
    for family in families:
        tags = FAMILY_TAGS.get(family)
        if tags is not None:
            judged = True
            accepted |= tags
    if not judged:
        return None
    return bool(accepted & counted_tags(msd, mtt, controls))


def contrast(tags: Tags, others: Sequence[Tags], k: int = 3) -> list[tuple[str, float]]:
    """The ``k`` tags most above their mean over ``others`` (renders of other genres)."""
    if not others:
        return []
    diffs = {
        name: p - float(np.mean([o.get(name, 0.0) for o in others])) for name, p in tags.items()
    }
    return sorted(diffs.items(), key=lambda kv: -kv[1])[:k]


# --- keys -------------------------------------------------------------------------------------

PITCH_CLASSES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
MINOR_PARENT_MODES = frozenset(
    {"minor", "aeolian", "dorian", "phrygian", "locrian", "harmonic minor", "melodic minor"}
)
_KEY_RE = re.compile(r"^\s*([A-Ga-g])([#b♯♭]*)\s*(.*?)\s*$")


def parse_key(name: str) -> tuple[int, str]:
    """``"C# harmonic minor"`` → ``(1, "harmonic minor")``; a bare tonic is major.

    Raises ``ValueError`` for text that does not start with a note name.
    """
    match = _KEY_RE.match(name)
    if not match:
        raise ValueError(f"not a key: {name!r}")
    letter, accidentals, mode = match.groups()
    tonic = PITCH_CLASSES[letter.upper()]
    tonic += accidentals.count("#") + accidentals.count("♯")
    tonic -= accidentals.count("b") + accidentals.count("♭")
    mode = mode.lower() or "major"
    mode = {"maj": "major", "min": "minor", "m": "minor", "ionian": "major"}.get(mode, mode)
    return tonic % 12, mode


def parent(mode: str) -> str:
    """The major/minor reading of a mode on the same tonic."""
    return "minor" if mode in MINOR_PARENT_MODES else "major"


def key_relation(written: str, heard: str) -> str:
    """How the heard key relates to the written one, with modes read as their parent:
    ``"exact"``, ``"relative"``, ``"parallel"``, ``"fifth"`` (a fifth away, same mode) or
    ``"other:<interval>"`` (semitones from the written tonic up to the heard one)."""
    w_tonic, w_mode = parse_key(written)
    h_tonic, h_mode = parse_key(heard)
    w_parent, h_parent = parent(w_mode), parent(h_mode)
    interval = (h_tonic - w_tonic) % 12
    if w_parent == h_parent:
        if interval == 0:
            return "exact"
        if interval in (5, 7):
            return "fifth"
    elif interval == 0:
        return "parallel"
    elif (w_parent, interval) in (("minor", 3), ("major", 9)):
        return "relative"
    return f"other:{interval}{h_parent[:3]}"


# --- tempo ------------------------------------------------------------------------------------

TEMPO_TOLERANCE = 0.04
TEMPO_RATIOS: tuple[tuple[str, float], ...] = (
    ("exact", 1.0),
    ("half", 0.5),
    ("double", 2.0),
    ("2/3", 2 / 3),
    ("3/2", 1.5),
    ("third", 1 / 3),
    ("triple", 3.0),
)


def tempo_relation(written_bpm: float, heard_bpm: float) -> str:
    """``"exact"`` within ±4 %, else the simple ratio it is near, else ``"other"``."""
    ratio = heard_bpm / written_bpm
    for name, target in TEMPO_RATIOS:
        if abs(ratio / target - 1) <= TEMPO_TOLERANCE:
            return name
    return "other"


# --- transcription ----------------------------------------------------------------------------

Note = tuple[float, float, int]  # onset_s, offset_s, midi pitch


@dataclass(frozen=True, slots=True)
class NoteScore:
    f1: float
    precision: float
    recall: float
    chroma_f1: float  # onsets matched on pitch class (octave errors forgiven)
    median_lag_ms: float | None  # heard onset minus written onset, same pitch class, ±150 ms
    n_ref: int
    n_est: int


def match_onsets(
    ref: Sequence[Note], est: Sequence[Note], tolerance_s: float, chroma: bool
) -> list[tuple[int, int]]:
    """Greedy one-to-one matching of onsets within ``tolerance_s`` and the same pitch
    (pitch class when ``chroma``), closest pairs first. Returns ``(ref_index, est_index)``."""
    if not ref or not est:
        return []
    r_on = np.array([n[0] for n in ref])
    e_on = np.array([n[0] for n in est])
    r_p = np.array([n[2] for n in ref])
    e_p = np.array([n[2] for n in est])
    if chroma:
        r_p, e_p = r_p % 12, e_p % 12
    dist = np.abs(r_on[:, None] - e_on[None, :])
    ok = (dist <= tolerance_s) & (r_p[:, None] == e_p[None, :])
    rows, cols = np.nonzero(ok)
    order = np.argsort(dist[rows, cols], kind="stable")
    used_r: set[int] = set()
    used_e: set[int] = set()
    pairs = []
    for i in order:
        r, e = int(rows[i]), int(cols[i])
        if r not in used_r and e not in used_e:
            used_r.add(r)
            used_e.add(e)
            pairs.append((r, e))
    return pairs


def _f1(matches: int, n_ref: int, n_est: int) -> tuple[float, float, float]:
    precision = matches / n_est if n_est else 0.0
    recall = matches / n_ref if n_ref else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return f1, precision, recall


def note_score(ref: Sequence[Note], est: Sequence[Note], tolerance_s: float = 0.05) -> NoteScore:
    """Onset F1 of transcribed notes ``est`` against written notes ``ref`` (pitch within a
    quarter tone, onset within ±``tolerance_s``; offsets ignored), as mir_eval computes it when
    it is installed, else by the greedy matcher here."""
    try:
        import mir_eval.transcription as mt
    except ImportError:  # pragma: no cover - the bench environment has it
        mt = None
    if mt is not None and ref and est:
        f1_p_r = mt.precision_recall_f1_overlap(
            np.array([[n[0], max(n[1], n[0] + 1e-3)] for n in ref]),
            440.0 * 2 ** ((np.array([n[2] for n in ref]) - 69) / 12),
            np.array([[n[0], max(n[1], n[0] + 1e-3)] for n in est]),
            440.0 * 2 ** ((np.array([n[2] for n in est]) - 69) / 12),
            onset_tolerance=tolerance_s,
            pitch_tolerance=50.0,
            offset_ratio=None,
        )
        precision, recall, f1 = float(f1_p_r[0]), float(f1_p_r[1]), float(f1_p_r[2])
    else:
        f1, precision, recall = _f1(
            len(match_onsets(ref, est, tolerance_s, False)), len(ref), len(est)
        )
    chroma_f1 = _f1(len(match_onsets(ref, est, tolerance_s, True)), len(ref), len(est))[0]
    wide = match_onsets(ref, est, 0.15, True)
    lag = float(np.median([est[e][0] - ref[r][0] for r, e in wide]) * 1000) if wide else None
    return NoteScore(f1, precision, recall, chroma_f1, lag, len(ref), len(est))


def merge_unisons(notes: Sequence[Note], tolerance_s: float = 0.05) -> list[Note]:
    """``notes`` (sorted by onset) with unisons merged: a note at the pitch of a kept one
    starting within ``tolerance_s`` of it is the same sound in a mix (two parts doubling a
    line are heard, and transcribed, as one note): one note is kept, from the earlier onset
    to the later end."""
    kept: list[Note] = []
    for note in notes:
        i = len(kept) - 1
        while i >= 0 and note[0] - kept[i][0] <= tolerance_s and kept[i][2] != note[2]:
            i -= 1
        if i < 0 or note[0] - kept[i][0] > tolerance_s:
            kept.append(note)
        elif note[1] > kept[i][1]:
            kept[i] = (kept[i][0], note[1], note[2])
    return kept


# Intervals from a sounding note at which its own partials are heard as notes: the 2nd, 3rd,
# 4th and 5th partials (octave, twelfth, two octaves, two octaves and a major third), the
# twelfth folded an octave down (a fifth: octave errors on the 3rd partial), and the octave
# below (the note read an octave low).
HARMONIC_INTERVALS = (12, 19, 24, 7, 28, -12)
WRONG_NOTES = ("timing", "restrike", "harmonic", "other")
MISSED_NOTES = ("timing", "merged", "octave", "unheard")


def note_errors(
    ref: Sequence[Note], est: Sequence[Note], tolerance_s: float = 0.05, near_s: float = 0.15
) -> dict[str, dict[str, int]]:
    """Where ``note_score`` loses its F1, counted note by note (greedy matching, so counts can
    differ by a note or two from mir_eval's optimal one).

    ``wrong``: each heard note matched to no written one, in the first bucket it fits —
    ``timing`` (a written note of its pitch starts ``tolerance_s``–``near_s`` away),
    ``restrike`` (inside a written note of its pitch: a held note heard again),
    ``harmonic`` (at a ``HARMONIC_INTERVALS`` partial of a written note sounding then),
    ``other``. ``missed``: each written note matched to no heard one — ``timing`` (heard
    ``tolerance_s``–``near_s`` off), ``merged`` (inside a heard note of its pitch that began
    earlier), ``octave`` (heard on time an octave or more off), ``unheard``.
    """
    pairs = match_onsets(ref, est, tolerance_s, False)
    matched_ref = {r for r, _ in pairs}
    matched_est = {e for _, e in pairs}
    r_on, r_off, r_p = (np.array([n[i] for n in ref], dtype=float) for i in range(3))
    e_on, e_off, e_p = (np.array([n[i] for n in est], dtype=float) for i in range(3))
    wrong = dict.fromkeys(WRONG_NOTES, 0)
    for i in sorted(set(range(len(est))) - matched_est):
        gap = np.abs(r_on - e_on[i])
        same = r_p == e_p[i]
        sounding = (r_on - tolerance_s < e_on[i]) & (e_on[i] < r_off)
        if np.any(same & (gap >= tolerance_s) & (gap < near_s)):
            wrong["timing"] += 1
        elif np.any(same & (r_on < e_on[i]) & (e_on[i] < r_off)):
            wrong["restrike"] += 1
        elif np.any(sounding & np.isin(e_p[i] - r_p, HARMONIC_INTERVALS)):
            wrong["harmonic"] += 1
        else:
            wrong["other"] += 1
    missed = dict.fromkeys(MISSED_NOTES, 0)
    for j in sorted(set(range(len(ref))) - matched_ref):
        gap = np.abs(e_on - r_on[j])
        same = e_p == r_p[j]
        if np.any(same & (gap >= tolerance_s) & (gap < near_s)):
            missed["timing"] += 1
        elif np.any(same & (e_on < r_on[j]) & (r_on[j] < e_off)):
            missed["merged"] += 1
        elif np.any((gap < tolerance_s) & (e_p != r_p[j]) & ((e_p - r_p[j]) % 12 == 0)):
            missed["octave"] += 1
        else:
            missed["unheard"] += 1
    return {"wrong": wrong, "missed": missed}
