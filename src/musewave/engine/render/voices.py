"""The tonal voice table: which recipe renders each voice id and how its notes are placed."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

import numpy as np

from . import ensembles, keys, plucked, synths
from ._types import Audio, Hz

ToneFn = Callable[[float, float, int, int, np.random.Generator], Audio]
"""``(freq_hz, brightness 0..1, n_samples, sample_rate, rng) -> (n,) or (2, n) float32``."""

GlidingToneFn = Callable[[Hz, float, int, int, np.random.Generator], Audio]
"""A :data:`ToneFn` that also accepts a per-sample frequency (shape ``(n,)``, Hz)."""


@dataclass(frozen=True, slots=True)
class SynthLayer:
    """A voice's synthesized tone layered under its sampled one, as a producer doubles a
    miked amp with a DI'd one: ``share`` (0-1] of the sum's peak comes from the synthesized
    tone, on the notes below MIDI pitch ``below`` (every note by default). Raises
    ``ValueError`` for a share outside (0, 1]."""

    share: float
    below: int = 128

    def __post_init__(self) -> None:
        if not 0.0 < self.share <= 1.0:
            raise ValueError(f"a synth layer's share must be in (0, 1], got {self.share}")


@dataclass(frozen=True, slots=True)
class Voice:
    """How one tonal voice is rendered and placed.

    ``render`` produces the held tone; the note gate adds a ``release_s`` fade after note-off.
    Decaying voices set ``max_s``: the tone has died away by then, so no render is longer.
    ``norm_s`` is the window (from note start) whose peak is normalised, long enough to
    include the attack. ``variants`` > 1 renders that many seeded takes of noise-excited
    sounds and uses them in turn. ``level`` scales the normalised peak. Velocity always sets
    loudness; ``velocity_timbre`` False keeps one timbre for all velocities (sustained
    ensembles, whose renders are the most expensive to multiply). ``program`` is the
    General-MIDI program (0-based) that plays the voice from SoundFont samples when a font
    with that preset is loaded; ``render`` is then the fallback (and the sound on machines
    without a font). ``glide_s`` > 0 makes a note that follows the previous one without a
    gap slide from that note's pitch over ``glide_s`` seconds (the 808 glide); ``render``
    is rendered by ``gliding`` with a per-sample frequency array. ``onset_lead_s`` starts
    every note that much earlier (its written end stays put): the time from a sound's first
    sample to where it is heard to begin, for voices whose attack swells in (a bowed or sung
    sample), as producers set a negative track delay on slow string and choir libraries.
    ``restrike_lead_s`` (when larger) does the same only for a note that follows the previous
    one at the same pitch within ``RESTRIKE_GAP_S``: a string struck again while it rings.
    ``fundamental_db`` is the gain of a broad peak (Q 0.7) on each note's fundamental,
    sampled or synthesized tone alike, as a bass amp's low end; ``octave_cut_db`` the depth
    of a narrow cut (Q 2) on its octave (the 2nd harmonic). The two overlap: the broad peak
    lifts the octave too and the cut takes a little off the fundamental (8 and 10 dB give
    about +6.8 dB on the fundamental and -6.2 dB on the octave; 8 dB alone, +8 dB and +3.8
    dB). The two apply to notes below MIDI pitch ``eq_below`` (every note by default).
    ``synth_layer`` layers ``render``'s synthesized tone under a sampled one (see
    :class:`SynthLayer`; None: the sample alone).
    """

    render: ToneFn
    release_s: float
    stereo: bool = False
    max_s: float | None = None
    norm_s: float = 0.25
    variants: int = 1
    level: float = 1.0
    velocity_timbre: bool = True
    program: int | None = None
    glide_s: float = 0.0
    gliding: GlidingToneFn | None = None
    onset_lead_s: float = 0.0
    restrike_lead_s: float = 0.0
    fundamental_db: float = 0.0
    octave_cut_db: float = 0.0
    eq_below: int = 128
    synth_layer: SynthLayer | None = None


# A plucked bass string's 2nd harmonic is nearly as strong as its fundamental for the first
# tenths of a second (in the GM bass samples it is stronger, and leads a fundamental that
# swells in late): without this EQ most notes were heard twice, first an octave up, and the
# low fundamental a few tens of ms late. Peak gain (dB) on the fundamental, the bass amp's low
# end, and the depth of a narrow cut on the octave for the sampled finger bass (see Voice for
# what the two give together).
_BASS_AMP_DB = 8.0
_SAMPLED_BASS_OCTAVE_CUT_DB = 10.0
# Some of the sampled grand's low notes have the same trait (FluidR3's B2-E3 sample and
# TimGM6mb's C2 sound their octave as loud as the fundamental), and the solo-piano left hand
# (roots C2-B2) was transcribed an octave and a twelfth up about as often as at its pitch.
# A gentler amp-style EQ on the notes below F3 (the left hand's register): solo-piano
# precision 0.66 -> 0.78 and recall 0.90 -> 0.92 with FluidR3 (six renders). On every note it
# did no better, and the solo piano's melody lost its "piano" tag in 1 of 3 renders.
_PIANO_BODY_DB = 4.0
_PIANO_OCTAVE_CUT_DB = 8.0
_PIANO_EQ_BELOW = 53

_CHOIR = Voice(
    ensembles.choir,
    0.5,
    stereo=True,
    norm_s=1.0,
    level=0.9,
    velocity_timbre=False,
    # The GM choir sample stays, though a transcriber hears it as many late notes (its
    # recorded vibrato): the synthesized choir, steady enough to read as one note, was not
    # heard as a choir in a mix (it was as strings, "slow, classical").
    program=52,
    onset_lead_s=0.06,
)

VOICE_TABLE: Mapping[str, Voice] = MappingProxyType(
    {
        "sub_bass": Voice(synths.sub_bass, 0.06),
        "drone_bass": Voice(synths.drone_bass, 0.06),
        # A short glide (30 ms): at 70 ms every legato move was heard as arriving late.
        "bass_808": Voice(synths.bass_808, 0.08, max_s=3.0, glide_s=0.03, gliding=synths.bass_808),
        "reese_bass": Voice(synths.reese_bass, 0.08),
        "acid_bass": Voice(synths.acid_bass, 0.03, norm_s=0.15),
        "synth_bass": Voice(synths.synth_bass, 0.05, norm_s=0.15),
        # A plucked string rather than the GM 32 sample: even with the EQ the upright sample
        # was heard twice per note, an octave up first. The GM 33 finger bass keeps its sample
        # (with the EQ it transcribes less well than the plucked string, 0.70 against 0.88
        # F1, but the plucked string's tone tipped reggae mixes to "electronic").
        "upright_bass": Voice(
            plucked.upright_bass, 0.07, max_s=2.5, variants=2, fundamental_db=_BASS_AMP_DB
        ),
        "electric_bass": Voice(
            plucked.electric_bass,
            0.06,
            max_s=3.0,
            variants=2,
            program=33,
            fundamental_db=_BASS_AMP_DB,
            octave_cut_db=_SAMPLED_BASS_OCTAVE_CUT_DB,
            # The sample's fundamental swells in after the pluck, and on a string that
            # still rings from the note before, only the swell marks the new note: soloed,
            # rock and pop's driving 8ths were heard 25-35 ms late (one in five over 50
            # ms); 20 ms early puts them on the beat (soloed F1 0.74-0.86 -> 0.82-0.92).
            # A new pitch or a note after a rest marks itself (reggae's line was on time)
            # and stays where written.
            restrike_lead_s=0.02,
        ),
        "supersaw": Voice(synths.supersaw, 0.25, stereo=True, velocity_timbre=False),
        "saw_lead": Voice(synths.saw_lead, 0.12),
        "square_lead": Voice(synths.square_lead, 0.1),
        "pluck": Voice(synths.synth_pluck, 0.08, max_s=2.5),
        "electric_piano": Voice(keys.electric_piano, 0.15, stereo=True, max_s=6.0, program=4),
        "piano": Voice(
            keys.piano,
            0.25,
            stereo=True,
            max_s=7.0,
            norm_s=0.2,
            program=0,
            fundamental_db=_PIANO_BODY_DB,
            octave_cut_db=_PIANO_OCTAVE_CUT_DB,
            eq_below=_PIANO_EQ_BELOW,
        ),
        "pad": Voice(ensembles.pad, 1.2, stereo=True, norm_s=1.5, level=0.9, velocity_timbre=False),
        # The gated patches play a trance gate's chops (compose.harmony.gate_notes): a
        # release quick enough to leave the closed 16ths nearly silent but not to click, and
        # each chop normalised over its own length (the pad's filter is still opening then).
        "gated_pad": Voice(
            ensembles.pad, 0.04, stereo=True, norm_s=0.15, level=0.9, velocity_timbre=False
        ),
        "gated_supersaw": Voice(synths.supersaw, 0.04, stereo=True, velocity_timbre=False),
        # Strings are synthesized even with a font: the GM string-ensemble samples (FluidR3
        # and TimGM6mb alike) move so much within a held note (bowing, recorded vibrato) that
        # a transcriber heard each held chord note as 10-15 notes; the synthesized section
        # is heard as one note per note and still as strings/violin/classical.
        "strings": Voice(
            ensembles.strings,
            0.4,
            stereo=True,
            norm_s=0.8,
            level=0.9,
            velocity_timbre=False,
            onset_lead_s=0.03,
        ),
        "brass": Voice(synths.brass, 0.12, norm_s=0.8, program=61, onset_lead_s=0.02),
        "bell": Voice(keys.bell, 0.4, max_s=6.0, program=11),
        "organ": Voice(keys.organ, 0.05, stereo=True, norm_s=0.3, velocity_timbre=False),
        # The reggae bubble from GM reed organ samples (the synthesized organ alone was heard
        # as electronic/electro/House). GM drawbar and rock organs sound an octave or two
        # below the written note in the Debian font (their 16' foot dominates), reed organ
        # sounds as written in both fonts.
        "reed_organ": Voice(
            keys.organ, 0.05, stereo=True, norm_s=0.3, velocity_timbre=False, program=20
        ),
        "guitar_clean": Voice(plucked.guitar_clean, 0.08, max_s=4.0, variants=2, program=27),
        # Rock's rhythm guitar: the GM distortion-guitar sample over a synthesized double on
        # the low strings. There the sample smears partials around the fundamental, and a
        # transcriber heard the power chords' roots and fifths 50-100 ms late (soloed F1
        # 0.53-0.84; the bass under them was lost too), while its notes from B-flat 3 up
        # were on time. The synthesized guitar alone is heard on time (mix F1 0.65 -> 0.92)
        # but not as rock (2 of 3 renders); 70 % of it under every note still lowered the
        # rock reading (2 of 3 held-out renders each lost one); under the notes below
        # C4 only, the sample's bite stays on top. At 50 % the late roots stayed (0.80).
        "guitar_distorted": Voice(
            plucked.guitar_distorted,
            0.06,
            stereo=True,
            max_s=4.0,
            program=30,
            synth_layer=SynthLayer(share=0.7, below=60),
        ),
        # A rock lead: one overdriven guitar (GM 29) rather than the clean one, whose thin
        # sample (3rd-7th harmonics 10-15 dB over the fundamental) a listener, and the
        # transcriber, hears as a second line two octaves up.
        "guitar_overdriven": Voice(
            plucked.guitar_distorted, 0.08, stereo=True, max_s=4.0, program=29
        ),
        "choir": _CHOIR,
        # Cinematic's choir: the sample over the synthesized choir at half the peak. The
        # sample's recorded vibrato alone was transcribed as many late notes (soloed onset F1
        # 0.01-0.14, an eighth to a quarter of its notes found in the mix); the steady
        # synthesized tone under it marks each note's pitch and start.
        "layered_choir": replace(_CHOIR, synth_layer=SynthLayer(share=0.5)),
        "marimba": Voice(keys.marimba, 0.15, max_s=2.5, program=12),
        "clavinet": Voice(keys.clavinet, 0.05, max_s=2.0, program=7),
        # No bass EQ on the slap sample: with the fundamental boosted (F1 0.72 -> 0.79) the
        # funk mixes lost their funk/soul reading (heard 3/3 -> 1/3).
        "slap_bass": Voice(plucked.electric_bass, 0.05, max_s=2.0, variants=2, program=36),
        "guitar_acoustic": Voice(
            plucked.guitar_clean, 0.1, stereo=True, max_s=4.0, variants=2, program=25
        ),
        "log_drum": Voice(synths.log_drum, 0.05, max_s=0.8, norm_s=0.1),
        # A solo horn line for funk (GM trumpet; the synthesized brass without a font).
        "trumpet": Voice(synths.brass, 0.12, norm_s=0.8, program=56),
        "tenor_sax": Voice(synths.brass, 0.1, norm_s=0.8, program=66),
    }
)

# A gated role is played by its voice's gated patch (compose.harmony.gate_notes): the same
# sound with a quick release, so each chop ends where it is written instead of ringing into
# the next (the held pad's 1.2 s release would fill every closed step). Only the gate picks
# these patches: held chords on one would be cut to 40 ms releases, so no plan may name them.
GATED_PATCHES: Mapping[str, str] = MappingProxyType(
    {"pad": "gated_pad", "supersaw": "gated_supersaw"}
)
