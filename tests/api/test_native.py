"""The native API in process (TestClient, fast fake engine): models, envelope, limits, metrics."""

from __future__ import annotations

import sys

import pytest
from fastapi.testclient import TestClient

from songforge.api.app import create_app
from songforge.api.native import SONGWRITER_MODULE
from songforge.engine.lyrics import parse_lyrics
from tests.service import _fake_engine as fake
from tests.service._helpers import free_tier_keys, make_settings, wait_until


@pytest.fixture
def dev(tmp_path):
    with TestClient(create_app(make_settings(tmp_path), generate=fake.sine_song)) as client:
        yield client


@pytest.fixture
def keyed(tmp_path):
    app = create_app(make_settings(tmp_path, dev_mode=False), run_workers=False)
    with TestClient(app) as client:
        client.keys = free_tier_keys(app, max_concurrent_jobs=2)
        yield client


def _done(client, job_id):
    view = client.get(f"/v1/songs/{job_id}").json()
    return view if view["status"] in ("succeeded", "failed", "cancelled") else None


def test_every_extra_is_delivered_with_signed_links(dev):
    body = {"prompt": "x", "format": "wav", "stems": True, "midi": True, "timings": True, "seed": 9}
    response = dev.post("/v1/songs", json=body)
    assert response.status_code == 202
    [ref] = response.json()["jobs"]
    view = wait_until(lambda: _done(dev, ref["id"]))
    result = view["result"]
    assert view["status"] == "succeeded" and result["seed"] == 9 and result["duration_s"] == 0.5
    assert set(result["stems"]) == {"lead", "bass"} and result["midi_url"] and result["plan_url"]
    base = "http://127.0.0.1:8123"
    lrc = dev.get(result["timings"]["lrc_url"].removeprefix(base))
    assert lrc.status_code == 200 and lrc.text == "[00:00.00]la\n"
    assert dev.get(result["timings"]["json_url"].removeprefix(base)).json()[0]["word"] == "la"
    assert dev.get(result["midi_url"].removeprefix(base)).headers["content-type"] == "audio/midi"


def test_variations_get_consecutive_seeds_in_one_batch(dev):
    jobs = dev.post("/v1/songs", json={"prompt": "x", "seed": 1, "variations": 3}).json()["jobs"]
    assert [j["seed"] for j in jobs] == [1, 2, 3] and [j["variation_index"] for j in jobs] == [0, 1, 2]


