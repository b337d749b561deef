"""Mix stems by role and master the result (pedalboard processors, pyloudnorm loudness).

Every effect here has the form ``(audio, sample_rate_hz) -> audio`` (a ``pedalboard.Pedalboard``
is one), with audio float32 shaped (n_samples, 2).

Mixing (:func:`mix_stems`): each stem goes through its role's chain (high-pass, EQ, compressor),
is levelled to its role's loudness, and gets its own reverb (and, for leads and vocals, delay)
send added. The reverb is linear, so one reverb per stem with the same settings is the same as a
shared reverb bus whose return is attributed to the stems that fed it: the processed stems sum
exactly to the mix before the bus compressor, and exported stems are honest.

Mastering (:func:`master`): 25 Hz high-pass (FluidR3 has a DC offset), gentle EQ, a 2:1 glue
compressor, then gain to the target loudness and an offline look-ahead true-peak limiter, repeated
until the loudness is within 0.1 LU and the true peak under the ceiling. (pedalboard's ``Limiter`` is
a two-stage compressor that adds make-up gain equal to -threshold and then hard-clips, which breaks
loudness targets; the limiter here only ever turns the gain down.)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from songforge.engine.evaluate import integrated_lufs, true_peak_dbtp

__all__ = [
    "ROLES",
    "RoleMix",
    "ROLE_MIX",
    "role_chain",
    "mix_stems",
    "master",
    "limit_true_peak",
    "MIX_LUFS",
]

Effect = Callable[[np.ndarray, int], np.ndarray]

ROLES = ("drums", "bass", "chords", "pad", "lead", "arp", "counter", "vocal", "harmony_vocal", "fx")
MIX_LUFS = -18.0  # level of the pre-master mix; the master takes it to the target
_LEVEL_RATE_HZ = (
    12000  # stem loudness for gain staging is measured at this rate (fast, close enough)
)


@dataclass(frozen=True)
class RoleMix:
    """How one role is mixed.

    Parameters
    ----------
    highpass_hz : high-pass cutoff in Hz.
    eq : ``(kind, freq_hz, gain_db, q)`` moves; kind is ``low_shelf``, ``peak`` or ``high_shelf``.
    compressor : ``(threshold_db, ratio, attack_ms, release_ms)`` or ``None``.
    level_lufs : loudness the stem is levelled to (vocals: relative to the accompaniment, see
        :func:`mix_stems`).
    reverb_send : reverb return level (0 = none), scaled by the style's ``reverb_room``.
    delay_send : feedback-delay return level (0 = none).
    """

    highpass_hz: float
    eq: tuple[tuple[str, float, float, float], ...] = ()
    compressor: tuple[float, float, float, float] | None = None
    level_lufs: float = -24.0
    reverb_send: float = 0.0
    delay_send: float = 0.0


ROLE_MIX: dict[str, RoleMix] = {
    "drums": RoleMix(
        30,
        (("peak", 400, -2.0, 1.0), ("high_shelf", 8000, 1.5, 0.7)),
        (-18, 3.0, 5, 80),
        -20.0,
        0.06,
    ),
    "bass": RoleMix(
        35, (("low_shelf", 80, 1.0, 0.7), ("peak", 250, -2.0, 1.0)), (-20, 4.0, 10, 120), -21.0, 0.0
    ),
    "chords": RoleMix(
        110,
        (("peak", 300, -2.0, 1.0), ("high_shelf", 6000, 1.0, 0.7)),
        (-20, 2.5, 15, 150),
        -23.0,
        0.14,
    ),
    "pad": RoleMix(150, (("peak", 400, -3.0, 0.8),), (-24, 2.0, 30, 250), -27.0, 0.22),
    "lead": RoleMix(150, (("peak", 3000, 1.5, 1.0),), (-20, 3.0, 10, 120), -21.5, 0.12, 0.08),
    "arp": RoleMix(200, (("peak", 2500, 1.0, 1.0),), (-20, 2.0, 10, 120), -25.0, 0.16, 0.10),
    "counter": RoleMix(150, (("peak", 400, -2.0, 1.0),), (-20, 2.5, 10, 120), -24.0, 0.14),
    "vocal": RoleMix(
        90,
        (("peak", 250, -2.0, 1.0), ("peak", 3000, 2.0, 1.0), ("high_shelf", 10000, 1.5, 0.7)),
        (-22, 3.5, 5, 100),
        -20.0,
        0.14,
        0.08,
    ),
    "harmony_vocal": RoleMix(150, (("peak", 3000, 1.0, 1.0),), (-22, 3.0, 5, 100), -27.0, 0.20),
    "fx": RoleMix(100, (), None, -28.0, 0.22),
}
_FALLBACK_ROLE = "chords"
_VOCAL_OVER_ACCOMP_DB = 4.0
_HARMONY_BELOW_VOCAL_DB = 7.0


# --- chains ----------------------------------------------------------------------------------


def role_chain(role: str) -> Effect:
    """The insert chain (high-pass, EQ, compressor) for ``role``: a ``pedalboard.Pedalboard``."""
    import pedalboard as pb

    spec = ROLE_MIX.get(role, ROLE_MIX[_FALLBACK_ROLE])
    plugins: list[Any] = [pb.HighpassFilter(cutoff_frequency_hz=spec.highpass_hz)]
    plugins += [_eq_plugin(*move) for move in spec.eq]
    if spec.compressor is not None:
        threshold_db, ratio, attack_ms, release_ms = spec.compressor
        plugins.append(
            pb.Compressor(
                threshold_db=threshold_db, ratio=ratio, attack_ms=attack_ms, release_ms=release_ms
            )
        )
    return pb.Pedalboard(plugins)


def _eq_plugin(kind: str, freq_hz: float, gain_db: float, q: float) -> Any:  # pedalboard.Plugin
    import pedalboard as pb

    cls = {"low_shelf": pb.LowShelfFilter, "peak": pb.PeakFilter, "high_shelf": pb.HighShelfFilter}[
        kind
    ]
    return cls(cutoff_frequency_hz=freq_hz, gain_db=gain_db, q=q)


def _reverb(*, room: float, send: float) -> Effect:
    import pedalboard as pb

    return pb.Pedalboard(
        [pb.Reverb(room_size=room, damping=0.5, wet_level=send, dry_level=0.0, width=1.0)]
    )


def _delay(*, send: float) -> Effect:
    import pedalboard as pb

    return pb.Pedalboard(
        [
            pb.HighpassFilter(300.0),
            pb.Delay(delay_seconds=0.32, feedback=0.25, mix=1.0),
            pb.Gain(_db(send)),
        ]
    )


def _db(linear: float) -> float:
    return float(20.0 * np.log10(max(linear, 1e-9)))


def _gain(db: float) -> float:
    return float(10.0 ** (db / 20.0))


# --- mixing ----------------------------------------------------------------------------------


def mix_stems(
    stems: Mapping[str, np.ndarray],
    *,
    roles: Mapping[str, str],
    sample_rate_hz: int,
    style_mix: Mapping[str, float] | None = None,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Mix stems into a stereo pre-master at about ``MIX_LUFS`` (-18 LUFS).

    Parameters
    ----------
    stems : ``{name: audio}``, float32 (n_samples, 2), all the same length, already panned.
    roles : ``{name: role}``; roles are those of :data:`ROLES` (unknown ones mix like ``chords``).
    sample_rate_hz : rate of the stems in Hz.
    style_mix : optional numbers from the genre style: ``reverb_room`` (0-1, default 0.3),
        ``drive_db`` (bus saturation, default 0), ``vocal_over_accomp_db`` (default 4),
        ``bus_ratio`` (bus compressor, default 1.5), ``gain_db_<role>`` (level offsets) and
        ``reverb_<role>`` (send levels).

    Returns
    -------
    (mix, processed): mix float32 (n_samples, 2) after the bus; processed ``{name: audio}`` whose
    sum equals the mix before the bus compressor and saturation.

    Notes
    -----
    Instruments are levelled to role loudness targets; the ``vocal`` stem is set
    ``vocal_over_accomp_db`` above the summed accompaniment and ``harmony_vocal`` 7 dB under the
    vocal. Silent stems pass through at zero.
    """
    options = dict(style_mix or {})
    if not stems:
        raise ValueError("mix_stems needs at least one stem")
    n_samples = _common_length(stems)
    names = list(stems)
    role_of = {name: roles.get(name, _FALLBACK_ROLE) for name in names}
    dry = _parallel(
        lambda n: _insert(stems[n], role=role_of[n], sample_rate_hz=sample_rate_hz), names
    )
    levels = _parallel(
        lambda n: _level_gain_db(
            dry[n], role=role_of[n], options=options, sample_rate_hz=sample_rate_hz
        ),
        names,
    )
    _level_vocals(dry, levels, role_of=role_of, options=options, sample_rate_hz=sample_rate_hz)
    for name in names:
        dry[name] *= np.float32(_gain(levels[name]))
    processed = _parallel(
        lambda n: _add_sends(
            dry[n], role=role_of[n], options=options, sample_rate_hz=sample_rate_hz
        ),
        names,
    )
    trim = _gain(_trim_to_mix_level(processed, sample_rate_hz=sample_rate_hz))
    for name in names:
        processed[name] *= np.float32(trim)
    summed = np.sum([processed[n] for n in names], axis=0, dtype=np.float32).reshape(n_samples, 2)
    return _bus(summed, sample_rate_hz=sample_rate_hz, options=options), processed


