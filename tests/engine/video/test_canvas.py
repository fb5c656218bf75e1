"""The YUV 4:2:0 canvas: colour conversion, shapes on both planes, masks with a split."""

from __future__ import annotations

import numpy as np
import pytest

from musewave.engine.video.canvas import Canvas, Mask, rgb_from_yuv, yuv


def test_colour_conversion_round_trips_and_uses_limited_range() -> None:
    colours = np.random.default_rng(1).random((50, 3)).astype(np.float32)
    assert np.allclose(rgb_from_yuv(yuv(colours)), colours, atol=1e-4)
    assert np.allclose(yuv((0.0, 0.0, 0.0)), [16, 128, 128], atol=0.01)
    assert np.allclose(yuv((1.0, 1.0, 1.0)), [235, 128, 128], atol=0.01)


def test_odd_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="even"):
        Canvas(641, 480)


def test_rectangles_cover_their_chroma_blocks_and_clip_at_the_edges() -> None:
    canvas = Canvas(64, 32)
    red = yuv((1.0, 0.0, 0.0))
    canvas.fill_rect(3, 5, 11, 9, red)
    assert np.all(canvas.y[5:9, 3:11] == round(float(red[0])))
    assert canvas.y[4, 3] == 0 and canvas.y[5, 11] == 0
    assert np.all(canvas.v[2:5, 1:6] == round(float(red[2])))
    canvas.fill_rect(-10, -10, 4, 4, red)  # partly outside: clipped, no error
    assert canvas.y[0, 0] == round(float(red[0]))
    canvas.fill_rect(70, 40, 80, 50, red)  # wholly outside: nothing
    rgb = canvas.rgb()
    assert rgb.shape == (32, 64, 3)
    assert np.allclose(rgb[6, 6], [255, 0, 0], atol=3)


def test_blending_and_painting_through_a_mask_with_a_split() -> None:
    canvas = Canvas(64, 32)
    white, green = yuv((1.0, 1.0, 1.0)), yuv((0.0, 1.0, 0.0))
    canvas.blend_rect(0, 0, 64, 32, white, 0.5)
    assert abs(int(canvas.y[0, 0]) - 117) <= 1  # half way from 0 to 235
    mask = Mask.from_uint8(np.full((9, 21), 255, np.uint8))
    assert (mask.height, mask.width) == (10, 22)  # padded to even
    canvas.paint(mask, 10, 10, green, split_x=20, colour_after=white)
    assert abs(int(canvas.y[12, 15]) - round(float(green[0]))) <= 1
    assert abs(int(canvas.y[12, 25]) - 235) <= 1
    canvas.paint(mask, 10, 10, green, opacity=0.0)  # invisible: no change
    assert abs(int(canvas.y[12, 25]) - 235) <= 1


def test_columns_fill_between_their_rows() -> None:
    canvas = Canvas(16, 16)
    low = np.array([2, 2, 4, 4, 0, 0, 8, 8], np.int32)
    high = low + 3
    canvas.fill_columns(4, low, high, yuv((1.0, 1.0, 1.0)))
    assert canvas.y[2, 4] == 235 and canvas.y[5, 4] == 0 and canvas.y[4, 6] == 235
    assert canvas.y[1, 4] == 0
