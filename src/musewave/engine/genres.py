"""Genre profiles as data: tempo, harmony, grooves, palette and form for each genre.

Drum grooves are 16-step strings per General-MIDI percussion key, one bar of 4/4:
``x`` hit, ``o`` accent, ``g`` ghost note, ``.`` rest. Progressions are Roman numerals read in
the track's key, one chord per bar unless ``bars_per_chord`` says otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

KICK, RIM, SNARE, CLAP, CLOSED_HAT, OPEN_HAT, RIDE, CRASH, SHAKER = (
    36,
    37,
    38,
    39,
    42,
    46,
    51,
    49,
    70,
)
TOM_LOW, TOM_MID, TOM_HIGH, TOM_FLOOR, COWBELL, TAMBOURINE = 45, 47, 50, 41, 56, 54
# Vocal one-shots of the hip-hop kits, one word per key (render.kits.VOX_WORDS, from key 100).
VOX_YEAH, VOX_UH, VOX_HEY, VOX_LETS_GO, VOX_YO, VOX_CHECK_IT, VOX_COME_ON = range(100, 107)
VOX_DALE, VOX_EH, VOX_OYE, VOX_DURO = range(107, 111)
VOX_KEYS = frozenset(range(VOX_YEAH, VOX_DURO + 1))

Groove = Mapping[int, str]


@dataclass(frozen=True, slots=True)
class SectionKind:
    """How a kind of section sounds: its energy (0–1) and which roles play."""

    energy: float
    drums: str  # "none" | "light" | "full"
    bass: bool
    chords: bool
    pads: bool
    lead: bool


SECTION_KINDS: Mapping[str, SectionKind] = MappingProxyType(
    {
        "intro": SectionKind(0.3, "none", False, True, True, False),
        "verse": SectionKind(0.6, "full", True, True, False, True),
        "pre": SectionKind(0.7, "light", True, True, True, True),
        "chorus": SectionKind(1.0, "full", True, True, True, True),
        "hook": SectionKind(1.0, "full", True, True, True, True),
        "build": SectionKind(0.7, "light", False, True, True, False),
        "drop": SectionKind(1.0, "full", True, True, True, True),
        "breakdown": SectionKind(0.4, "none", False, True, True, True),
        "bridge": SectionKind(0.5, "light", True, True, True, False),
        "solo": SectionKind(0.9, "full", True, True, False, True),
        "groove": SectionKind(0.8, "full", True, True, False, True),
        "outro": SectionKind(0.3, "light", True, True, True, False),
    }
)


@dataclass(frozen=True, slots=True)
class Voices:
    """Renderer voice per role; ``None`` means the genre leaves that role out."""

    kit: str | None
    bass: str | None
    chords: str | None
    pads: str | None
    lead: str | None


@dataclass(frozen=True, slots=True)
class GenreProfile:
    id: str
    name: str
    synonyms: tuple[str, ...]
    bpm_range: tuple[int, int]
    modes: tuple[str, ...]  # the first is the most idiomatic
    major_progressions: tuple[str, ...]
    minor_progressions: tuple[str, ...]
    voices: Voices
    grooves: Mapping[str, Groove]  # "full" and "light"
    bass_style: str
    chord_style: str
    lead_style: str
    arrangement: tuple[tuple[str, int], ...]  # (section kind, bars)
    swing: float = 0.5  # share of an 8th the first 16th takes; 0.5 is straight
    fill: str = "snare"  # "snare" | "toms" | "none"
    crash_on_sections: bool = False
    hat_rolls: bool = False
    humanize_ms: float = 6.0
    bars_per_chord: int = 1
    pad_style: str = "sustain"  # the pads role's chord style: "sustain" holds the chords,
    # "pedal" only the tonic
    brightness: float = 0.6  # 0 dark … 1 bright; mood words move it
    instrument_words: Mapping[str, str] = field(default_factory=dict)
    # Progressions for one mode (e.g. "dorian"), used instead of the major/minor pool: the
    # minor pool's VI read in dorian is a major chord on the raised sixth, foreign to both.
    mode_progressions: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # Trance gate per role: a 16th-note pattern ("x" open, "." closed, repeating from the
    # first beat) that the role's held chords are written in, so score.mid holds each chop
    # the listener hears (see ``compose.harmony.gate_notes``). The chopping is what makes a
    # held synth chord read as a synth rather than a bowed string section.
    gates: Mapping[str, str] = field(default_factory=dict)
    # Where the chords and pads roles are voiced (MIDI pitch of the voicing's centre): the
    # chords voice's own centre and the pads' (``compose.harmony.CHORD_CENTER``,
    # ``PAD_CENTER``) unless the genre moves a part out of another's register.
    chord_center: int | None = None
    pad_center: int | None = None


def _grooves(full: dict[int, str], light: dict[int, str]) -> Mapping[str, Groove]:
    return MappingProxyType({"full": MappingProxyType(full), "light": MappingProxyType(light)})


_PROFILES = (
    GenreProfile(
        id="lofi",
        name="Lo-fi hip-hop",
        synonyms=("lo-fi", "lo fi", "lofi hip hop", "lo-fi hip hop", "chillhop", "lofi beats"),
        bpm_range=(70, 90),
        modes=("dorian", "minor", "major"),
        major_progressions=("ii7-V7-Imaj7-Imaj7", "Imaj7-vi7-ii7-V7", "IVmaj7-iii7-ii7-Imaj7"),
        # The tonic chord on half the bars and a ii–v (or iv–v) back into it; the old
        # VIImaj7/IIImaj7 turnaround and ii7 (raised sixth) made A minor heard as G or C major.
        minor_progressions=("i9-iv9-i9-v7", "i7-iv7-v7-i7", "iim7b5-v7-i9-i9"),
        mode_progressions={"dorian": ("i9-IV9-i9-v7", "i7-iv7-v7-i7", "ii7-v7-i9-i9")},
        voices=Voices("kit_lofi", "upright_bass", "electric_piano", "pad", "electric_piano"),
        grooves=_grooves(
            {
                KICK: "x.....x...x.....",
                SNARE: "....x.......x...",
                CLOSED_HAT: "x.x.x.x.x.x.x.x.",
            },
            {KICK: "x.........x.....", CLOSED_HAT: "x...x...x...x..."},
        ),
        bass_style="roots_passing",
        chord_style="comp",
        lead_style="sparse",
        arrangement=(("intro", 4), ("verse", 8), ("chorus", 8), ("verse", 8), ("outro", 4)),
        swing=0.58,
        fill="none",
        humanize_ms=12.0,
        brightness=0.35,
    ),
    GenreProfile(
        id="hiphop",
        name="Boom-bap hip-hop",
        synonyms=("hip hop", "hip-hop", "boom bap", "boom-bap", "rap", "old school hip hop"),
        bpm_range=(85, 98),
        modes=("minor", "dorian"),
        major_progressions=("ii7-V7-Imaj7-vi7",),
        minor_progressions=("i7-iv7-i7-iv7", "i9-VImaj7-iv7-v7", "i7-i7-VImaj7-v7"),
        mode_progressions={"dorian": ("i7-IV7-i7-IV7", "i9-i9-ii7-v7", "i7-i7-IV7-v7")},
        # A dusty kit and sampled keys carry boom-bap; a brass lead made it read as jazz.
        voices=Voices("kit_boombap", "sub_bass", "piano", None, None),
        grooves=_grooves(
            {
                KICK: "x.....x.x.....x.",
                SNARE: "....x..g....x..g",
                CLOSED_HAT: "x.xox.x.x.xox.x.",
                # The hype man's shouts on 1 and 3: a boom-bap beat without a voice was
                # heard as indie/jazz, but a shout on every beat sat on the sampled keys (the
                # voice's pitch and formants in their register) and hid half their notes.
                # Accented: moved off the keys' chords (compose.ad_libs), the shouts carried
                # the Hip-Hop reading less.
                VOX_YO: "o...............",
                VOX_CHECK_IT: "........o.......",
            },
            {KICK: "x.....x.........", CLOSED_HAT: "x.x.x.x.x.x.x.x."},
        ),
        bass_style="follow_kick",
        chord_style="comp",
        lead_style="sparse",
        arrangement=(("intro", 4), ("verse", 16), ("hook", 8), ("verse", 16), ("hook", 8)),
        swing=0.57,
        fill="none",
        humanize_ms=9.0,
        brightness=0.45,
    ),
    GenreProfile(
        id="trap",
        name="Trap",
        synonyms=("trap beat", "drill", "808"),
        bpm_range=(130, 150),
        modes=("harmonic minor", "minor", "phrygian"),
        major_progressions=("vi-IV-I-V",),
        minor_progressions=("i-VI-i-VI", "i-iv-VI-V", "i-i-VI-VII"),
        mode_progressions={
            "harmonic minor": ("i-VI-i-V", "i-iv-VI-V", "i-i-VI-V"),
            "phrygian": ("i-II-i-i", "i-VI-i-II", "i-iv-II-i"),
        },
        # Dark piano chords, a sparse bell (vibraphone) hook over the 808: bell arpeggios and a
        # plucked lead were heard as harp and sitar. The pad holds only the tonic (pad_style):
        # its held chords, in the keys' register, were mostly lost in the mix (a third of
        # their notes found), masked a fifth of the keys' and were heard as strings; without
        # them the mix F1 went 0.59 -> 0.72 (three renders), still heard as Hip-Hop. With no
        # pad at all (0.79) a phrygian beat lost its tonic and was heard at half tempo.
        voices=Voices("kit_trap", "bass_808", "piano", "pad", "bell"),
        grooves=_grooves(
            {
                KICK: "x.......x.x.....",
                CLAP: "........x.......",
                # 16th hats accented on the beat (rolls on top): the pulse at the written
                # tempo, under the half-time clap.
                CLOSED_HAT: "oxxxoxxxoxxxoxxx",
                OPEN_HAT: "..............x.",
                # Ad-libs, the voice a trap beat carries, in the pockets between the beats:
                # shouted on the beat they landed on every note of the quarter-note keys and
                # hid half of them (and of the bell hook); on the offbeat 8ths they answer
                # the keys, and still mark the pulse at the written tempo. (One a bar was
                # not enough voice: the beat was heard as electronic/indie at half tempo.)
                # Accented, as shouts are: the Hip-Hop reading lives in them.
                VOX_YEAH: "..o.............",
                VOX_UH: "......o.........",
                VOX_HEY: "..........o.....",
                VOX_LETS_GO: "..............o.",
            },
            # Light sections (the outro) keep the kick under the 808 and 8th hats accented on
            # the beat: a lone kick on 1 under an 808 on 1 and 3 was heard at half tempo.
            {KICK: "x.......x.x.....", CLOSED_HAT: "o.x.o.x.o.x.o.x."},
        ),
        bass_style="follow_kick",
        # Dark piano broken into quarter notes: held whole-bar chords (one attack a bar) under
        # the half-time clap made a beat tracker hear the beat at half tempo (4 of 9 renders).
        chord_style="arp_quarters",
        lead_style="hook",
        pad_style="pedal",
        arrangement=(("intro", 8), ("hook", 16), ("verse", 16), ("hook", 16), ("outro", 8)),
        hat_rolls=True,
        fill="none",
        humanize_ms=3.0,
        brightness=0.45,
    ),
    GenreProfile(
        id="house",
        name="House",
        synonyms=("deep house", "house music", "tech house", "garage house"),
        bpm_range=(120, 126),
        modes=("minor", "dorian"),
        major_progressions=("I-vi-IV-V", "IVmaj7-V-Imaj7-vi7"),
        # i–VII–VI–VII gave the tonic one bar in four and was heard as the relative major.
        minor_progressions=("i7-i7-VI-VII", "i9-iv9-i9-iv9", "i-VII-i-VI"),
        mode_progressions={"dorian": ("i9-IV9-i9-v7", "i9-iv9-i9-iv9", "i7-i7-III-IV7")},
        voices=Voices("kit_electronic", "synth_bass", "piano", "pad", "pluck"),
        grooves=_grooves(
            {
                KICK: "x...x...x...x...",
                CLAP: "....x.......x...",
                CLOSED_HAT: "xxxxxxxxxxxxxxxx",
                OPEN_HAT: "..o...o...o...o.",
            },
            {KICK: "x...x...x...x...", CLOSED_HAT: "..x...x...x...x."},
        ),
        bass_style="offbeat",
        chord_style="stabs",
        lead_style="hook",
        arrangement=(
            ("intro", 16),
            ("build", 8),
            ("drop", 16),
            ("breakdown", 8),
            ("drop", 16),
            ("outro", 16),
        ),
        humanize_ms=2.0,
        gates={"pads": "x.x."},
        brightness=0.6,
    ),
    GenreProfile(
        id="techno",
        name="Techno",
        synonyms=("minimal techno", "acid techno", "industrial techno", "acid"),
        bpm_range=(125, 140),
        modes=("minor", "phrygian"),
        major_progressions=("I-I-I-I",),
        minor_progressions=("i-i-i-i", "i-i-VI-i", "i-i-iv-i"),
        voices=Voices("kit_electronic", "acid_bass", "synth_bass", "pad", None),
        grooves=_grooves(
            {
                KICK: "x...x...x...x...",
                RIM: "....x.......x..x",
                CLOSED_HAT: "x.xxx.xxx.xxx.xx",
                OPEN_HAT: "..o...o...o...o.",
            },
            {KICK: "x...x...x...x...", CLOSED_HAT: "..x...x...x...x."},
        ),
        bass_style="acid_16ths",
        chord_style="stabs",
        lead_style="sparse",
        arrangement=(
            ("intro", 16),
            ("groove", 32),
            ("breakdown", 16),
            ("drop", 32),
            ("outro", 16),
        ),
        humanize_ms=1.0,
        bars_per_chord=2,
        # Offbeat 8ths, where the kick is not: the chops on the beat were lost under it.
        gates={"pads": "..xx"},
        brightness=0.5,
    ),
    GenreProfile(
        id="synthwave",
        name="Synthwave",
        synonyms=("retrowave", "outrun", "80s synth", "darksynth", "chillwave"),
        bpm_range=(80, 118),
        modes=("minor", "major"),
        major_progressions=("vi-IV-I-V", "I-V-vi-IV"),
        # i–VI–III–VII is vi–IV–I–V of the relative major, and was heard as it; so was VII
        # (the relative major's V) once the supersaw chords came through the bass (A minor
        # heard as C major in 2 of 6 minor renders): the major V, with its leading tone,
        # turns each minor phrase back to i.
        minor_progressions=("i-VI-iv-V", "i-iv-VI-V", "i-VI-VII-V"),
        voices=Voices("kit_electronic", "synth_bass", "supersaw", "pad", "saw_lead"),
        grooves=_grooves(
            {
                KICK: "x...x...x...x...",
                SNARE: "....x.......x...",
                CLOSED_HAT: "x.x.x.x.x.x.x.x.",
            },
            {KICK: "x.......x.......", CLOSED_HAT: "x.x.x.x.x.x.x.x."},
        ),
        bass_style="octave_8ths",
        chord_style="sustain",
        lead_style="hook",
        arrangement=(
            ("intro", 8),
            ("verse", 16),
            ("chorus", 16),
            ("bridge", 8),
            ("chorus", 16),
            ("outro", 8),
        ),
        fill="toms",
        crash_on_sections=True,
        humanize_ms=2.0,
        # The supersaw pulses in 8ths (chopped on the offbeats only it was heard as strings)
        # and the pad answers on the offbeat 8ths: both on the 8ths, with the bass line's
        # octave 8ths, the pad was heard as one line with them (a sixth of it transcribed).
        # The chops sit a 16th after each bass note: struck with it, under its bright attack,
        # whose harmonics are the chords' own pitches (D3's 2nd and 3rd are D4 and A4), two
        # in three chord notes were lost (a bass low-passed at 600 Hz let them through too,
        # but was no longer heard as a synth). Off the bass's 8ths, the pad's chops no longer
        # fall on the supersaw's either (where they were thinned away as unisons).
        gates={"chords": ".x.x", "pads": "..xx"},
        brightness=0.7,
    ),
    GenreProfile(
        id="dnb",
        name="Drum & bass",
        synonyms=("drum and bass", "drum & bass", "drum n bass", "d&b", "dnb", "jungle", "liquid"),
        bpm_range=(170, 176),
        modes=("minor", "dorian"),
        major_progressions=("IVmaj7-iii7-ii7-Imaj7",),
        minor_progressions=("i9-VImaj7-iv9-v7", "i-VI-III-VII", "i7-iv7-VImaj7-v7"),
        mode_progressions={"dorian": ("i9-IV9-i9-v7", "i9-IIImaj7-IV9-i9", "i7-ii7-i7-v7")},
        # A busy two-step break at full tempo and a moving reese: with a bell lead and long
        # bass notes the genre was heard as ambient at half tempo. Ghost snares, 16th hats
        # and a shaker on every 16th, a tambourine on the offbeats: the break's density is
        # what taggers hear as "fast" and what a beat tracker locks to at 170+ BPM.
        # Piano stabs (liquid and jungle's sampled piano) rather than the Rhodes: the electric
        # piano under the reese read as chillout and cost the "fast" reading whenever it
        # came forward; the piano comes forward and the mix stays fast.
        voices=Voices("kit_electronic", "reese_bass", "piano", "pad", None),
        grooves=_grooves(
            {
                KICK: "x.........x.....",
                SNARE: "....o.gg.g.go.gg",
                CLOSED_HAT: "oxxxoxxxoxxxoxxx",
                SHAKER: "xxxxxxxxxxxxxxxx",
                TAMBOURINE: "..x...x...x...x.",
            },
            # The outro keeps the two-step's backbeat and 16th hats under the music, as a DJ
            # outro does: a third of a short track on a lone kick and 8th hats read as chillout.
            {KICK: "x.........x.....", SNARE: "....x.......x...", CLOSED_HAT: "oxxxoxxxoxxxoxxx"},
        ),
        bass_style="follow_kick",
        chord_style="stabs",
        lead_style="sparse",
        arrangement=(("intro", 16), ("drop", 32), ("breakdown", 16), ("drop", 32), ("outro", 16)),
        crash_on_sections=True,
        humanize_ms=2.0,
        brightness=0.6,
        # The pad as offbeat chord chops an octave over the piano (8ths, 170 ms: longer than
        # a transcriber's shortest note, unlike the 16th tremolo it had in the mix), the
        # piano above the reese's saw harmonics: each part in its own register, the chops
        # heard as "dance" and "fast" where a held pad read as ambient.
        gates={"pads": "..xx"},
        chord_center=69,
        pad_center=81,
    ),
    GenreProfile(
        id="ambient",
        name="Ambient",
        synonyms=("ambient music", "drone", "meditation", "soundscape", "new age"),
        bpm_range=(60, 80),
        modes=("lydian", "major", "dorian"),
        major_progressions=("Imaj7-IVmaj7-Imaj7-IVmaj7", "Isus2-vi7-IVmaj7-Isus2"),
        # No sus2 tonic in minor (without its third the home chord is any mode) and no major IV.
        minor_progressions=("i9-VImaj7-i9-iv9", "i9-VImaj7-IIImaj7-VII"),
        mode_progressions={
            # Lydian's IV is the raised fourth's triad; its colour chord is the major II.
            "lydian": ("Imaj7-II-Imaj7-II", "Isus2-vi7-II-Isus2"),
            "dorian": ("i9-IV9-i9-IV9", "i9-IIImaj7-i9-IV9"),
        },
        # A synth pluck over the pads rather than the vibraphone bell: the bell's sample
        # tremolo was heard as each note struck again, and at the top of the pads' partials
        # a fifth of its notes came through in the mix (the pluck: 0.2 -> 0.78). The sub is
        # the drone's clean variant (see render.synths.drone_bass).
        voices=Voices(None, "drone_bass", "pad", "strings", "pluck"),
        grooves=_grooves({}, {}),
        bass_style="drone",
        chord_style="sustain",
        lead_style="sparse",
        arrangement=(("intro", 8), ("verse", 16), ("chorus", 16), ("outro", 8)),
        fill="none",
        humanize_ms=15.0,
        bars_per_chord=2,
        brightness=0.4,
        # The synth pad's chords centred a semitone above the default (63), so B minor's i9 is
        # voiced open (B-D-F#-C#), not as the B-C#-D cluster: a semitone inside a held chord
        # beats, and a transcriber heard its upper tone struck again and again and lost the
        # lower one. At 66 F# lydian's tonic chord went up an octave into the pluck's register.
        chord_center=64,
    ),
    GenreProfile(
        id="pop",
        name="Pop",
        synonyms=("pop music", "synth pop", "synthpop", "electropop", "dance pop", "k-pop"),
        bpm_range=(95, 125),
        modes=("major", "minor"),
        major_progressions=("I-V-vi-IV", "vi-IV-I-V", "I-vi-IV-V"),
        minor_progressions=("i-VI-III-VII", "VI-VII-i-i"),
        # A played (sampled) bass under piano and strummed guitar: with a synth bass the
        # taggers heard electronic/indie, with a bass guitar "pop" comes first.
        voices=Voices("kit_electronic", "electric_bass", "piano", "guitar_acoustic", "pluck"),
        grooves=_grooves(
            {
                KICK: "x.......x.x.....",
                CLAP: "....x.......x...",
                CLOSED_HAT: "x.xxx.x.x.xxx.x.",
            },
            {KICK: "x.......x.......", CLOSED_HAT: "x...x...x...x..."},
        ),
        bass_style="root_8ths",
        chord_style="comp",
        lead_style="hook",
        pad_style="strum",
        arrangement=(
            ("intro", 4),
            ("verse", 8),
            ("pre", 4),
            ("chorus", 8),
            ("verse", 8),
            ("pre", 4),
            ("chorus", 8),
            ("bridge", 8),
            ("chorus", 8),
            ("outro", 4),
        ),
        crash_on_sections=True,
        humanize_ms=4.0,
        brightness=0.7,
    ),
    GenreProfile(
        id="rock",
        name="Rock",
        synonyms=("rock music", "indie rock", "hard rock", "alt rock", "punk", "grunge"),
        bpm_range=(100, 150),
        modes=("major", "minor", "mixolydian"),
        major_progressions=("I-IV-V-IV", "I-bVII-IV-I", "I-V-vi-IV"),
        minor_progressions=("i-VI-VII-i", "i-iv-VI-VII"),
        mode_progressions={"mixolydian": ("I-bVII-IV-I", "I-IV-I-bVII", "I-v-IV-I")},
        voices=Voices(
            "kit_acoustic", "electric_bass", "guitar_distorted", None, "guitar_overdriven"
        ),
        grooves=_grooves(
            {
                KICK: "x.......x.x.....",
                SNARE: "....x.......x...",
                CLOSED_HAT: "x.x.x.x.x.x.x.x.",
            },
            {KICK: "x.......x.......", RIDE: "x.x.x.x.x.x.x.x."},
        ),
        bass_style="root_8ths",
        chord_style="power_8ths",
        lead_style="hook",
        arrangement=(
            ("intro", 4),
            ("verse", 8),
            ("chorus", 8),
            ("verse", 8),
            ("chorus", 8),
            ("solo", 8),
            ("chorus", 8),
        ),
        fill="toms",
        crash_on_sections=True,
        humanize_ms=7.0,
        brightness=0.65,
    ),
    GenreProfile(
        id="jazz",
        name="Jazz",
        synonyms=("swing", "bebop", "jazz trio", "smooth jazz", "cool jazz"),
        # Medium swing: above ~150 BPM a trio was heard at half tempo (3 of 9 renders at 152-160
        # before the spang-a-lang ride); bebop speeds stay reachable through an asked-for tempo.
        bpm_range=(120, 160),
        modes=("major", "dorian"),
        major_progressions=("ii7-V7-Imaj7-vi7", "Imaj7-vi7-ii7-V7", "iii7-vi7-ii7-V7"),
        minor_progressions=("iim7b5-V7-i7-i7", "i7-iv7-iim7b5-V7"),
        # Modal jazz over a dorian tonic with minor ii–V–i cadences: i7–iv7–ii7–V7 put the
        # tonic on one bar in four and D dorian was heard as C major (its ii–V–I).
        mode_progressions={"dorian": ("iim7b5-V7-i7-i7", "i7-IV7-i7-V7", "i7-i7-iim7b5-V7")},
        # A sampled jazz kit (GM kit 32: a recorded ride, hi-hat and bass drum): with the
        # synthesized kit, soloed drums were heard as electronic/techno and jazz ranked
        # 4th-5th behind country/folk or was missing (3 of 6 renders); with it jazz comes first.
        # (A tenor sax lead read as jazz even more, but its samples were transcribed with half
        # again as many notes as written; "sax" in a prompt still brings it.)
        voices=Voices("kit_jazz", "upright_bass", "piano", None, "brass"),
        grooves=_grooves(
            # Spang-a-lang: ride on every beat, accented on 2 and 4 with the swung skip note
            # before them; hi-hat foot on 2 and 4; bass drum feathered on all four beats.
            {RIDE: "x...o.x.x...o.x.", CLOSED_HAT: "....x.......x...", KICK: "g...g...g...g..."},
            {RIDE: "x...o.x.x...o.x.", CLOSED_HAT: "....x.......x..."},
        ),
        bass_style="walking",
        chord_style="comp",
        lead_style="busy",
        arrangement=(("intro", 4), ("verse", 8), ("verse", 8), ("bridge", 8), ("verse", 8)),
        swing=0.66,
        fill="snare",
        humanize_ms=10.0,
        brightness=0.55,
    ),
    GenreProfile(
        id="cinematic",
        name="Cinematic / orchestral",
        synonyms=("orchestral", "epic", "film score", "soundtrack", "trailer", "score"),
        bpm_range=(60, 100),
        modes=("minor", "harmonic minor", "major"),
        major_progressions=("I-V-vi-IV", "I-iii-IV-V"),
        minor_progressions=("i-VI-III-VII", "i-iv-VI-V", "i-VI-iv-V"),
        mode_progressions={"harmonic minor": ("i-iv-V-i", "i-iv-VI-V", "i-VI-iv-V")},
        # The choir with a steady synthesized one under its sample (render.voices, layered_choir).
        voices=Voices("kit_cinematic", "strings", "strings", "layered_choir", "brass"),
        grooves=_grooves(
            {
                KICK: "x.......x.......",
                TOM_LOW: "x..x..x.x..x..x.",
                TOM_HIGH: "....x.......x.x.",
            },
            {TOM_LOW: "x.......x......."},
        ),
        bass_style="octave_8ths",
        chord_style="ostinato",
        lead_style="sparse",
        arrangement=(("intro", 8), ("build", 8), ("chorus", 16), ("bridge", 8), ("chorus", 16)),
        fill="toms",
        crash_on_sections=True,
        humanize_ms=8.0,
        brightness=0.5,
    ),
    GenreProfile(
        id="piano",
        name="Solo piano",
        synonyms=("solo piano", "piano solo", "piano ballad", "classical piano", "neoclassical"),
        bpm_range=(60, 100),
        modes=("major", "minor"),
        major_progressions=("I-V-vi-iii-IV-I-IV-V", "I-vi-IV-V"),
        minor_progressions=("i-VI-III-VII", "i-iv-VII-III"),
        voices=Voices(None, None, "piano", None, "piano"),
        grooves=_grooves({}, {}),
        bass_style="none",
        chord_style="broken",
        lead_style="sparse",
        arrangement=(("verse", 8), ("chorus", 8), ("verse", 8), ("outro", 4)),
        fill="none",
        humanize_ms=18.0,
        brightness=0.5,
    ),
    GenreProfile(
        id="reggae",
        name="Reggae",
        synonyms=("roots reggae", "dub", "ska", "one drop"),
        # The top of roots reggae's 60-80: at 64-72 the same band dragged and was heard as
        # jazz/pop/indie (5 of 9 renders), at 75-82 as chill/soul (8 of 8 tried).
        bpm_range=(76, 80),
        modes=("major", "minor"),
        major_progressions=("I-IV-V-IV", "I-ii-I-ii", "I-IV-I-V"),
        minor_progressions=("i-iv-i-v", "i-VII-i-VII"),
        # Electric piano skank on the offbeats over a melodic bass riff and the one drop: a
        # riddim, drums and bass up front. The clean guitar skank over a root-fifth bass was
        # heard as country/rock/indie (MTT guitar, country on every render); the keys skank and
        # the riff read soul/chill. The organ bubble doubles the skank on the pads (reed organ
        # samples, pad_style): without it the electric piano alone was the band's top MSD
        # reading, "electronic", in 5 of 9 renders (muting the keys put jazz on top); with it
        # jazz or pop lead and chillout stays counted.
        voices=Voices("kit_reggae", "electric_bass", "electric_piano", "reed_organ", None),
        grooves=_grooves(
            {KICK: "........x.......", RIM: "........x.......", CLOSED_HAT: "x.x.x.x.x.x.x.x."},
            {RIM: "........x.......", CLOSED_HAT: "x.x.x.x.x.x.x.x."},
        ),
        bass_style="one_drop",
        chord_style="skank",
        lead_style="sparse",
        pad_style="bubble",
        arrangement=(("intro", 4), ("verse", 8), ("chorus", 8), ("verse", 8), ("chorus", 8)),
        # Laid-back swung 8ths (62 %: the off-beat 8th comes late) and a loose live band:
        # played straight and tight the riff was heard at double tempo (72 BPM as 143) and
        # read electronic.
        swing=0.62,
        fill="snare",
        humanize_ms=12.0,
        brightness=0.5,
    ),
    GenreProfile(
        id="reggaeton",
        name="Reggaeton",
        synonyms=("dembow", "latin urban", "perreo"),
        bpm_range=(88, 100),
        modes=("minor",),
        major_progressions=("vi-IV-I-V",),
        minor_progressions=("i-VI-VII-i", "i-iv-VI-VII"),
        # An 808 under the dembow, picked acoustic guitar and a marimba hook: the synth pluck
        # arps, pad and square lead over a sub bass were heard as electronic/techno. (Held guitar
        # chords read more hip-hop but buried the harmony: the mix was transcribed half as well.)
        voices=Voices("kit_trap", "bass_808", "guitar_acoustic", None, "marimba"),
        grooves=_grooves(
            {
                KICK: "x...x...x...x...",
                SNARE: "...x..x....x..x.",
                CLOSED_HAT: "x.x.x.x.x.x.x.x.",
                # Shouts on the beat, in Spanish: the perreo chant over the dembow. They cost
                # the guitar and marimba a sixth of their notes in the mix (two a bar, or in
                # the offbeat pockets as trap's: F1 0.64 -> 0.76), but with fewer, or off the
                # beat, the beat was no longer heard as hip-hop/dance. Accented, and moved a
                # beat off the guitar's and marimba's attacks where that frees more of them
                # (compose.ad_libs).
                VOX_DALE: "o...............",
                VOX_EH: "....o.......o...",
                VOX_OYE: "........o.......",
            },
            {KICK: "x...x...x...x...", RIM: "...x..x....x..x."},
        ),
        bass_style="follow_kick",
        chord_style="arp",
        lead_style="hook",
        arrangement=(("intro", 4), ("hook", 8), ("verse", 16), ("hook", 8), ("outro", 4)),
        humanize_ms=3.0,
        brightness=0.6,
    ),
    GenreProfile(
        id="funk",
        name="Funk / disco",
        synonyms=("disco", "nu disco", "nu-disco", "funky", "boogie"),
        bpm_range=(100, 125),
        modes=("dorian", "mixolydian", "minor"),
        major_progressions=("I7-IV7-I7-IV7", "Imaj7-ii7-iii7-ii7"),
        minor_progressions=("i7-IV7-i7-IV7", "i7-i7-iv7-v7"),
        mode_progressions={"mixolydian": ("I7-I7-IV7-I7", "I7-bVII-IV-I7", "I7-v7-I7-IV7")},
        # Slap bass, scratchy 16th guitar, horn stabs and a trumpet line over a miked room
        # kit: a sustained string pad made funk read as classical, and a clavinet lead (still
        # there when the prompt asks for one) pulled the listening taggers to "electronic".
        voices=Voices("kit_funk", "slap_bass", "guitar_clean", "brass", "trumpet"),
        grooves=_grooves(
            {
                KICK: "x...x...x...x...",
                SNARE: "....x..g.g..x...",
                CLOSED_HAT: "xxxxxxxxxxxxxxxx",
                OPEN_HAT: "..o...o...o...o.",
            },
            {KICK: "x...x...x...x...", CLOSED_HAT: "x.x.x.x.x.x.x.x."},
        ),
        bass_style="slap_16ths",
        chord_style="scratch",
        lead_style="hook",
        pad_style="stabs",
        # The band plays from bar one (a funk record opens on the groove, not on a drumless
        # intro): in a short track a drumless intro and breakdown left the groove a third.
        arrangement=(
            ("groove", 8),
            ("chorus", 8),
            ("groove", 8),
            ("breakdown", 4),
            ("chorus", 8),
        ),
        swing=0.53,
        crash_on_sections=True,
        humanize_ms=5.0,
        brightness=0.7,
    ),
    GenreProfile(
        id="afrobeats",
        name="Afrobeats / amapiano",
        synonyms=("afrobeat", "afro beats", "amapiano", "afro house", "afropop"),
        bpm_range=(100, 115),
        modes=("major", "minor"),
        major_progressions=("I-vi-IV-V", "IVmaj7-V-Imaj7-vi7"),
        minor_progressions=("i-VI-III-VII", "i7-iv7-VII-III"),
        # Log drum bass, shakers and syncopated conga-like toms; a pad made it read as ambient.
        # No instrumental lead by default (the song's voice carries the tune; "marimba" in a
        # prompt brings one back): a marimba hook over the riffs was heard as indie/electronic.
        voices=Voices("kit_afro", "log_drum", "guitar_clean", None, None),
        grooves=_grooves(
            {
                KICK: "x...x...x...x...",
                RIM: "...x..x....x..x.",
                SHAKER: "oxxxoxxxoxxxoxxx",
                CLAP: "....x.......x...",
                TOM_HIGH: "..x..x.....x.x..",
                TOM_MID: "......x.x.......",
            },
            {SHAKER: "x.x.x.x.x.x.x.x.", RIM: "...x..x....x..x."},
        ),
        bass_style="log_drum",
        chord_style="arp",
        lead_style="hook",
        # The percussion starts the track: a drumless intro of guitar and marimba was heard
        # as indie/country, and in a short track it was a quarter of the whole.
        arrangement=(("verse", 16), ("hook", 8), ("verse", 16), ("hook", 8)),
        swing=0.54,
        fill="none",
        humanize_ms=5.0,
        brightness=0.65,
    ),
)

GENRES: Mapping[str, GenreProfile] = MappingProxyType({p.id: p for p in _PROFILES})
DEFAULT_GENRE = "pop"


def _synonym_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for profile in _PROFILES:
        for word in (profile.id, profile.name.lower(), *profile.synonyms):
            table[" ".join(word.lower().replace("-", " ").split())] = profile.id
    return table


GENRE_SYNONYMS: Mapping[str, str] = MappingProxyType(_synonym_table())


def canonical_genre(text: str) -> str | None:
    """``"Lo-Fi Hip Hop"`` → ``"lofi"``; ``None`` if no profile matches."""
    key = " ".join(text.lower().replace("-", " ").replace("_", " ").split())
    return GENRE_SYNONYMS.get(key) or GENRE_SYNONYMS.get(key.replace(" ", ""))
