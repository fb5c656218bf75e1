"""Cover art from the plan: a 3000×3000 JPEG (what streaming distributors ask for) and a
600×600 thumbnail.

Colours are the track's palette (genre and moods, as the video's). The picture draws the
music: the chorus's chord roots as a path round the circle of fifths (harmony), and the
genre's drum groove as rings of steps, one ring per drum, a dot on each hit (rhythm). The
title comes from the prompt. Everything random comes from the seed, so a seed gives the same
bytes every time.
"""

from __future__ import annotations

import math
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from musewave.engine.errors import ValidationFailed
from musewave.engine.plan import Plan
from musewave.engine.theory import roman_chord
from musewave.engine.video.palette import RGB, Palette, brighten, to_uint8, track_palette
from musewave.engine.video.typography import font_for

COVER_PX = 3000
THUMBNAIL_PX = 600
COVER_NAME, THUMBNAIL_NAME = "cover.jpg", "cover-600.jpg"
JPEG_QUALITY = 92
MAX_COVER_BYTES = 10 * 1024 * 1024  # distributors' usual ceiling
_GRADIENT_PX = 500  # the background is computed small and scaled up (it is smooth)
_SEED_SALT = 0xC0FE
_MAIN_KINDS = ("chorus", "drop", "hook")
_TITLE_SIZES = (300, 260, 220, 190, 160, 130)
_MARGIN = 200
GLOW_RADIUS, GLOW_STRENGTH = 0.28, 0.35  # share of the width; how far toward the accent
RING_GAP_PX = 130
_SHADOW_BLUR = 18


@dataclass(frozen=True, slots=True)
class CoverFiles:
    """The written cover and thumbnail."""

    cover: Path
    thumbnail: Path


def _rgba(colour: RGB, alpha: float = 1.0) -> tuple[int, int, int, int]:
    return (*to_uint8(colour), round(255 * alpha))


def _background(
    palette: Palette, rng: np.random.Generator, glow_at: tuple[float, float]
) -> Image.Image:
    """A diagonal gradient from ``top`` to ``bottom`` at a seeded angle, darker at the
    corners, with a soft glow of the main accent around ``glow_at`` (fractions of the size)."""
    n = _GRADIENT_PX
    angle = rng.uniform(0.0, 2.0 * math.pi)
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32) / (n - 1) - 0.5
    along = np.clip(0.5 + (xx * math.cos(angle) + yy * math.sin(angle)), 0.0, 1.0)[..., None]
    top, bottom = np.asarray(palette.top), np.asarray(palette.bottom)
    rgb = top + (bottom - top) * along
    vignette = 1.0 - 0.45 * np.clip(np.hypot(xx, yy) / 0.72, 0.0, 1.0)[..., None] ** 2
    distance = np.hypot(xx - (glow_at[0] - 0.5), yy - (glow_at[1] - 0.5))[..., None]
    glow = GLOW_STRENGTH * np.exp(-((distance / GLOW_RADIUS) ** 2))
    rgb = rgb * vignette + (np.asarray(palette.accents[0]) - rgb * vignette) * glow
    pixels = np.clip(rgb * 255.0, 0, 255).astype(np.uint8)
    return Image.fromarray(pixels, "RGB").resize((COVER_PX, COVER_PX), Image.Resampling.BICUBIC)


def _fifths_angle(pitch_class: int, rotation: float) -> float:
    """Where a pitch class sits on the circle of fifths (radians, C at ``rotation``)."""
    return rotation + 2.0 * math.pi * ((pitch_class * 7) % 12) / 12.0