def _common_length(stems: Mapping[str, np.ndarray]) -> int:
    lengths = {a.shape[0] for a in stems.values()}
    if len(lengths) != 1 or any(a.ndim != 2 or a.shape[1] != 2 for a in stems.values()):
        raise ValueError("stems must all be shaped (n_samples, 2) with the same n_samples")
    return lengths.pop()


def _parallel(fn: Callable[[str], np.ndarray | float], names: list[str]) -> dict:
    """``{name: fn(name)}`` computed in threads (pedalboard and most numpy release the GIL)."""
    with ThreadPoolExecutor(max_workers=min(4, max(1, len(names)))) as pool:
        return dict(zip(names, pool.map(fn, names), strict=True))


def _insert(audio: np.ndarray, *, role: str, sample_rate_hz: int) -> np.ndarray:
    chain = role_chain(role)
    return np.ascontiguousarray(
        chain(np.asarray(audio, dtype=np.float32), sample_rate_hz), dtype=np.float32
    )


def _fast_lufs(audio: np.ndarray, *, sample_rate_hz: int) -> float:
    """Integrated loudness measured on a 12 kHz copy: role levelling only (it reads noisy,
    bright stems a few dB low; vocal-vs-accompaniment and the mix level use the full rate)."""
    import soxr

    low = (
        soxr.resample(audio, sample_rate_hz, _LEVEL_RATE_HZ, quality="LQ")
        if sample_rate_hz > _LEVEL_RATE_HZ
        else audio
    )
    return integrated_lufs(
        low, _LEVEL_RATE_HZ if sample_rate_hz > _LEVEL_RATE_HZ else sample_rate_hz
    )


