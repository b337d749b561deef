"""A split-band de-esser: turns down the sibilant band of a vocal only while it is too loud.

The band above ``crossover_hz`` is taken with a zero-phase high-pass; where its level
rises above the vocal's own loud level minus ``threshold_below_db``, that band (and only that
band) is turned down by the excess times ``1 - 1/ratio``, at most ``max_cut_db``. The rest of the
signal is untouched: ``out = x + (gain - 1) * band``, so with no sibilance ``out == x`` exactly.

Example
-------
>>> out = deess(vocal, sample_rate_hz=48000)  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

__all__ = ["deess"]

_WINDOW_S = 0.005
_RELEASE_S = 0.04


def deess(
    audio: np.ndarray,
    *,
    sample_rate_hz: int,
    crossover_hz: float = 5000.0,
    threshold_below_db: float = 14.0,
    ratio: float = 4.0,
    max_cut_db: float = 9.0,
) -> np.ndarray:
    """De-ess ``audio``.

    Parameters
    ----------
    audio : (n,) or (n, channels) float samples; channels share one gain curve.
    sample_rate_hz : rate of ``audio``.
    crossover_hz : the sibilant band starts here (a 2nd-order high-pass run forwards and
        backwards: no phase shift, so turning the band down takes it out of the signal).
    threshold_below_db : the band is cut where its level (5 ms frames) is above the whole signal's
        loud level (95th percentile of its 5 ms levels over sounding frames) minus this many dB.
    ratio : above the threshold, the band's level rises 1 dB per ``ratio`` dB.
    max_cut_db : the deepest cut.

    Returns
    -------
    np.ndarray : same shape and dtype as ``audio``.
    """
    x = np.asarray(audio)
    hop = max(1, int(_WINDOW_S * sample_rate_hz))
    if x.shape[0] < 4 * hop or not np.any(x):
        return x.copy()
    mono = np.ascontiguousarray(x if x.ndim == 1 else x.mean(axis=1), dtype=np.float32)
    whole_db = _frame_db(mono, hop)
    band_db = _frame_db(_zero_phase_highpass(mono, crossover_hz=crossover_hz, sample_rate_hz=sample_rate_hz), hop)
    sounding = whole_db > whole_db.max() - 60.0
    threshold_db = float(np.percentile(whole_db[sounding], 95)) - threshold_below_db
    cut_db = np.clip((band_db - threshold_db) * (1.0 - 1.0 / ratio), 0.0, max_cut_db)
    gain = 10.0 ** (-_attack_release(cut_db, release_frames=int(_RELEASE_S / _WINDOW_S)) / 20.0)
    out = x.copy()
    margin = 4 * hop
    for first, last in _runs(gain < 1.0 - 1e-4):  # only the cut passages are filtered again
        a, b = max(0, (first - 1) * hop), min(x.shape[0], (last + 1) * hop)
        lo, hi = max(0, a - margin), min(x.shape[0], b + margin)
        band = _zero_phase_highpass(x[lo:hi], crossover_hz=crossover_hz, sample_rate_hz=sample_rate_hz)[a - lo:b - lo]
        frame_gain = np.interp(np.arange(a, b), (np.arange(first - 1, last + 1) + 0.5) * hop,
                               np.pad(gain, 1, constant_values=1.0)[first:last + 2])
        out[a:b] += ((frame_gain - 1.0)[:, None] if x.ndim == 2 else frame_gain - 1.0) * band
    return out


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``(first, end)`` index pairs of the runs of True in ``mask`` (n,)."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def _zero_phase_highpass(x: np.ndarray, *, crossover_hz: float, sample_rate_hz: int) -> np.ndarray:
    """``x`` high-passed forwards then backwards (pedalboard's 12 dB/octave filter, float32)."""
    import pedalboard as pb

    def once(y: np.ndarray) -> np.ndarray:
        return np.asarray(pb.HighpassFilter(cutoff_frequency_hz=crossover_hz)(y, sample_rate_hz))

    x32 = np.ascontiguousarray(x, dtype=np.float32)
    forward = once(x32)
    return np.ascontiguousarray(once(np.ascontiguousarray(forward[::-1]))[::-1])


def _frame_db(mono: np.ndarray, hop: int) -> np.ndarray:
    """Mean power of ``mono`` (n,) over whole frames of ``hop`` samples, in dB (floor -200)."""
    frames = mono[: len(mono) // hop * hop].reshape(-1, hop)
    power = np.einsum("ij,ij->i", frames, frames, dtype=np.float64) / hop
    return 10.0 * np.log10(np.maximum(power, 1e-20))


def _attack_release(cut_db: np.ndarray, *, release_frames: int) -> np.ndarray:
    """The cut held over its neighbours (in place one frame early) and eased out over
    ``release_frames`` frames."""
    from scipy.ndimage import maximum_filter1d, uniform_filter1d

    held = maximum_filter1d(cut_db, size=3)
    return np.maximum(held, uniform_filter1d(held, size=max(1, release_frames)))