def _harmony(
    draw: ImageDraw.ImageDraw, plan: Plan, palette: Palette, centre: tuple[float, float],
    radius: float, rotation: float,
) -> None:  # fmt: skip
    """The circle of fifths (12 dots), the chorus's chord roots joined in order, and the
    tonic chord's tones as a filled shape."""
    key = plan.parsed_key()
    section = next((s for s in plan.sections if s.kind in _MAIN_KINDS), plan.sections[0])
    chords = [roman_chord(symbol, key) for symbol in section.progression]
    cx, cy = centre

    def point(pitch_class: int, r: float) -> tuple[float, float]:
        a = _fifths_angle(pitch_class, rotation)
        return (cx + r * math.cos(a), cy + r * math.sin(a))

    draw.ellipse(
        (cx - radius, cy - radius, cx + radius, cy + radius),
        outline=_rgba(palette.text, 0.25),
        width=6,
    )
    # In circle order, so the tonic chord's tones make a simple polygon.
    tones = sorted(set(chords[0].pitch_classes), key=lambda pc: (pc * 7) % 12)
    tonic_tones = [point(pc, radius) for pc in tones]
    if len(tonic_tones) >= 3:
        draw.polygon(tonic_tones, fill=_rgba(palette.accents[1], 0.28))
    for pc in range(12):
        x, y = point(pc, radius)
        size = 22 if pc in key.scale else 10
        draw.ellipse((x - size, y - size, x + size, y + size), fill=_rgba(palette.text, 0.6))
    path = [point(chord.root, radius) for chord in chords]
    if len(set(path)) > 1:
        draw.line([*path, path[0]], fill=_rgba(palette.accents[0], 0.95), width=18, joint="curve")
    for x, y in path:
        draw.ellipse((x - 40, y - 40, x + 40, y + 40), fill=_rgba(palette.highlight, 0.95))


def _rhythm(
    draw: ImageDraw.ImageDraw, plan: Plan, palette: Palette, centre: tuple[float, float],
    inner: float, rotation: float,
) -> None:  # fmt: skip
    """One ring per drum of the genre's full groove, a step per 16th, a dot on each hit
    (bigger for the lower drums)."""
    grooves = plan.profile().grooves
    groove = grooves.get("full") or next(iter(grooves.values()), {})
    cx, cy = centre
    colours = (palette.accents[0], palette.accents[1], palette.highlight, palette.text)
    for ring, (_, pattern) in enumerate(sorted(groove.items())):
        r = inner + ring * RING_GAP_PX
        steps = len(pattern)
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=_rgba(palette.text, 0.1), width=4)
        dot = max(12.0, 46.0 - 10.0 * ring)
        for step, hit in enumerate(pattern):
            a = rotation + 2.0 * math.pi * step / steps
            x, y = cx + r * math.cos(a), cy + r * math.sin(a)
            if hit == ".":
                draw.ellipse((x - 12, y - 12, x + 12, y + 12), fill=_rgba(palette.text, 0.3))
            else:
                colour = colours[ring % len(colours)]
                draw.ellipse((x - dot, y - dot, x + dot, y + dot), fill=_rgba(colour, 0.85))


def _title(image: Image.Image, plan: Plan, palette: Palette) -> None:
    """The title, bottom left, as large as fits in two lines, over a soft shadow; the genre
    under it."""
    words = plan.title.split() or [plan.title]
    width = COVER_PX - 2 * _MARGIN
    lines: list[str] = [plan.title]
    size = _TITLE_SIZES[-1]
    for size in _TITLE_SIZES:
        font = font_for(plan.title, size)
        lines = [""]
        for word in words:
            trial = f"{lines[-1]} {word}".strip()
            if font.getlength(trial) <= width or not lines[-1]:
                lines[-1] = trial
            else:
                lines.append(word)
        if len(lines) <= 2 and all(font.getlength(line) <= width for line in lines):
            break
    font = font_for(plan.title, size)
    subtitle = plan.profile().name.upper()
    small = font_for(subtitle, 90)
    line_height = round(size * 1.12)
    top = COVER_PX - _MARGIN - 130 - line_height * len(lines)
    # Text and its shadow are drawn in the band the title covers only: blurring the whole
    # 3000×3000 picture would cost seconds.
    band_top = max(0, top - 2 * _SHADOW_BLUR)
    band = (COVER_PX, COVER_PX - band_top)
    shadow = Image.new("L", band, 0)
    shadow_draw = ImageDraw.Draw(shadow)
    text_layer = Image.new("RGBA", band, (0, 0, 0, 0))
    text_draw = ImageDraw.Draw(text_layer)
    for index, line in enumerate(lines):
        y = top - band_top + index * line_height
        shadow_draw.text((_MARGIN + 10, y + 14), line, fill=170, font=font)
        text_draw.text((_MARGIN, y), line, fill=_rgba(palette.text), font=font)
    y_sub = top - band_top + line_height * len(lines) + 30
    accent = _rgba(brighten(palette.accents[0], 0.3))
    text_draw.text((_MARGIN + 6, y_sub), subtitle, fill=accent, font=small)
    shadow = shadow.filter(ImageFilter.GaussianBlur(_SHADOW_BLUR))
    image.paste((0, 0, 0), (0, band_top, COVER_PX, COVER_PX), shadow)
    image.paste(text_layer, (0, band_top), text_layer)


