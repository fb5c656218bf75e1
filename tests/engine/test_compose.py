import itertools

import numpy as np
import pytest

from musewave.engine.compose import MIDI_PROGRAMS, compose_score
from musewave.engine.compose.bass import DEFAULT_LOW, REGISTER_LOW, compose_bass
from musewave.engine.compose.harmony import (
    GATE_GAP_TICKS,
    compose_chords,
    compose_pads,
    gate_notes,
    without_unisons,
)
from musewave.engine.compose.timeline import chord_at, chord_timeline
from musewave.engine.compose.voicing import chord_tones, voice_chord
from musewave.engine.genres import GENRES, KICK, SNARE
from musewave.engine.midi import read_midi_notes, write_midi
from musewave.engine.plan import make_plan
from musewave.engine.render.voices import VOICE_TABLE
from musewave.engine.request import GenerationRequest
from musewave.engine.score import TICKS_PER_BEAT, Note
from musewave.engine.theory import Key, roman_chord


def score_for(genre: str, seed: int = 5, duration: float = 60):  # type: ignore[no-untyped-def]
    plan = make_plan(
        GenerationRequest(prompt="test", genres=[genre], seed=seed, duration_s=duration)
    )
    return plan, compose_score(plan)


@pytest.mark.parametrize("genre", sorted(GENRES))
def test_every_genre_composes_notes_inside_the_track(genre: str) -> None:
    plan, score = score_for(genre)
    assert {p.role for p in plan.parts} == {p.name for p in score.parts}
    for part in score.parts:
        assert part.notes, part.name
        for note in part.notes:
            assert 0 <= note.start_tick < score.total_ticks
            assert note.end_tick <= score.total_ticks
            assert 1 <= note.velocity <= 127
            assert 0 <= note.pitch <= 127