def _level_gain_db(
    audio: np.ndarray, *, role: str, options: Mapping[str, float], sample_rate_hz: int
) -> float:
    """Gain in dB taking the stem to its role's loudness (0 for silence and for vocals)."""
    if role in ("vocal", "harmony_vocal"):
        return 0.0
    loudness = _fast_lufs(audio, sample_rate_hz=sample_rate_hz)
    if not np.isfinite(loudness):
        return 0.0
    spec = ROLE_MIX.get(role, ROLE_MIX[_FALLBACK_ROLE])
    return spec.level_lufs + float(options.get(f"gain_db_{role}", 0.0)) - loudness


def _level_vocals(
    dry: dict[str, np.ndarray],
    levels: dict[str, float],
    *,
    role_of: Mapping[str, str],
    options: Mapping[str, float],
    sample_rate_hz: int,
) -> None:
    """Set vocal gains (in ``levels``) relative to the levelled accompaniment."""
    vocals = [n for n in dry if role_of[n] in ("vocal", "harmony_vocal")]
    if not vocals:
        return
    accomp = [dry[n] * np.float32(_gain(levels[n])) for n in dry if n not in vocals]
    accomp_lufs = integrated_lufs(np.sum(accomp, axis=0), sample_rate_hz) if accomp else MIX_LUFS
    if not np.isfinite(accomp_lufs):
        accomp_lufs = MIX_LUFS
    vocal_lufs = accomp_lufs + float(options.get("vocal_over_accomp_db", _VOCAL_OVER_ACCOMP_DB))
    for name in vocals:
        target = vocal_lufs - (_HARMONY_BELOW_VOCAL_DB if role_of[name] == "harmony_vocal" else 0.0)
        target += float(options.get(f"gain_db_{role_of[name]}", 0.0))
        loudness = integrated_lufs(dry[name], sample_rate_hz)
        levels[name] = target - loudness if np.isfinite(loudness) else 0.0


def _add_sends(
    audio: np.ndarray, *, role: str, options: Mapping[str, float], sample_rate_hz: int
) -> np.ndarray:
    spec = ROLE_MIX.get(role, ROLE_MIX[_FALLBACK_ROLE])
    room = float(np.clip(options.get("reverb_room", 0.3), 0.0, 1.0))
    reverb_send = float(options.get(f"reverb_{role}", spec.reverb_send))
    out = audio.copy()
    if reverb_send > 0:
        out += _reverb(room=0.45 + 0.5 * room, send=reverb_send)(audio, sample_rate_hz)
    if spec.delay_send > 0:
        out += _delay(send=spec.delay_send)(audio, sample_rate_hz)
    return out


