"""The MiniMax dialect in process (TestClient, stand-in engine): golden wire fixtures, hex / url /
stream delivery, the request mapping, errors in ``base_resp``, keys and model-tier rates, lyrics.

Golden fixtures (``fixtures/minimax/*.json``) hold ``request`` and the exact ``response`` shape;
volatile values are written as patterns: ``"<trace>"`` 32 hex digits, ``"<hex>"`` non-empty
lower-case hex, ``"<url>"`` a signed loopback file URL, ``"<int>"`` a non-negative integer, ``"<number>"`` a non-negative number,
``"<text>"`` a non-empty string, ``"~<regex>"`` a full regex match.
"""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
import soundfile as sf
from fastapi.testclient import TestClient

from songforge.api.app import create_app
from songforge.errors import FeatureUnavailable
from songforge.service.keys import Tier
from tests.api._minimax import (
    BASE_URL,
    LYRICS,
    golden,
    matches,
    minimax_song,
    post_golden,
    sse_events,
)
from tests.service._helpers import make_settings


@pytest.fixture
def dev(tmp_path):
    blocklist = tmp_path / "blocklist.txt"
    blocklist.write_text("zorblax\n")
    settings = make_settings(tmp_path, content_blocklist_path=blocklist)
    with TestClient(create_app(settings, generate=minimax_song)) as client:
        yield client


@pytest.fixture
def keyed(tmp_path):
    app = create_app(make_settings(tmp_path, dev_mode=False), run_workers=False)
    keys = app.state.service.keys
    keys.tiers.update(free=Tier("free", requests_per_minute=3, max_concurrent_jobs=2),
                      paid=Tier("paid", requests_per_minute=100, max_concurrent_jobs=8))
    with TestClient(app) as client:
        client.headers["Authorization"] = f"Bearer {keys.create(name='p', tier='paid')[1]}"
        yield client


def _jobs(client: TestClient) -> list[Any]:
    return client.app.state.service.store.list_jobs()  # type: ignore[attr-defined]


def _decode(data: bytes) -> tuple[Any, int]:
    audio, rate_hz = sf.read(io.BytesIO(data))
    return audio, rate_hz


# -- music_generation ---------------------------------------------------------------------------

def test_hex_output_is_the_whole_playable_file(dev):
    body = post_golden(dev, "music_generation_hex").json()
    data = bytes.fromhex(body["data"]["audio"])
    audio, rate_hz = _decode(data)
    info = body["extra_info"]
    assert info["music_size"] == len(data) and info["music_duration"] == round(len(audio) / rate_hz * 1000)
    assert info == {**info, "music_sample_rate": 44100, "music_channel": 2, "bitrate": 256000}


def test_url_output_downloads_the_same_file_as_hex(dev):
    body = post_golden(dev, "music_generation_url").json()
    assert body["data"]["audio"] == body["data"]["audio_url"]
    downloaded = dev.get(body["data"]["audio"].removeprefix(BASE_URL))
    assert downloaded.status_code == 200
    same_seed = post_golden(dev, "music_generation_hex").json()  # both fixtures use seed 7
    assert downloaded.content == bytes.fromhex(same_seed["data"]["audio"])
    assert body["extra_info"]["music_size"] == len(downloaded.content)


def test_stream_sends_hex_chunks_then_the_whole_file_with_extra_info(dev):
    case = golden("music_generation_stream")
    response = dev.post(case["path"], json=case["request"])
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.text)
    *chunks, summary = events
    assert len(chunks) >= 1
    for event in chunks:
        matches(event, case["chunk"])
    matches(summary, case["summary"])
    assert {e["trace_id"] for e in events} == {response.headers["Trace-Id"]}
    whole = bytes.fromhex(summary["data"]["audio"])
    assert b"".join(bytes.fromhex(e["data"]["audio"]) for e in chunks) == whole
    assert summary["extra_info"]["music_size"] == len(whole) and _decode(whole)[1] == 48000


def test_a_failed_stream_ends_with_a_non_zero_base_resp(dev):
    response = dev.post("/v1/music_generation", json={"model": "music-2.6", "prompt": "fail now", "lyrics": LYRICS,
                                                      "stream": True})
    [*_, last] = sse_events(response.text)
    assert last["data"] is None and last["base_resp"]["status_code"] == 1024 and "vocals" in last["base_resp"]["status_msg"]


@pytest.mark.parametrize(("prompt", "code", "words"), [
    ("fail please", 1024, "internal error, the vocals could not be sung"),
    ("sensitive words", 1026, "input new_sensitive, the prompt breaks the content rules"),
])
def test_a_failed_song_is_http_200_with_the_vendor_code(dev, prompt, code, words):
    response = dev.post("/v1/music_generation", json={"model": "music-2.6", "prompt": prompt, "lyrics": LYRICS})
    assert response.status_code == 200
    body = response.json()
    matches(body, {"trace_id": "<trace>", "base_resp": {"status_code": code, "status_msg": words}})


