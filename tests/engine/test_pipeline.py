"""End-to-end renders, decoded back from the files and measured."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import librosa
import numpy as np
import pytest

from musewave.engine import STAGES, Cancelled, GenerationRequest, ProgressEvent, generate
from musewave.engine.loudness import integrated_lufs, true_peak_dbtp
from musewave.engine.pipeline import STAGING_PREFIX
from musewave.engine.progress import OPTIONAL_STAGES
from musewave.engine.validate import decode_audio
from tests.conftest import RenderFn

SR = 44_100
DRUM_DRIVEN = ["house", "techno", "dnb", "trap", "rock", "synthwave", "hiphop"]
FEATURE_GENRES = ["ambient", "dnb", "lofi", "trap", "piano", "synthwave", "house"]


def file_named(result, name: str) -> Path:  # type: ignore[no-untyped-def]
    return next(f.path for f in result.files if f.name == name)


def mono(audio: np.ndarray) -> np.ndarray:
    return audio.mean(axis=0)


@pytest.mark.parametrize("genre", DRUM_DRIVEN)
def test_detected_tempo_matches_the_plan(render: RenderFn, genre: str) -> None:
    result = render(genres=[genre], duration_s=30, stems=False, midi=False)
    audio, sr = decode_audio(file_named(result, "mix.wav"))
    tempo, _ = librosa.beat.beat_track(y=mono(audio), sr=sr, start_bpm=120)
    detected = float(np.atleast_1d(tempo)[0])
    planned = result.plan.bpm
    ratios = [detected / (planned * m) for m in (0.5, 1.0, 2.0, 2.0 / 3.0, 1.5)]
    assert min(abs(r - 1) for r in ratios) <= 0.02, (detected, planned)


@pytest.mark.parametrize("genre", FEATURE_GENRES)
def test_master_meets_loudness_and_peak_targets(render: RenderFn, genre: str) -> None:
    result = render(genres=[genre], duration_s=30, stems=False, midi=False)
    audio, sr = decode_audio(file_named(result, "mix.wav"))
    assert integrated_lufs(audio, sr) == pytest.approx(-14.0, abs=1.0)
    assert true_peak_dbtp(audio, sr) <= -1.0
    assert int(np.sum(np.abs(audio) >= 1.0)) == 0
    assert abs(float(audio.mean())) < 1e-3  # no DC


def _features(render: RenderFn, genre: str) -> dict[str, float]:
    result = render(genres=[genre], duration_s=30, stems=False, midi=False)
    audio, sr = decode_audio(file_named(result, "mix.wav"))
    y = mono(audio)
    spectrum = np.abs(np.fft.rfft(y)) ** 2
    freqs = np.fft.rfftfreq(len(y), 1 / sr)
    onsets = librosa.onset.onset_detect(y=y, sr=sr, units="time")
    return {
        "centroid_hz": float(np.mean(librosa.feature.spectral_centroid(y=y, sr=sr))),
        "onsets_per_s": len(onsets) / (len(y) / sr),
        "low_share": float(spectrum[freqs < 120].sum() / spectrum.sum()),
    }


def test_genres_differ_measurably(render: RenderFn) -> None:
    f = {g: _features(render, g) for g in FEATURE_GENRES}
    assert f["dnb"]["onsets_per_s"] > 1.5 * f["ambient"]["onsets_per_s"]
    assert f["house"]["onsets_per_s"] > 1.5 * f["ambient"]["onsets_per_s"]
    assert f["trap"]["low_share"] > 2 * f["piano"]["low_share"]
    assert f["synthwave"]["centroid_hz"] > 1.2 * f["lofi"]["centroid_hz"]


def test_stems_sum_to_the_premaster_mix(render: RenderFn) -> None:
    """Decoded stem WAVs add up to the pre-master the mastering stage consumed (−60 dB)."""
    from musewave.engine.compose import compose_score
    from musewave.engine.mix import mix
    from musewave.engine.profiles import MIX_PROFILES
    from musewave.engine.render import render_stems

    result = render(genres=["house"], duration_s=30)
    plan = result.plan
    score = compose_score(plan)
    n = round(plan.duration_s * SR)
    stems = render_stems(score, SR, n, plan.seed)
    _, premaster = mix(stems, score, MIX_PROFILES["house"], sample_rate=SR, n_samples=n)
    decoded = [decode_audio(f.path)[0] for f in result.files if f.kind == "stem"]
    assert len(decoded) == len(score.stems()) >= 4
    residual = np.sum(decoded, axis=0) - premaster
    residual_db = 20 * np.log10(np.sqrt(np.mean(residual**2)) / np.sqrt(np.mean(premaster**2)))
    assert residual_db < -60


def test_every_format_decodes_back(render: RenderFn) -> None:
    formats = ["flac", "mp3", "ogg", "opus", "wav"]
    result = render(genres=["pop"], duration_s=30, formats=formats, stems=False, midi=False)
    for fmt in formats:
        audio, sr = decode_audio(file_named(result, f"mix.{fmt}"))
        assert audio.shape[0] == 2
        assert sr == (48_000 if fmt == "opus" else SR)
        assert abs(audio.shape[1] / sr - 30.0) <= 0.05, fmt
        assert np.isfinite(audio).all()


def test_outputs_are_listed_with_checksums(render: RenderFn) -> None:
    result = render(genres=["house"], duration_s=30)
    names = {f.name for f in result.files}
    assert {"mix.mp3", "mix.wav", "score.mid", "plan.json"} <= names
    assert {f"stems/{s}.wav" for s in ("drums", "bass", "chords", "pads")} <= names
    for f in result.files:
        assert f.path.is_file() and f.path.stat().st_size == f.size_bytes
    out_dir = file_named(result, "plan.json").parent
    assert not [p for p in out_dir.iterdir() if p.name.startswith(STAGING_PREFIX)]
    plan = json.loads(file_named(result, "plan.json").read_text())
    assert plan["schema_version"] == 1 and plan["seed"] == 1


def _render_in_subprocess(out: Path, seed: int) -> None:
    code = (
        "import sys; from pathlib import Path;"
        "from musewave.engine import GenerationRequest, generate;"
        f"generate(GenerationRequest(prompt='test track', genres=['lofi'], duration_s=30,"
        f" seed={seed}, formats=['wav'], stems=True, midi=True), Path(sys.argv[1]))"
    )
    subprocess.run([sys.executable, "-c", code, str(out)], check=True)


def test_same_seed_is_bit_identical_across_processes(render: RenderFn, tmp_path: Path) -> None:
    here = render(genres=["lofi"], duration_s=30, formats=["wav"])
    _render_in_subprocess(tmp_path / "a", 1)
    _render_in_subprocess(tmp_path / "b", 2)
    for name in ("mix.wav", "plan.json", "score.mid", "stems/drums.wav"):
        assert (tmp_path / "a" / name).read_bytes() == file_named(here, name).read_bytes(), name
    assert (tmp_path / "b" / "mix.wav").read_bytes() != (tmp_path / "a" / "mix.wav").read_bytes()


def test_progress_runs_through_the_stages_in_order(tmp_path: Path) -> None:
    events: list[ProgressEvent] = []
    request = GenerationRequest(prompt="x", genres=["techno"], duration_s=30, seed=3)
    generate(request, tmp_path, on_progress=events.append)
    stages = list(dict.fromkeys(e.stage for e in events))
    assert stages == [stage for stage in STAGES if stage not in OPTIONAL_STAGES]
    progress = [e.progress for e in events]
    assert progress == sorted(progress)
    assert progress[-1] == 100


@pytest.mark.parametrize("cancel_after", [1, 4, 9])
def test_cancel_stops_and_leaves_nothing(tmp_path: Path, cancel_after: int) -> None:
    calls = 0

    def should_cancel() -> bool:
        nonlocal calls
        calls += 1
        return calls > cancel_after

    request = GenerationRequest(prompt="x", genres=["house"], duration_s=30, seed=3)
    with pytest.raises(Cancelled):
        generate(request, tmp_path / "out", should_cancel=should_cancel)
    assert list((tmp_path / "out").iterdir()) == []


def test_unseeded_requests_get_a_recorded_seed(tmp_path: Path) -> None:
    request = GenerationRequest(prompt="x", genres=["ambient"], duration_s=30, formats=["wav"])
    result = generate(request, tmp_path)
    assert isinstance(result.plan.seed, int)
    assert json.loads((tmp_path / "plan.json").read_text())["seed"] == result.plan.seed


def test_loop_wraps_without_a_click_or_fade(render: RenderFn) -> None:
    result = render(genres=["house"], duration_s=30, loop=True, stems=False, midi=False)
    audio, sr = decode_audio(file_named(result, "mix.wav"))
    wrapped = np.concatenate([audio[:, -sr:], audio[:, :sr]], axis=1)
    jumps = np.abs(np.diff(wrapped, axis=1)).max(axis=0)
    assert jumps[sr - 1] <= 4 * np.percentile(jumps, 99)  # the seam is no bigger than music
    rms = lambda x: float(np.sqrt(np.mean(x**2)))  # noqa: E731
    assert rms(audio[:, -sr // 2 :]) > 0.3 * rms(audio)  # no fade-out at the loop end
    assert rms(audio[:, : sr // 2]) > 0.3 * rms(audio)  # no fade-in either


def test_a_render_writes_only_the_outputs_asked_for(tmp_path: Path) -> None:
    request = GenerationRequest(
        prompt="x", genres=["house"], duration_s=30, seed=2, formats=["mp3"], stems=["bass"]
    )
    names = {f.name for f in generate(request, tmp_path).files}
    assert names == {"mix.mp3", "stems/bass.wav", "plan.json"}


def test_a_render_at_another_sample_rate_is_written_and_checked_at_that_rate(
    tmp_path: Path,
) -> None:
    request = GenerationRequest(
        prompt="x", genres=["house"], duration_s=30, seed=2, formats=["wav", "flac"]
    )
    result = generate(request, tmp_path, sample_rate=32_000)
    for name in ("mix.wav", "mix.flac"):
        audio, sr = decode_audio(tmp_path / name)
        assert sr == 32_000
        assert audio.shape[-1] == round(result.plan.duration_s * 32_000)


@pytest.mark.parametrize(
    ("prompt", "shouts"), [("dark trap", True), ("dark trap, no vocals", False)]
)
def test_a_prompt_asking_for_no_voice_silences_the_kits_ad_libs(
    tmp_path: Path, prompt: str, shouts: bool
) -> None:
    import pretty_midi

    from musewave.engine.genres import VOX_KEYS

    request = GenerationRequest(
        prompt=prompt, genres=["trap"], duration_s=30, seed=4, formats=["wav"], midi=True
    )
    result = generate(request, tmp_path)
    midi = pretty_midi.PrettyMIDI(str(file_named(result, "score.mid")))
    drum_pitches = {n.pitch for i in midi.instruments if i.is_drum for n in i.notes}
    assert drum_pitches, "a trap track has drums"
    assert bool(drum_pitches & set(VOX_KEYS)) is shouts
