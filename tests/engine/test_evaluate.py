"""Objective measures: loudness, true peak, clipping, DC, tempo and key (synthetic signals)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from songforge.engine.encode import encode
from songforge.engine.evaluate import (
    KEY_PROFILES,
    _best_key,
    clipped_samples,
    evaluate_audio,
    evaluate_file,
    integrated_lufs,
    tempo_matches,
    true_peak_dbtp,
)

SR = 48000


def _sine(freq_hz: float, *, dbfs: float, seconds: float = 4.0, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (10 ** (dbfs / 20) * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)


def _click_track(bpm: float, *, seconds: float = 12.0) -> np.ndarray:
    n = int(seconds * SR)
    x = np.zeros(n, np.float32)
    click = (np.sin(2 * np.pi * 1500 * np.arange(480) / SR) * np.exp(-np.arange(480) / 80)).astype(
        np.float32
    )
    for start in np.arange(0, seconds, 60.0 / bpm):
        i = int(start * SR)
        x[i : i + 480] += 0.8 * click[: n - i]
    return np.stack([x, x], axis=1)


def test_loudness_of_a_minus_20_dbfs_sine() -> None:
    # BS.1770: a 1 kHz sine with peak -20 dBFS (mean square 0.005) in one channel reads -23.0 LUFS
    # (-0.691 + 10 log10(0.005) + K-weighting gain at 1 kHz ~ +0.69 dB). Both stereo channels add
    # their powers: +3.01 dB -> -20.0 LUFS.
    mono = _sine(1000.0, dbfs=-20.0)
    assert abs(integrated_lufs(mono, SR) - (-23.0)) < 0.1
    assert abs(integrated_lufs(np.stack([mono, mono], axis=1), SR) - (-20.0)) < 0.1
    assert integrated_lufs(np.zeros((SR, 2), np.float32), SR) == float("-inf")


def test_true_peak_sees_inter_sample_peaks() -> None:
    # a fs/4 sine sampled 45 degrees off its peaks: samples reach 0.7/sqrt(2), the wave 0.7
    x = np.tile(0.7 * np.sin(np.pi / 4 + np.pi / 2 * np.arange(4)).astype(np.float32), 4000)
    assert np.abs(x).max() == pytest.approx(0.7 * np.sqrt(0.5), rel=1e-5)
    assert true_peak_dbtp(x, SR) == pytest.approx(20 * np.log10(0.7), abs=0.1)


def test_clipping_and_dc_report() -> None:
    x = np.stack([_sine(440.0, dbfs=0.0), _sine(440.0, dbfs=-6.0) + 0.01], axis=1)
    report = evaluate_audio(x, sample_rate_hz=SR, analyze=False)
    assert report["clipped_samples"] == clipped_samples(x) > 0
    assert abs(report["dc_offset"][1] - 0.01) < 1e-3 and abs(report["dc_offset"][0]) < 1e-3
    assert report["duration_s"] == pytest.approx(4.0)
    json.dumps(report, allow_nan=False)


def test_tempo_of_a_click_track() -> None:
    report = evaluate_audio(
        _click_track(120.0), sample_rate_hz=SR, plan={"tempo_bpm": 120.0, "meter": [4, 4]}
    )
    assert abs(report["tempo_bpm"] - 120.0) / 120.0 < 0.04
    assert report["tempo_ok"] is True
    assert len(report["beat_times_s"]) >= 15


def test_tempo_matches_levels() -> None:
    assert tempo_matches(240.0, 120.0) and tempo_matches(61.0, 120.0)
    assert not tempo_matches(180.0, 120.0)
    # 6/8 at 60 dotted quarters: eighths at 180, quarters at 90
    assert tempo_matches(180.0, 60.0, meter=(6, 8)) and tempo_matches(90.0, 60.0, meter=(6, 8))
    assert not tempo_matches(90.0, 60.0, meter=(4, 4))


def test_key_profiles_pick_the_rotation() -> None:
    for tonic in (0, 7):
        for mode, profile in KEY_PROFILES.items():
            key = _best_key(np.roll(np.asarray(profile), tonic))
            assert (key["tonic_pc"], key["mode"]) == (tonic, mode)


@pytest.fixture(scope="module")
def cadence() -> np.ndarray:
    from songforge.engine.presets import soundfont_path
    from songforge.engine.render import render_stems
    from songforge.engine.score import Note, Part, Score, Section
    from songforge.errors import MissingDependency

    try:
        soundfont_path("timgm6mb")
    except MissingDependency:
        pytest.skip("apt-get install timgm6mb-soundfont")
    chords = [
        (48, 60, 64, 67),
        (41, 57, 60, 65),
        (43, 59, 62, 67),
        (48, 60, 64, 67),
    ]  # I IV V I in C
    notes = tuple(Note(p, 2.0 * i, 2.0, 85) for i, chord in enumerate(chords * 2) for p in chord)
    melody = tuple(
        Note(p, 1.0 * i, 1.0, 80) for i, p in enumerate([72, 76, 77, 72, 74, 71, 72, 79] * 2)
    )
    score = Score(
        120.0,
        (4, 4),
        0,
        "major",
        (Section("a", "verse", 0.0, 16.0),),
        (Part("piano", "chords", 0, notes), Part("melody", "lead", 0, melody)),
    )
    stems = render_stems(score, sample_rate_hz=SR, soundfont="timgm6mb", tail_s=0.5)
    return sum(stems.values())


def test_key_of_a_c_major_cadence(cadence: np.ndarray) -> None:
    report = evaluate_audio(
        cadence, sample_rate_hz=SR, plan={"tonic_pc": 0, "mode": "major", "tempo_bpm": 120.0}
    )
    assert report["key_name"] == "C major"
    assert report["key_ok"] is True


def test_evaluate_file_with_spectrogram(cadence: np.ndarray, tmp_path) -> None:
    path = tmp_path / "song.wav"
    path.write_bytes(encode(cadence, sample_rate_hz=SR, format="wav"))
    png = tmp_path / "spec.png"
    report = evaluate_file(path, spectrogram_png=png)
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"
    assert report["format"] == "wav" and report["sample_rate_hz"] == SR
    json.dumps(report, allow_nan=False)


@pytest.mark.parametrize("channels", [1, 2, 5])
def test_integrated_lufs_matches_pyloudnorm(channels: int) -> None:
    # bursts of coloured noise with quiet gaps (both gates at work), plus a DC offset
    import warnings

    import pyloudnorm

    rng = np.random.default_rng(channels)
    n = int(7.3 * SR)
    env = np.where((np.arange(n) // (SR // 3)) % 3 == 0, 0.002, 0.3)[:, None]
    x = (np.cumsum(rng.standard_normal((n, channels)), axis=0) * 0.01 % 1.0 - 0.5) * env + 0.01
    x = x.astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = pyloudnorm.Meter(SR).integrated_loudness(x)
    assert integrated_lufs(x, SR) == pytest.approx(reference, abs=0.01)
    assert integrated_lufs(x[: int(0.3 * SR)], SR) == float("-inf")  # too short to gate


def test_true_peak_matches_one_shot_oversampling() -> None:
    import soxr

    rng = np.random.default_rng(0)
    x = (rng.standard_normal((3 * SR + 123, 2)) * 0.1).astype(np.float32)
    up = soxr.resample(x, SR, 4 * SR, quality="HQ")
    expected = 20 * np.log10(max(np.abs(up).max(), np.abs(x).max()))
    assert true_peak_dbtp(x, SR) == pytest.approx(expected, abs=1e-4)
