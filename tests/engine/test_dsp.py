"""The render path's filters give scipy.signal's samples without importing scipy.signal."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.fft
from scipy import ndimage, signal

from musewave.engine import dsp

FS = 44_100


@pytest.mark.parametrize("order", [1, 2, 3, 4])
@pytest.mark.parametrize("kind", ["lowpass", "highpass"])
@pytest.mark.parametrize("fs", [22_050, 44_100, 48_000])
def test_butter_matches_scipy_bit_for_bit(order: int, kind: str, fs: int) -> None:
    for cutoff in [10.0, 20.0, 38.5, 120.0, 997.0, 4000.0, 0.3 * fs, 0.45 * fs]:
        expected = signal.butter(order, cutoff, kind, fs=fs, output="sos")
        assert np.array_equal(dsp.butter(order, cutoff, kind, fs), expected)  # type: ignore[arg-type]


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_band_pass_matches_scipy(order: int) -> None:
    for low, high in [(40.0, 90.0), (500.0, 3800.0), (900.0, 4500.0), (5000.0, 20_000.0)]:
        expected = signal.butter(order, (low, high), "bandpass", fs=FS, output="sos")
        designed = dsp.butter(order, (low, high), "bandpass", FS)
        if order % 2 == 0:
            assert np.array_equal(designed, expected)
        else:
            np.testing.assert_allclose(designed, expected, rtol=1e-14, atol=1e-18)


def test_butter_rejects_edges_outside_the_band() -> None:
    with pytest.raises(ValueError, match="edges"):
        dsp.butter(2, FS / 2, "lowpass", FS)
    with pytest.raises(ValueError, match="edges"):
        dsp.butter(2, (0.0, 100.0), "bandpass", FS)
    with pytest.raises(ValueError, match="design"):
        dsp.butter(0, 100.0, "lowpass", FS)
    with pytest.raises(ValueError, match="design"):
        dsp.butter(2, 100.0, "bandpass", FS)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sosfilt_matches_scipy(dtype: type[np.floating]) -> None:
    rng = np.random.default_rng(5)
    sos = signal.butter(4, 300.0, "highpass", fs=FS, output="sos").astype(dtype)
    x = rng.standard_normal((2, 4000)).astype(dtype)
    state = rng.standard_normal((2, 2, 2)).astype(dtype)
    assert np.array_equal(dsp.sosfilt(sos, x), signal.sosfilt(sos, x))
    y, final = dsp.sosfilt(sos, x, state)
    y_ref, final_ref = signal.sosfilt(sos, x, axis=-1, zi=state)
    assert y.dtype == y_ref.dtype and final.dtype == final_ref.dtype
    assert np.array_equal(y, y_ref) and np.array_equal(final, final_ref)
    y1, final1 = dsp.sosfilt(sos, x[0], state[:, 0])
    assert np.array_equal(y1, y_ref[0]) and np.array_equal(final1, final_ref[:, 0])
    with pytest.raises(ValueError, match="zi"):
        dsp.sosfilt(sos, x, state[:, :1, :1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sosfilt_rows_filters_in_place_like_scipy(dtype: type[np.floating]) -> None:
    rng = np.random.default_rng(6)
    sos = signal.butter(2, 5000.0, "lowpass", fs=FS, output="sos")
    x = rng.standard_normal((2, 3000)).astype(dtype)
    rows, state = x.copy(), np.zeros((2, 1, 2), dtype=dtype)
    for start in range(0, 3000, 1000):  # block by block, state carried
        block = np.ascontiguousarray(rows[:, start : start + 1000])
        dsp.sosfilt_rows(sos, block, state)
        rows[:, start : start + 1000] = block
    y_ref, final_ref = signal.sosfilt(
        sos.astype(dtype), x, axis=-1, zi=np.zeros((1, 2, 2), dtype=dtype)
    )
    assert np.array_equal(rows, y_ref)
    assert np.array_equal(state, np.moveaxis(final_ref, 0, 1))
    with pytest.raises(ValueError, match="contiguous"):
        dsp.sosfilt_rows(sos, x[:, ::2], state)


def test_lfilter_matches_scipy() -> None:
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 2000)).astype(np.float32)
    b, a = [0.3], [1.0, -0.7]
    assert np.array_equal(dsp.lfilter(b, a, x), signal.lfilter(b, a, x))
    y, final = dsp.lfilter(b, a, x, np.zeros((2, 1), np.float32))
    y_ref, final_ref = signal.lfilter(b, a, x, zi=np.zeros((2, 1), np.float32))
    assert np.array_equal(y, y_ref) and np.array_equal(final, final_ref)
    fir = dsp.lfilter([0.5, 0.5], [1.0], x)  # not recursive: scipy's own path
    assert np.array_equal(fir, signal.lfilter([0.5, 0.5], [1.0], x))


@pytest.mark.parametrize("n", [4096, 5000, 6144])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_ffts_match_scipy(n: int, dtype: type[np.floating]) -> None:
    x = np.random.default_rng(8).standard_normal((2, 5000)).astype(dtype)
    spectrum = dsp.rfft(x, n)
    assert np.array_equal(spectrum, scipy.fft.rfft(x, n))
    assert np.array_equal(dsp.rfft(x[:, ::2], n), scipy.fft.rfft(x[:, ::2], n))
    back = dsp.irfft(spectrum, n, workers=-1)
    assert back.dtype == dtype
    assert np.array_equal(back, scipy.fft.irfft(spectrum, n, axis=-1, workers=-1))
    assert dsp.next_fast_len(n + 1) == scipy.fft.next_fast_len(n + 1, real=True)


def test_ffts_write_into_a_given_buffer() -> None:
    x = np.random.default_rng(8).standard_normal((3, 4096)).astype(np.float32)
    spectra = np.empty((3, 2049), np.complex64)
    assert dsp.rfft(x, 4096, out=spectra) is not None
    assert np.array_equal(spectra, dsp.rfft(x, 4096))
    back = np.empty((3, 4096), np.float32)
    dsp.irfft(spectra, 4096, workers=-1, out=back)
    assert np.array_equal(back, dsp.irfft(spectra, 4096))


@pytest.mark.parametrize("mode", ["nearest", "wrap", "constant", "reflect"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_running_filters_match_scipy(mode: str, dtype: type[np.floating]) -> None:
    x = np.random.default_rng(9).standard_normal(3000).astype(dtype)
    for size in (1, 4, 17):
        uniform = dsp.uniform_filter1d(x, size, mode=mode)
        assert uniform.dtype == dtype
        assert np.array_equal(uniform, ndimage.uniform_filter1d(x, size, mode=mode))
        maximum = dsp.maximum_filter1d(x, size, mode=mode)
        assert np.array_equal(maximum, ndimage.maximum_filter1d(x, size, mode=mode))
    with pytest.raises(RuntimeError, match="size"):
        dsp.uniform_filter1d(x, 0)


def test_render_path_never_imports_scipy_signal(tmp_path: Path) -> None:
    # A fresh interpreter (this one imported scipy.signal above) renders a trap track, whose
    # kit plays samples, synthesized hits and spoken shots, to MP3 and WAV with its stems.
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "import musewave.cli\n"
        "from musewave.engine.pipeline import generate\n"
        "from musewave.engine.request import GenerationRequest\n"
        "request = GenerationRequest.model_validate({'prompt': 'dark trap', 'genres': ['trap'],"
        " 'seed': 3, 'formats': ['mp3', 'wav'], 'stems': True, 'midi': True},"
        " context={'duration_range_s': (5.0, 600.0)}).model_copy(update={'duration_s': 8.0})\n"
        "generate(request, Path(sys.argv[1]))\n"
        "heavy = {'scipy.signal', 'scipy.fft', 'scipy.ndimage', 'scipy.special'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["[]"]
    assert dsp._SOSFILT is not None  # the compiled kernel, not the public fallback


def test_without_the_kernels_scipy_public_functions_are_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("_SOSFILT", "_LINEAR_FILTER", "_POCKETFFT", "_ND_IMAGE"):
        monkeypatch.setattr(dsp, name, None)
    x = np.random.default_rng(10).standard_normal((2, 1000)).astype(np.float32)
    sos = dsp.butter(2, 200.0, "highpass", FS)
    assert np.array_equal(dsp.sosfilt(sos, x), signal.sosfilt(sos, x))
    rows, state = x.copy(), np.zeros((2, 1, 2), np.float32)
    dsp.sosfilt_rows(sos, rows, state)
    assert np.array_equal(rows, signal.sosfilt(sos.astype(np.float32), x))
    assert np.array_equal(dsp.lfilter([0.3], [1.0, -0.7], x), signal.lfilter([0.3], [1.0, -0.7], x))
    assert np.array_equal(dsp.rfft(x, 1024), scipy.fft.rfft(x, 1024))
    assert np.array_equal(
        dsp.irfft(dsp.rfft(x, 1024), 1024), scipy.fft.irfft(scipy.fft.rfft(x, 1024), 1024)
    )
    assert dsp.next_fast_len(1001) == scipy.fft.next_fast_len(1001, real=True)
    assert np.array_equal(dsp.uniform_filter1d(x, 5), ndimage.uniform_filter1d(x, 5))
    assert np.array_equal(dsp.maximum_filter1d(x, 5), ndimage.maximum_filter1d(x, 5))


def test_a_missing_compiled_module_is_an_import_error() -> None:
    with pytest.raises(ImportError, match="no compiled module"):
        dsp._extension("scipy.signal._no_such_kernel")


def test_sosfilt_block_filters_views_in_place_like_scipy() -> None:
    rng = np.random.default_rng(11)
    sos = dsp.butter(4, 40.0, "highpass", FS).astype(np.float32)
    x = rng.standard_normal((2, 5000)).astype(np.float32)
    expected, _ = signal.sosfilt(sos, x, axis=-1, zi=np.zeros((2, 2, 2), np.float32))
    for buffer in (x.copy(), np.asfortranarray(x)):  # rows contiguous, then strided
        state = np.zeros((2, 2, 2), np.float32)
        for start in range(0, 5000, 1024):
            dsp.sosfilt_block(sos, buffer[:, start : start + 1024], state)
        np.testing.assert_array_equal(buffer, expected)


def test_scipy_imported_after_the_kernels_reuses_them_and_still_filters() -> None:
    # A fresh interpreter: dsp loads the kernels first, scipy.signal is imported afterwards
    # (the service and the singer do) and must use the very same compiled modules.
    script = (
        "import sys\n"
        "import numpy as np\n"
        "from musewave.engine import dsp\n"
        "import scipy.signal, scipy.fft, scipy.ndimage\n"
        "from scipy.signal._sosfilt import _sosfilt\n"
        "x = np.random.default_rng(1).standard_normal(4096)\n"
        "sos = scipy.signal.butter(4, 300.0, 'highpass', fs=44100, output='sos')\n"
        "same = np.array_equal(scipy.signal.sosfilt(sos, x), dsp.sosfilt(sos, x))\n"
        "back = scipy.fft.irfft(scipy.fft.rfft(x))\n"
        "print(dsp._SOSFILT is _sosfilt, same, np.allclose(back, x))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["True", "True", "True"]
