"""The audio measured per frame: bands, release, peaks, traces and overview."""

from __future__ import annotations

import numpy as np

from musewave.engine.video.analysis import FFT_SIZE, analyse, band_edges, overview, waveform

SR, FPS = 44_100, 30


def test_a_sine_lights_its_own_band() -> None:
    t = np.arange(SR) / SR
    audio = np.stack([0.5 * np.sin(2 * np.pi * 1000 * t)] * 2).astype(np.float32)
    features = analyse(audio, SR, FPS, 30, 32)
    edges = band_edges(32, SR) * SR / FFT_SIZE
    band = int(np.searchsorted(edges, 1000) - 1)
    assert int(np.argmax(features.bands[15])) in (band - 1, band, band + 1)
    assert features.bands[15, band] > 0.8
    assert features.bands[15, 0] < 0.2


def test_silence_reads_empty_and_sound_decays_after_it_stops() -> None:
    n = 2 * SR
    audio = np.zeros((2, n), np.float32)
    audio[:, : SR // 2] = np.random.default_rng(0).standard_normal(SR // 2) * 0.3
    features = analyse(audio, SR, FPS, 60, 16)
    assert features.bands.shape == features.peaks.shape == (60, 16)
    loud, just_after, later = features.level[10], features.level[17], features.level[50]
    assert loud > 0.5
    assert 0 < just_after < loud  # a release, not a cliff
    assert later < 0.05
    assert np.all(features.peaks >= features.bands - 1e-6)
    silent = analyse(np.zeros((2, SR), np.float32), SR, FPS, 30, 16)
    assert float(silent.bands.max()) == 0.0 and float(silent.bass.max()) == 0.0


def test_traces_and_overview() -> None:
    signal = np.linspace(-1, 1, 1000, dtype=np.float32)
    trace = waveform(signal, 0, 10, 100)  # half before the start: zeros
    assert trace.shape == (10,) and np.all(trace[:5] == 0) and np.all(trace[5:] != 0)
    peaks = overview(np.concatenate([np.zeros(500), np.full(500, 0.5)]).astype(np.float32), 4)
    assert np.allclose(peaks, [0, 0, 0.5, 0.5])
    assert np.all(overview(np.zeros(0, np.float32), 4) == 0)
