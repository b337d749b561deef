"""Objective measures of a rendered song: loudness, peaks, clipping, DC, tempo and key.

All results are plain JSON-able values (``None`` stands for minus infinity, e.g. the loudness of
silence). Loudness is ITU-R BS.1770-4 / EBU R128 integrated loudness (pyloudnorm); true peak is the
largest magnitude after 4x oversampling (soxr, linear phase), as BS.1770-4 Annex 2 asks.

Tempo and key need librosa (its first call compiles numba code: a few seconds once per process).
"""

from __future__ import annotations

import functools
import math
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "integrated_lufs",
    "k_weighted_power",
    "loudness_from_power",
    "true_peak_dbtp",
    "oversampled_chunks",
    "clipped_samples",
    "dc_offset",
    "detect_tempo",
    "detect_key",
    "tempo_matches",
    "evaluate_audio",
    "evaluate_file",
    "write_spectrogram",
    "KEY_PROFILES",
]

_ANALYSIS_RATE_HZ = 22050
_TEMPO_TOLERANCE = 0.04
CLIP_LEVEL = 0.999  # |x| >= this is counted as clipped (int16 formats saturate at 32767/32768)

# Krumhansl-Kessler probe-tone profiles, index 0 = tonic.
KEY_PROFILES = {
    "major": (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88),
    "minor": (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17),
}
_PITCH_CLASSES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


def _as_2d(audio: np.ndarray) -> np.ndarray:
    x = np.asarray(audio, dtype=np.float32)
    return x[:, None] if x.ndim == 1 else x


# --- levels ----------------------------------------------------------------------------------


def integrated_lufs(audio: np.ndarray, sample_rate_hz: int) -> float:
    """Integrated loudness in LUFS of (n_samples,) or (n_samples, channels) audio.

    Channels are weighted 1.0 (BS.1770 L/R/C; 1.41 for channels 4-5); ``-inf`` for silence or audio
    under 0.4 s. A -20 dBFS (peak) 1 kHz sine reads -23.0 LUFS in one channel and -20.0 LUFS in both
    channels of a stereo file (the channel powers add: +3.01 dB).

    This is pyloudnorm's ``Meter(rate).integrated_loudness`` (same K-weighting coefficients, same
    400 ms / 75 % overlap block bounds, same two-stage gating), vectorised: the two weighting
    biquads in one float32 ``sosfilt`` per channel (channels in parallel threads), block energies
    from a cumulative sum, gating on arrays. It agrees with pyloudnorm to 1e-4 LU and takes about
    half its CPU time and a quarter of its wall time (3 minutes of 48 kHz stereo: 0.2 s of CPU).
    """
    x = _as_2d(audio)
    if x.shape[0] < int(0.4 * sample_rate_hz) + 1 or not np.any(x):
        return float("-inf")
    return loudness_from_power(k_weighted_power(x, sample_rate_hz), sample_rate_hz)


_ABSOLUTE_GATE_LUFS = -70.0
_PARALLEL_FILTER_SAMPLES = 1 << 20  # longer audio is K-weighted one thread per channel
_CHANNEL_WEIGHTS = (1.0, 1.0, 1.0, 1.41, 1.41)  # BS.1770 (and pyloudnorm) channel gains
_BLOCK_S = 0.4
_BLOCK_STEP = 0.25  # of a block: 75 % overlap


@functools.lru_cache(maxsize=8)
def _k_weighting_sos(sample_rate_hz: int) -> np.ndarray:
    """pyloudnorm's K-weighting (high shelf, then high pass) as second-order sections."""
    import pyloudnorm

    meter = pyloudnorm.Meter(sample_rate_hz)
    stages = [meter._filters["high_shelf"], meter._filters["high_pass"]]  # noqa: SLF001
    sos = np.array([np.concatenate([f.passband_gain * np.asarray(f.b), f.a]) for f in stages])
    return sos


