"""Tonal voices: every voice renders usable audio at the right pitch and level."""

from __future__ import annotations

import numpy as np
import pytest

from musewave.engine.render import VOICES, render_part, soundfont
from musewave.engine.render.voices import SynthLayer
from musewave.engine.score import TICKS_PER_BEAT, Note, Part
from musewave.engine.soundfont_choice import ENV_VAR

from .conftest import (
    BPM,
    SAMPLES_PER_BEAT,
    SR,
    energy_share_below,
    fundamental_hz,
    one_note,
    power_spectrum,
    spectral_centroid_hz,
)

BASSES = {v for v in VOICES if "bass" in v} | {"log_drum"}
ENSEMBLES = {"strings", "choir"}
# FluidR3's overdriven guitar carries a steady partial a semitone above its weak low C3
# fundamental: the strongest peak near f0 is not the pitch, the harmonic series is.
COMB_PITCHED = {"guitar_overdriven"}


def comb_fundamental_hz(x: np.ndarray, expected_hz: float) -> float:
    """The f0 within ±1.5 semitones of ``expected_hz`` whose first five harmonics carry the
    most power (a pitch read from the whole series rather than from one peak); fails when
    the half-way partials are strong (the note sounds an octave or two lower)."""
    freqs, power = power_spectrum(x, pad=8)
    candidates = expected_hz * 2.0 ** (np.linspace(-1.5, 1.5, 301) / 12.0)
    bins = np.searchsorted(freqs, candidates[:, None] * np.arange(1, 6)[None, :])
    at_series = power[np.minimum(bins, freqs.size - 1)].sum(axis=1)
    best = int(np.argmax(at_series))
    # A note sounding an octave (or two) low has partials on every multiple of the expected
    # pitch too: it shows up as power halfway between them.
    halfway = np.searchsorted(freqs, candidates[best] * (np.arange(1, 6) - 0.5))
    assert power[np.minimum(halfway, freqs.size - 1)].sum() < 0.25 * at_series[best]
    return float(candidates[best])


def _pitches(voice: str) -> tuple[int, int, int]:
    return (36, 43, 52) if voice in BASSES else (48, 60, 72)


def test_voice_ids_are_the_documented_set() -> None:
    assert {
        "sub_bass", "bass_808", "reese_bass", "acid_bass", "synth_bass", "upright_bass",
        "electric_bass", "supersaw", "saw_lead", "square_lead", "pluck", "electric_piano",
        "clavinet", "slap_bass", "guitar_acoustic", "log_drum", "trumpet",
        "piano", "pad", "strings", "brass", "bell", "organ", "guitar_clean",
        "guitar_distorted", "guitar_overdriven", "choir", "marimba", "reed_organ", "tenor_sax",
        "gated_pad", "gated_supersaw", "drone_bass", "layered_choir",
    } == VOICES  # fmt: skip


@pytest.mark.parametrize("voice", sorted(VOICES))
def test_voice_renders_finite_stereo_float32_audio(voice: str) -> None:
    n = SR
    audio = render_part(one_note(voice, _pitches(voice)[1]), BPM, SR, n, seed=1)
    assert audio.dtype == np.float32
    assert audio.shape == (2, n)
    assert np.isfinite(audio).all()
    assert np.sqrt(np.mean(audio**2)) > 0.01


@pytest.mark.parametrize("voice", sorted(VOICES))
def test_velocity_100_note_peaks_near_the_reference_level(voice: str) -> None:
    audio = render_part(one_note(voice, _pitches(voice)[1], beats=2), BPM, SR, SR * 2, seed=1)
    assert 0.25 <= np.abs(audio).max() <= 0.6


@pytest.mark.parametrize("voice", sorted(VOICES))
def test_voice_sounds_at_its_midi_pitch(voice: str) -> None:
    for pitch in _pitches(voice):
        audio = render_part(one_note(voice, pitch, beats=2), BPM, SR, SR, seed=2)
        steady = audio.mean(axis=0)[int(0.3 * SR) : int(0.8 * SR)]
        expected = 440.0 * 2.0 ** ((pitch - 69) / 12)
        # Recorded ensembles (SoundFont strings, choir) drift by up to a third of a semitone.
        tolerance = 0.02 if voice in ENSEMBLES else 0.01
        heard = (comb_fundamental_hz if voice in COMB_PITCHED else fundamental_hz)(steady, expected)
        assert heard == pytest.approx(expected, rel=tolerance), pitch


