"""The filters, FFTs and Butterworth designs the render path needs, without importing
``scipy.signal``, ``scipy.fft`` or ``scipy.ndimage``.

``import scipy.signal`` costs about 0.7 s of CPU and 70 MB (it loads scipy.stats, optimize,
interpolate, spatial and parses docstrings), and ``scipy.fft``/``scipy.ndimage`` another 0.25 s
and 30 MB (scipy's array-API layer pulls in numpy.f2py and scipy.special): together more than
the rest of ``musewave generate``'s start-up, for a handful of functions. Those run scipy's own
compiled kernels here (``_sosfilt``, ``_sigtools._linear_filter``, ``pypocketfft``,
``_nd_image``: the code the public functions call), loaded as extension modules without their
packages' ``__init__``, so they give the same samples. Should a scipy release move a kernel,
the public scipy function is used instead (slower to import, same results). Butterworth
designs are computed here the way scipy computes them: the same coefficients, bit for bit,
except for odd-order band-passes (within 1e-15).

Arrays are numpy; time runs along the last axis.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import math
import os
import sys
from pathlib import Path
from typing import Any, Literal, overload

import numpy as np
import numpy.typing as npt

Sos = npt.NDArray[np.float64]
_Kind = Literal["lowpass", "highpass", "bandpass"]


def _extension(qualified: str) -> Any:
    """The compiled module ``qualified`` (e.g. ``scipy.signal._sosfilt``), loaded from its
    file without importing the package around it. Registered under its own name, so a later
    ``import scipy.signal`` reuses it (a Cython module cannot be initialised twice)."""
    module = sys.modules.get(qualified)
    if module is not None:
        return module
    import scipy

    package, _, leaf = qualified.rpartition(".")
    folder = Path(scipy.__file__).parent.joinpath(*package.split(".")[1:])
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = folder / f"{leaf}{suffix}"
        if path.is_file():
            break
    else:
        raise ImportError(f"no compiled module {qualified} in {folder}")
    spec = importlib.util.spec_from_file_location(qualified, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    # Registered before it runs, as the import system does, so that a module importing its
    # own name while it initialises finds this copy; removed again if it fails.
    sys.modules[qualified] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[qualified]
        raise
    parent = sys.modules.get(package)
    if parent is not None:  # the package is already imported: make it an attribute, too
        setattr(parent, leaf, module)
    return module


def _kernel(qualified: str, name: str) -> Any:
    """``qualified.name`` from the compiled module, or None (then scipy's public API is used)."""
    try:
        return getattr(_extension(qualified), name)
    except (ImportError, AttributeError, OSError):
        return None


_SOSFILT = _kernel("scipy.signal._sosfilt", "_sosfilt")
_LINEAR_FILTER = _kernel("scipy.signal._sigtools", "_linear_filter")
_POCKETFFT = _kernel("scipy.fft._pocketfft.pypocketfft", "r2c") and _extension(
    "scipy.fft._pocketfft.pypocketfft"
)
_ND_IMAGE = _kernel("scipy.ndimage._nd_image", "uniform_filter1d") and _extension(
    "scipy.ndimage._nd_image"
)
_CPU_COUNT = os.cpu_count() or 1
# scipy.ndimage's boundary modes as its kernels number them.
_MODES = {"nearest": 0, "wrap": 1, "reflect": 2, "mirror": 3, "constant": 4}


@overload
def sosfilt(sos: npt.ArrayLike, x: npt.ArrayLike, zi: None = None) -> npt.NDArray[Any]: ...


@overload
def sosfilt(
    sos: npt.ArrayLike, x: npt.ArrayLike, zi: npt.ArrayLike
) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]: ...


