"""Key and chords from chroma.

- Key: the mean chroma correlated with the 24 rotations of the Krumhansl-Kessler probe-tone
  profiles (:data:`songforge.engine.evaluate.KEY_PROFILES`).
- Chords: beat-synchronous chroma scored against 24 major/minor triad templates (plus "no chord"
  for quiet beats), smoothed by a Viterbi pass that favours holding a chord.
"""

from __future__ import annotations

import numpy as np

from songforge.engine.evaluate import KEY_PROFILES
from songforge.engine.score import PITCH_CLASSES

__all__ = ["estimate_key", "estimate_chords", "chord_label", "CHORD_QUALITIES"]

CHORD_QUALITIES = ("maj", "min")
_SELF_LOOP_P = 0.9  # Viterbi: chance a chord is held into the next beat
_SHARPNESS = 12.0  # softmax scale on template cosine similarities
_QUIET_DB = -45.0  # beats this far below the loudest are "no chord"


def estimate_key(chroma: np.ndarray) -> tuple[int, str, float]:
    """``(tonic pitch class, "major"|"minor", correlation)`` for (12, frames) ``chroma``.

    A silent chroma gives ``(0, "major", 0.0)``.
    """
    mean = np.asarray(chroma, dtype=float).mean(axis=1)
    if not np.any(mean > 0) or np.ptp(mean) == 0:
        return 0, "major", 0.0
    best = (-2.0, 0, "major")
    for mode, profile in KEY_PROFILES.items():
        for tonic in range(12):
            r = float(np.corrcoef(mean, np.roll(profile, tonic))[0, 1])
            if r > best[0]:
                best = (r, tonic, mode)
    return best[1], best[2], best[0]


def _templates() -> np.ndarray:
    """(24, 12) unit-norm triad templates: rows 0-11 major on C..B, 12-23 minor."""
    rows = []
    for third in (4, 3):
        for root in range(12):
            t = np.zeros(12)
            t[[root, (root + third) % 12, (root + 7) % 12]] = 1.0
            rows.append(t / np.linalg.norm(t))
    return np.array(rows)


def chord_label(root_pc: int, quality: str) -> str:
    """``(9, "min")`` -> ``"Am"``; quality ``"N"`` -> ``"N"``."""
    if quality == "N":
        return "N"
    return PITCH_CLASSES[root_pc % 12] + ("m" if quality == "min" else "")


def estimate_chords(beat_chroma: np.ndarray, beat_rms: np.ndarray) -> list[tuple[int, str]]:
    """One ``(root_pc, quality)`` per beat-synchronous column: quality ``"maj"``, ``"min"`` or
    ``"N"`` (root 0) for quiet columns.

    Parameters
    ----------
    beat_chroma : (12, n) beat-synchronous chroma; ``beat_rms`` (n,) RMS of the same stretches.
    """
    import librosa

    c = beat_chroma / (np.linalg.norm(beat_chroma, axis=0, keepdims=True) + 1e-9)
    sims = _templates() @ c  # (24, n) cosine similarities
    prob = np.exp(_SHARPNESS * (sims - sims.max(axis=0, keepdims=True)))
    prob /= prob.sum(axis=0, keepdims=True)
    transition = librosa.sequence.transition_loop(24, _SELF_LOOP_P)
    states = librosa.sequence.viterbi_discriminative(prob, transition)
    loud_db = 20 * np.log10(np.maximum(beat_rms, 1e-10) / max(float(beat_rms.max(initial=0.0)), 1e-10))
    return [(0, "N") if loud_db[i] < _QUIET_DB or beat_rms[i] < 1e-4 else
            (int(s % 12), CHORD_QUALITIES[int(s // 12)]) for i, s in enumerate(states)]