def test_louder_velocity_is_louder_and_brighter() -> None:
    soft = render_part(one_note("piano", 60, velocity=40), BPM, SR, SR, seed=1)[0]
    hard = render_part(one_note("piano", 60, velocity=120), BPM, SR, SR, seed=1)[0]
    assert np.abs(hard).max() > 2.5 * np.abs(soft).max()
    brightness = [np.mean(np.abs(np.diff(x))) / np.mean(np.abs(x)) for x in (soft, hard)]
    assert brightness[1] > 1.3 * brightness[0]


@pytest.mark.parametrize("voice", ["pad", "strings", "choir", "organ", "supersaw"])
def test_sustained_voice_holds_for_the_note_then_releases(voice: str) -> None:
    beats = 4  # two seconds: longer than the internal loop, so the loop repeats seamlessly
    n = SR * 4
    audio = render_part(one_note(voice, 60, beats=beats), BPM, SR, n, seed=3)[0]
    note_end = beats * SAMPLES_PER_BEAT
    held = np.abs(audio[note_end - SR // 2 : note_end])
    assert held.max() > 0.2  # still sounding at note-off
    assert np.abs(audio[note_end + int(1.5 * SR) :]).max() == 0.0  # released, then silence


@pytest.mark.parametrize("voice", ["gated_pad", "gated_supersaw"])
def test_gated_patch_chops_fall_silent_on_the_closed_16ths(voice: str) -> None:
    # A bar of 8th-note chops, a 16th each (what compose writes for the gate "x.x."): each
    # closed 16th must be near silence, or the chops blur back into a held chord.
    step = TICKS_PER_BEAT // 4
    notes = [Note(60, k * 2 * step, step - 10, 100) for k in range(8)]
    part = Part(name="pads", stem="pads", voice=voice, midi_program=0, notes=notes)
    audio = render_part(part, BPM, SR, 2 * SR, seed=5).mean(axis=0)
    step_samples = SAMPLES_PER_BEAT // 4
    chunks = audio[: 16 * step_samples].reshape(16, step_samples)
    # The open 16th, and the closed one after its release (the last 60 % of the step).
    open_rms = np.sqrt(np.mean(chunks[0::2, step_samples // 4 :] ** 2))
    shut_rms = np.sqrt(np.mean(chunks[1::2, (2 * step_samples) // 5 :] ** 2))
    assert shut_rms < 10.0 ** (-30.0 / 20.0) * open_rms


def test_long_sustained_note_is_seamless_across_loop_repeats() -> None:
    audio = render_part(one_note("strings", 57, beats=16), BPM, SR, SR * 8, seed=4)[0]
    steps = np.abs(np.diff(audio[SR : 7 * SR]))
    # A seam would show up as an isolated jump far above the signal's normal slope.
    assert steps.max() < 4.0 * np.percentile(steps, 99.9)


def test_unknown_voice_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown voice"):
        render_part(one_note("kazoo", 60), BPM, SR, SR, seed=1)


def _perceived_semitones(audio: np.ndarray, expected_hz: float) -> float:
    """Median YIN pitch of the note's first 0.6 s, in semitones from ``expected_hz``.

    YIN finds the period a listener hears, so an overtone or a sub-octave that dominates the
    written note shows up as a whole number of octaves (or an interval) away."""
    import librosa

    segment = audio.mean(axis=0)[int(0.05 * SR) : int(0.6 * SR)].astype(np.float64)
    f0 = librosa.yin(segment, fmin=30.0, fmax=2500.0, sr=SR, frame_length=4096)
    return float(12.0 * np.log2(np.median(f0) / expected_hz))


@pytest.mark.parametrize("font", ["default", "none"])
@pytest.mark.parametrize("voice", sorted(VOICES))
def test_written_pitch_is_the_perceived_pitch(
    voice: str, font: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Samples and their synthesised fallbacks alike: no voice may be heard as another note
    (the old FM bell's strongest partial sat 31 semitones up; the organ's 16' an octave down)."""
    from musewave.engine.render import soundfont

    if font == "none":
        monkeypatch.setenv(ENV_VAR, "none")
    soundfont.reset_default_soundfont()
    try:
        for pitch in _pitches(voice)[1:]:
            audio = render_part(one_note(voice, pitch, beats=2), BPM, SR, SR, seed=5)
            expected = 440.0 * 2.0 ** ((pitch - 69) / 12)
            assert _perceived_semitones(audio, expected) == pytest.approx(0.0, abs=0.5), pitch
    finally:
        monkeypatch.delenv(ENV_VAR, raising=False)
        soundfont.reset_default_soundfont()


def test_808_glides_from_a_legato_previous_note_and_lands_on_its_own_pitch() -> None:
    from musewave.engine.score import TICKS_PER_BEAT, Note, Part

    beat = TICKS_PER_BEAT
    legato = [Note(36, 0, 2 * beat, 100), Note(43, 2 * beat, 2 * beat, 100)]
    apart = [Note(36, 0, beat, 100), Note(43, 2 * beat, 2 * beat, 100)]
    second = 2 * SAMPLES_PER_BEAT
    target = 440.0 * 2.0 ** ((43 - 69) / 12)
    for notes, glides in ((legato, True), (apart, False)):
        part = Part(name="bass", stem="bass", voice="bass_808", midi_program=38, notes=notes)
        audio = render_part(part, BPM, SR, 4 * SAMPLES_PER_BEAT, seed=1).mean(axis=0)
        settled = audio[second + int(0.15 * SR) : second + int(0.55 * SR)]
        assert fundamental_hz(settled, target) == pytest.approx(target, rel=0.01)
        # The first whole cycle after the click: a glide starts it from the lower note.
        onset = audio[second + int(0.002 * SR) : second + int(0.05 * SR)]
        rising = np.flatnonzero(np.diff(np.signbit(onset).astype(np.int8)) < 0)
        first_cycle_hz = SR / float(rising[1] - rising[0])
        # The 30 ms glide leaves the first cycle a semitone flat at least; no glide, on pitch.
        assert (first_cycle_hz < 0.96 * target) == glides, first_cycle_hz
        if not glides:
            assert first_cycle_hz == pytest.approx(target, rel=0.02)


def _partial_power(x: np.ndarray, hz: float) -> float:
    """Power of the strongest bin within a quarter tone of ``hz``."""
    freqs, power = power_spectrum(x, pad=4)
    near = (freqs > hz * 2.0 ** (-0.5 / 12)) & (freqs < hz * 2.0 ** (0.5 / 12))
    return float(power[near].max())


@pytest.mark.parametrize("voice", ["electric_bass", "upright_bass"])
@pytest.mark.parametrize("pitch", [33, 40])
def test_plucked_bass_attack_is_led_by_its_fundamental(voice: str, pitch: int) -> None:
    """In the first 150 ms of a pluck the fundamental outweighs the octave by 3 dB or more:
    with the octave on top (the GM samples' attack) each note was heard twice, once an
    octave up."""
    audio = render_part(one_note(voice, pitch, beats=2), BPM, SR, SR, seed=2).mean(axis=0)
    f0 = 440.0 * 2.0 ** ((pitch - 69) / 12)
    attack = audio[: int(0.15 * SR)]
    assert _partial_power(attack, f0) > 2.0 * _partial_power(attack, 2.0 * f0)


@pytest.mark.parametrize(
    ("voice", "above"),
    [("bass_808", 2.5), ("sub_bass", 2.5), ("drone_bass", 1.5), ("reese_bass", 20.0)],
)
def test_synth_bass_attack_is_brighter_than_its_body(voice: str, above: float) -> None:
    """The first 50 ms carry clearly more energy in harmonics (above ``above`` times the
    fundamental; the reese's saws are rich throughout, its filter opens wide) than the body
    300 ms later: an attack the ear places on the beat, not a low swell."""
    pitch = 36
    f0 = 440.0 * 2.0 ** ((pitch - 69) / 12)
    audio = render_part(one_note(voice, pitch, beats=2), BPM, SR, SR, seed=3).mean(axis=0)
    attack = 1.0 - energy_share_below(audio[: SR // 20], above * f0)
    body = 1.0 - energy_share_below(audio[int(0.35 * SR) : int(0.4 * SR)], above * f0)
    assert attack > 2.0 * body, (attack, body)


def test_drone_bass_holds_almost_no_octave() -> None:
    """Held, the drone's octave is 30 dB or more under its fundamental (the sub's is about
    18 dB): under a held tonic chord that octave was heard struck again and again."""
    pitch = 36
    f0 = 440.0 * 2.0 ** ((pitch - 69) / 12)
    for voice, below_db in (("drone_bass", 30.0), ("sub_bass", 12.0)):
        audio = render_part(one_note(voice, pitch, beats=4), BPM, SR, 2 * SR, seed=3).mean(axis=0)
        body = audio[SR // 2 : SR]
        ratio_db = 10.0 * np.log10(_partial_power(body, f0) / _partial_power(body, 2.0 * f0))
        assert ratio_db > below_db, (voice, ratio_db)


def _brightness_track(x: np.ndarray, frame: int = 1024) -> np.ndarray:
    """Spectral centroid (Hz) per ``frame`` samples: how the filter moves over time."""
    return np.array(
        [spectral_centroid_hz(x[i : i + frame]) for i in range(0, x.size - frame, frame)]
    )


def test_pad_filter_wobbles_several_times_a_second() -> None:
    """A held pad whose filter barely moves is heard as a string section; the analog pad's
    brightness swings by more than an octave at ~3 Hz (count the swings over 3 s)."""
    audio = render_part(one_note("pad", 60, beats=8), BPM, SR, 3 * SR, seed=3)
    track = _brightness_track(audio[0, SR // 4 :])
    assert track.max() / track.min() > 2.0
    # Over ~70 ms: the faster shimmer of the detuned upper harmonics is not the filter.
    track = np.convolve(track, np.ones(3) / 3.0, mode="valid")
    centred = track - np.median(track)
    swings = np.count_nonzero(np.diff(np.sign(centred)) > 0)  # upward crossings
    seconds = centred.size * 1024 / SR
    assert 2.0 <= swings / seconds <= 4.5


def test_saw_lead_filter_snaps_open_then_closes() -> None:
    """A plucked-then-held synth lead, not a steady bowed tone: the note is much brighter in
    its first 50 ms (energy above 3 kHz) than half a second later."""
    audio = render_part(one_note("saw_lead", 69, beats=2), BPM, SR, SR, seed=4)[0]
    attack = 1.0 - energy_share_below(audio[: SR // 20], 3000.0)
    held = 1.0 - energy_share_below(audio[SR // 2 : SR // 2 + SR // 10], 3000.0)
    assert attack > 10.0 * held


def test_supersaw_detune_stays_narrow_enough_not_to_pump() -> None:
    """Seven saws within about ±13 cents: at ±25 cents their beating pumped every held chord
    note several times a second, which a transcriber heard as the note struck again."""
    pitch = 60
    audio = render_part(one_note("supersaw", pitch, beats=8), BPM, SR, 4 * SR, seed=6)
    freqs, power = power_spectrum(audio.mean(axis=0)[SR // 2 :])
    f0 = 440.0 * 2.0 ** ((pitch - 69) / 12)
    cents = 1200.0 * np.log2(np.maximum(freqs, 1.0) / f0)
    near = power[np.abs(cents) <= 15.0].sum()
    around = power[np.abs(cents) <= 60.0].sum()
    assert near > 0.9 * around


@pytest.mark.parametrize("voice", ["strings", "choir", "brass"])
def test_slow_attack_voices_start_early_by_their_onset_lead(voice: str) -> None:
    """A swelling voice (bowed, sung, blown) sounds from ``onset_lead_s`` before its written
    start, so it is heard on the beat, and still stops where it is written; a note at the
    very start of the track skips the part of its swell that would fall before zero."""
    from musewave.engine.render.voices import VOICE_TABLE
    from musewave.engine.score import TICKS_PER_BEAT, Note, Part

    lead = round(VOICE_TABLE[voice].onset_lead_s * SR)
    assert 0.01 * SR <= lead <= 0.1 * SR
    notes = [Note(60, 0, TICKS_PER_BEAT, 100), Note(64, 4 * TICKS_PER_BEAT, TICKS_PER_BEAT, 100)]
    part = Part(name="x", stem="pads", voice=voice, midi_program=0, notes=notes)
    audio = np.abs(render_part(part, BPM, SR, 8 * SAMPLES_PER_BEAT, seed=1)).max(axis=0)
    second = 4 * SAMPLES_PER_BEAT
    release = round(VOICE_TABLE[voice].release_s * SR)
    assert audio[0] > 0.0 or audio[:lead].max() > 0.0  # the first note plays from the start
    assert audio[second - lead : second].max() > 0.0  # the second one begins early...
    assert audio[SAMPLES_PER_BEAT + release + 100 : second - lead].max() == 0.0  # ...not earlier
    end = 5 * SAMPLES_PER_BEAT + release
    assert audio[end + 100 :].max() == 0.0  # and ends where it is written


@pytest.mark.parametrize("voice", ["pad", "strings"])
def test_held_ensemble_note_swells_without_beating(voice: str) -> None:
    """The detuned saws of a pad or string section shimmer around a dominant centre one,
    shared by both sides: a held note's fundamental, heard in mono, stays within a few dB.
    Detuned saws at equal level beat it down to near silence a few times a second, and a
    transcriber hears each swell as the note struck again."""
    from musewave.engine.render.filters import bandpass

    pitch = 57
    f0 = 440.0 * 2.0 ** ((pitch - 69) / 12)
    audio = render_part(one_note(voice, pitch, beats=8), BPM, SR, SR * 5, seed=5).mean(axis=0)
    fundamental = bandpass(audio, f0 / 1.3, f0 * 1.3, SR, order=4)
    frame = SR // 20
    held = fundamental[SR // 2 : 3 * SR + SR // 2]
    rms = np.sqrt(np.mean(held[: held.size // frame * frame].reshape(-1, frame) ** 2, axis=1))
    assert 20.0 * np.log10(rms.max() / rms.min()) < 8.0  # equal-level saws: 16-25 dB


def _bundled_font() -> str:
    """pretty_midi's TimGM6mb, the font every install has."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("pretty_midi")
    assert spec is not None and spec.submodule_search_locations
    return str(Path(spec.submodule_search_locations[0]) / "TimGM6mb.sf2")


@pytest.mark.parametrize("font", ["default", "bundled", "none"])
@pytest.mark.parametrize("pitch", [36, 47, 52])
def test_piano_low_notes_are_led_by_their_fundamental(
    font: str, pitch: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over the first 300 ms of a low piano note the fundamental outweighs the octave by
    about 5 dB or more (TimGM6mb's C2: 3 dB, below), with every font: FluidR3's B2-E3 and
    TimGM6mb's C2 samples sound their octave as loud as the note, and the solo-piano left hand
    was transcribed an octave up.
    TimGM6mb's C2 reaches 3.9 dB: its low-pass now opens on the attack as the font asks (it
    passed at 4.8 dB only while the low-pass stayed shut at 130 Hz, under the octave)."""
    try:
        if font != "default":
            monkeypatch.setenv(ENV_VAR, _bundled_font() if font == "bundled" else "none")
        soundfont.reset_default_soundfont()
        audio = render_part(one_note("piano", pitch, beats=2, velocity=70), BPM, SR, SR, seed=2)
    finally:
        monkeypatch.delenv(ENV_VAR, raising=False)
        soundfont.reset_default_soundfont()
    attack = audio.mean(axis=0)[: int(0.3 * SR)]
    f0 = 440.0 * 2.0 ** ((pitch - 69) / 12)
    lead = 2.0 if (font, pitch) == ("bundled", 36) else 3.0
    assert _partial_power(attack, f0) > lead * _partial_power(attack, 2.0 * f0)


def test_a_restruck_finger_bass_note_starts_early_and_one_after_a_rest_on_time() -> None:
    """Driving 8ths on the finger bass: a note that follows the previous one at its pitch
    within ``RESTRIKE_GAP_S`` sounds ``restrike_lead_s`` before its written start (the sample's
    fundamental swells in after the pluck, and on a ringing string only the swell marks the
    note); a note after a rest or at a new pitch starts where it is written. All end where
    written."""
    from musewave.engine.render.parts import RESTRIKE_GAP_S
    from musewave.engine.render.voices import VOICE_TABLE
    from musewave.engine.score import TICKS_PER_BEAT, Note, Part

    voice = VOICE_TABLE["electric_bass"]
    lead = round(voice.restrike_lead_s * SR)
    assert 0.01 * SR <= lead <= 0.04 * SR and voice.onset_lead_s == 0.0
    eighth = TICKS_PER_BEAT // 2
    gap = eighth - 30  # root_8ths: a 30-tick gap, well within RESTRIKE_GAP_S at 120 BPM
    assert 30 / TICKS_PER_BEAT * 60.0 / BPM < RESTRIKE_GAP_S
    notes = [
        Note(40, 0, gap, 100),
        Note(40, eighth, gap, 100),  # re-struck
        Note(40, 4 * TICKS_PER_BEAT, gap, 100),  # after a rest of three beats
        Note(43, 4 * TICKS_PER_BEAT + eighth, gap, 100),  # straight after, a new pitch
    ]

    def render(chosen: list[Note]) -> np.ndarray:
        part = Part(name="bass", stem="bass", voice="electric_bass", midi_program=33, notes=chosen)
        return render_part(part, BPM, SR, 6 * SAMPLES_PER_BEAT, seed=2)

    # Rendering is additive: the second note alone is the pair minus the first note.
    second_only = np.abs(render(notes[:2]) - render(notes[:1])).max(axis=0)
    # The third note rendered after the first two, so the rest before it is what it follows.
    third_only = np.abs(render(notes[:3]) - render(notes[:2])).max(axis=0)
    fourth_only = np.abs(render(notes[2:]) - render(notes[2:3])).max(axis=0)
    second, third = SAMPLES_PER_BEAT // 2, 4 * SAMPLES_PER_BEAT
    assert second_only[second - lead : second].max() > 0.0  # starts early
    assert second_only[: second - lead].max() == 0.0  # ...not earlier
    assert third_only[:third].max() == 0.0  # the note after a rest: on time
    assert third_only[third : third + 200].max() > 0.0
    fourth = third + SAMPLES_PER_BEAT // 2
    assert fourth_only[:fourth].max() == 0.0  # a new pitch marks itself: on time too
    assert fourth_only[fourth : fourth + 200].max() > 0.0
    release = round(voice.release_s * SR)
    end = third + round(gap / TICKS_PER_BEAT * SAMPLES_PER_BEAT) + release
    assert third_only[end + 100 :].max() == 0.0  # and ends where written


def test_layered_voice_is_its_sample_with_the_synthesized_double_under_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A voice with a ``synth_layer`` sounds as a mix of its sample and its synthesized tone,
    both present, below the layer's ``below`` pitch and as its sample alone from there up
    (rock's rhythm guitar: the sample's low strings were heard late alone)."""
    import dataclasses

    from musewave.engine.render import parts

    voice = parts.VOICE_TABLE["guitar_distorted"]
    layer = voice.synth_layer
    assert layer is not None
    soundfont.reset_default_soundfont()
    font = soundfont.default_soundfont()
    if font is None or voice.program is None or not font.has_program(voice.program):
        pytest.skip("no SoundFont with the voice's program")

    def rendered(pitch: int = 46, **changes: object) -> np.ndarray:
        table = {**parts.VOICE_TABLE, "guitar_distorted": dataclasses.replace(voice, **changes)}
        monkeypatch.setattr(parts, "VOICE_TABLE", table)
        part = one_note("guitar_distorted", pitch, beats=1)
        return render_part(part, BPM, SR, SR, seed=3).mean(axis=0).astype(np.float64)

    high = layer.below
    assert high < 128
    np.testing.assert_array_equal(rendered(high), rendered(high, synth_layer=None))

    layered = rendered()
    sample, synthesized = rendered(synth_layer=None), rendered(program=None)
    basis = np.stack([sample, synthesized], axis=1)
    weights, *_ = np.linalg.lstsq(basis, layered, rcond=None)
    residual = layered - basis @ weights
    assert np.all(weights > 0.1)
    assert np.sqrt(np.mean(residual**2)) < 0.01 * np.sqrt(np.mean(layered**2))


@pytest.mark.parametrize("share", [0.0, -0.1, 1.5])
def test_a_synth_layer_without_a_share_in_0_to_1_is_rejected(share: float) -> None:
    with pytest.raises(ValueError, match="share"):
        SynthLayer(share=share)