@pytest.mark.parametrize(("body", "field", "limit"), [
    ({"prompt": "x", "duration_s": 481}, "duration_s", "<= 480.0"),
    ({"prompt": "x", "variations": 5}, "variations", "<= 4"),
    ({"prompt": "x", "format": "ogg"}, "format", "'mp3', 'wav', 'flac' or 'pcm'"),
    ({"prompt": "x", "sample_rate_hz": 22050}, "sample_rate_hz", "16000, 24000, 32000, 44100 or 48000"),
    ({"prompt": "x" * 2001}, "prompt", "at most 2000 characters"),
    ({"prompt": "x", "weirdness": 1.5}, "weirdness", "<= 1.0"),
    ({"prompt": "x", "seed": -1}, "seed", ">= 0"),
    ({"prompt": "x", "colour": "red"}, "colour", None),
    ({"prompt": "   "}, "prompt", "1 character at least"),
    ({"prompt": "x", "callback_url": "ftp://example.com/"}, "callback_url", "public http(s) URL"),
])
def test_invalid_fields_are_400_with_field_and_limit(dev, body, field, limit):
    response = dev.post("/v1/songs", json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_request" and error["field"] == field and error["limit"] == limit
    assert error["message"]


def test_malformed_json_and_unknown_routes_use_the_envelope(dev):
    bad = dev.post("/v1/songs", content=b"{nope", headers={"Content-Type": "application/json"})
    assert bad.status_code == 400 and bad.json()["error"]["message"] == "the request body is not valid JSON"
    assert dev.get("/v1/nothing").json()["error"]["code"] == "not_found"
    assert dev.get("/v1/songs/0123").json()["error"] == {
        "code": "not_found", "message": "no job with id '0123'", "field": None, "limit": None}


def test_lyrics_are_501_while_the_songwriter_is_missing(dev, monkeypatch):
    monkeypatch.setitem(sys.modules, SONGWRITER_MODULE, None)  # as if not installed
    response = dev.post("/v1/lyrics", json={"prompt": "a love song"})
    assert response.status_code == 501 and response.json()["error"]["code"] == "feature_unavailable"
    assert dev.post("/v1/lyrics", json={"prompt": ""}).status_code == 400


def test_lyrics_come_from_the_songwriter(dev):
    response = dev.post("/v1/lyrics", json={"prompt": "a love song about rain in the city", "seed": 3})
    assert response.status_code == 200, response.text
    body = response.json()
    sheet = parse_lyrics(body["lyrics"])
    assert body["title"] and len(sheet.sections) >= 3 and len(sheet.lines) >= 8
    assert dev.post("/v1/lyrics", json={"prompt": "a love song about rain in the city", "seed": 3}).json() == body


def test_openapi_documents_the_native_api_with_limits(dev):
    spec = dev.get("/openapi.json").json()
    assert {"/v1/songs", "/v1/songs/{job_id}", "/v1/songs/{job_id}/events", "/v1/lyrics"} <= set(spec["paths"])
    fields = spec["components"]["schemas"]["SongCreate"]["properties"]
    assert fields["duration_s"]["anyOf"][0]["maximum"] == 480 and fields["variations"]["maximum"] == 4
    assert all(f.get("description") for f in fields.values())
    assert "ErrorEnvelope" in spec["components"]["schemas"]
    assert set(spec["paths"]["/v1/songs/{job_id}"]) == {"get", "delete"}


def test_jobs_are_private_to_their_key(keyed):
    a, b = keyed.keys["a"], keyed.keys["b"]
    [job] = keyed.post("/v1/songs", json={"prompt": "x"}, headers=a).json()["jobs"]
    assert keyed.get(f"/v1/songs/{job['id']}", headers=a).status_code == 200
    assert keyed.get(f"/v1/songs/{job['id']}", headers=b).status_code == 404
    assert keyed.delete(f"/v1/songs/{job['id']}", headers=b).status_code == 404
    assert keyed.get(f"/v1/songs/{job['id']}/events", headers=b).status_code == 404


def test_concurrent_job_limit_is_429_with_retry_after(keyed):
    a = keyed.keys["a"]
    assert keyed.post("/v1/songs", json={"prompt": "x", "variations": 2}, headers=a).status_code == 202
    response = keyed.post("/v1/songs", json={"prompt": "x"}, headers=a)
    assert response.status_code == 429 and response.headers["retry-after"] == "5"
    assert "2 at once" in response.json()["error"]["message"]
    assert keyed.post("/v1/songs", json={"prompt": "x"}, headers=keyed.keys["b"]).status_code == 202


def test_auth_header_must_be_bearer(keyed):
    response = keyed.get("/v1/songs/x", headers={"Authorization": "Basic Zm9vOmJhcg=="})
    assert response.status_code == 401 and "Bearer" in response.json()["error"]["message"]


def test_metrics_cover_jobs_queue_stages_and_routes(dev):
    [job] = dev.post("/v1/songs", json={"prompt": "x", "format": "wav"}).json()["jobs"]
    wait_until(lambda: _done(dev, job["id"]))
    text = dev.get("/metrics").text
    assert 'songforge_jobs{status="succeeded"} 1.0' in text and "songforge_queue_depth 0.0" in text
    assert 'songforge_stage_duration_seconds_count{stage="render"} 1.0' in text
    assert ('songforge_http_request_duration_seconds_count{method="POST",route="/v1/songs",status="202"} 1.0'
            in text)
    assert 'route="/v1/songs/{job_id}",status="200"' in text