def render_cover(plan: Plan) -> Image.Image:
    """The cover of ``plan`` as a 3000×3000 RGB image (deterministic from the plan's seed)."""
    rng = np.random.default_rng([plan.seed, _SEED_SALT])
    palette = track_palette(plan)
    at = (0.5 + rng.uniform(-0.06, 0.06), 0.40 + rng.uniform(-0.04, 0.04))
    image = _background(palette, rng, at)
    shapes = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(shapes)
    centre = (COVER_PX * at[0], COVER_PX * at[1])
    rotation = rng.uniform(0.0, 2.0 * math.pi)
    radius = COVER_PX * (0.17 + 0.05 * plan.energy)
    _rhythm(draw, plan, palette, centre, radius + 200.0, rotation + rng.uniform(-0.3, 0.3))
    _harmony(draw, plan, palette, centre, radius, rotation)
    # Pillow draws shapes without antialiasing; a 3×3 box blur smooths their edges.
    shapes = shapes.filter(ImageFilter.BoxBlur(1))
    image.paste(shapes, (0, 0), shapes)
    _title(image, plan, palette)
    return image


def _save_jpeg(image: Image.Image, path: Path) -> Path:
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
    try:
        image.save(temporary, "JPEG", quality=JPEG_QUALITY, optimize=True)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def write_cover(plan: Plan, folder: Path) -> CoverFiles:
    """Write ``cover.jpg`` (3000×3000) and ``cover-600.jpg`` (600×600) of ``plan`` into
    ``folder``; same plan, same bytes."""
    image = render_cover(plan)
    cover = _save_jpeg(image, Path(folder) / COVER_NAME)
    thumbnail = image.resize((THUMBNAIL_PX, THUMBNAIL_PX), Image.Resampling.LANCZOS)
    return CoverFiles(cover, _save_jpeg(thumbnail, Path(folder) / THUMBNAIL_NAME))


def validate_image_file(path: Path, *, size_px: int) -> int:
    """Decode ``path`` and check it is an RGB JPEG of ``size_px``×``size_px`` no larger than
    ``MAX_COVER_BYTES``. Returns its size in bytes; raises ``ValidationFailed`` otherwise."""
    path = Path(path)
    try:
        with Image.open(path) as image:
            image.load()
            found = (image.format, image.mode, image.size)
    except (OSError, ValueError) as error:
        raise ValidationFailed(f"{path.name}: decode check failed: {error!r}") from error
    expected = ("JPEG", "RGB", (size_px, size_px))
    if found != expected:
        raise ValidationFailed(
            f"{path.name}: image check failed: measured {found}, expected {expected}"
        )
    size_bytes = path.stat().st_size
    if size_bytes > MAX_COVER_BYTES:
        raise ValidationFailed(
            f"{path.name}: size check failed: measured {size_bytes} bytes, "
            f"expected at most {MAX_COVER_BYTES}"
        )
    return size_bytes