def sosfilt(
    sos: npt.ArrayLike, x: npt.ArrayLike, zi: npt.ArrayLike | None = None
) -> npt.NDArray[Any] | tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    """``scipy.signal.sosfilt(sos, x, axis=-1, zi=zi)``: the same samples, in a new array.

    ``sos`` (n_sections, 6); ``x`` (..., n); ``zi`` (n_sections, ..., 2) or None. The result
    has the dtype numpy promotes ``sos``, ``x`` and ``zi`` to (float32 in, float32 out);
    with ``zi``, returns ``(y, zf)``.
    """
    sos_array = np.asarray(sos)
    data = np.asarray(x)
    inputs = [sos_array, data] if zi is None else [sos_array, data, np.asarray(zi)]
    dtype = np.result_type(*inputs)
    if _SOSFILT is None or dtype.char not in "fd" or sos_array.ndim != 2 or data.ndim == 0:
        from scipy import signal

        return signal.sosfilt(sos, x, axis=-1, zi=zi)  # type: ignore[no-any-return]
    n_sections = sos_array.shape[0]
    if sos_array.shape[1] != 6 or not np.all(sos_array[:, 3] == 1):
        raise ValueError("sos must be shaped (n_sections, 6) with sos[:, 3] all ones")
    state_shape = (n_sections, *data.shape[:-1], 2)
    if zi is None:
        state = np.zeros(state_shape, dtype=dtype)
    else:
        state = np.array(zi, dtype=dtype)  # a copy: the kernel updates it
        if state.shape != state_shape:
            raise ValueError(f"zi must be shaped {state_shape}, got {state.shape}")
    out = np.array(data.reshape(-1, data.shape[-1]), dtype=dtype, order="C")
    # The kernel wants (rows, sections, 2) state and filters ``out`` in place.
    rows_state = np.ascontiguousarray(np.moveaxis(state, 0, -2).reshape(-1, n_sections, 2))
    _SOSFILT(sos_array.astype(dtype, copy=False), out, rows_state)
    y = out.reshape(data.shape)
    if zi is None:
        return y
    final = np.moveaxis(rows_state.reshape(*data.shape[:-1], n_sections, 2), -2, 0)
    return y, final


def sosfilt_rows(
    sos: npt.NDArray[np.floating], rows: npt.NDArray[Any], state: npt.NDArray[Any]
) -> None:
    """Filter each row of ``rows`` (channels, n), C-contiguous, in place, carrying ``state``
    (channels, n_sections, 2) of ``rows``' dtype in place too: ``sosfilt`` without its two
    copies, for block loops over long buffers. ``sos`` is cast to ``rows``' dtype."""
    if not rows.flags.c_contiguous or rows.ndim != 2:
        raise ValueError("rows must be a C-contiguous (channels, n) array")
    if _SOSFILT is None or rows.dtype.char not in "fd":
        from scipy import signal

        zi = np.moveaxis(state, 1, 0)
        filtered, final = signal.sosfilt(np.asarray(sos, rows.dtype), rows, axis=-1, zi=zi)
        rows[...] = filtered
        state[...] = np.moveaxis(final, 0, 1)
        return
    _SOSFILT(np.asarray(sos, dtype=rows.dtype), rows, state)


def sosfilt_block(
    sos: npt.NDArray[np.floating], block: npt.NDArray[Any], state: npt.NDArray[Any]
) -> None:
    """Filter ``block`` (channels, n), a view into a longer buffer, in place, carrying
    ``state`` (channels, n_sections, 2) in place too: each channel's samples are filtered
    where they lie when its row is contiguous (no copies), else through a copy. The same
    samples as ``sosfilt`` with ``block``'s dtype."""
    for channel in range(block.shape[0]):
        row = block[channel : channel + 1]
        if row.flags.c_contiguous:
            sosfilt_rows(sos, row, state[channel : channel + 1])
        else:
            copy = np.ascontiguousarray(row)
            sosfilt_rows(sos, copy, state[channel : channel + 1])
            row[...] = copy


@overload
def lfilter(b: npt.ArrayLike, a: npt.ArrayLike, x: npt.ArrayLike) -> npt.NDArray[Any]: ...


@overload
def lfilter(
    b: npt.ArrayLike, a: npt.ArrayLike, x: npt.ArrayLike, zi: npt.ArrayLike
) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]: ...


def lfilter(
    b: npt.ArrayLike, a: npt.ArrayLike, x: npt.ArrayLike, zi: npt.ArrayLike | None = None
) -> npt.NDArray[Any] | tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    """``scipy.signal.lfilter(b, a, x, axis=-1, zi=zi)`` for a recursive filter (``len(a) >
    1``); with ``zi``, returns ``(y, zf)``."""
    if _LINEAR_FILTER is None or np.size(a) < 2:
        from scipy import signal

        return signal.lfilter(b, a, x, axis=-1, zi=zi)  # type: ignore[no-any-return]
    if zi is None:
        return _LINEAR_FILTER(b, a, x, -1)  # type: ignore[no-any-return]
    y, zf = _LINEAR_FILTER(b, a, x, -1, zi)
    return y, zf