def k_weighted_power(audio: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    """Channel-weighted instantaneous power of the K-weighted signal: float32 (n_samples,).

    :func:`loudness_from_power` of it is :func:`integrated_lufs`; a caller that will change the
    audio only by a slowly varying gain ``g[n]`` can estimate the new loudness from
    ``power * g**2`` without filtering again.
    """
    from scipy.signal import sosfilt

    x = _as_2d(audio)
    n, channels = x.shape
    if channels > len(_CHANNEL_WEIGHTS):
        raise ValueError(f"at most {len(_CHANNEL_WEIGHTS)} channels, not {channels}")
    # float32 filtering (as pyloudnorm stores its filtered signal): block powers agree with float64
    # to ~1e-5 relative (1e-4 dB) at half the memory traffic
    sos = _k_weighting_sos(sample_rate_hz).astype(np.float32)

    def _weighted_square(c: int) -> np.ndarray:
        y = sosfilt(sos, np.asarray(x[:, c], dtype=np.float32))  # a fresh contiguous array
        np.square(y, out=y)
        if _CHANNEL_WEIGHTS[c] != 1.0:
            y *= np.float32(_CHANNEL_WEIGHTS[c])
        return y

    if channels > 1 and n >= _PARALLEL_FILTER_SAMPLES:
        # sosfilt releases the GIL: filter the channels side by side (halves the wall time)
        with ThreadPoolExecutor(max_workers=channels) as pool:
            squares = list(pool.map(_weighted_square, range(channels)))
    else:
        squares = [_weighted_square(c) for c in range(channels)]
    power = squares[0]
    for other in squares[1:]:
        power += other
    return power


def loudness_from_power(power: np.ndarray, sample_rate_hz: int) -> float:
    """Gated integrated loudness (LUFS) from :func:`k_weighted_power`; ``-inf`` if nothing passes
    the gates or the audio is under 0.4 s."""
    n = power.shape[0]
    if n < int(_BLOCK_S * sample_rate_hz) + 1:
        return float("-inf")
    # block j spans [int(T_g * j * step * rate), int(T_g * (j * step + 1) * rate)) as in pyloudnorm
    duration_s = n / sample_rate_hz
    n_blocks = int(np.round((duration_s - _BLOCK_S) / (_BLOCK_S * _BLOCK_STEP))) + 1
    j = np.arange(n_blocks, dtype=np.float64)
    lower = (_BLOCK_S * (j * _BLOCK_STEP) * sample_rate_hz).astype(np.int64)
    upper = np.minimum((_BLOCK_S * (j * _BLOCK_STEP + 1) * sample_rate_hz).astype(np.int64), n)
    # sums between consecutive block bounds (float64), then their running total at each bound
    bounds = np.unique(np.concatenate([lower, upper, [0, n]]))
    pieces = np.add.reduceat(power, bounds[:-1], dtype=np.float64)
    cumulative = np.concatenate([[0.0], np.cumsum(pieces)])
    z = (
        cumulative[np.searchsorted(bounds, upper)] - cumulative[np.searchsorted(bounds, lower)]
    ) / (_BLOCK_S * sample_rate_hz)
    with np.errstate(divide="ignore"):
        block_lufs = -0.691 + 10.0 * np.log10(z)
    gated = z[block_lufs >= _ABSOLUTE_GATE_LUFS]
    if gated.size == 0:
        return float("-inf")
    relative_gate = -0.691 + 10.0 * math.log10(float(gated.mean())) - 10.0
    keep = z[(block_lufs > relative_gate) & (block_lufs > _ABSOLUTE_GATE_LUFS)]
    if keep.size == 0:
        return float("-inf")
    return float(-0.691 + 10.0 * math.log10(float(keep.mean())))


def true_peak_dbtp(audio: np.ndarray, sample_rate_hz: int) -> float:
    """True peak in dBTP: the largest |x| of the 4x-oversampled signal (``-inf`` for silence).

    The 4x signal (soxr HQ) is made and scanned in pieces of about a second, so that it never
    exists whole in memory (for 3 minutes of stereo it would be 280 MB, and allocating and scanning
    that cost more than the resampling itself).
    """
    x = np.ascontiguousarray(_as_2d(audio), dtype=np.float32)
    if x.size == 0:
        return float("-inf")
    peak = max(float(x.max()), -float(x.min()))
    for up in oversampled_chunks(x, sample_rate_hz):
        if up.size:
            peak = max(peak, float(up.max()), -float(up.min()))
    return 20.0 * math.log10(peak) if peak > 0 else float("-inf")


_OVERSAMPLE_CHUNK = 1 << 15  # input frames per piece


def oversampled_chunks(x: np.ndarray, sample_rate_hz: int, *, factor: int = 4):
    """Yield the ``factor``-x oversampled (soxr HQ, linear phase) ``x`` in consecutive pieces.

    ``x`` is float32 (n_samples, channels). The pieces concatenate to ``factor * n_samples`` frames,
    the same samples as a one-shot ``soxr.resample`` of the whole, aligned with the input (piece
    boundaries need not fall on multiples of ``factor``).
    """
    import soxr

    n, channels = x.shape
    stream = soxr.ResampleStream(
        sample_rate_hz, factor * sample_rate_hz, channels, dtype="float32", quality="HQ"
    )
    for start in range(0, n, _OVERSAMPLE_CHUNK):
        piece = x[start : start + _OVERSAMPLE_CHUNK]
        yield stream.resample_chunk(piece, last=start + _OVERSAMPLE_CHUNK >= n)


def clipped_samples(audio: np.ndarray, *, level: float = CLIP_LEVEL) -> int:
    """Number of sample values (over all channels) with |x| >= ``level`` of full scale."""
    return int(np.count_nonzero(np.abs(_as_2d(audio)) >= level))


def dc_offset(audio: np.ndarray) -> list[float]:
    """Mean of each channel (full scale = 1.0)."""
    return [float(v) for v in _as_2d(audio).mean(axis=0, dtype=np.float64)]


# --- tempo and key ---------------------------------------------------------------------------


def _mono_analysis(audio: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    import soxr

    x = _as_2d(audio)
    mono = np.sum([x[:, c] for c in range(x.shape[1])], axis=0, dtype=np.float32) / x.shape[1]
    if sample_rate_hz != _ANALYSIS_RATE_HZ:
        mono = soxr.resample(mono, sample_rate_hz, _ANALYSIS_RATE_HZ, quality="HQ")
    return np.ascontiguousarray(mono, dtype=np.float32)


def detect_tempo(audio: np.ndarray, *, sample_rate_hz: int) -> dict[str, Any]:
    """Beat tracking (librosa ``beat_track`` on a 22.05 kHz mono copy).

    Returns ``{"bpm": float, "beat_times_s": [float, ...]}``.
    """
    import librosa

    y = _mono_analysis(audio, sample_rate_hz)
    tempo, beats = librosa.beat.beat_track(y=y, sr=_ANALYSIS_RATE_HZ, units="time")
    bpm = float(np.atleast_1d(tempo)[0])
    return {"bpm": round(bpm, 3), "beat_times_s": [round(float(t), 4) for t in beats]}


def detect_key(audio: np.ndarray, *, sample_rate_hz: int) -> dict[str, Any]:
    """Key from the mean CQT chroma against the 24 rotated Krumhansl-Kessler profiles.

    Returns ``{"tonic_pc": 0-11, "mode": "major"|"minor", "name": "C major", "correlation": r}``.
    """
    import librosa

    y = _mono_analysis(audio, sample_rate_hz)
    chroma = librosa.feature.chroma_cqt(y=y, sr=_ANALYSIS_RATE_HZ).mean(axis=1)
    return _best_key(chroma)


def _best_key(chroma: np.ndarray) -> dict[str, Any]:
    best = (-2.0, 0, "major")
    for mode, profile in KEY_PROFILES.items():
        for tonic in range(12):
            r = float(np.corrcoef(chroma, np.roll(profile, tonic))[0, 1])
            if np.isfinite(r) and r > best[0]:
                best = (r, tonic, mode)
    r, tonic, mode = best
    return {
        "tonic_pc": tonic,
        "mode": mode,
        "name": f"{_PITCH_CLASSES[tonic]} {mode}",
        "correlation": round(r, 4),
    }


def tempo_matches(
    detected_bpm: float, planned_bpm: float, *, meter: tuple[int, int] | None = None
) -> bool:
    """Whether a detected tempo agrees with the plan within 4%, at a related metrical level.

    Beat trackers often lock to half or double the written beat, so x2 and x1/2 are accepted. In
    compound meters (6/8, 9/8, 12/8: numerator divisible by 3 over an 8) the beat divides in three:
    a tracker may follow the eighth notes (x3 of the dotted-quarter pulse), the dotted quarters, or
    plain quarter notes (x1.5 / x2/3 of the pulse, or the same ratios the other way if the plan gives
    the quarter-note tempo), so x3, x1/3, x1.5 and x2/3 are accepted too.
    """
    if planned_bpm <= 0 or detected_bpm <= 0:
        return False
    ratios = [1.0, 2.0, 0.5]
    if meter is not None and _is_compound(meter):
        ratios += [3.0, 1 / 3, 1.5, 2 / 3]
    return any(abs(detected_bpm / (planned_bpm * k) - 1.0) <= _TEMPO_TOLERANCE for k in ratios)


def _is_compound(meter: tuple[int, int] | list[int]) -> bool:
    num, den = int(meter[0]), int(meter[1])
    return den == 8 and num % 3 == 0 and num >= 6


# --- reports ---------------------------------------------------------------------------------


def _json_db(value: float) -> float | None:
    return round(value, 3) if np.isfinite(value) else None


def evaluate_audio(
    audio: np.ndarray,
    *,
    sample_rate_hz: int,
    plan: dict[str, Any] | None = None,
    analyze: bool = True,
) -> dict[str, Any]:
    """Measure a song.

    Parameters
    ----------
    audio : float (n_samples,) or (n_samples, channels), full scale 1.0.
    sample_rate_hz : rate in Hz.
    plan : optional ``{"tempo_bpm", "tonic_pc", "mode", "meter"?}`` to check against.
    analyze : False skips tempo and key (librosa).

    Returns
    -------
    dict with ``duration_s``, ``sample_rate_hz``, ``channels``, ``integrated_lufs``, ``true_peak_dbtp``,
    ``clipped_samples``, ``dc_offset`` (per channel), and when analysed ``tempo_bpm``,
    ``beat_times_s``, ``key`` (dict), ``key_name``; with a plan also ``tempo_ok`` and ``key_ok``.
    """
    x = _as_2d(audio)
    report: dict[str, Any] = {
        "duration_s": round(x.shape[0] / sample_rate_hz, 4),
        "sample_rate_hz": int(sample_rate_hz),
        "channels": int(x.shape[1]),
        "integrated_lufs": _json_db(integrated_lufs(x, sample_rate_hz)),
        "true_peak_dbtp": _json_db(true_peak_dbtp(x, sample_rate_hz)),
        "clipped_samples": clipped_samples(x),
        "dc_offset": [round(v, 6) for v in dc_offset(x)],
    }
    if analyze and x.shape[0] >= sample_rate_hz:
        tempo = detect_tempo(x, sample_rate_hz=sample_rate_hz)
        key = detect_key(x, sample_rate_hz=sample_rate_hz)
        report.update(
            tempo_bpm=tempo["bpm"],
            beat_times_s=tempo["beat_times_s"],
            key=key,
            key_name=key["name"],
        )
        if plan:
            report.update(_check_plan(report, plan))
    return report


def _check_plan(report: dict[str, Any], plan: dict[str, Any]) -> dict[str, Any]:
    checks: dict[str, Any] = {}
    meter = plan.get("meter")
    if plan.get("tempo_bpm") is not None:
        meter_t = tuple(meter) if meter else None
        checks["tempo_ok"] = tempo_matches(
            report["tempo_bpm"], float(plan["tempo_bpm"]), meter=meter_t
        )
    if plan.get("tonic_pc") is not None and plan.get("mode"):
        key = report["key"]
        checks["key_ok"] = (
            int(plan["tonic_pc"]) % 12 == key["tonic_pc"] and str(plan["mode"]) == key["mode"]
        )
    return checks


def evaluate_file(
    path: str | Path,
    *,
    plan: dict[str, Any] | None = None,
    spectrogram_png: str | Path | None = None,
) -> dict[str, Any]:
    """Decode ``path`` (wav, flac, mp3, ...) and :func:`evaluate_audio` it.

    Adds ``path``, ``format`` and (when written) ``spectrogram_png``. Clipping is counted at
    ``CLIP_LEVEL`` (0.999 of full scale) so that int16 formats, which cannot hold 1.0, count.
    """
    from songforge.engine.encode import decode

    audio, sample_rate_hz = decode(Path(path))
    report = evaluate_audio(audio, sample_rate_hz=sample_rate_hz, plan=plan)
    report = {"path": str(path), "format": Path(path).suffix.lstrip(".").lower(), **report}
    if spectrogram_png is not None:
        write_spectrogram(
            audio, sample_rate_hz=sample_rate_hz, path=spectrogram_png, title=Path(path).name
        )
        report["spectrogram_png"] = str(spectrogram_png)
    return report


def write_spectrogram(
    audio: np.ndarray, *, sample_rate_hz: int, path: str | Path, title: str = ""
) -> Path:
    """Write a log-frequency spectrogram (dB, mono mix) PNG with matplotlib's Agg backend."""
    import librosa
    import librosa.display
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    y = _mono_analysis(audio, sample_rate_hz)
    spec = librosa.amplitude_to_db(
        np.abs(librosa.stft(y, n_fft=2048, hop_length=512)), ref=np.max, top_db=90
    )
    fig = Figure(figsize=(12, 5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    img = librosa.display.specshow(
        spec, sr=_ANALYSIS_RATE_HZ, hop_length=512, x_axis="time", y_axis="log", ax=ax
    )
    fig.colorbar(img, ax=ax, format="%+2.0f dB")
    ax.set_title(title or "spectrogram")
    fig.tight_layout()
    fig.savefig(str(path))
    return Path(path)
