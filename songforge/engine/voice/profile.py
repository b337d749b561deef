"""Voice profiles measured from vocal audio: register, vibrato, brightness and breathiness.

:func:`measure_voice` tracks F0 with pyworld (dio + stonemask, 5 ms frames) and reads the
spectral envelope (CheapTrick) and aperiodicity (D4C) of the voiced frames:

* register: median F0 and the 10th-90th percentile range, as MIDI numbers;
* vibrato: the F0 contour in cents minus its 0.3 s running median (which keeps note steps and
  removes a 4-8 Hz wobble), frames near note changes left out, band-passed to 3-9 Hz; depth is
  the 80th percentile of the 0.2 s running RMS times sqrt(2) (a sine's peak), rate is half the
  zero-crossing rate of the wobble;
* brightness: the centroid (300-5000 Hz) of the mean spectral envelope; ``formant_warp`` is its
  ratio to the base (slt) voice's, :data:`BASE_CENTROID_HZ`;
* breathiness: mean 1-5 kHz aperiodicity above the base voice's :data:`BASE_APERIODICITY`.

:meth:`VoiceMeasurement.profile` turns a measurement into the singer's
:class:`~songforge.engine.voice.singer.VoiceProfile`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from songforge.engine.score import hz_to_midi
from songforge.engine.voice.singer import VoiceProfile, import_pyworld
from songforge.errors import InvalidRequest

__all__ = ["VoiceMeasurement", "measure_voice", "BASE_CENTROID_HZ", "BASE_APERIODICITY"]

_RATE_HZ = 16000
_FRAME_S = 0.005
BASE_CENTROID_HZ = 694.0
"""Envelope centroid of the base voice singing (the default profile), by :func:`measure_voice`."""
BASE_APERIODICITY = 0.106
"""Mean 1-5 kHz aperiodicity of the base voice singing, by :func:`measure_voice`."""


@dataclass(frozen=True)
class VoiceMeasurement:
    """What :func:`measure_voice` found. Pitches are MIDI numbers, depth in cents (peak)."""

    median_midi: float
    range_midi: tuple[float, float]
    vibrato_rate_hz: float
    vibrato_depth_cents: float
    centroid_hz: float
    aperiodicity: float
    voiced_s: float

    @property
    def formant_warp(self) -> float:
        """Brightness relative to the base voice, as the singer's envelope warp (0.75-1.3)."""
        return float(np.clip(self.centroid_hz / BASE_CENTROID_HZ, 0.75, 1.3))

    @property
    def breathiness(self) -> float:
        """0-1: how much more aperiodic than the base voice."""
        return float(np.clip((self.aperiodicity - BASE_APERIODICITY) / 0.11, 0.0, 1.0))

    def vocal_range(self, *, span: int = 14) -> tuple[int, int]:
        """A range of ``span`` semitones for the composer, centred on the median."""
        low = int(round(self.median_midi - span / 2))
        return low, low + span

    def profile(self, gender: str = "female") -> VoiceProfile:
        """The singer's profile: this register, vibrato, formant warp and breathiness."""
        base = VoiceProfile.for_gender(gender)
        return VoiceProfile(
            vibrato_rate_hz=float(np.clip(self.vibrato_rate_hz, 3.5, 8.0)),
            vibrato_depth_cents=float(np.clip(self.vibrato_depth_cents, 0.0, 150.0)),
            formant_warp=self.formant_warp, breathiness=self.breathiness, register_midi=self.median_midi,
            vibrato_delay_s=base.vibrato_delay_s,
        )