def butter(order: int, cutoff_hz: float | tuple[float, float], kind: _Kind, fs: float) -> Sos:
    """Digital Butterworth filter as second-order sections, like
    ``scipy.signal.butter(order, cutoff_hz, kind, fs=fs, output="sos")``.

    ``cutoff_hz`` is one edge (low/high-pass) or ``(low, high)`` (band-pass, ``order`` poles
    per edge), strictly between 0 and ``fs / 2``. Poles nearest the unit circle come last and
    the gain sits in the first section, as scipy orders them; the coefficients are scipy's
    bit for bit (odd-order band-passes: within 1e-15). Returns (sections, 6) float64.
    Raises ``ValueError`` for edges outside (0, fs/2) or an order below 1.
    """
    edges = np.atleast_1d(np.asarray(cutoff_hz, dtype=np.float64))
    if order < 1 or edges.shape != ((2,) if kind == "bandpass" else (1,)):
        raise ValueError(f"bad Butterworth design: order {order}, {kind} at {cutoff_hz}")
    if np.any(edges <= 0.0) or np.any(edges >= fs / 2.0):
        raise ValueError(f"Butterworth edges must lie in (0, {fs / 2}) Hz, got {cutoff_hz}")
    # Analog prototype, pre-warped edges (bilinear transform at fs = 2, as scipy does).
    warped = 4.0 * np.tan(np.pi * (edges / fs))
    m = np.arange(-order + 1, order, 2, dtype=np.float64)
    prototype = -np.exp(1j * np.pi * m / (2 * order))
    # Analog zeros are all at s = 0 (high-, band-pass) or at infinity (low-pass, band-pass);
    # the bilinear transform maps them to z = 1 and z = -1.
    if kind == "lowpass":
        poles = warped[0] * prototype
        zeros = -np.ones(order)
        gain = warped[0] ** order
    elif kind == "highpass":
        poles = warped[0] / prototype
        zeros = np.ones(order)
        gain = float(np.real(1.0 / np.prod(-prototype))) * 4.0**order
    else:
        bandwidth, centre = warped[1] - warped[0], math.sqrt(warped[0] * warped[1])
        half = prototype * (bandwidth / 2.0)
        root = np.sqrt(half**2 - centre**2)
        poles = np.concatenate([half + root, half - root])
        zeros = np.concatenate([np.ones(order), -np.ones(order)])
        gain = bandwidth**order * 4.0**order
    gain = float(np.real(gain / np.prod(4.0 - poles)))
    digital = (4.0 + poles) / (4.0 - poles)
    return _sections(digital, zeros, gain)


def _sections(
    poles: npt.NDArray[np.complex128], zeros: npt.NDArray[np.float64], gain: float
) -> Sos:
    """Pair conjugate poles into biquads, each with the nearest two (real) zeros; the poles
    nearest the unit circle go last."""
    upper = poles[poles.imag > 1e-12 * np.abs(poles)]
    real = poles[np.abs(poles.imag) <= 1e-12 * np.abs(poles)].real
    remaining: list[complex | float] = [*upper.tolist(), *real.tolist()]
    free = zeros.tolist()
    if len(real) % 2:
        remaining.append(0.0)
        free.append(0.0)
    n_sections = (len(upper) * 2 + len(real) + 1) // 2
    sos = np.zeros((n_sections, 6))
    for index in range(n_sections - 1, -1, -1):
        worst = min(range(len(remaining)), key=lambda i: abs(1.0 - abs(remaining[i])))
        pole = remaining.pop(worst)
        if isinstance(pole, complex):
            pair = [pole, pole.conjugate()]
        else:  # two real poles share a section (an odd order's last one pairs with 0)
            other = min(range(len(remaining)), key=lambda i: abs(remaining[i] - pole))
            pair = [pole, remaining.pop(other)]
        chosen = []
        for _ in range(2):
            nearest = min(range(len(free)), key=lambda i: abs(free[i] - pair[0]))
            chosen.append(free.pop(nearest))
        b = np.real(np.poly(chosen))
        a = np.real(np.poly(pair))
        sos[index, 3 - b.shape[0] : 3] = b
        sos[index, 6 - a.shape[0] : 6] = a
    sos[0, :3] *= gain
    return sos


