"""Drum kits: every kit plays every GM key; hits have the expected spectra; noise is seeded."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from musewave.engine import genres
from musewave.engine.render import DRUM_KITS, render_part, soundfont
from musewave.engine.render.drums import Sampled
from musewave.engine.render.kits import KITS, SAMPLED_KEYS, VOX_FIRST_KEY, VOX_WORDS
from musewave.engine.score import TICKS_PER_BEAT, Note, Part
from musewave.engine.soundfont_choice import ENV_VAR
from tests.engine.fresh_process import printed_by_a_fresh_interpreter

from .conftest import BPM, SAMPLES_PER_BEAT, SR, drum_hit, energy_share_below, spectral_centroid_hz

GM_KEYS = (
    35,
    36,
    37,
    38,
    39,
    40,
    41,
    42,
    43,
    44,
    45,
    46,
    47,
    48,
    49,
    50,
    51,
    54,
    56,
    57,
    59,
    69,
    70,
    75,
)


def test_kit_ids_are_the_documented_set() -> None:
    synthesized = {"kit_electronic", "kit_808", "kit_acoustic", "kit_lofi", "kit_cinematic"}
    sampled = {"kit_boombap", "kit_funk", "kit_trap", "kit_reggae", "kit_afro", "kit_jazz"}
    sampled |= {"kit_brush"}
    assert synthesized | sampled == DRUM_KITS


@pytest.mark.parametrize("kit", sorted(DRUM_KITS))
def test_every_kit_plays_every_key_including_unmapped_ones(kit: str) -> None:
    for key in (*GM_KEYS, 60, 81):
        audio = render_part(drum_hit(kit, key), BPM, SR, SR // 2, seed=1)
        assert audio.dtype == np.float32 and audio.shape == (2, SR // 2)
        assert np.isfinite(audio).all(), key
        assert 0.1 < np.abs(audio).max() <= 0.6, key


@pytest.mark.parametrize("kit", sorted(DRUM_KITS))
def test_kick_energy_sits_below_150_hz(kit: str) -> None:
    kick = render_part(drum_hit(kit, 36), BPM, SR, SR, seed=1).mean(axis=0)
    assert energy_share_below(kick, 150.0) > 0.8


@pytest.mark.parametrize("kit", sorted(DRUM_KITS))
def test_hats_are_bright(kit: str) -> None:
    # Recorded hats (sampled kits) centre lower than the 808 circuit's square waves.
    floor_hz = 3000.0 if isinstance(KITS[kit].hits["hat_open"], Sampled) else 5000.0
    for key in (42, 46):
        hat = render_part(drum_hit(kit, key), BPM, SR, SR // 2, seed=1).mean(axis=0)
        assert spectral_centroid_hz(hat) > floor_hz, key


def test_closed_hat_is_short_and_open_hat_rings() -> None:
    def ring_s(key: int) -> float:
        hit = np.abs(render_part(drum_hit("kit_electronic", key), BPM, SR, SR, seed=1)[0])
        return float(np.flatnonzero(hit > 0.01 * hit.max())[-1] / SR)

    assert ring_s(42) < 0.08
    assert ring_s(46) > 0.25


def test_open_hat_is_choked_by_the_next_closed_hat() -> None:
    notes = [Note(46, 0, TICKS_PER_BEAT // 4, 100), Note(42, TICKS_PER_BEAT // 2, 60, 100)]
    both = render_part(Part("d", "drums", "kit_808", 0, True, notes), BPM, SR, SR, seed=1)[0]
    closed_only = render_part(
        Part("d", "drums", "kit_808", 0, True, notes[1:]), BPM, SR, SR, seed=1
    )[0]
    open_only = render_part(Part("d", "drums", "kit_808", 0, True, notes[:1]), BPM, SR, SR, seed=1)[
        0
    ]
    cut = SAMPLES_PER_BEAT // 2
    assert np.abs(open_only[cut : cut + 2000]).max() > 0.002  # left alone, it would ring on
    # After the closed hat starts, only the closed hat remains.
    np.testing.assert_allclose(both[cut:], closed_only[cut:], atol=1e-6)
    np.testing.assert_allclose(both[: cut - 200], open_only[: cut - 200], atol=1e-6)


def test_same_seed_gives_identical_drums_and_another_seed_changes_the_noise() -> None:
    part = drum_hit("kit_acoustic", 38)
    first = render_part(part, BPM, SR, SR // 2, seed=5)
    again = render_part(part, BPM, SR, SR // 2, seed=5)
    other = render_part(part, BPM, SR, SR // 2, seed=6)
    assert np.array_equal(first, again)
    assert not np.allclose(first, other, atol=1e-3)


def test_repeated_snares_are_not_identical_copies() -> None:
    notes = [Note(38, beat * TICKS_PER_BEAT, 60, 100) for beat in range(2)]
    audio = render_part(Part("d", "drums", "kit_electronic", 0, True, notes), BPM, SR, SR, seed=1)
    first = audio[0, :8000]
    second = audio[0, SAMPLES_PER_BEAT : SAMPLES_PER_BEAT + 8000]
    assert not np.allclose(first, second, atol=1e-3)
    assert np.abs(second).max() == pytest.approx(np.abs(first).max(), rel=0.05)


def test_unknown_kit_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown drum kit"):
        render_part(drum_hit("kit_spoons", 36), BPM, SR, SR, seed=1)


SAMPLED_KITS = sorted(k for k in DRUM_KITS if isinstance(KITS[k].hits["snare"], Sampled))


@pytest.mark.parametrize("kit", SAMPLED_KITS)
def test_sampled_kits_play_recorded_hits_and_synthesize_without_a_font(
    kit: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    recipe = KITS[kit].hits["snare"]
    assert isinstance(recipe, Sampled)
    try:
        sampled = render_part(drum_hit(kit, 38), BPM, SR, SR // 2, seed=1)
        monkeypatch.setenv(ENV_VAR, "none")
        soundfont.reset_default_soundfont()
        fallback = render_part(drum_hit(kit, 38), BPM, SR, SR // 2, seed=1)
        # The fallback is the synthesized recipe, as loud as the sample would be.
        assert np.isfinite(fallback).all() and 0.1 < np.abs(fallback).max() <= 0.6
        assert not np.allclose(sampled, fallback, atol=1e-3)
        assert np.array_equal(fallback, render_part(drum_hit(kit, 38), BPM, SR, SR // 2, seed=1))
    finally:
        monkeypatch.delenv(ENV_VAR, raising=False)
        soundfont.reset_default_soundfont()


def test_a_sampled_hit_is_the_fonts_percussion_sample_cut_where_it_ends() -> None:
    font = soundfont.default_soundfont()
    assert font is not None and font.has_program(24, 128)  # GM electronic kit
    recipe = Sampled(24, SAMPLED_KEYS["snare"], KITS["kit_electronic"].hits["snare"])
    hit = recipe.render(0, 0.8, SR, np.random.default_rng(0))
    assert 0.05 * SR < hit.size < recipe.max_s * SR  # trimmed to the recorded sound
    assert abs(hit[-1]) > 1e-4 and np.abs(hit).max() > 0.01
    # Toms map to their own keys in turn; the last key repeats past the end.
    toms = KITS["kit_afro"].hits["tom"]
    assert isinstance(toms, Sampled) and toms.keys[-1] == 62
    high = toms.render(9, 0.8, SR, np.random.default_rng(0))
    assert np.array_equal(high, toms.render(5, 0.8, SR, np.random.default_rng(0)))


def test_vocal_one_shot_keys_name_the_kits_words() -> None:
    words = dict(zip(range(VOX_FIRST_KEY, VOX_FIRST_KEY + len(VOX_WORDS)), VOX_WORDS, strict=True))
    # The genre tables' names for the keys say the word the kits speak on them.
    assert words[genres.VOX_YEAH] == ("yeah", "en-us")
    assert words[genres.VOX_CHECK_IT] == ("check it", "en-us")
    assert words[genres.VOX_DURO] == ("duro", "es-419")
    for genre in ("trap", "hiphop", "reggaeton"):
        vox = [key for key in genres.GENRES[genre].grooves["full"] if key >= VOX_FIRST_KEY]
        assert vox and all(key in words for key in vox), genre


@pytest.mark.parametrize("kit", ["kit_trap", "kit_funk"])
def test_a_vocal_one_shot_is_a_short_band_limited_voice_in_every_kit(kit: str) -> None:
    hit = render_part(drum_hit(kit, genres.VOX_HEY), BPM, SR, SR, seed=1)
    assert hit.shape == (2, SR) and np.isfinite(hit).all()
    assert 0.1 < np.abs(hit).max() <= 0.6
    mono = hit.mean(axis=0)
    loud = np.flatnonzero(np.abs(mono) > 0.01 * np.abs(mono).max())
    assert 0.05 * SR < loud[-1] - loud[0] <= 0.6 * SR  # a word, cut short
    assert energy_share_below(mono, 120.0) < 0.05  # no rumble under the kick
    assert 300.0 < spectral_centroid_hz(mono) < 5000.0  # a voice, not a hat
    assert np.array_equal(hit, render_part(drum_hit(kit, genres.VOX_HEY), BPM, SR, SR, seed=1))
    other = render_part(drum_hit(kit, genres.VOX_DALE), BPM, SR, SR, seed=1)
    assert not np.allclose(hit, other, atol=1e-3)  # each key its own word


def test_a_vocal_one_shot_is_the_same_whatever_espeak_said_before_in_this_process() -> None:
    # espeak-ng carries state between utterances: a worker that sang or spoke other words
    # first must still render the same ad-lib as a fresh process does.
    from musewave.engine.vocals import espeak

    script = (
        "import sys, hashlib\n"
        "from musewave.engine import genres\n"
        "from musewave.engine.render import render_part\n"
        "from tests.engine.render.conftest import BPM, SR, drum_hit\n"
        "hit = render_part(drum_hit('kit_trap', genres.VOX_YEAH), BPM, SR, SR, seed=1)\n"
        "print(hashlib.sha256(hit.tobytes()).hexdigest())\n"
    )
    fresh = printed_by_a_fresh_interpreter(script)
    for text in ("hola, que tal", "yeah", "something else entirely"):
        espeak.speak(text, "en-us" if text != "hola, que tal" else "es-419", 180)
    espeak.speak_fresh.cache_clear()
    here = render_part(drum_hit("kit_trap", genres.VOX_YEAH), BPM, SR, SR, seed=1)
    assert hashlib.sha256(here.tobytes()).hexdigest() == fresh


def test_a_kit_that_cannot_speak_its_ad_libs_fails_with_one_engine_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from musewave.engine.errors import EngineError
    from musewave.engine.vocals import espeak

    monkeypatch.setattr(espeak, "_FRESH_SPEAKER", "raise SystemExit('no libespeak-ng here')")
    espeak.speak_fresh.cache_clear()
    with pytest.raises(EngineError, match=r"ad-libs: .*no libespeak-ng here"):
        render_part(drum_hit("kit_trap", genres.VOX_DALE), BPM, SR, SR, seed=2)
    monkeypatch.setattr(espeak.sys, "executable", "/nonexistent/python")
    espeak.speak_fresh.cache_clear()
    with pytest.raises(EngineError, match="cannot start a process"):
        render_part(drum_hit("kit_trap", genres.VOX_DALE), BPM, SR, SR, seed=2)
    espeak.speak_fresh.cache_clear()