@pytest.mark.parametrize("genre", sorted(GENRES))
def test_midi_round_trips_exactly(genre: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _, score = score_for(genre)
    path = write_midi(score, tmp_path / "score.mid")
    parts = read_midi_notes(path)
    assert set(parts) == {p.name for p in score.parts}
    for part in score.parts:
        assert parts[part.name] == part.notes


def test_composition_is_deterministic_per_seed() -> None:
    _, a = score_for("house", seed=11)
    _, b = score_for("house", seed=11)
    _, c = score_for("house", seed=12)
    assert [p.notes for p in a.parts] == [p.notes for p in b.parts]
    assert [p.notes for p in a.parts] != [p.notes for p in c.parts]


def test_chord_voicings_move_smoothly() -> None:
    """Voice leading: consecutive pad chords move by a few semitones in total, not octaves."""
    _, score = score_for("synthwave", duration=90)
    pads = next(p for p in score.parts if p.name == "pads")
    by_start: dict[int, list[int]] = {}
    for note in pads.notes:
        by_start.setdefault(note.start_tick // TICKS_PER_BEAT, []).append(note.pitch)
    chords = [sorted(v) for _, v in sorted(by_start.items()) if len(v) >= 3]
    moves = [
        sum(abs(a - b) for a, b in zip(x, y, strict=False))
        for x, y in itertools.pairwise(chords)
        if len(x) == len(y)
    ]
    assert moves and sum(moves) / len(moves) <= 7


def test_lead_phrases_end_on_chord_tones_and_stay_in_range() -> None:
    plan, score = score_for("pop", duration=90)
    lead = next(p for p in score.parts if p.name == "lead")
    pitches = [n.pitch for n in lead.notes]
    assert max(pitches) - min(pitches) <= 24
    spans = chord_timeline(plan, plan.parsed_key())
    long_notes = [n for n in lead.notes if n.duration_ticks >= 2 * TICKS_PER_BEAT]
    assert long_notes
    on_chord = [
        n for n in long_notes if n.pitch % 12 in chord_at(spans, n.start_tick).chord.pitch_classes
    ]
    assert len(on_chord) / len(long_notes) >= 0.9


def test_choruses_repeat_their_hook() -> None:
    plan, score = score_for("pop", duration=120)
    lead = next(p for p in score.parts if p.name == "lead")
    choruses = [s for s in plan.sections if s.kind == "chorus"]
    assert len(choruses) >= 2

    def first_bars(section):  # type: ignore[no-untyped-def]
        start = section.start_beat * TICKS_PER_BEAT
        window = 2 * plan.beats_per_bar * TICKS_PER_BEAT
        return [n.pitch for n in lead.notes if start <= n.start_tick < start + window]

    assert first_bars(choruses[0]) and first_bars(choruses[0]) == first_bars(choruses[1])


def test_fills_precede_section_changes() -> None:
    """Rock puts a tom fill in the last bar before each new section."""
    plan, score = score_for("rock", duration=90)
    drums = next(p for p in score.parts if p.name == "drums")
    bar = plan.beats_per_bar * TICKS_PER_BEAT
    toms = {41, 43, 45, 47, 48, 50}
    for section, following in itertools.pairwise(plan.sections):
        if section.drums != "full" or following.kind == section.kind or section.beats < 8:
            continue
        end = (section.start_beat + section.beats) * TICKS_PER_BEAT
        hits = [n for n in drums.notes if end - bar <= n.start_tick < end and n.pitch in toms]
        assert len(hits) >= 4, section.label


@pytest.mark.parametrize("genre", ["trap", "lofi", "cinematic", "funk", "synthwave"])
def test_every_section_of_several_chords_cadences_on_the_tonic(genre: str) -> None:
    plan, _ = score_for(genre, duration=90)
    key = plan.parsed_key()
    spans = chord_timeline(plan, key)
    for index in range(len(plan.sections)):
        section_spans = [s for s in spans if s.section_index == index]
        if len({s.chord.root for s in section_spans}) > 1:
            assert section_spans[-1].chord.root == key.tonic, (index, key)
            assert (key.tonic + (3 if key.is_minor else 4)) % 12 in section_spans[
                -1
            ].chord.pitch_classes


def test_minor_key_melody_rests_on_the_tonic_more_than_on_the_relative_major() -> None:
    plan = make_plan(
        GenerationRequest(prompt="dark trap in A minor", genres=["trap"], seed=3, duration_s=90)
    )
    key = plan.parsed_key()
    assert key.is_minor
    lead = next(p for p in compose_score(plan).parts if p.name == "lead")
    bar = plan.beats_per_bar * TICKS_PER_BEAT
    near_bar_line = [min(n.start_tick % bar, -n.start_tick % bar) for n in lead.notes]
    downbeats = [
        n.pitch % 12
        for n, d in zip(lead.notes, near_bar_line, strict=True)
        if d < TICKS_PER_BEAT // 8
    ]
    relative_major = (key.tonic + 3) % 12
    assert downbeats.count(key.tonic) > 2 * downbeats.count(relative_major)


def test_dnb_break_is_busy_on_every_16th_with_the_backbeat_on_2_and_4() -> None:
    """Heard at full tempo: something on every 16th, accented snares on beats 2 and 4 and
    ghost snares between (a sparse two-step was heard at half tempo)."""
    groove = GENRES["dnb"].grooves["full"]
    steps = len(groove[KICK])
    busy = [any(pattern[i] != "." for pattern in groove.values()) for i in range(steps)]
    assert all(busy)
    snare = groove[SNARE]
    assert snare[4] == "o" and snare[12] == "o"
    assert snare.count("g") >= 4


def test_dnb_keys_pads_and_reese_each_keep_their_own_register() -> None:
    """The reese's saw harmonics hid the keys voiced around Eb4 and the pad's chops sat on
    them: the piano is voiced above the reese, the pad's offbeat chops an octave over it."""
    _, score = score_for("dnb", seed=3)
    parts = {p.name: p.notes for p in score.parts if not p.is_drums}
    median = {name: float(np.median([n.pitch for n in notes])) for name, notes in parts.items()}
    assert median["bass"] + 24 < median["chords"] < median["pads"] - 6
    assert {p.voice for p in score.parts if p.name == "pads"} == {"gated_pad"}


def test_a_genre_may_voice_its_chords_and_pads_about_other_centres() -> None:
    plan = make_plan(GenerationRequest(prompt="dark night", genres=["house"], seed=7))
    spans = chord_timeline(plan, plan.parsed_key())
    rng = np.random.default_rng(0)
    low = compose_chords(plan, "sustain", "piano", spans, rng)
    high = compose_chords(plan, "sustain", "piano", spans, np.random.default_rng(0), center=75)
    assert np.mean([n.pitch for n in high]) - np.mean([n.pitch for n in low]) > 8
    high_pads = compose_pads(plan, spans, center=81)
    low_pads = compose_pads(plan, spans)
    assert np.mean([n.pitch for n in high_pads]) - np.mean([n.pitch for n in low_pads]) > 8


@pytest.mark.parametrize(
    ("genre", "prompt"),
    [
        ("synthwave", "retro outrun drive in A minor"),
        ("pop", "emotional pop ballad in A minor"),
        ("jazz", "modal jazz in D dorian"),
        ("trap", "menacing trap beat in C# harmonic minor"),
        ("house", "soulful deep house in D dorian"),
    ],
)
def test_minor_and_modal_sections_open_and_close_on_the_tonic_chord(
    genre: str, prompt: str
) -> None:
    """A minor progression that opened on VI (VI-VII-i-i) was heard as the relative major."""
    for seed in range(4):
        plan = make_plan(GenerationRequest(prompt=prompt, genres=[genre], seed=seed, duration_s=60))
        key = plan.parsed_key()
        assert key.is_minor
        spans = chord_timeline(plan, key)
        for index, section in enumerate(plan.sections):
            assert section.progression[0].lstrip("b#")[:1] == "i", section.progression
            section_spans = [s for s in spans if s.section_index == index]
            assert section_spans[0].chord.root == key.tonic
            assert section_spans[-1].chord.root == key.tonic


@pytest.mark.parametrize("genre", ["synthwave", "trap", "house", "lofi", "reggaeton"])
def test_the_tonic_chord_is_voiced_with_its_root_at_the_bottom(genre: str) -> None:
    """Voiced third-first, A minor's tonic chord (C-E-A) is C major's tonic in first inversion."""
    plan = make_plan(GenerationRequest(prompt="dark night", genres=[genre], seed=7, duration_s=60))
    key = plan.parsed_key()
    spans = chord_timeline(plan, key)
    parts = {"chords": compose_chords(plan, "sustain", "piano", spans, np.random.default_rng(0))}
    if GENRES[genre].voices.pads is not None:  # reggaeton plays no pad
        parts["pads"] = compose_pads(plan, spans)
    for name, notes in parts.items():
        onsets: dict[int, list[int]] = {}
        for note in notes:
            onsets.setdefault(note.start_tick, []).append(note.pitch)
        checked = 0
        for tick, pitches in onsets.items():
            if len(pitches) >= 3 and chord_at(spans, tick).chord.root == key.tonic:
                assert min(pitches) % 12 == key.tonic, (name, tick, pitches)
                checked += 1
        assert checked, name


def test_minor_key_lead_opens_each_section_near_the_tonic() -> None:
    """The lead's motif starts from the tonic (not from whatever scale note sits at the
    register's centre, which in A minor around C5 was the relative major's tonic)."""
    plan = make_plan(
        GenerationRequest(
            prompt="retro outrun drive in A minor", genres=["synthwave"], seed=2, duration_s=90
        )
    )
    key = plan.parsed_key()
    lead = next(p for p in compose_score(plan).parts if p.name == "lead")
    tonic_share = sum(n.pitch % 12 == key.tonic for n in lead.notes) / len(lead.notes)
    relative_share = sum(n.pitch % 12 == (key.tonic + 3) % 12 for n in lead.notes) / len(lead.notes)
    assert tonic_share > relative_share


def test_held_pads_keep_a_tonic_pedal_in_minor_and_modal_keys_only() -> None:
    def pad_bottoms(prompt: str) -> tuple[int, set[int]]:
        plan = make_plan(
            GenerationRequest(prompt=prompt, genres=["synthwave"], seed=4, duration_s=60)
        )
        spans = chord_timeline(plan, plan.parsed_key())
        notes = compose_pads(plan, spans)
        starts = {s.start_tick for s in spans if "pads" in plan.sections[s.section_index].roles}
        bottoms = {min(n.pitch for n in notes if n.start_tick == tick) % 12 for tick in starts}
        return plan.parsed_key().tonic, bottoms

    tonic, bottoms = pad_bottoms("retro outrun drive in A minor")
    assert bottoms == {tonic}
    tonic, bottoms = pad_bottoms("dreamy synthwave in D dorian")
    assert bottoms == {tonic}
    tonic, bottoms = pad_bottoms("nostalgic 80s synthwave in D major")
    assert bottoms != {tonic}


@pytest.mark.parametrize("prompt", ["dark trap in F minor", "bright trap in C major"])
def test_a_pedal_pad_holds_only_the_tonic_through_each_chord(prompt: str) -> None:
    # Trap's pad: a drone under the piano and bell, which carry the chords themselves.
    assert GENRES["trap"].pad_style == "pedal"
    plan = make_plan(GenerationRequest(prompt=prompt, genres=["trap"], seed=4, duration_s=60))
    spans = chord_timeline(plan, plan.parsed_key())
    notes = compose_pads(plan, spans, "pedal")
    held = [s for s in spans if "pads" in plan.sections[s.section_index].roles]
    assert held and len(notes) == len(held)
    assert {n.pitch % 12 for n in notes} == {plan.parsed_key().tonic}
    assert [(n.start_tick, n.start_tick + n.duration_ticks + 10) for n in notes] == [
        (s.start_tick, s.end_tick) for s in held
    ]


def test_the_tonic_chord_is_voiced_as_its_triad_and_ninth() -> None:
    """A minor's i9 without its fifth (A-C-G-B) reads as G or C major, and with its seventh
    as C6; the home chord is voiced A-C-E-B, other chords still drop the fifth."""
    key = Key(9, "minor")
    i9 = roman_chord("i9", key)
    assert sorted(chord_tones(i9, 4, keep_triad=True)) == sorted([9, 0, 4, 11])
    assert sorted(chord_tones(roman_chord("i7", key), 4, keep_triad=True)) == [0, 4, 9]
    assert 4 not in chord_tones(i9, 4)
    # A major seventh is the leading tone: a lydian Imaj7 voiced without it was heard minor.
    d_major7 = roman_chord("Imaj7", Key(2, "lydian"))
    assert sorted(chord_tones(d_major7, 4, keep_triad=True)) == [1, 2, 6, 9]
    assert sorted(chord_tones(roman_chord("Imaj9", Key(2, "major")), 4, keep_triad=True)) == [
        1,
        2,
        6,
        9,
    ]
    voicing = voice_chord(i9, None, 63, root_position=True)
    assert voicing[0] % 12 == 9 and {0, 4} <= {p % 12 for p in voicing}
    # A sus2 tonic has no third to keep: left as written.
    assert sorted(chord_tones(roman_chord("isus2", key), 4, keep_triad=True)) == [4, 9, 11]


def test_rock_plays_its_tonic_power_chord_with_the_third() -> None:
    """Root and fifth alone are major and minor at once: E minor rock was heard as E major."""
    plan = make_plan(
        GenerationRequest(
            prompt="anthemic hard rock in E minor", genres=["rock"], seed=1, duration_s=30
        )
    )
    key = plan.parsed_key()
    spans = chord_timeline(plan, key)
    notes = compose_chords(plan, "power_8ths", "guitar_distorted", spans, np.random.default_rng(0))
    for span in spans:
        pcs = {n.pitch % 12 for n in notes if span.start_tick <= n.start_tick < span.end_tick}
        if not pcs:
            continue
        if span.chord.root == key.tonic:
            assert pcs == {key.tonic, (key.tonic + 3) % 12, (key.tonic + 7) % 12}
        else:  # the other chords stay power chords
            assert pcs == {span.chord.root, (span.chord.root + 7) % 12}, span.chord.symbol


def test_a_suspended_tonic_stays_a_power_chord_without_a_made_up_third() -> None:
    plan = make_plan(
        GenerationRequest(prompt="hard rock in E minor", genres=["rock"], seed=1, duration_s=30)
    )
    sections = [s.model_copy(update={"progression": ["isus4", "VI", "VII"]}) for s in plan.sections]
    plan = plan.model_copy(update={"sections": sections})
    key = plan.parsed_key()
    spans = chord_timeline(plan, key)
    notes = compose_chords(plan, "power_8ths", "guitar_distorted", spans, np.random.default_rng(0))
    tonic = [s for s in spans if s.chord.root == key.tonic]
    assert tonic
    for span in tonic:
        pcs = {n.pitch % 12 for n in notes if span.start_tick <= n.start_tick < span.end_tick}
        assert pcs <= {key.tonic, (key.tonic + 7) % 12}, pcs  # no fourth posing as a third


def test_rock_power_chords_sit_above_the_bass_and_are_picked_apart() -> None:
    """A-string power chords an octave over the bass guitar's roots, each 8th a chug with a
    gap before the next pick: low-E chords on the bass's roots, tied 8th to 8th, were heard
    (by a transcriber) as a few long notes and hid the bass."""
    _, score = score_for("rock", seed=3)
    guitar = next(p for p in score.parts if p.name == "chords")
    bass = next(p for p in score.parts if p.name == "bass")
    assert min(n.pitch for n in guitar.notes) >= 45
    assert min(n.pitch for n in guitar.notes) > max(n.pitch for n in bass.notes)
    eighth = TICKS_PER_BEAT // 2
    by_pitch: dict[int, list[tuple[int, int]]] = {}
    for note in guitar.notes:
        by_pitch.setdefault(note.pitch, []).append((note.start_tick, note.end_tick))
    for spans in by_pitch.values():
        spans.sort()
        for (_, end), (start, _) in itertools.pairwise(spans):
            assert start - end >= eighth // 10  # silence before the next pick


def test_funk_chord_stabs_ring_between_one_string_ghost_scratches() -> None:
    plan = make_plan(GenerationRequest(prompt="funk jam", genres=["funk"], seed=2, duration_s=30))
    spans = chord_timeline(plan, plan.parsed_key())
    notes = compose_chords(plan, "scratch", "guitar_clean", spans, np.random.default_rng(0))
    from musewave.engine.compose.harmony import SCRATCH_PATTERN
    from musewave.engine.compose.timeline import STEP_TICKS

    by_tick: dict[int, int] = {}
    for note in notes:
        by_tick[note.start_tick] = by_tick.get(note.start_tick, 0) + 1
    bar = plan.beats_per_bar * TICKS_PER_BEAT
    sizes: dict[str, set[int]] = {}
    for tick, count in by_tick.items():
        sizes.setdefault(SCRATCH_PATTERN[tick % bar // STEP_TICKS], set()).add(count)
    assert sizes["g"] == sizes["x"] == {1}
    assert min(sizes["o"]) >= 3
    # Every chord hit rings past a transcriber's shortest note (~128 ms), even at the genre's
    # fastest tempo; only the muted one-string scratches are 16ths.
    seconds_per_tick = 60 / (GENRES["funk"].bpm_range[1] * TICKS_PER_BEAT)
    chord_hits = [n for n in notes if by_tick[n.start_tick] > 1]
    assert min(n.duration_ticks for n in chord_hits) * seconds_per_tick >= 0.15


def test_boom_bap_shouts_leave_the_keys_room() -> None:
    """The hype man on 1 and 3 only: shouts on every beat masked the sampled keys."""
    from musewave.engine.genres import VOX_KEYS

    groove = GENRES["hiphop"].grooves["full"]
    shouts = [
        step
        for key, steps in groove.items()
        if key in VOX_KEYS
        for step, hit in enumerate(steps)
        if hit in "xo"
    ]
    assert shouts and set(shouts) <= {0, 8}  # 16th steps: beats 1 and 3


@pytest.mark.parametrize("genre", ["funk", "afrobeats"])
@pytest.mark.parametrize("duration", [30, 120])
def test_groove_genres_play_their_drums_from_the_first_bar(genre: str, duration: int) -> None:
    """Funk and afrobeats open on the groove: a drumless intro (a third of a short track)
    was heard as indie/electronic rather than as the genre."""
    plan, score = score_for(genre, duration=duration)
    assert plan.sections[0].drums == "full"
    drummed = sum(s.beats for s in plan.sections if s.drums != "none")
    assert drummed >= 0.75 * sum(s.beats for s in plan.sections)
    drums = next(part for part in score.parts if part.name == "drums")
    assert min(note.start_tick for note in drums.notes) < TICKS_PER_BEAT


def test_reggae_organ_chops_the_offbeat_8ths_only() -> None:
    """Reggae pads (asked for: the band has none by default) bubble on each beat's offbeat,
    doubling the skank: a 16th after it made a beat tracker hear the one-drop at twice its
    tempo."""
    plan = make_plan(
        GenerationRequest(prompt="roots reggae with pads", genres=["reggae"], seed=3, duration_s=40)
    )
    notes = compose_pads(plan, chord_timeline(plan, plan.parsed_key()), "bubble")
    assert notes
    half = TICKS_PER_BEAT // 2
    assert {note.start_tick % TICKS_PER_BEAT for note in notes} == {half}


def test_reggae_bass_plays_a_riff_with_space_on_the_chord_tones() -> None:
    """The one-drop bass is a melodic figure that leaves gaps and lands on beat one, not the
    root-fifth alternation of a country two-beat (heard as country with the guitar skank)."""
    plan = make_plan(
        GenerationRequest(prompt="roots reggae", genres=["reggae"], seed=3, duration_s=40)
    )
    key = plan.parsed_key()
    spans = chord_timeline(plan, key)
    notes = compose_bass(
        plan, GENRES["reggae"], key, spans, "electric_bass", np.random.default_rng(0)
    )
    assert notes
    bar = plan.beats_per_bar * TICKS_PER_BEAT
    bars: dict[int, list] = {}
    for note in notes:
        bars.setdefault(note.start_tick // bar, []).append(note)
    for index, played in bars.items():
        assert min(n.start_tick for n in played) == index * bar  # the riff leans on beat one
        assert 4 <= len(played) <= 6
        assert sum(n.duration_ticks for n in played) < 0.8 * bar  # space inside the line
        assert len({n.pitch for n in played}) >= 3  # a figure, not a pedal or a root-fifth
        for n in played:
            if n.start_tick % bar < bar * 3 // 4:  # the last beat may walk to the next chord
                chord = chord_at(spans, n.start_tick).chord
                assert n.pitch % 12 in chord.pitch_classes


@pytest.mark.parametrize("metre", ["4/4", "3/4"])
def test_reggae_bass_walks_into_each_new_chord_and_stays_in_its_register(metre: str) -> None:
    from musewave.engine.compose.bass import DEFAULT_LOW, REGISTER_LOW

    low = REGISTER_LOW.get("electric_bass", DEFAULT_LOW)
    walks = changes = 0
    for seed in range(1, 5):
        plan = make_plan(
            GenerationRequest(
                prompt="roots reggae", genres=["reggae"], seed=seed, duration_s=60,
                time_signature=metre,
            )
        )  # fmt: skip
        key = plan.parsed_key()
        spans = chord_timeline(plan, key)
        notes = compose_bass(
            plan, GENRES["reggae"], key, spans, "electric_bass", np.random.default_rng(seed)
        )
        assert min(n.pitch for n in notes) >= low
        beat = TICKS_PER_BEAT
        for span, following in itertools.pairwise(spans):
            if span.chord.root == following.chord.root:
                continue
            changes += 1
            last_beat = [
                n
                for n in notes
                if following.start_tick - beat <= n.start_tick < following.start_tick
            ]
            # A step below or above the next root, on the bar's last beat.
            walks += any((n.pitch - following.chord.root) % 12 in (2, 11) for n in last_beat)
    assert changes and walks >= changes // 2, (walks, changes)


@pytest.mark.parametrize("genre", sorted(GENRES))
def test_bass_lines_stay_in_their_voices_register(genre: str) -> None:
    """Below F#1 (46 Hz) an 808 note's onset and pitch smear: it was heard up to 80 ms off or
    not at all (a bass guitar's below A1 was heard an octave up first). No note of any
    style (walking steps and approaches included) goes under its voice's floor."""
    for seed in range(6):
        _, score = score_for(genre, seed=seed, duration=30)
        bass = next((part for part in score.parts if part.name == "bass"), None)
        if bass is None or not bass.notes:
            continue
        floor = REGISTER_LOW.get(bass.voice, DEFAULT_LOW)
        assert min(n.pitch for n in bass.notes) >= floor, (bass.voice, seed)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_trap_keys_strike_every_beat_under_the_half_time_clap(seed: int) -> None:
    """The trap piano is broken into quarter notes, one chord tone a beat ringing into the
    next: held whole-bar chords under a clap on beat 3 were heard at half tempo."""
    plan = make_plan(
        GenerationRequest(prompt="dark trap", genres=["trap"], seed=seed, duration_s=30)
    )
    key = plan.parsed_key()
    spans = chord_timeline(plan, key)
    notes = compose_chords(plan, "arp_quarters", "piano", spans, np.random.default_rng(0))
    assert notes
    starts = sorted(n.start_tick for n in notes)
    assert len(starts) == len(set(starts))  # one tone at a time
    assert {t % TICKS_PER_BEAT for t in starts} == {0}
    assert {b - a for a, b in itertools.pairwise(starts)} == {TICKS_PER_BEAT}
    for note in notes:
        chord = chord_at(spans, note.start_tick).chord
        assert note.pitch % 12 in {(chord.root + i) % 12 for i in chord.intervals}
        assert TICKS_PER_BEAT - 20 <= note.duration_ticks < TICKS_PER_BEAT
    _, trap_score = score_for("trap", seed=seed, duration=30)
    claps = [n for p in trap_score.parts if p.name == "drums" for n in p.notes if n.pitch == 39]
    bar = plan.beats_per_bar * TICKS_PER_BEAT
    # Half time: the clap stays on beat 3 only (humanized by a few ticks).
    assert claps and all(abs(n.start_tick % bar - 2 * TICKS_PER_BEAT) <= 10 for n in claps)


def test_every_voice_is_exported_to_midi_as_the_instrument_it_plays() -> None:
    # A voice missing here would be written into score.mid as a piano (program 0); a sampled
    # voice's program is the one the SoundFont plays it with.
    assert set(VOICE_TABLE) <= set(MIDI_PROGRAMS)
    for name, voice in VOICE_TABLE.items():
        if voice.program is not None:
            assert MIDI_PROGRAMS[name] == voice.program, name


STEP = TICKS_PER_BEAT // 4


def test_gate_notes_cuts_a_held_note_into_the_patterns_open_runs() -> None:
    held = Note(60, 0, 4 * TICKS_PER_BEAT - 10, 90)
    chops = gate_notes([held], "x.x.")
    assert [(n.start_tick, n.duration_ticks) for n in chops] == [
        (k * 2 * STEP, STEP - GATE_GAP_TICKS) for k in range(8)
    ]
    assert {(n.pitch, n.velocity) for n in chops} == {(60, 90)}
    # Open runs longer than a 16th stay one note; the pattern repeats from tick 0, not from
    # the note, and a note that starts or ends inside a run is cut at its own edges.
    late = Note(64, 3 * STEP, 9 * STEP, 70)
    assert [(n.start_tick, n.duration_ticks) for n in gate_notes([late], "xx..")] == [
        (4 * STEP, 2 * STEP - GATE_GAP_TICKS),
        (8 * STEP, 2 * STEP - GATE_GAP_TICKS),
    ]
    inside = Note(64, STEP // 2, STEP, 70)
    assert [(n.start_tick, n.duration_ticks) for n in gate_notes([inside], "xx..")] == [
        (STEP // 2, STEP - GATE_GAP_TICKS)
    ]


@pytest.mark.parametrize("pattern", ["....", "x-x-", ""])
def test_gate_notes_rejects_a_pattern_without_an_open_16th(pattern: str) -> None:
    with pytest.raises(ValueError, match="gate pattern"):
        gate_notes([Note(60, 0, TICKS_PER_BEAT, 90)], pattern)


@pytest.mark.parametrize("genre", sorted(g for g in GENRES if GENRES[g].gates))
def test_gated_roles_are_written_as_the_chops_they_sound(genre: str) -> None:
    # score.mid carries what is heard: every note of a gated role starts on an open 16th of
    # its gate (or where the chord itself starts) and ends before the next closed one, and
    # is played by the gated patch of its voice.
    _, score = score_for(genre, duration=30)
    profile = GENRES[genre]
    for part in score.parts:
        pattern = profile.gates.get(part.name)
        if pattern is None:
            continue
        assert part.voice.startswith("gated_"), part.voice
        assert part.notes
        for note in part.notes:
            first = note.start_tick // STEP
            last = (note.start_tick + note.duration_ticks - 1) // STEP
            assert all(pattern[s % len(pattern)] == "x" for s in range(first, last + 1)), note


def test_a_gated_part_leaves_the_tones_another_part_strikes_in_unison() -> None:
    chop = Note(64, 0, STEP - GATE_GAP_TICKS, 80)
    other_pitch = Note(67, 0, STEP - GATE_GAP_TICKS, 80)
    later = Note(64, 2 * STEP, STEP - GATE_GAP_TICKS, 80)
    piano = [Note(64, 5, TICKS_PER_BEAT, 90)]
    assert without_unisons([chop, other_pitch, later], piano, STEP // 2) == [other_pitch, later]


def test_synthwaves_gated_pad_does_not_double_its_gated_supersaw() -> None:
    _, score = score_for("synthwave", duration=30)
    parts = {p.name: p for p in score.parts}
    struck = {
        (n.pitch, n.start_tick) for name in ("lead", "bass", "chords") for n in parts[name].notes
    }
    assert parts["pads"].notes and parts["chords"].notes
    assert not any((n.pitch, n.start_tick) in struck for n in parts["pads"].notes)


@pytest.mark.parametrize(("genre", "prompt", "role", "voice"), [
    ("house", "house with strings", "pads", "strings"),
    ("synthwave", "synthwave with piano chords", "chords", "piano"),
])  # fmt: skip
def test_a_voice_without_a_gated_patch_plays_a_gated_role_as_written(
    genre: str, prompt: str, role: str, voice: str
) -> None:
    # The gate is a synth patch's effect: strings or a piano asked for on a gated role keep
    # their held chords (a 0.4 s release over 8th-note chops is neither gated nor held).
    plan = make_plan(GenerationRequest(prompt=prompt, genres=[genre], seed=5, duration_s=30))
    part = next(p for p in compose_score(plan).parts if p.name == role)
    assert part.voice == voice
    assert max(n.duration_ticks for n in part.notes) > 2 * STEP