def _trim_to_mix_level(processed: Mapping[str, np.ndarray], *, sample_rate_hz: int) -> float:
    loudness = integrated_lufs(np.sum(list(processed.values()), axis=0), sample_rate_hz)
    return MIX_LUFS - loudness if np.isfinite(loudness) else 0.0


def _bus(audio: np.ndarray, *, sample_rate_hz: int, options: Mapping[str, float]) -> np.ndarray:
    """Bus compressor and optional tanh saturation (``drive_db``)."""
    import pedalboard as pb

    ratio = float(options.get("bus_ratio", 1.5))
    out = pb.Compressor(threshold_db=-16.0, ratio=ratio, attack_ms=30.0, release_ms=200.0)(
        audio, sample_rate_hz
    )
    drive_db = float(options.get("drive_db", 0.0))
    if drive_db > 0:
        drive = np.float32(
            _gain(drive_db) * 2.0
        )  # the mix peaks near -6 dBFS: drive those into the knee
        out = np.tanh(out * drive) / drive
    return np.ascontiguousarray(out, dtype=np.float32)


# --- mastering -------------------------------------------------------------------------------


def master(
    audio: np.ndarray,
    *,
    sample_rate_hz: int,
    target_lufs: float = -14.0,
    ceiling_dbtp: float = -1.0,
    max_iterations: int = 4,
) -> np.ndarray:
    """Master a stereo mix to a loudness target under a true-peak ceiling.

    Parameters
    ----------
    audio : float32 (n_samples, 2) mix (any level).
    sample_rate_hz : rate in Hz.
    target_lufs : integrated loudness target (EBU R128 / BS.1770), LUFS.
    ceiling_dbtp : true-peak ceiling (4x oversampled), dBTP.
    max_iterations : gain -> limit -> re-measure rounds.

    Returns
    -------
    float32 (n_samples, 2) within 0.5 LU of ``target_lufs`` (usually 0.1), true peak <= ``ceiling_dbtp``,
    no sample at or above full scale, DC removed. Silence comes back unchanged; audio too short
    or quiet to measure (under 0.4 s, under -70 LUFS) only gets its peaks brought under the ceiling.
    """
    x = np.ascontiguousarray(audio, dtype=np.float32)
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"master expects audio shaped (n_samples, 2), not {x.shape}")
    loudness = integrated_lufs(x, sample_rate_hz)
    if not np.isfinite(
        loudness
    ):  # silence, or too short / too quiet to gate: only keep the ceiling
        return _final_safety(x.copy(), sample_rate_hz=sample_rate_hz, ceiling_dbtp=ceiling_dbtp)
    x = _master_chain(x * np.float32(_gain(MIX_LUFS - loudness)), sample_rate_hz=sample_rate_hz)
    return _normalize_and_limit(
        x,
        sample_rate_hz=sample_rate_hz,
        target_lufs=target_lufs,
        ceiling_dbtp=ceiling_dbtp,
        max_iterations=max_iterations,
    )


def _master_chain(audio: np.ndarray, *, sample_rate_hz: int) -> np.ndarray:
    """25 Hz high-pass (twice: 12 dB/oct), gentle EQ, 2:1 glue compressor; input near -18 LUFS."""
    import pedalboard as pb

    board = pb.Pedalboard(
        [
            pb.HighpassFilter(cutoff_frequency_hz=25.0),
            pb.HighpassFilter(cutoff_frequency_hz=25.0),
            pb.LowShelfFilter(cutoff_frequency_hz=90.0, gain_db=0.5, q=0.7),
            pb.PeakFilter(cutoff_frequency_hz=300.0, gain_db=-0.5, q=0.8),
            pb.HighShelfFilter(cutoff_frequency_hz=11000.0, gain_db=1.0, q=0.7),
            pb.Compressor(threshold_db=-16.0, ratio=2.0, attack_ms=30.0, release_ms=250.0),
        ]
    )
    return np.ascontiguousarray(board(audio, sample_rate_hz), dtype=np.float32)


