"""Mixing stems by role and mastering to -14 LUFS / -1 dBTP (synthetic signals, fixed seeds)."""

from __future__ import annotations

import numpy as np
import pytest

from songforge.engine.evaluate import integrated_lufs, true_peak_dbtp
from songforge.engine.mix import MIX_LUFS, _bus, limit_true_peak, master, mix_stems

SR = 48000


def _tone(freq_hz: float, *, seconds: float = 6.0, amp: float = 0.1, seed: int = 0) -> np.ndarray:
    """A plucked-ish stereo tone train with a little noise: float32 (n, 2)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    env = np.exp(-((t % 0.5) * 6.0))
    mono = amp * env * np.sin(2 * np.pi * freq_hz * t) + 0.01 * amp * rng.standard_normal(t.size)
    return np.stack([mono, 0.8 * mono], axis=1).astype(np.float32)


def _drums(*, seconds: float = 6.0, amp: float = 0.5, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    x = np.zeros(n, np.float32)
    hit = (rng.standard_normal(2400) * np.exp(-np.arange(2400) / 300.0)).astype(np.float32)
    for start in range(0, n - 2400, SR // 2):
        x[start : start + 2400] += amp * hit
    return np.stack([x, x], axis=1)


@pytest.fixture(scope="module")
def stems() -> dict[str, np.ndarray]:
    return {
        "drums": _drums(),
        "bass": _tone(55.0, amp=0.3),
        "keys": _tone(440.0, amp=0.05, seed=2),
        "voice": _tone(330.0, amp=0.02, seed=3),
    }


ROLES = {"drums": "drums", "bass": "bass", "keys": "chords", "voice": "vocal"}


def test_mix_returns_honest_stems(stems: dict[str, np.ndarray]) -> None:
    mix, processed = mix_stems(
        stems, roles=ROLES, sample_rate_hz=SR, style_mix={"reverb_room": 0.3, "drive_db": 1.0}
    )
    assert mix.shape == stems["drums"].shape and mix.dtype == np.float32
    assert set(processed) == set(stems)
    summed = np.sum(list(processed.values()), axis=0)
    assert abs(integrated_lufs(summed, SR) - MIX_LUFS) < 0.6
    rebuilt = _bus(summed.astype(np.float32), sample_rate_hz=SR, options={"drive_db": 1.0})
    np.testing.assert_allclose(rebuilt, mix, atol=1e-5)


def test_vocal_sits_above_the_accompaniment(stems: dict[str, np.ndarray]) -> None:
    _, processed = mix_stems(stems, roles=ROLES, sample_rate_hz=SR)
    accomp = integrated_lufs(sum(v for k, v in processed.items() if k != "voice"), SR)
    vocal = integrated_lufs(processed["voice"], SR)
    assert 2.0 <= vocal - accomp <= 6.0


def test_mix_rejects_mismatched_stems() -> None:
    with pytest.raises(ValueError):
        mix_stems(
            {"a": np.zeros((10, 2), np.float32), "b": np.zeros((11, 2), np.float32)},
            roles={},
            sample_rate_hz=SR,
        )


@pytest.mark.parametrize("level", [0.9, 0.02])
def test_master_hits_loudness_and_peak_targets(stems: dict[str, np.ndarray], level: float) -> None:
    mix = np.sum(list(stems.values()), axis=0)
    mix = (mix / np.abs(mix).max() * level + 0.01).astype(np.float32)  # loud or quiet, with DC
    out = master(mix, sample_rate_hz=SR)
    assert out.shape == mix.shape and out.dtype == np.float32
    assert abs(integrated_lufs(out, SR) - (-14.0)) <= 0.5
    assert true_peak_dbtp(out, SR) <= -1.0
    assert np.abs(out).max() < 1.0
    assert np.all(np.abs(out[SR:].mean(axis=0)) < 1e-3)


def test_master_passes_silence_through() -> None:
    silence = np.zeros((SR, 2), np.float32)
    assert np.array_equal(master(silence, sample_rate_hz=SR), silence)
    blip = np.full((SR // 10, 2), 1.5, np.float32)  # too short to measure loudness
    assert true_peak_dbtp(master(blip, sample_rate_hz=SR), SR) <= -1.0


def test_limiter_only_lowers_gain() -> None:
    x = _drums(seconds=2.0, amp=2.0)
    y = limit_true_peak(x, sample_rate_hz=SR, ceiling_dbtp=-3.0)
    assert true_peak_dbtp(y, SR) <= -3.0 + 0.3
    assert np.all(np.abs(y) <= np.abs(x) + 1e-7)


def test_pieces_and_sparse_limiter_match_whole_array_processing(
    stems: dict[str, np.ndarray],
) -> None:
    from songforge.engine.mix import _apply, _curve_segment, _gain, _limiter_gain, role_chain

    x = stems["drums"] + stems["bass"]
    np.testing.assert_array_equal(_apply(role_chain("drums"), x, SR), role_chain("drums")(x, SR))
    peak = np.abs(x).max(axis=1) * np.float32(3.0)
    curve = _limiter_gain(peak, sample_rate_hz=SR, ceiling_dbtp=-1.0)
    whole = _curve_segment(peak, ceiling=np.float32(_gain(-1.0)), ahead=384, hold=1440)
    assert curve is not None and np.array_equal(curve, whole)


def test_band_is_carved_only_while_the_voice_sings():
    from songforge.engine.mix import _carve_under_vocals

    rate = 48000
    t = np.arange(4 * rate) / rate
    tone = (0.3 * np.sin(2 * np.pi * 1500.0 * t)).astype(np.float32)
    band = np.stack([tone, tone], axis=1)
    voice = np.zeros_like(band)
    voice[2 * rate:, :] = 0.2 * np.sin(2 * np.pi * 220.0 * t[2 * rate:, None])
    out = _carve_under_vocals({"chords": band, "vocals": voice}, roles={"chords": "chords", "vocals": "vocal"},
                              sample_rate_hz=rate)
    quiet = np.sqrt(np.mean(out["chords"][int(0.2 * rate):int(1.0 * rate)] ** 2))
    sung = np.sqrt(np.mean(out["chords"][int(3.0 * rate):int(3.8 * rate)] ** 2))
    assert abs(20 * np.log10(quiet / np.sqrt(np.mean(band[: rate] ** 2)))) < 0.1  # untouched before the voice
    assert -14.5 < 20 * np.log10(sung / quiet) < -12.0  # the -15 dB cut at 2 kHz is -13.3 dB at 1.5 kHz
    assert out["vocals"] is voice
