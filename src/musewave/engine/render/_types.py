"""Array aliases shared by the render modules."""

from __future__ import annotations

from typing import TypeAlias

import numpy as np
from numpy.typing import ArrayLike, NDArray

Audio: TypeAlias = NDArray[np.float32]
"""Float32 samples: shape ``(n,)`` mono or ``(2, n)`` stereo, time on the last axis."""

Float64: TypeAlias = NDArray[np.float64]

Hz: TypeAlias = float | NDArray[np.float64]
"""A frequency in Hz: constant, or one value per sample (shape ``(n,)``)."""


def as_audio(x: ArrayLike) -> Audio:
    """``x`` as float32 (no copy when it already is): pins the dtype for the type checker."""
    return np.asarray(x, dtype=np.float32)
