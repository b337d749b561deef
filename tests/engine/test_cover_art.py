from __future__ import annotations

import io

import numpy as np
from PIL import Image

from songforge.engine.cover_art import CoverSpec, cover_image, cover_png, palette_rgb, shape_count

SPEC = CoverSpec(title="Night Drive", mood="happy", tonic_pc=0, mode="major", tempo_bpm=120, energy=0.5, seed=3)


def _luma(spec: CoverSpec) -> float:
    return float(np.asarray(cover_image(spec, size_px=128).convert("L"))[: int(128 * 0.8)].mean())


def test_deterministic_png_of_the_requested_size():
    png = cover_png(SPEC, size_px=256)
    assert png == cover_png(SPEC, size_px=256) and png.startswith(b"\x89PNG")
    assert Image.open(io.BytesIO(png)).size == (256, 256)
    assert cover_png(SPEC, size_px=256, variant=1) != png


def test_mood_and_mode_set_brightness_and_key_sets_hue():
    assert _luma(CoverSpec(**{**SPEC.__dict__, "mood": "dark"})) < _luma(SPEC) - 20
    assert _luma(CoverSpec(**{**SPEC.__dict__, "mode": "minor"})) < _luma(SPEC)
    assert palette_rgb(SPEC)[0] != palette_rgb(CoverSpec(**{**SPEC.__dict__, "tonic_pc": 7}))[0]


def test_tempo_sets_the_number_of_shapes_and_the_title_is_drawn():
    assert shape_count(60) < shape_count(120) < shape_count(200)
    a = np.asarray(cover_image(SPEC, size_px=128))[110:]
    b = np.asarray(cover_image(CoverSpec(**{**SPEC.__dict__, "title": "Other Words Entirely"}), size_px=128))[110:]
    assert not np.array_equal(a, b)
