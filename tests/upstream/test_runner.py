"""The runner a worker runs for a routed job: re-hosting in the caller's format, the chain's
fallback, the circuit breaker, and the record of it all in ``upstream_info``."""

from __future__ import annotations

import io

import httpx
import pytest
import soundfile as sf

from songforge.errors import GenerationFailed
from songforge.models import SongRequest
from songforge.upstream import runner
from songforge.upstream.breaker import CircuitBreaker
from tests.service import _fake_engine as fake
from tests.upstream._vendor import KEY, TONE_S, Vendor, config, fixture


@pytest.fixture
def vendor(monkeypatch):
    """The scripted vendor, answering every ``httpx.Client`` the runner opens."""
    box = Vendor([])
    real = httpx.Client
    monkeypatch.setattr(runner.httpx, "Client", lambda **kw: real(transport=httpx.MockTransport(box.handler), **kw))
    return box


def _run(tmp_path, request, chain, **configs):
    chunks: list[bytes] = []
    stages: list[str] = []
    result = runner.run_upstream(
        request, chain=chain, configs={n: config(n, **c) for n, c in configs.items()}, state_dir=str(tmp_path),
        local=fake.sine_song, on_chunk=chunks.append, on_progress=lambda stage, f: stages.append(stage),
    )
    return result, b"".join(chunks), stages


def test_an_upstream_song_is_re_encoded_as_asked_and_streamed(tmp_path, vendor):
    vendor.replies = [(200, fixture("aimlapi_create")), (200, fixture("aimlapi_completed"))]
    request = SongRequest(prompt="lofi", lyrics="[Verse]\nrain", format="wav", sample_rate_hz=48000, seed=3,
                          want_stems=True)
    result, streamed, stages = _run(tmp_path, request, ("aimlapi", "local"), aimlapi={})
    info = sf.info(io.BytesIO(result.encoded))
    assert (info.samplerate, info.channels) == (48000, 2) and info.duration == pytest.approx(TONE_S, abs=0.01)
    assert streamed == result.encoded and result.media_type == "audio/wav" and result.stems == {}
    assert result.audio.shape == (int(48000 * TONE_S), 2) and result.seed == 3
    assert result.upstream_info["backend"] == "aimlapi" and result.upstream_info["task_id"] == "NDxdQ2xZY1L6PYQNkJgbA"
    assert any(w.startswith("want_stems:") for w in result.upstream_info["warnings"])
    assert "render" in stages and stages[-1] == "encode"


def test_a_failing_upstream_falls_back_to_the_local_engine(tmp_path, vendor):
    vendor.replies = [(503, {"message": "down"})] * 2
    result, streamed, _ = _run(tmp_path, SongRequest(prompt="lofi", seed=5), ("aimlapi", "local"),
                               aimlapi={"retries": 2})
    assert result.duration_s == pytest.approx(fake.DURATION_S) and streamed == result.encoded
    assert result.upstream_info["backend"] == "local"
    [warning] = result.upstream_info["warnings"]
    assert warning.startswith("aimlapi: failed") and "HTTP 503" in warning and KEY not in warning
    assert result.score is not None  # the engine's own result, seen through the wrapper


def test_every_upstream_failing_without_local_fails_the_job(tmp_path, vendor):
    vendor.replies = [(200, fixture("suno_created")), (200, fixture("suno_failed"))]
    with pytest.raises(GenerationFailed) as info:
        _run(tmp_path, SongRequest(prompt="pop", lyrics="[Verse]\nla"), ("suno",), suno={})
    assert info.value.reason == "upstream_failed" and "SENSITIVE_WORD_ERROR" in info.value.message


def test_an_open_breaker_skips_the_upstream_without_calling_it(tmp_path, vendor):
    breaker = CircuitBreaker(tmp_path / "minimax.breaker.json", failures=1, reset_s=60.0)
    breaker.failure()
    result, _, _ = _run(tmp_path, SongRequest(prompt="pop"), ("minimax", "local"), minimax={})
    assert vendor.calls == [] and "circuit breaker is open" in result.upstream_info["warnings"][0]


def test_transient_failures_open_the_breaker(tmp_path, vendor):
    vendor.replies = [(500, {"message": "down"})] * 2
    _run(tmp_path, SongRequest(prompt="pop"), ("minimax", "local"), minimax={"retries": 2, "breaker_failures": 1})
    assert not CircuitBreaker(tmp_path / "minimax.breaker.json", failures=1, reset_s=60.0).allow()


def test_a_refused_translation_moves_on_without_a_call(tmp_path, vendor):
    result, _, _ = _run(tmp_path, SongRequest(prompt="x" * 600), ("suno", "local"), suno={})
    assert vendor.calls == [] and result.upstream_info["warnings"][0].startswith("suno: refused the request")
