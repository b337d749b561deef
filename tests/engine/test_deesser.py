"""The de-esser turns down loud sibilance only: vowels and soft consonants pass bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from songforge.engine.deesser import deess

SR = 48000


def _band_db(x: np.ndarray, low_hz: float = 5000.0, high_hz: float = SR / 2) -> float:
    """Power of ``x`` between ``low_hz`` and ``high_hz``, in dB (FFT)."""
    spectrum = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / SR)
    return float(10 * np.log10(spectrum[(freqs > low_hz) & (freqs <= high_hz)].sum() + 1e-30))


def _vocal_with_esses(seed: int = 0) -> tuple[np.ndarray, list[tuple[int, int]], tuple[int, int]]:
    """A 3 s voiced tone (220 Hz with harmonics up to 2 kHz), two loud 'ss' bursts of
    high-passed noise (as loud as the vowel) and one soft 's' 30 dB down.
    Returns (audio, loud burst spans, soft burst span) in samples."""
    rng = np.random.default_rng(seed)
    t = np.arange(3 * SR) / SR
    vowel = sum(0.2 / k * np.sin(2 * np.pi * 220 * k * t) for k in range(1, 10))
    noise = np.diff(np.diff(rng.standard_normal(len(t) + 2)))  # tilted up: mostly above 5 kHz
    noise /= np.abs(noise).max()
    audio = vowel.copy()
    loud = [(int(0.8 * SR), int(0.9 * SR)), (int(1.8 * SR), int(1.9 * SR))]
    for a, b in loud:
        audio[a:b] += 0.6 * noise[a:b]
    soft = (int(2.5 * SR), int(2.6 * SR))
    audio[soft[0]:soft[1]] += 0.02 * noise[soft[0]:soft[1]]
    return audio.astype(np.float32), loud, soft


def test_loud_sibilance_is_cut_and_the_rest_passes_untouched():
    audio, loud, soft = _vocal_with_esses()
    out = deess(audio, sample_rate_hz=SR)
    assert out.shape == audio.shape and out.dtype == np.float32
    for a, b in loud:
        cut_db = _band_db(out[a:b]) - _band_db(audio[a:b])
        assert -9.5 <= cut_db <= -4.0  # turned down, never more than max_cut_db (9 dB)
        change_db = _band_db(out[a:b] - audio[a:b], 0.0, 2000.0) - _band_db(audio[a:b], 0.0, 2000.0)
        assert change_db < -30.0  # the vowel under it stays
    np.testing.assert_array_equal(out[: int(0.6 * SR)], audio[: int(0.6 * SR)])  # vowel alone: bit-exact
    np.testing.assert_array_equal(out[soft[0] - SR // 10:], audio[soft[0] - SR // 10:])  # soft 's' passes


def test_stereo_channels_share_one_gain_and_silence_passes():
    audio, loud, _ = _vocal_with_esses(seed=1)
    stereo = np.stack([audio, 0.5 * audio], axis=1)
    out = deess(stereo, sample_rate_hz=SR)
    assert out.shape == stereo.shape
    a, b = loud[0]
    np.testing.assert_allclose(out[a:b, 1], 0.5 * out[a:b, 0], atol=1e-6)
    assert _band_db(out[a:b, 0]) < _band_db(stereo[a:b, 0]) - 4.0
    silence = np.zeros((SR, 2), np.float32)
    assert np.array_equal(deess(silence, sample_rate_hz=SR), silence)


@pytest.mark.parametrize("max_cut_db", [3.0, 12.0])
def test_the_cut_never_exceeds_its_limit(max_cut_db: float):
    audio, loud, _ = _vocal_with_esses(seed=2)
    out = deess(audio, sample_rate_hz=SR, max_cut_db=max_cut_db, ratio=100.0)
    for a, b in loud:
        assert _band_db(out[a:b]) - _band_db(audio[a:b]) >= -max_cut_db - 0.5
