"""Cover images that reflect a song: palette from its key and mood, shapes from tempo and energy.

* palette: the key's place on the circle of fifths sets the base hue (neighbouring keys get
  neighbouring colours); minor keys are darker than major ones; the mood shifts hue, saturation
  and brightness (``dark`` is near black, ``dreamy`` pastel, ``angry`` red ...);
* shapes: the tempo sets how many shapes there are (one per 12 BPM) and their kind (slow songs get
  soft circles, middling ones rings and bars, fast ones sharp triangles); the energy sets their
  size spread and outline width;
* the title is drawn in a band at the bottom.

Pure and deterministic: the same :class:`CoverSpec`, ``variant`` and size give the same PNG bytes.

Example
-------
>>> spec = CoverSpec(title="Night Drive", mood="dreamy", tonic_pc=9, mode="minor", tempo_bpm=96,
...                  energy=0.4, seed=7)
>>> png = cover_png(spec)  # doctest: +SKIP
"""

from __future__ import annotations

import colorsys
import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

__all__ = ["CoverSpec", "cover_png", "cover_image", "palette_rgb", "shape_count", "MOOD_TINTS"]

# mood -> (hue shift in turns, saturation factor, value factor)
MOOD_TINTS: dict[str, tuple[float, float, float]] = {
    "happy": (0.04, 1.1, 1.15), "sad": (0.55, 0.55, 0.7), "dark": (0.7, 0.6, 0.35),
    "calm": (0.45, 0.5, 0.95), "energetic": (0.0, 1.3, 1.1), "romantic": (0.9, 0.8, 1.0),
    "epic": (0.62, 1.1, 0.75), "dreamy": (0.75, 0.4, 1.2), "angry": (0.98, 1.4, 0.8),
    "neutral": (0.0, 0.8, 0.9),
}
_TITLE_BAND = 0.2  # fraction of the height under the title
_MAX_TITLE_CHARS = 40


@dataclass(frozen=True)
class CoverSpec:
    """What a cover is drawn from (a song's plan).

    ``tonic_pc`` 0 (C) .. 11 (B); ``mode`` ``major``/``minor``; ``tempo_bpm`` beats per minute;
    ``energy`` 0-1; ``mood`` one of :data:`MOOD_TINTS` (others count as ``neutral``).
    """

    title: str
    mood: str
    tonic_pc: int
    mode: str
    tempo_bpm: float
    energy: float
    seed: int = 0


def palette_rgb(spec: CoverSpec, *, n_colors: int = 5) -> list[tuple[int, int, int]]:
    """``n_colors`` RGB colours (0-255), background first, from the key and mood."""
    fifths_pos = (spec.tonic_pc * 7) % 12
    hue_shift, sat_factor, val_factor = MOOD_TINTS.get(spec.mood, MOOD_TINTS["neutral"])
    base_value = 0.85 if spec.mode == "major" else 0.6
    colors = []
    for i in range(n_colors):
        hue = (fifths_pos / 12 + hue_shift + 0.08 * i) % 1.0
        sat = min(1.0, (0.55 + 0.08 * i) * sat_factor)
        value = min(1.0, base_value * val_factor * (0.55 if i == 0 else 1.0 - 0.05 * i))
        r, g, b = colorsys.hsv_to_rgb(hue, sat, value)
        colors.append((round(r * 255), round(g * 255), round(b * 255)))
    return colors


def shape_count(tempo_bpm: float) -> int:
    """Number of shapes on the cover: one per 12 BPM, 4-20."""
    return int(np.clip(round(tempo_bpm / 12.0), 4, 20))


def cover_image(spec: CoverSpec, *, size_px: int = 512, variant: int = 0) -> Image.Image:
    """The cover as an RGB ``size_px`` x ``size_px`` image (``variant`` gives another layout)."""
    rng = np.random.default_rng([spec.seed % 2**32, variant, spec.tonic_pc])
    colors = palette_rgb(spec)
    image = Image.new("RGB", (size_px, size_px), colors[0])
    draw = ImageDraw.Draw(image)
    _draw_gradient(draw, size_px, colors[0], colors[1])
    for i in range(shape_count(spec.tempo_bpm)):
        _draw_shape(draw, rng, spec, size_px, colors[2 + i % 3])
    _draw_title(draw, spec.title, size_px, colors)
    return image


def cover_png(spec: CoverSpec, *, size_px: int = 512, variant: int = 0) -> bytes:
    """The cover as PNG bytes (see :func:`cover_image`)."""
    buf = io.BytesIO()
    cover_image(spec, size_px=size_px, variant=variant).save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def _draw_gradient(draw: ImageDraw.ImageDraw, size_px: int, top: tuple[int, ...], bottom: tuple[int, ...]) -> None:
    for y in range(size_px):
        t = 0.5 * y / size_px
        color = tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        draw.line([(0, y), (size_px, y)], fill=color)


def _draw_shape(
    draw: ImageDraw.ImageDraw, rng: np.random.Generator, spec: CoverSpec, size_px: int, color: tuple[int, int, int]
) -> None:
    energy = float(np.clip(spec.energy, 0.0, 1.0))
    area_h = size_px * (1.0 - _TITLE_BAND)
    cx, cy = rng.uniform(0, size_px), rng.uniform(0, area_h)
    radius = size_px * rng.uniform(0.04, 0.08 + 0.17 * energy)
    width = max(1, round(1 + 6 * energy))
    box = [cx - radius, cy - radius, cx + radius, cy + radius]
    if spec.tempo_bpm < 90:
        draw.ellipse(box, fill=color)
    elif spec.tempo_bpm < 130:
        draw.ellipse(box, outline=color, width=width)
        draw.rectangle([cx - radius, cy - width, cx + radius, cy + width], fill=color)
    else:
        angle = rng.uniform(0, 2 * np.pi)
        points = [(cx + radius * np.cos(angle + k * 2.094), cy + radius * np.sin(angle + k * 2.094)) for k in range(3)]
        draw.polygon(points, fill=color, outline=(255, 255, 255), width=width)


def _draw_title(draw: ImageDraw.ImageDraw, title: str, size_px: int, colors: list[tuple[int, int, int]]) -> None:
    top = round(size_px * (1.0 - _TITLE_BAND))
    draw.rectangle([0, top, size_px, size_px], fill=tuple(c // 3 for c in colors[0]))
    text = (title or "Untitled").strip()[:_MAX_TITLE_CHARS]
    font = ImageFont.load_default(size=max(10, size_px // 16))
    left, upper, right, lower = draw.textbbox((0, 0), text, font=font)
    x = max(4, (size_px - (right - left)) // 2)
    y = top + (size_px - top - (lower - upper)) // 2 - upper
    draw.text((x, y), text, fill=(245, 245, 245), font=font)
