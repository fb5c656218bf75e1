"""The frame being drawn: an 8-bit YUV 4:2:0 picture (what H.264 encodes), drawn into directly.

Drawing in YUV skips an RGB→YUV conversion per frame, which would cost as much as all the
drawing. Colours go in as RGB 0–1 and are converted once (BT.709, limited range, as the stream
is tagged). Chroma planes have half the width and height, so shapes are placed on even pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from musewave.engine.video.palette import RGB

UInt8Array = npt.NDArray[np.uint8]
FloatArray = npt.NDArray[np.float32]

# BT.709 luma weights; limited range puts black at 16 and white at 235 (chroma 16–240).
_KR, _KB = 0.2126, 0.0722
_KG = 1.0 - _KR - _KB
_RGB_TO_YUV = np.array(
    [
        [219 * _KR, 219 * _KG, 219 * _KB],
        [-112 * _KR / (1 - _KB), -112 * _KG / (1 - _KB), 112.0],
        [112.0, -112 * _KG / (1 - _KR), -112 * _KB / (1 - _KR)],
    ],
    dtype=np.float32,
)
_YUV_OFFSET = np.array([16.0, 128.0, 128.0], dtype=np.float32)


def yuv(rgb: RGB | FloatArray) -> FloatArray:
    """RGB (0–1, shape (..., 3)) → limited-range BT.709 Y, U, V in 8-bit units (float32)."""
    values = np.clip(np.asarray(rgb, dtype=np.float32), 0.0, 1.0).astype(np.float32)
    out: FloatArray = values @ _RGB_TO_YUV.T + _YUV_OFFSET
    return out


def rgb_from_yuv(values: FloatArray) -> FloatArray:
    """The inverse of :func:`yuv` (for tests and checks): RGB 0–1, shape (..., 3)."""
    inverse = np.linalg.inv(_RGB_TO_YUV).astype(np.float32)
    centred = np.asarray(values, dtype=np.float32) - _YUV_OFFSET
    out: FloatArray = np.asarray(centred @ inverse.T, dtype=np.float32)
    return out


@dataclass(frozen=True, slots=True)
class Mask:
    """An alpha mask to paint through (text, a sprite): ``alpha`` float32 (h, w) in 0–1 with
    even ``h`` and ``w``, and ``alpha_chroma`` (h/2, w/2), its 2×2 means for the chroma planes."""

    alpha: FloatArray
    alpha_chroma: FloatArray

    @classmethod
    def from_uint8(cls, alpha: UInt8Array) -> Mask:
        h, w = alpha.shape
        padded = np.zeros((h + h % 2, w + w % 2), dtype=np.float32)
        padded[:h, :w] = alpha / np.float32(255.0)
        chroma = padded.reshape(padded.shape[0] // 2, 2, padded.shape[1] // 2, 2).mean(axis=(1, 3))
        return cls(padded, chroma.astype(np.float32))

    @property
    def width(self) -> int:
        return int(self.alpha.shape[1])

    @property
    def height(self) -> int:
        return int(self.alpha.shape[0])


def _blend(
    region: UInt8Array, colour: FloatArray | np.float32, alpha: FloatArray | np.float32
) -> None:
    """``region`` (h, w) moved toward ``colour`` (a scalar or (w,) per column) by ``alpha``."""
    base = region.astype(np.float32)
    base += (colour - base) * alpha
    base += 0.5
    region[...] = base.astype(np.uint8)


class Canvas:
    """A ``width``×``height`` YUV 4:2:0 frame buffer (both even), reused frame after frame.

    ``buffer`` is (height·3/2, width) uint8: the Y plane, then U, then V, the layout PyAV's
    ``VideoFrame.from_ndarray(..., format="yuv420p")`` takes.
    """

    def __init__(self, width: int, height: int) -> None:
        if width % 2 or height % 2:
            raise ValueError(f"a 4:2:0 frame needs an even size, got {width}×{height}")
        self.width, self.height = width, height
        self.buffer: UInt8Array = np.zeros((height * 3 // 2, width), dtype=np.uint8)
        chroma = self.buffer[height:].reshape(-1)
        quarter = (height // 2) * (width // 2)
        self.y: UInt8Array = self.buffer[:height]
        self.u: UInt8Array = chroma[:quarter].reshape(height // 2, width // 2)
        self.v: UInt8Array = chroma[quarter:].reshape(height // 2, width // 2)

    def _box(self, x0: int, y0: int, x1: int, y1: int) -> tuple[int, int, int, int]:
        return (
            max(0, min(self.width, x0)),
            max(0, min(self.height, y0)),
            max(0, min(self.width, x1)),
            max(0, min(self.height, y1)),
        )

    def fill_gradient(self, rows: FloatArray, x0: int = 0, x1: int | None = None) -> None:
        """Paint columns ``x0``..``x1`` with one colour per row: ``rows`` float32 (height, 3)
        YUV (see :func:`yuv`)."""
        x1 = self.width if x1 is None else x1
        x0, _, x1, _ = self._box(x0 - x0 % 2, 0, x1 + x1 % 2, 0)
        if x1 <= x0:
            return
        quantized = np.rint(rows).astype(np.uint8)
        self.y[:, x0:x1] = quantized[:, 0:1]
        half = quantized[::2]
        self.u[:, x0 // 2 : x1 // 2] = half[:, 1:2]
        self.v[:, x0 // 2 : x1 // 2] = half[:, 2:3]

    def fill_rect(self, x0: int, y0: int, x1: int, y1: int, colour: FloatArray) -> None:
        """A solid rectangle [x0, x1) × [y0, y1) in YUV ``colour`` (3,); chroma covers the
        2×2 blocks it touches."""
        x0, y0, x1, y1 = self._box(x0, y0, x1, y1)
        if x1 <= x0 or y1 <= y0:
            return
        self.y[y0:y1, x0:x1] = round(float(colour[0]))
        cx0, cy0, cx1, cy1 = x0 // 2, y0 // 2, (x1 + 1) // 2, (y1 + 1) // 2
        self.u[cy0:cy1, cx0:cx1] = round(float(colour[1]))
        self.v[cy0:cy1, cx0:cx1] = round(float(colour[2]))

    def blend_rect(
        self, x0: int, y0: int, x1: int, y1: int, colour: FloatArray, opacity: float
    ) -> None:
        """A translucent rectangle: ``opacity`` (0–1) of ``colour`` over what is there."""
        x0, y0, x1, y1 = self._box(x0 - x0 % 2, y0 - y0 % 2, x1 + x1 % 2, y1 + y1 % 2)
        if x1 <= x0 or y1 <= y0 or opacity <= 0.0:
            return
        a = np.float32(opacity)
        _blend(self.y[y0:y1, x0:x1], colour[0], a)
        cx0, cy0, cx1, cy1 = x0 // 2, y0 // 2, x1 // 2, y1 // 2
        _blend(self.u[cy0:cy1, cx0:cx1], colour[1], a)
        _blend(self.v[cy0:cy1, cx0:cx1], colour[2], a)

    def fill_columns(
        self, x0: int, low: npt.NDArray[np.int32], high: npt.NDArray[np.int32], colour: FloatArray
    ) -> None:
        """Fill, in each column ``x0 + i``, the rows ``low[i]`` ≤ row < ``high[i]`` (a filled
        waveform or a thick trace). ``x0`` is even and ``len(low)`` even."""
        n = len(low)
        x0 = x0 - x0 % 2
        n = min(n - n % 2, self.width - x0)
        if n <= 0:
            return
        top = int(max(0, low[:n].min()))
        bottom = int(min(self.height, high[:n].max()))
        if bottom <= top:
            return
        rows = np.arange(top, bottom, dtype=np.int32)[:, None]
        inside = (rows >= low[None, :n]) & (rows < high[None, :n])
        region = self.y[top:bottom, x0 : x0 + n]
        region[inside] = round(float(colour[0]))
        # A chroma sample covers two columns: it takes the union of their spans.
        c_low = np.minimum(low[0:n:2], low[1:n:2]) // 2
        c_high = (np.maximum(high[0:n:2], high[1:n:2]) + 1) // 2
        c_top, c_bottom = top // 2, (bottom + 1) // 2
        c_rows = np.arange(c_top, c_bottom, dtype=np.int32)[:, None]
        c_inside = (c_rows >= c_low[None, :]) & (c_rows < c_high[None, :])
        cx0, cx1 = x0 // 2, x0 // 2 + n // 2
        self.u[c_top:c_bottom, cx0:cx1][c_inside] = round(float(colour[1]))
        self.v[c_top:c_bottom, cx0:cx1][c_inside] = round(float(colour[2]))

    def paint(
        self,
        mask: Mask,
        x: int,
        y: int,
        colour: FloatArray,
        *,
        opacity: float = 1.0,
        split_x: int | None = None,
        colour_after: FloatArray | None = None,
    ) -> None:
        """Paint ``colour`` through ``mask`` with its top-left corner at (``x``, ``y``), made
        even. With ``split_x`` (canvas column) and ``colour_after``, columns from ``split_x``
        on take ``colour_after`` instead (karaoke: sung, then still to sing)."""
        if opacity <= 0.0:
            return
        x, y = x - x % 2, y - y % 2
        x0, y0, x1, y1 = self._box(x, y, x + mask.width, y + mask.height)
        if x1 <= x0 or y1 <= y0:
            return
        alpha = mask.alpha[y0 - y : y1 - y, x0 - x : x1 - x]
        alpha_c = mask.alpha_chroma[(y0 - y) // 2 : (y1 - y) // 2, (x0 - x) // 2 : (x1 - x) // 2]
        if opacity < 1.0:
            alpha = alpha * np.float32(opacity)
            alpha_c = alpha_c * np.float32(opacity)
        per_column = split_x is not None and colour_after is not None
        for plane, a, step, left in (
            (self.y, alpha, 1, x0),
            (self.u, alpha_c, 2, x0 // 2),
            (self.v, alpha_c, 2, x0 // 2),
        ):
            channel = 0 if plane is self.y else (1 if plane is self.u else 2)
            top = y0 // step
            region = plane[top : top + a.shape[0], left : left + a.shape[1]]
            if per_column:
                assert split_x is not None and colour_after is not None
                columns = (np.arange(a.shape[1]) + left) * step < split_x
                target = np.where(columns, colour[channel], colour_after[channel]).astype(
                    np.float32
                )
                _blend(region, target[None, :], a)
            else:
                _blend(region, np.float32(colour[channel]), a)

    def rgb(self) -> UInt8Array:
        """The frame as RGB uint8 (height, width, 3), chroma upsampled by repetition (for
        looking at frames and tests; the encoder takes the YUV buffer)."""
        u = np.repeat(np.repeat(self.u, 2, axis=0), 2, axis=1)
        v = np.repeat(np.repeat(self.v, 2, axis=0), 2, axis=1)
        stacked = np.stack([self.y, u, v], axis=-1).astype(np.float32)
        out: UInt8Array = np.clip(np.rint(rgb_from_yuv(stacked) * 255.0), 0, 255).astype(np.uint8)
        return out