def test_the_wire_maps_onto_the_canonical_request(dev):
    settings = {"sample_rate": 24000, "bitrate": 128000, "format": "wav", "channel": 1}
    body = dev.post("/v1/music_generation", json={
        "model": "music-2.6", "prompt": "jazz", "lyrics": LYRICS, "audio_setting": settings,
        "aigc_watermark": True, "seed": 12}).json()
    assert body["extra_info"] == {**body["extra_info"], "music_sample_rate": 24000, "bitrate": 128000,
                                  "music_channel": 1}
    dev.post("/v1/music_generation", json={"model": "music-2.6-free", "prompt": "calm piano",
                                           "lyrics_optimizer": True, "stream": True, "aigc_watermark": True})
    dev.post("/v1/music_generation", json={"model": "music-2.5+", "prompt": "drums", "is_instrumental": True})
    first, optimized, instrumental = sorted(_jobs(dev), key=lambda j: j.created_at)
    assert all(job.dialect == "minimax" for job in (first, optimized, instrumental))
    assert {k: first.request[k] for k in ("sample_rate_hz", "bitrate_kbps", "format", "channels", "watermark",
                                          "seed", "lyrics", "prompt")} == {
        "sample_rate_hz": 24000, "bitrate_kbps": 128, "format": "wav", "channels": 1, "watermark": True,
        "seed": 12, "lyrics": LYRICS, "prompt": "jazz"}
    assert optimized.request["lyrics"] is None and optimized.request["watermark"] is False  # stream: no tag
    assert optimized.request["format"] == "mp3" and optimized.request["sample_rate_hz"] == 44100
    assert instrumental.request["instrumental"] is True and instrumental.request["lyrics"] is None


# -- errors -------------------------------------------------------------------------------------

def test_invalid_params_golden(dev):
    post_golden(dev, "music_generation_invalid")


def test_errors_outside_routes_keep_their_status_in_the_envelope(dev):
    for response, status in ((dev.post("/v1/music_nothing", json={}), 404), (dev.get("/v1/music_generation"), 405),
                             (dev.post("/v2/generate/audio/minimax/nothing", json={}), 404)):
        assert response.status_code == status
        matches(response.json(), {"trace_id": "<trace>", "base_resp": {"status_code": 1000, "status_msg": "<text>"}})
    bad_json = dev.post("/v1/music_generation", content=b"{", headers={"Content-Type": "application/json"})
    assert bad_json.status_code == 200 and bad_json.json()["base_resp"]["status_code"] == 2013


def test_an_unavailable_feature_is_2044_no_permission(dev, monkeypatch):
    def unavailable(**kwargs):
        raise FeatureUnavailable("reference audio is not available in this build")

    monkeypatch.setattr(dev.app.state.service.references, "intake", unavailable)
    response = dev.post("/v1/music_cover_preprocess", json={"model": "music-cover", "audio_url": "http://x/a.mp3"})
    assert response.status_code == 200
    assert response.json()["base_resp"] == {
        "status_code": 2044, "status_msg": "no permission, reference audio is not available in this build"}


def test_auth_errors_are_1004(keyed):
    for headers in ({"Authorization": ""}, {"Authorization": "Bearer sf_wrong"}, {"Authorization": "Basic abc"}):
        response = keyed.post("/v1/music_generation", json={"model": "music-2.6"}, headers=headers)
        assert response.status_code == 200
        base = response.json()["base_resp"]
        assert base["status_code"] == 1004 and base["status_msg"].startswith("authorization failed, ")
        assert response.headers["Trace-Id"] == response.json()["trace_id"]


def test_free_model_variants_are_limited_at_the_free_rate(keyed):
    free = {"model": "music-2.6-free", "prompt": "x"}  # no lyrics: refused after it is counted
    for _ in range(3):
        assert keyed.post("/v1/music_generation", json=free).json()["base_resp"]["status_code"] == 2013
    limited = keyed.post("/v1/music_generation", json=free)
    assert limited.status_code == 200 and int(limited.headers["Retry-After"]) >= 1
    assert limited.json()["base_resp"]["status_code"] == 1002
    assert "3 requests per minute" in limited.json()["base_resp"]["status_msg"]
    paid = keyed.post("/v1/music_generation", json={**free, "model": "music-2.6"})
    assert paid.json()["base_resp"]["status_code"] == 2013  # the paid variant is not limited yet
    cover_free = keyed.post("/v1/music_cover_preprocess", json={"model": "music-cover-free"})
    assert cover_free.json()["base_resp"]["status_code"] == 1002  # same free bucket for the key


# -- lyrics_generation --------------------------------------------------------------------------

def test_lyrics_generation_golden_keeps_the_title(dev):
    body = post_golden(dev, "lyrics_generation").json()
    assert body["song_title"] == "Night Drive"
    assert re.search(r"^\[(Verse|Chorus)", body["lyrics"], re.M) and len(body["lyrics"].splitlines()) >= 8


def test_lyrics_edit_keeps_the_structure(dev):
    given = "[Verse]\nI walk the road alone tonight\nthe city hums in neon light\n\n[Chorus]\nhold on hold on"
    body = dev.post("/v1/lyrics_generation", json={"mode": "edit", "lyrics": given, "prompt": "make it about the sea",
                                                   "title": "Sea"}).json()
    assert body["base_resp"]["status_code"] == 0 and body["song_title"] == "Sea"
    tags = [line for line in body["lyrics"].splitlines() if line.startswith("[")]
    assert [t.split()[0].strip("[]") for t in tags] == ["Verse", "Chorus"]


@pytest.mark.parametrize(("body", "code", "field_words"), [
    ({"mode": "edit", "prompt": "more"}, 2013, "lyrics are required in edit mode"),
    ({"mode": "remix"}, 2013, "mode"),
    ({"mode": "write_full_song", "prompt": "a zorblax song"}, 1026, "input new_sensitive"),
])
def test_lyrics_generation_errors(dev, body, code, field_words):
    base = dev.post("/v1/lyrics_generation", json=body).json()["base_resp"]
    assert base["status_code"] == code and field_words in base["status_msg"]
