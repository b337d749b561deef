"""The AI/ML API dialect over real HTTP: create, poll, download, as the vendor's docs do it.

A ``songforge serve`` on loopback (the scripted stand-in engine, or the real one with the tiny
preset) is driven with plain ``httpx`` exactly like AIML's Python examples: POST the body, GET
``?generation_id=`` every few seconds (here every half second: the stand-in takes seconds, not
minutes) until the status is neither ``queued`` nor ``generating``, then download
``audio_file.url``.
"""

from __future__ import annotations

import io
import time

import httpx
import pytest
import soundfile as sf

from tests.api._server import SCRIPTED, LiveServer

PATH = "/v2/generate/audio"
HEADERS = {"Authorization": "Bearer <YOUR_AIMLAPI_KEY>", "Content-Type": "application/json"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("aiml-live") / "data",
                      args=("--dev", "--engine", SCRIPTED, "--workers", "1")).start()
    yield live
    live.stop()


def generate_and_wait(base_url: str, payload: dict, *, every_s: float, timeout_s: float) -> tuple[dict, list[str]]:
    """The docs' loop: create, then poll until done; returns the last answer and every status seen."""
    created = httpx.post(f"{base_url}{PATH}", json=payload, headers=HEADERS, timeout=30)
    assert created.status_code == 200, created.text
    generation = created.json()
    assert generation["status"] == "queued" and generation["meta"]["usage"]["credits_used"] > 0
    seen = [generation["status"]]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        response = httpx.get(f"{base_url}{PATH}", params={"generation_id": generation["id"]}, headers=HEADERS, timeout=30)
        assert response.status_code == 200, response.text
        data = response.json()
        assert data["id"] == generation["id"]
        seen.append(data["status"])
        if data["status"] not in ("queued", "generating"):
            return data, seen
        time.sleep(every_s)
    raise AssertionError(f"not done within {timeout_s} s: {seen}")


def test_create_poll_download(server):
    payload = {"model": "minimax/music-2.0", "prompt": "paced slow lo-fi groove for the night",
               "lyrics": "[Verse]\nStreetlights flicker, the night breeze sighs", "audio_setting": {"format": "wav"}}
    data, seen = generate_and_wait(server.url, payload, every_s=0.5, timeout_s=60)
    assert data["status"] == "completed" and data["error"] is None, data
    assert "generating" in seen and seen.index("generating") > 0 and seen[-1] == "completed"
    assert seen == sorted(seen, key=["queued", "generating", "completed"].index)  # never backwards
    url = data["audio_file"]["url"]
    assert url.startswith(f"{server.url}/files/")
    audio = httpx.get(url, timeout=30)
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/wav"
    info = sf.info(io.BytesIO(audio.content))
    assert info.samplerate == 48000 and info.channels == 2 and info.duration > 0.4
    assert httpx.get(url.replace("sig=", "sig=0"), timeout=30).status_code == 401  # the link is signed


def test_a_failed_generation_reads_error(server):
    payload = {"model": "minimax/music-1.5", "prompt": "fail this song please", "lyrics": "[Verse]\nla la la la la"}
    data, seen = generate_and_wait(server.url, payload, every_s=0.5, timeout_s=60)
    assert data["status"] == "error" and data["audio_file"] is None
    assert data["error"] == {"name": "vocals_failed", "message": "the vocals could not be sung"}


def test_errors_over_the_wire(server):
    response = httpx.post(f"{server.url}{PATH}", json={"model": "suno/v5"}, headers=HEADERS, timeout=30)
    body = response.json()
    assert response.status_code == 400 and body["statusCode"] == 400 and body["path"] == PATH
    assert body["message"].startswith("Body validation error\nInvalid enum value. Expected 'minimax/music-2.6'")
    response = httpx.get(f"{server.url}{PATH}", params={"generation_id": "nope"}, headers=HEADERS, timeout=30)
    assert response.status_code == 404 and response.json()["statusCode"] == 404


@pytest.mark.heavy
def test_real_engine_song_from_lyrics(tmp_path):
    live = LiveServer(tmp_path / "data", args=("--dev", "--preset", "tiny", "--workers", "1")).start(timeout_s=120)
    try:
        payload = {"model": "minimax/music-2.6", "prompt": "bright acoustic pop",
                   "lyrics": "[Verse]\nSun on the water\nwe sing along", "audio_setting": {"format": "wav", "audio_sample_rate": 44100}}
        data, _ = generate_and_wait(live.url, payload, every_s=2.0, timeout_s=540)
        assert data["status"] == "completed", data["error"]
        audio = httpx.get(data["audio_file"]["url"], timeout=60)
        info = sf.info(io.BytesIO(audio.content))
        assert audio.status_code == 200 and info.samplerate == 44100 and info.duration >= 8.0
    finally:
        live.stop()
