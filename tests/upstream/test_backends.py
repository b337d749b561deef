"""Each vendor backend against the vendor's documented responses (recorded fixtures): the happy
path, polling, retries with backoff on 429/5xx, refusals that are not retried, and the key kept to
the Authorization header."""

from __future__ import annotations

import pytest

from songforge.upstream.backends import UpstreamFailed, aimlapi, dashscope, minimax, suno
from tests.upstream._vendor import KEY, Vendor, config, fixture


def _run(backend, name: str, vendor: Vendor, body: dict | None = None):
    waits: list[float] = []
    with vendor.client() as client:
        fetched = backend(config(name), body or {}, on_wait=waits.append, client=client)
    return fetched, waits


def test_aimlapi_is_polled_until_completed_and_the_link_is_fetched_without_the_key():
    vendor = Vendor([(200, fixture("aimlapi_create")), (200, {"id": "NDxdQ2xZY1L6PYQNkJgbA", "status": "generating"}),
                     (200, fixture("aimlapi_completed"))])
    fetched, waits = _run(aimlapi, "aimlapi", vendor, {"model": "minimax/music-2.6"})
    assert fetched.audio == vendor.audio and fetched.task_id == "NDxdQ2xZY1L6PYQNkJgbA" and waits
    create, poll, _ = vendor.api_calls()
    assert (create.method, create.url.path) == ("POST", "/v2/generate/audio")
    assert poll.url.params["generation_id"] == "NDxdQ2xZY1L6PYQNkJgbA"
    assert all(c.headers["authorization"] == f"Bearer {KEY}" for c in vendor.api_calls())
    link = vendor.calls[-1]
    assert link.url.host == "cdn.aimlapi.com" and "authorization" not in link.headers


def test_aimlapi_error_status_is_a_refusal_with_the_vendors_message():
    vendor = Vendor([(200, fixture("aimlapi_create")), (200, fixture("aimlapi_error"))])
    with pytest.raises(UpstreamFailed) as info:
        _run(aimlapi, "aimlapi", vendor)
    assert not info.value.transient and "flagged as sensitive" in info.value.message
    assert info.value.reason == "upstream_failed"


def test_429_is_retried_with_backoff_then_succeeds():
    vendor = Vendor([(429, fixture("aimlapi_429")), (503, {"message": "Service unavailable"}),
                     (200, fixture("aimlapi_create")), (200, fixture("aimlapi_completed"))])
    fetched, _ = _run(aimlapi, "aimlapi", vendor)
    assert fetched.audio == vendor.audio and len(vendor.api_calls()) == 4


def test_5xx_on_every_attempt_is_a_transient_failure_that_names_no_key():
    vendor = Vendor([(500, {"message": "Internal server error"})] * 3)
    with pytest.raises(UpstreamFailed) as info:
        _run(aimlapi, "aimlapi", vendor)
    assert info.value.transient and "HTTP 500" in info.value.message and "3 attempts" in info.value.message
    assert KEY not in str(info.value) and len(vendor.api_calls()) == 3


def test_a_4xx_refusal_is_not_retried():
    vendor = Vendor([(401, {"message": "This request requires a valid API key.", "statusCode": 401})])
    with pytest.raises(UpstreamFailed) as info:
        _run(aimlapi, "aimlapi", vendor)
    assert not info.value.transient and "valid API key" in info.value.message and len(vendor.calls) == 1


def test_minimax_hex_audio_and_base_resp_errors():
    vendor = Vendor([])
    body = fixture("minimax_hex")
    body["data"]["audio"] = vendor.audio.hex()
    vendor.replies = [(200, body)]
    fetched, _ = _run(minimax, "minimax", vendor)
    assert fetched.audio == vendor.audio and fetched.info["music_sample_rate"] == 44100
    with pytest.raises(UpstreamFailed) as info:
        _run(minimax, "minimax", Vendor([(200, fixture("minimax_rate_limited"))]))
    assert info.value.transient and "1002" in info.value.message


def test_suno_waits_for_the_first_tracks_audio_url():
    vendor = Vendor([(200, fixture("suno_created")), (200, fixture("suno_first_success")),
                     (200, fixture("suno_success"))])
    fetched, waits = _run(suno, "suno", vendor)
    assert fetched.audio == vendor.audio and fetched.task_id == "5c79be8e"
    assert fetched.lyrics == "[Verse] neon lights" and vendor.calls[-1].url.path == "/8551662c.mp3"
    assert waits == [0.0, pytest.approx(0.0, abs=0.01)]  # accepted; one poll found no audioUrl yet


def test_suno_failed_task_is_a_refusal():
    vendor = Vendor([(200, fixture("suno_created")), (200, fixture("suno_failed"))])
    with pytest.raises(UpstreamFailed) as info:
        _run(suno, "suno", vendor)
    assert not info.value.transient and "SENSITIVE_WORD_ERROR" in info.value.message


def test_dashscope_sync_response():
    fetched, _ = _run(dashscope, "dashscope", Vendor([(200, fixture("dashscope_sync"))]))
    assert fetched.lyrics == "[verse]\nmorning light" and fetched.task_id.startswith("46c51288")


def test_polling_gives_up_after_the_timeout():
    vendor = Vendor([(200, fixture("suno_created"))] + [(200, fixture("suno_first_success"))] * 1000)
    with vendor.client() as client, pytest.raises(UpstreamFailed) as info:
        suno(config("suno", timeout_s=0.2), {}, on_wait=lambda f: None, client=client)
    assert info.value.transient and "no song after 0.2 s" in info.value.message