def next_fast_len(target: int) -> int:
    """``scipy.fft.next_fast_len(target, real=True)``: the smallest fast FFT length >= target."""
    if _POCKETFFT is None:
        import scipy.fft

        return int(scipy.fft.next_fast_len(target, real=True))
    return int(_POCKETFFT.good_size(target, True))


def rfft(
    x: npt.NDArray[np.floating], n: int, *, out: npt.NDArray[np.complexfloating] | None = None
) -> npt.NDArray[np.complexfloating]:
    """``scipy.fft.rfft(x, n)`` along the last axis (zero-padded or cut to ``n``); float32 in,
    complex64 out. ``out``, when given, receives the result (a buffer reused across calls
    saves the page faults of a fresh one)."""
    if _POCKETFFT is None or x.dtype.char not in "fd":
        import scipy.fft

        return _into(np.asarray(scipy.fft.rfft(x, n)), out)
    data = _fit(x if x.flags.aligned else x.copy(), n)
    return np.asarray(_POCKETFFT.r2c(data, (data.ndim - 1,), True, 0, out, 1))


def irfft(
    spectrum: npt.NDArray[np.complexfloating],
    n: int,
    *,
    workers: int = 1,
    out: npt.NDArray[np.floating] | None = None,
) -> npt.NDArray[np.floating]:
    """``scipy.fft.irfft(spectrum, n, axis=-1, workers=workers)`` (``workers`` < 0 counts back
    from the number of CPUs, as scipy does); complex64 in, float32 out, into ``out`` when
    given."""
    if _POCKETFFT is None or spectrum.dtype.char not in "FD":
        import scipy.fft

        return _into(np.asarray(scipy.fft.irfft(spectrum, n, axis=-1, workers=workers)), out)
    threads = workers + 1 + _CPU_COUNT if workers < 0 else workers
    data = _fit(spectrum if spectrum.flags.aligned else spectrum.copy(), n // 2 + 1)
    return np.asarray(_POCKETFFT.c2r(data, (data.ndim - 1,), n, False, 2, out, threads))


def _into(result: npt.NDArray[Any], out: npt.NDArray[Any] | None) -> npt.NDArray[Any]:
    if out is None:
        return result
    out[...] = result
    return out


def _fit(x: npt.NDArray[Any], n: int) -> npt.NDArray[Any]:
    """``x`` cut or zero-padded to ``n`` along the last axis (scipy.fft's ``_fix_shape``)."""
    if x.shape[-1] >= n:
        return x[..., :n]
    padded = np.zeros((*x.shape[:-1], n), x.dtype)
    padded[..., : x.shape[-1]] = x
    return padded


def uniform_filter1d(
    x: npt.NDArray[np.floating], size: int, *, mode: str = "reflect"
) -> npt.NDArray[np.floating]:
    """``scipy.ndimage.uniform_filter1d(x, size, mode=mode)`` along the last axis (same dtype
    out)."""
    data = np.asarray(x)
    if _ND_IMAGE is None or mode not in _MODES or data.dtype.kind == "c":
        from scipy import ndimage

        return np.asarray(ndimage.uniform_filter1d(data, size, mode=mode))
    if size < 1:
        raise RuntimeError("incorrect filter size")
    out = np.zeros(data.shape, dtype=data.dtype.name)
    _ND_IMAGE.uniform_filter1d(data, size, data.ndim - 1, out, _MODES[mode], 0.0, 0)
    return out


def maximum_filter1d(
    x: npt.NDArray[np.floating], size: int, *, mode: str = "reflect"
) -> npt.NDArray[np.floating]:
    """``scipy.ndimage.maximum_filter1d(x, size, mode=mode)`` along the last axis."""
    data = np.asarray(x)
    if _ND_IMAGE is None or mode not in _MODES:
        from scipy import ndimage

        return np.asarray(ndimage.maximum_filter1d(data, size, mode=mode))
    if size < 1:
        raise RuntimeError("incorrect filter size")
    out = np.zeros(data.shape, dtype=data.dtype.name)
    _ND_IMAGE.min_or_max_filter1d(data, size, data.ndim - 1, out, _MODES[mode], 0.0, 0, 0)
    return out
