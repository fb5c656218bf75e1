"""The singer: every word sung once, in order, on the written melody, in every language.

The pitch check uses librosa's pYIN, a tracker this project did not write.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import librosa
import numpy as np
import pytest

from musewave.engine.plan import Plan
from musewave.engine.score import TICKS_PER_BEAT
from musewave.engine.vocals import espeak
from musewave.engine.vocals.track import VocalTrack, render_vocals
from musewave.engine.vocals.voices import VOICES
from tests.engine.fresh_process import printed_by_a_fresh_interpreter
from tests.engine.vocals.conftest import plan_for

SR = 44_100
# Two lines per language, in its own script (Japanese in kana: espeak-ng reads no kanji).
LYRICS = {
    "en": "[Verse]\nWe are dancing in the morning light\n[Chorus]\nHold me closer, never let go",
    "es": "[Verse]\nBailamos bajo la luna\n[Chorus]\nMi corazón canta contigo",
    "fr": "[Verse]\nNous dansons sous la lumière\n[Chorus]\nViens avec moi ce soir",
    "de": "[Verse]\nWir tanzen durch die Nacht\n[Chorus]\nKomm mit mir ins Licht",
    "it": "[Verse]\nBalliamo sotto la luna\n[Chorus]\nCanto per te amore mio",
    "pt": "[Verse]\nDançamos sob a luz do mar\n[Chorus]\nMeu coração canta por você",
    "hi": "[Verse]\nहम नाचें आज रात\n[Chorus]\nदिल में है प्यार",
    "ja": "[Verse]\nよぞら の ひかり\n[Chorus]\nいっしょに うたおう",
    "ko": "[Verse]\n우리 함께 노래해\n[Chorus]\n빛나는 이 밤에",
    "zh": "[Verse]\n天空 下 的 光\n[Chorus]\n我们 一起 唱 歌",
}


_RENDERS: dict[tuple[str, str, str], VocalTrack] = {}


def _render(plan: Plan, language: str, voice: str = "female") -> VocalTrack:
    """Each (plan, language, voice) is sung once per session; tests share it."""
    key = (plan.fingerprint, language, voice)
    if key not in _RENDERS:
        _RENDERS[key] = _sing(plan, language, voice)
    return _RENDERS[key]


def _sing(plan: Plan, language: str, voice: str) -> VocalTrack:
    return render_vocals(
        plan,
        lyrics=LYRICS[language],
        languages=[language],
        voice=voice,
        sample_rate=SR,
        n_samples=round(plan.duration_s * SR),
    )


def _level_db(audio: np.ndarray, start_s: float, end_s: float) -> float:
    part = audio[:, round(start_s * SR) : round(end_s * SR)]
    return 10 * np.log10(float(np.mean(part * part)) + 1e-20)


@pytest.mark.parametrize("language", sorted(LYRICS))
def test_every_word_is_sung_exactly_once_in_order(pop_plan: Plan, language: str) -> None:
    track = _render(pop_plan, language)
    written = LYRICS[language].split()
    written = [w for w in written if not w.startswith("[")]
    sung = [word for line in track.lines for word in line.words]
    assert [w.text for w in sung] == written
    assert [line.section.split()[0] for line in track.lines] == ["verse", "chorus"]
    assert track.audio.shape == (2, round(pop_plan.duration_s * SR))
    assert np.isfinite(track.audio).all() and track.audio.dtype == np.float32
    active = _level_db(track.audio, sung[0].start_s, sung[-1].end_s)
    for before, word in zip([None, *sung], sung, strict=False):
        assert 0.0 <= word.start_s < word.end_s <= pop_plan.duration_s
        if before is not None:
            assert word.start_s >= before.start_s
        # Each word is really there: its span is sounding, not silent.
        assert _level_db(track.audio, word.start_s, word.end_s) > active - 20, word


def _melody_reference(track: VocalTrack, plan: Plan, times: np.ndarray) -> np.ndarray:
    tick_s = 60.0 / (plan.bpm * TICKS_PER_BEAT)
    reference = np.full(times.size, np.nan)
    for item in track.melody:
        note = item.note
        inside = (times >= note.start_tick * tick_s) & (times < note.end_tick * tick_s)
        reference[inside] = note.pitch
    return reference


@pytest.mark.parametrize("voice", ["female", "male"])
def test_an_independent_pitch_tracker_hears_the_written_melody(pop_plan: Plan, voice: str) -> None:
    track = _render(pop_plan, "en", voice)
    # Only the sung span: pYIN is slow, and the rest is silence.
    begin = track.lines[0].start_s - 0.1
    end = track.lines[-1].end_s + 0.1
    sung = track.audio[:, round(begin * SR) : round(end * SR)].mean(axis=0)
    y = librosa.resample(sung, orig_sr=SR, target_sr=16_000)
    preset = VOICES[voice]
    f0, voiced, _ = librosa.pyin(
        y,
        fmin=librosa.midi_to_hz(preset.low - 3),
        fmax=librosa.midi_to_hz(preset.high + 3),
        sr=16_000,
        frame_length=1024,
        hop_length=160,
    )
    times = begin + np.arange(f0.size) * 0.01
    reference = _melody_reference(track, pop_plan, times)
    judged = voiced & np.isfinite(f0) & np.isfinite(reference)
    cents = 1200 * np.log2(f0[judged] / librosa.midi_to_hz(reference[judged]))
    assert judged.sum() > 100
    within = float(np.mean(np.abs(cents) <= 50))
    print(f"{voice}: {within:.1%} of {judged.sum()} voiced frames within 50 cents")
    assert within >= 0.90


def test_caption_line_starts_are_the_vocal_onsets(pop_plan: Plan) -> None:
    for language in ("en", "es", "ja"):
        track = _render(pop_plan, language)
        mono = track.audio.mean(axis=0)
        hop = round(0.002 * SR)
        frames = librosa.util.frame(np.pad(mono, (hop, hop)), frame_length=2 * hop, hop_length=hop)
        level = 10 * np.log10(np.mean(frames**2, axis=0) + 1e-20)
        peak = float(level.max())
        for line in track.lines:
            around = np.arange(level.size) * hop / SR
            window = (around > line.start_s - 0.3) & (around < line.start_s + 0.3)
            loud = np.flatnonzero(window & (level > peak - 30))
            onset = around[loud[0]]
            assert abs(onset - line.start_s) <= 0.05, (language, line.text, onset, line.start_s)


def test_the_same_seed_sings_bit_identically(pop_plan: Plan) -> None:
    first, second = _render(pop_plan, "en", "soft"), _sing(pop_plan, "en", "soft")
    assert np.array_equal(first.audio, second.audio)
    assert first.lines == second.lines


@pytest.mark.parametrize("voice", sorted(VOICES))
def test_each_voice_sings_in_its_range(pop_plan: Plan, voice: str) -> None:
    track = _render(pop_plan, "en" if voice != "choir" else "es", voice)
    pitches = [item.note.pitch for item in track.melody]
    assert VOICES[voice].low <= min(pitches) and max(pitches) <= VOICES[voice].high
    spread = np.abs(track.audio[0] - track.audio[1]).max()
    assert (spread > 0) == (len(VOICES[voice].layers) > 1)  # the choir is wide, solos centred


def test_the_vocals_are_the_same_whatever_espeak_said_before_in_this_process() -> None:
    # espeak-ng carries state between utterances, so a worker that sang other songs first
    # must still sing this one sample for sample as a fresh process does.
    script = (
        "import hashlib\n"
        "from tests.engine.vocals.conftest import plan_for\n"
        "from tests.engine.vocals.test_singing import _sing\n"
        "plan = plan_for(genres=['pop'], duration_s=12, bpm=120, key='C major')\n"
        "print(hashlib.sha256(_sing(plan, 'en', 'female').audio.tobytes()).hexdigest())\n"
    )
    fresh = printed_by_a_fresh_interpreter(script)
    for text in ("hold me closer", "morning light", "something else entirely"):
        espeak.speak(text, "en-us", 170)  # this process's espeak-ng has spoken before
    plan = plan_for(genres=["pop"], duration_s=12, bpm=120, key="C major")
    assert hashlib.sha256(_sing(plan, "en", "female").audio.tobytes()).hexdigest() == fresh


def test_a_singer_whose_espeak_process_dies_fails_as_a_machine_fault(
    pop_plan: Plan, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(espeak, "_FRESH_SPEAKER", "raise SystemExit('no libespeak-ng here')")
    with pytest.raises(espeak.SpeakerFailed, match="no libespeak-ng here"):
        _sing(pop_plan, "en", "female")
    monkeypatch.setattr(espeak.sys, "executable", "/nonexistent/python")
    with pytest.raises(espeak.SpeakerFailed, match="cannot start a process"):
        _sing(pop_plan, "en", "female")


@pytest.mark.parametrize("preset", sorted(VOICES))
def test_no_voice_speaks_through_an_espeak_variant_with_unseeded_breath(preset: str) -> None:
    import espeakng_loader

    variant = Path(espeakng_loader.get_data_path()) / "voices" / "!v" / VOICES[preset].variant[1:]
    settings = variant.read_text(encoding="utf-8").splitlines()
    assert not [line for line in settings if line.split()[:1] == ["breath"]], variant.name
