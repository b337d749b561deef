"""Sections: boundaries from a novelty curve on beat-synchronous features, silence from RMS, and
labels from repetition, loudness, vocal presence and position.

Boundaries fall on downbeats: a checkerboard kernel slides along the diagonal of the
self-similarity matrix of beat-synchronous chroma + MFCC + loudness (Foote's novelty), and the
strongest downbeat peaks at least two bars apart become boundaries. Repeated loud blocks are
choruses, sung blocks verses (a lone sung block between choruses a bridge), the rest
instrumental; an unsung first / last block is the intro / outro.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Block", "novelty", "band_steps", "boundary_strength", "pick_boundaries", "silent_spans", "label_blocks"]

_KERNEL_HALF_BARS = 2
_NOVELTY_WEIGHT = 0.25  # share of the boundary strength from novelty; the rest from band-energy steps
_PEAK_Z = 1.0  # a boundary's strength must exceed mean + 1 std of the downbeat strengths
_MIN_BARS = 2
_SILENCE_DB = -50.0  # RMS this far below the loudest frame (or below -70 dBFS) is silence
_MIN_SILENCE_S = 1.0
_REPEAT_SIM = 0.85  # cosine similarity of block profiles that counts as a repeat
_SUNG_SHARE = 0.3


@dataclass(frozen=True)
class Block:
    """A stretch between boundaries: times in seconds, ``profile`` its mean standardised feature
    vector, ``loudness_db`` mean RMS in dB, ``sung_share`` the share of it with vocals,
    ``silent`` whether it is a silence."""

    start_s: float
    end_s: float
    profile: np.ndarray
    loudness_db: float
    sung_share: float
    silent: bool = False


def novelty(features: np.ndarray, *, half_beats: int) -> np.ndarray:
    """(n,) Foote novelty of (d, n) beat-synchronous ``features`` (rows standardised here);
    entry ``i`` measures the change between the ``half_beats`` beats before ``i`` and those
    from ``i`` on (checkerboard kernel with a Gaussian taper on the self-similarity matrix)."""
    z = (features - features.mean(axis=1, keepdims=True)) / (features.std(axis=1, keepdims=True) + 1e-9)
    z = z / (np.linalg.norm(z, axis=0, keepdims=True) + 1e-9)
    ssm = z.T @ z
    n, h = ssm.shape[0], half_beats
    taper = np.exp(-0.5 * ((np.arange(-h, h) + 0.5) / (0.5 * h)) ** 2)
    sign = np.sign(np.arange(-h, h) + 0.5)
    kernel = np.outer(taper * sign, taper * sign)
    padded = np.pad(ssm, h, mode="edge")
    out = np.array([float(np.sum(kernel * padded[i:i + 2 * h, i:i + 2 * h])) for i in range(n)])
    return np.maximum(out, 0.0)


def band_steps(band_db: np.ndarray, *, window_beats: int) -> np.ndarray:
    """(n,) RMS over bands of the level step at each beat: the mean dB of each of the (d, n)
    beat-synchronous ``band_db`` over the ``window_beats`` beats from ``i`` on minus that over
    the ``window_beats`` before ``i`` (0 where either side is empty). Instruments entering or
    leaving, and loudness changes between sections, show here."""
    d, n = band_db.shape
    csum = np.concatenate([np.zeros((d, 1)), np.cumsum(band_db, axis=1)], axis=1)
    out = np.zeros(n)
    for i in range(1, n):
        lo, hi = max(0, i - window_beats), min(n, i + window_beats)
        before = (csum[:, i] - csum[:, lo]) / (i - lo)
        after = (csum[:, hi] - csum[:, i]) / (hi - i)
        out[i] = float(np.sqrt(np.mean((after - before) ** 2)))
    return out


def boundary_strength(features: np.ndarray, band_db: np.ndarray, *, meter: int) -> np.ndarray:
    """(n,) how strongly a section starts at each beat: 0.25 x novelty (2-bar kernel) + 0.75 x
    band-level step (1-bar windows), each scaled by its median so neither dominates by units.

    Parameters
    ----------
    features : (d, n) beat-synchronous chroma / MFCC / loudness; ``band_db`` (bands, n) band levels.
    """
    bar = max(int(meter), 1)
    nov = novelty(features, half_beats=_KERNEL_HALF_BARS * bar)
    steps = band_steps(band_db, window_beats=bar)
    return _NOVELTY_WEIGHT * _unit_median(nov) + (1 - _NOVELTY_WEIGHT) * _unit_median(steps)


def _unit_median(x: np.ndarray) -> np.ndarray:
    med = float(np.median(x)) if len(x) else 0.0
    return x / med if med > 0 else x


def pick_boundaries(strength: np.ndarray, *, meter: int, phase: int) -> list[int]:
    """Beat indices of section starts: downbeats (``phase + k * meter``) at least one bar from
    either end whose ``strength`` is above mean + 1 std of those downbeats' strengths, strongest
    first, at least two bars apart."""
    n, bar = len(strength), max(meter, 1)
    downbeats = np.arange(phase % bar, n, bar)
    downbeats = downbeats[(downbeats >= bar) & (n - downbeats >= bar)]
    if len(downbeats) < 3:
        return []
    vals = strength[downbeats]
    threshold = vals.mean() + _PEAK_Z * vals.std()
    chosen: list[int] = []
    for i in downbeats[np.argsort(-vals, kind="stable")]:
        if strength[i] <= threshold:
            break
        if not any(abs(i - c) < _MIN_BARS * bar for c in chosen):
            chosen.append(int(i))
    return sorted(chosen)


def silent_spans(rms: np.ndarray, *, frame_s: float) -> list[tuple[float, float]]:
    """``(start_s, end_s)`` of runs of at least 1 s whose RMS is 50 dB under the loudest frame
    (or under -70 dBFS)."""
    peak = float(rms.max(initial=0.0))
    level = max(peak * 10 ** (_SILENCE_DB / 20), 10 ** (-70 / 20))
    quiet = np.concatenate([[0], (rms < level).astype(int), [0]])
    edges = np.flatnonzero(np.diff(quiet))
    spans = [(a * frame_s, b * frame_s) for a, b in zip(edges[::2], edges[1::2], strict=True)]
    return [(a, b) for a, b in spans if b - a >= _MIN_SILENCE_S]


def label_blocks(blocks: list[Block]) -> list[str]:
    """One label of ``SECTION_LABELS`` per block (see the module docstring)."""
    music = [i for i, b in enumerate(blocks) if not b.silent]
    labels = ["silence" if b.silent else "" for b in blocks]
    chorus = _chorus_blocks(blocks, music)
    for i in music:
        if i in chorus:
            labels[i] = "chorus"
        elif blocks[i].sung_share >= _SUNG_SHARE:
            labels[i] = "verse"
        else:
            labels[i] = "inst"
    _mark_bridges(blocks, labels, music)
    if music and labels[music[0]] == "inst":
        labels[music[0]] = "intro"
    if len(music) > 1 and labels[music[-1]] == "inst":
        labels[music[-1]] = "outro"
    return labels


def _similarity(a: Block, b: Block) -> float:
    return float(a.profile @ b.profile / (np.linalg.norm(a.profile) * np.linalg.norm(b.profile) + 1e-9))


def _chorus_blocks(blocks: list[Block], music: list[int]) -> set[int]:
    """The loudest repeated block and every block like it (none when nothing repeats)."""
    repeated = [i for i in music if any(j != i and _similarity(blocks[i], blocks[j]) >= _REPEAT_SIM
                                        for j in music)]
    if not repeated:
        return set()
    top = max(repeated, key=lambda i: blocks[i].loudness_db)
    return {top} | {j for j in music if j != top and _similarity(blocks[top], blocks[j]) >= _REPEAT_SIM}


def _mark_bridges(blocks: list[Block], labels: list[str], music: list[int]) -> None:
    """A sung block that repeats no verse and sits between two choruses is the bridge."""
    for k, i in enumerate(music):
        if labels[i] != "verse":
            continue
        before = any(labels[j] == "chorus" for j in music[:k])
        after = any(labels[j] == "chorus" for j in music[k + 1:])
        alone = not any(labels[j] == "verse" and _similarity(blocks[i], blocks[j]) >= _REPEAT_SIM
                        for j in music if j != i)
        if before and after and alone:
            labels[i] = "bridge"