def measure_voice(audio: np.ndarray, *, sample_rate_hz: int) -> VoiceMeasurement:
    """Measure a voice in ``audio`` ((n,) or (n, channels) float at ``sample_rate_hz``).

    Raises
    ------
    InvalidRequest when less than 1 s of it is voiced (nothing sung to measure).
    """
    import soxr

    pyworld = import_pyworld()
    mono = np.asarray(audio, dtype=np.float64)
    mono = mono.mean(axis=1) if mono.ndim == 2 else mono
    x = soxr.resample(mono, sample_rate_hz, _RATE_HZ)
    f0, t = pyworld.dio(x, _RATE_HZ, f0_floor=65.0, f0_ceil=900.0, frame_period=_FRAME_S * 1000)
    f0 = pyworld.stonemask(x, f0, t, _RATE_HZ)
    voiced = f0 > 0
    if voiced.sum() * _FRAME_S < 1.0:
        raise InvalidRequest("the voice reference has less than 1 s of singing to measure",
                             field="reference.voice_id", limit="1 s voiced")
    midi = np.asarray(hz_to_midi(f0[voiced]))
    rate, depth = _vibrato(f0)
    centroid, aper = _timbre(x, f0, t)
    low, high = np.percentile(midi, [10, 90])
    return VoiceMeasurement(float(np.median(midi)), (float(low), float(high)), rate, depth, centroid, aper,
                            float(voiced.sum() * _FRAME_S))


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) frame ranges where ``mask`` is true."""
    edges = np.diff(np.concatenate([[0], mask.astype(int), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))


def _vibrato(f0: np.ndarray) -> tuple[float, float]:
    """(rate Hz, peak depth cents) of the wobble on voiced runs of at least 0.4 s."""
    from scipy.ndimage import median_filter
    from scipy.signal import butter, sosfiltfilt

    sos = butter(2, [3.0, 9.0], btype="band", fs=1.0 / _FRAME_S, output="sos")
    wobble, seconds, crossings = [], 0.0, 0
    for a, b in _runs(f0 > 0):
        if (b - a) * _FRAME_S < 0.4:
            continue
        cents = 1200.0 * np.log2(f0[a:b])
        centre = median_filter(cents, size=int(0.3 / _FRAME_S) | 1, mode="nearest")
        steady = _far_from_steps(centre)
        resid = sosfiltfilt(sos, cents - centre)
        for c, d in _runs(steady):
            if (d - c) * _FRAME_S >= 0.25:
                piece = resid[c:d]
                wobble.append(piece)
                seconds += (d - c) * _FRAME_S
                crossings += int(np.sum(np.diff(np.signbit(piece).astype(int)) != 0))
    if not wobble or seconds <= 0:
        return 5.5, 0.0
    rms = np.concatenate([_running_rms(w, int(0.2 / _FRAME_S)) for w in wobble])
    return crossings / (2.0 * seconds), float(np.percentile(rms, 80) * np.sqrt(2.0))


def _far_from_steps(centre: np.ndarray, *, guard_s: float = 0.08) -> np.ndarray:
    """Frames at least ``guard_s`` from a pitch change of more than 50 cents in ``centre``."""
    jumps = np.flatnonzero(np.abs(np.diff(centre)) > 50.0)
    ok = np.ones(len(centre), dtype=bool)
    guard = int(guard_s / _FRAME_S)
    for j in jumps:
        ok[max(0, j - guard): j + guard + 1] = False
    return ok


def _running_rms(x: np.ndarray, width: int) -> np.ndarray:
    width = max(1, min(width, len(x)))
    power = np.convolve(x * x, np.ones(width) / width, mode="valid")
    return np.sqrt(power)


def _timbre(x: np.ndarray, f0: np.ndarray, t: np.ndarray) -> tuple[float, float]:
    """(envelope centroid 300-5000 Hz, mean 1-5 kHz aperiodicity) over voiced frames."""
    pyworld = import_pyworld()
    voiced = np.flatnonzero(f0 > 0)[::4]  # every 4th voiced frame is plenty for an average
    f0v, tv = np.ascontiguousarray(f0[voiced]), np.ascontiguousarray(t[voiced])
    sp = pyworld.cheaptrick(x, f0v, tv, _RATE_HZ)
    ap = pyworld.d4c(x, f0v, tv, _RATE_HZ)
    freqs = np.linspace(0.0, _RATE_HZ / 2, sp.shape[1])
    band = (freqs >= 300) & (freqs <= 5000)
    env = sp[:, band].mean(axis=0)
    centroid = float(np.sum(freqs[band] * env) / np.sum(env))
    high = (freqs >= 1000) & (freqs <= 5000)
    return centroid, float(ap[:, high].mean())
