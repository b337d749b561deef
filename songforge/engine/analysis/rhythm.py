"""Tempo, beats and meter: librosa's dynamic-programming beat tracker on the onset envelope,
then the bar length (3 or 4 beats) and downbeat phase from accent and chord-change patterns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from songforge.engine.analysis.signal import ANALYSIS_RATE_HZ, HOP, Signal

__all__ = ["Rhythm", "track_beats", "estimate_meter"]

_METERS = (4, 3)
_THREE_MARGIN = 1.08  # triple meter must explain the accents this much better than 4/4


@dataclass(frozen=True)
class Rhythm:
    """``tempo_bpm`` (0.0 when no beat was found); ``beat_frames`` (beats,) frame indices;
    ``beats_s`` the same in seconds; ``onset_env`` (frames,) onset strength."""

    tempo_bpm: float
    beat_frames: np.ndarray
    beats_s: np.ndarray
    onset_env: np.ndarray


def track_beats(signal: Signal) -> Rhythm:
    """Beat tracking on ``signal`` (librosa ``beat_track``, 120 BPM prior, tight 100)."""
    import librosa

    onset_env = librosa.onset.onset_strength(y=signal.y, sr=ANALYSIS_RATE_HZ, hop_length=HOP)
    if not np.any(onset_env > 0):
        empty = np.zeros(0, dtype=int)
        return Rhythm(0.0, empty, empty.astype(float), onset_env)
    _, beats = librosa.beat.beat_track(onset_envelope=onset_env, sr=ANALYSIS_RATE_HZ, hop_length=HOP)
    beats = np.asarray(beats, dtype=int)
    tempo_bpm = _tempo_from_beats(signal.frame_times_s(beats))
    return Rhythm(tempo_bpm, beats, signal.frame_times_s(beats), onset_env)


def _tempo_from_beats(beats_s: np.ndarray) -> float:
    """60 / beat period, the period fitted by least squares to the beat times numbered by the
    median interval (so a skipped beat counts as two); finer than the frame-quantised global
    estimate. 0.0 with fewer than 2 beats."""
    if len(beats_s) < 2:
        return 0.0
    median_s = float(np.median(np.diff(beats_s)))
    index = np.round((beats_s - beats_s[0]) / median_s)
    if len(beats_s) < 4 or np.ptp(index) == 0:
        return 60.0 / median_s
    period_s = float(np.polyfit(index, beats_s, 1)[0])
    return 60.0 / period_s if period_s > 0 else 60.0 / median_s


def estimate_meter(onset_env: np.ndarray, beat_frames: np.ndarray, beat_chroma: np.ndarray) -> tuple[int, int]:
    """``(beats per bar, index of the first downbeat among the beats)``.

    Parameters
    ----------
    onset_env : (frames,) onset strength; ``beat_frames`` (beats,) beat frame indices.
    beat_chroma : (12, beats + 1) beat-synchronous chroma (segment ``i + 1`` starts at beat ``i``).

    Each candidate (meter m, phase p) is scored by how much stronger the onsets and the chroma
    changes are on beats ``p, p + m, ...`` than on average; 3 beats must win by 8%.
    """
    if len(beat_frames) < 8:
        return 4, 0
    accent = _beat_accent(onset_env, beat_frames)
    change = _chroma_change(beat_chroma)
    best: dict[int, tuple[float, int]] = {}
    for m in _METERS:
        scores = [_phase_score(accent, m, p) + _phase_score(change, m, p) for p in range(m)]
        best[m] = (max(scores), int(np.argmax(scores)))
    meter = 3 if best[3][0] > best[4][0] * _THREE_MARGIN else 4
    return meter, best[meter][1]


def _beat_accent(onset_env: np.ndarray, beat_frames: np.ndarray) -> np.ndarray:
    """(beats,) peak onset strength within +-2 frames of each beat."""
    n = len(onset_env)
    return np.array([onset_env[max(0, b - 2):min(n, b + 3)].max(initial=0.0) for b in beat_frames])


def _chroma_change(beat_chroma: np.ndarray) -> np.ndarray:
    """(beats,) cosine distance between the chroma before and after each beat."""
    c = beat_chroma / (np.linalg.norm(beat_chroma, axis=0, keepdims=True) + 1e-9)
    return 1.0 - np.sum(c[:, :-1] * c[:, 1:], axis=0)


def _phase_score(values: np.ndarray, meter: int, phase: int) -> float:
    mean = float(values.mean())
    if mean <= 0:
        return 0.0
    return float(values[phase::meter].mean() / mean)