def _normalize_and_limit(
    audio: np.ndarray,
    *,
    sample_rate_hz: int,
    target_lufs: float,
    ceiling_dbtp: float,
    max_iterations: int,
) -> np.ndarray:
    """Gain to the target, limit true peaks, re-measure and correct the gain; repeat."""
    gain_db = target_lufs - integrated_lufs(audio, sample_rate_hz)
    limit_at = ceiling_dbtp - 0.3  # margin for the inter-sample peaks of the gain change itself
    out = audio
    for _ in range(max(1, max_iterations)):
        out = limit_true_peak(
            audio * np.float32(_gain(gain_db)), sample_rate_hz=sample_rate_hz, ceiling_dbtp=limit_at
        )
        error_db = target_lufs - integrated_lufs(out, sample_rate_hz)
        if abs(error_db) < 0.1:
            break
        gain_db += error_db
    return _final_safety(out, sample_rate_hz=sample_rate_hz, ceiling_dbtp=ceiling_dbtp)


def _final_safety(audio: np.ndarray, *, sample_rate_hz: int, ceiling_dbtp: float) -> np.ndarray:
    """Scale down if the true peak still tops the ceiling; keep every sample under full scale."""
    peak_db = true_peak_dbtp(audio, sample_rate_hz)
    if peak_db > ceiling_dbtp - 0.05:
        audio = audio * np.float32(_gain(ceiling_dbtp - 0.05 - peak_db))
    return np.clip(audio, -0.999, 0.999).astype(np.float32, copy=False)


def limit_true_peak(
    audio: np.ndarray,
    *,
    sample_rate_hz: int,
    ceiling_dbtp: float = -1.0,
    lookahead_ms: float = 8.0,
    hold_ms: float = 30.0,
) -> np.ndarray:
    """Offline look-ahead limiter on 4x-oversampled peaks; it only ever lowers the gain.

    The required gain ``g[n] = min(1, ceiling / peak[n])`` (``peak`` = largest |x| over the
    channels and the four oversampled points of sample ``n``) is min-filtered over
    ``[n - hold, n + lookahead)`` and then box-averaged over ``lookahead``: the smoothed gain is never
    above ``g`` (each averaged value comes from a window that contains ``n``), ramps down over
    ``lookahead_ms`` before a peak and back up after ``hold_ms``.

    Parameters
    ----------
    audio : float32 (n_samples, channels).
    sample_rate_hz : rate in Hz.
    ceiling_dbtp : peak ceiling in dBTP.
    lookahead_ms, hold_ms : attack ramp and hold times in milliseconds.

    Returns
    -------
    float32 array shaped like ``audio``.
    """
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    peak = _oversampled_peak(audio, sample_rate_hz=sample_rate_hz)
    ceiling = _gain(ceiling_dbtp)
    needed = np.minimum(1.0, ceiling / np.maximum(peak, 1e-12)).astype(np.float32)
    if needed.min() >= 1.0:
        return audio.astype(np.float32, copy=True)
    ahead = max(1, int(round(lookahead_ms * 1e-3 * sample_rate_hz)))
    hold = max(0, int(round(hold_ms * 1e-3 * sample_rate_hz)))
    size = hold + ahead
    held = minimum_filter1d(needed, size=size, origin=hold - size // 2, mode="nearest")
    smooth = uniform_filter1d(held, size=ahead, origin=(ahead - 1) - ahead // 2, mode="nearest")
    smooth = np.minimum(smooth, needed)  # float rounding of the average
    return (audio * smooth[:, None]).astype(np.float32, copy=False)


def _oversampled_peak(audio: np.ndarray, *, sample_rate_hz: int) -> np.ndarray:
    """Per-sample peak |x| over channels and 4x-oversampled points: float32 (n_samples,)."""
    import soxr

    n = audio.shape[0]
    up = soxr.resample(
        np.ascontiguousarray(audio, dtype=np.float32),
        sample_rate_hz,
        4 * sample_rate_hz,
        quality="HQ",
    )
    up = _max_over_columns(np.abs(up))
    if up.shape[0] < 4 * n:
        up = np.pad(up, (0, 4 * n - up.shape[0]))
    over = _max_over_columns(up[: 4 * n].reshape(n, 4))
    return np.maximum(over, _max_over_columns(np.abs(audio)))


def _max_over_columns(x: np.ndarray) -> np.ndarray:
    """Row-wise max of a narrow 2-D array (much faster than ``x.max(axis=1)`` for few columns)."""
    if x.shape[1] == 1:
        return x[:, 0].copy()
    out = np.maximum(x[:, 0], x[:, 1])
    for column in range(2, x.shape[1]):
        np.maximum(out, x[:, column], out=out)
    return out
