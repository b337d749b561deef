"""The analysis signal: mono float32 at 22.05 kHz, and the frame features every part shares."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from songforge.errors import InvalidRequest

__all__ = ["ANALYSIS_RATE_HZ", "HOP", "Signal", "prepare", "beat_sync", "MAX_DURATION_S", "MIN_DURATION_S"]

ANALYSIS_RATE_HZ = 22050
HOP = 512  # samples per analysis frame (23.2 ms at 22.05 kHz)
MIN_DURATION_S = 0.5
MAX_DURATION_S = 1200.0


@dataclass(frozen=True)
class Signal:
    """``y``: (n,) mono float32 at :data:`ANALYSIS_RATE_HZ`; ``rms``: (frames,) RMS per
    :data:`HOP`-sample frame; ``duration_s``: length of the original audio."""

    y: np.ndarray
    rms: np.ndarray
    duration_s: float

    @property
    def n_frames(self) -> int:
        return int(self.rms.shape[0])

    def frame_times_s(self, frames: np.ndarray) -> np.ndarray:
        """Frame indices -> seconds."""
        return np.asarray(frames, dtype=float) * HOP / ANALYSIS_RATE_HZ


def prepare(audio: np.ndarray, *, sample_rate_hz: int) -> Signal:
    """Check ``audio`` ((n,) or (n, channels), float or int) and make the analysis signal.

    Raises
    ------
    InvalidRequest : bad shape, rate, or a length outside 0.5 s - 20 min (``limit`` names it).
    """
    import librosa
    import soxr

    x = _as_mono(audio)
    if sample_rate_hz is None or int(sample_rate_hz) < 8000 or int(sample_rate_hz) > 384000:
        raise InvalidRequest(f"sample_rate_hz must be 8000-384000, not {sample_rate_hz}",
                             field="sample_rate_hz", limit="8000-384000")
    duration_s = len(x) / int(sample_rate_hz)
    if not MIN_DURATION_S <= duration_s <= MAX_DURATION_S:
        raise InvalidRequest(f"audio must last {MIN_DURATION_S}-{MAX_DURATION_S:.0f} s, not {duration_s:.2f} s",
                             field="audio", limit=f"duration_s {MIN_DURATION_S}-{MAX_DURATION_S:.0f}")
    y = x if int(sample_rate_hz) == ANALYSIS_RATE_HZ else soxr.resample(x, int(sample_rate_hz), ANALYSIS_RATE_HZ)
    y = np.ascontiguousarray(y, dtype=np.float32)
    rms = librosa.feature.rms(y=y, frame_length=2048, hop_length=HOP)[0]
    return Signal(y=y, rms=rms, duration_s=duration_s)


def _as_mono(audio: np.ndarray) -> np.ndarray:
    x = np.asarray(audio)
    if x.ndim == 2:
        x = x.mean(axis=1) if x.shape[1] <= 8 else x.mean(axis=0)
    if x.ndim != 1:
        raise InvalidRequest(f"audio must be (n,) or (n, channels), not {x.shape}", field="audio",
                             limit="shape (n,) or (n, channels)")
    if np.issubdtype(x.dtype, np.integer):
        x = x / float(np.iinfo(x.dtype).max)
    return np.nan_to_num(x.astype(np.float32))


def beat_sync(features: np.ndarray, beat_frames: np.ndarray, *, aggregate=np.median) -> np.ndarray:
    """Aggregate (d, frames) ``features`` between beats: (d, beats + 1); column 0 is the stretch
    before the first beat, column ``i + 1`` the stretch from beat ``i`` to the next (or the end).
    An empty stretch (a beat on frame 0) copies its neighbour."""
    n = features.shape[1]
    bounds = np.concatenate([[0], np.clip(beat_frames, 0, n), [n]]).astype(int)
    out = np.zeros((features.shape[0], len(bounds) - 1), dtype=float)
    for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        if b > a:
            out[:, i] = aggregate(features[:, a:b], axis=1)
    for i in range(out.shape[1]):
        if bounds[i + 1] <= bounds[i] and i + 1 < out.shape[1]:
            out[:, i] = out[:, i + 1]
    return out
