"""Heavy: over the fixed prompt set, the songs keep their plan's tempo and key and meet the
loudness targets (the issue's acceptance numbers; bench/quality.py prints the full table)."""

from __future__ import annotations

import pytest

from songforge.engine.evaluate import evaluate_audio
from songforge.engine.song import make_song
from songforge.evalsets import INSTRUMENTAL_PROMPTS
from songforge.models import SongRequest

pytestmark = pytest.mark.heavy


@pytest.fixture(scope="module")
def reports():
    rows = []
    for i, prompt in enumerate(INSTRUMENTAL_PROMPTS):
        song = make_song(SongRequest(prompt=prompt, instrumental=True, duration_s=20.0, seed=100 + i, format="wav"),
                         preset="tiny")
        rows.append(evaluate_audio(song.audio, sample_rate_hz=song.sample_rate_hz, plan=song.plan.to_dict()))
    return rows


def test_at_least_twenty_prompts():
    assert len(INSTRUMENTAL_PROMPTS) >= 20


def test_tempo_matches_plan_for_90_percent(reports):
    ok = sum(bool(r["tempo_ok"]) for r in reports)
    assert ok >= 0.9 * len(reports), [(r["tempo_bpm"], r.get("plan_tempo_bpm")) for r in reports]


def test_key_matches_plan_for_90_percent(reports):
    ok = sum(bool(r["key_ok"]) for r in reports)
    assert ok >= 0.9 * len(reports), [(r["key_name"], r.get("plan_key_name")) for r in reports]


def test_loudness_peaks_and_clipping(reports):
    for r in reports:
        assert abs(r["integrated_lufs"] + 14.0) <= 0.5
        assert r["true_peak_dbtp"] <= -1.0
        assert r["clipped_samples"] == 0
        assert max(abs(d) for d in r["dc_offset"]) < 1e-3
