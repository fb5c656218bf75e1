"""Cover art: sizes, JPEG, the same bytes for the same seed, other seeds and genres differ."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from musewave.engine.cover import (
    COVER_NAME,
    THUMBNAIL_NAME,
    render_cover,
    validate_image_file,
    write_cover,
)
from musewave.engine.errors import ValidationFailed
from musewave.engine.video.palette import to_uint8, track_palette
from tests.engine.video.support import short_plan


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cover")
    write_cover(short_plan(seed=11, prompt="dreamy synthwave night drive"), folder)
    return folder


def test_cover_and_thumbnail_are_rgb_jpegs_of_their_sizes(written: Path) -> None:
    for name, size in ((COVER_NAME, 3000), (THUMBNAIL_NAME, 600)):
        with Image.open(written / name) as image:
            assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (size, size))
        assert validate_image_file(written / name, size_px=size) < 10 * 1024 * 1024


def test_the_same_seed_gives_the_same_bytes(written: Path, tmp_path: Path) -> None:
    write_cover(short_plan(seed=11, prompt="dreamy synthwave night drive"), tmp_path)
    for name in (COVER_NAME, THUMBNAIL_NAME):
        assert (tmp_path / name).read_bytes() == (written / name).read_bytes()


def test_another_seed_draws_another_picture(written: Path, tmp_path: Path) -> None:
    write_cover(short_plan(seed=12, prompt="dreamy synthwave night drive"), tmp_path)
    with Image.open(tmp_path / THUMBNAIL_NAME) as a, Image.open(written / THUMBNAIL_NAME) as b:
        difference = np.abs(np.asarray(a, dtype=int) - np.asarray(b, dtype=int))
    assert difference.mean() > 5


def test_the_palette_follows_genre_and_mood() -> None:
    plans = [short_plan(prompt="dark techno"), short_plan(prompt="happy reggae")]
    means = []
    for plan in plans:
        thumbnail = render_cover(plan).resize((100, 100))
        means.append(np.asarray(thumbnail, dtype=float).reshape(-1, 3).mean(axis=0))
        # The background is the track's palette (its top colour appears in the picture).
        top = np.array(to_uint8(track_palette(plan).top), dtype=float)
        pixels = np.asarray(thumbnail, dtype=float).reshape(-1, 3)
        assert np.linalg.norm(pixels - top, axis=1).min() < 40
    assert np.linalg.norm(means[0] - means[1]) > 20


def test_the_title_is_drawn(tmp_path: Path) -> None:
    plan = short_plan(prompt="dreamy synthwave night drive")
    untitled = plan.model_copy(update={"title": " "})
    a = np.asarray(render_cover(plan).resize((300, 300)), dtype=int)
    b = np.asarray(render_cover(untitled).resize((300, 300)), dtype=int)
    # Only the lower part (where the title goes) differs.
    rows = np.nonzero(np.abs(a - b).max(axis=(1, 2)) > 60)[0]
    assert rows.size > 20 and rows.min() > 150


def test_validation_refuses_wrong_sizes_and_formats(written: Path, tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed, match="image check"):
        validate_image_file(written / THUMBNAIL_NAME, size_px=3000)
    png = tmp_path / "cover.jpg"
    Image.new("RGB", (600, 600)).save(png, "PNG")
    with pytest.raises(ValidationFailed, match="PNG"):
        validate_image_file(png, size_px=600)
    (tmp_path / "junk.jpg").write_bytes(b"not an image")
    with pytest.raises(ValidationFailed, match="decode"):
        validate_image_file(tmp_path / "junk.jpg", size_px=600)
