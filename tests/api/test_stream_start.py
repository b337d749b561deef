"""Every stream of a real server with the real engine starts as the first audio is made (issue 13).

The song is made block by block (:mod:`songforge.engine.stream`): its first encoded piece is
written to the job's ``stream.part`` seconds before the song is done. A watcher thread
(:class:`tests.api._stream_watch.PartWatcher`) notes when that file appears; each stream's first
piece of audio must reach its client within 0.5 s, while the job is still running, and the
streamed pieces must concatenate to exactly the final file the dialect serves. Each stream is
read as its clients read it: the native one with :class:`songforge.Client`, DashScope's with the
``dashscope`` SDK, MiniMax's (no official SDK) and Suno's stream URL with ``httpx`` streaming.
"""

from __future__ import annotations

import base64
import json
import time

import httpx
import pytest
from dashscope.client.base_api import BaseApi

from songforge import Client
from tests.api._server import LiveServer
from tests.api._stream_watch import (
    MAX_LAG_S,
    PartWatcher,
    job_status,
    real_engine_server,
    sung_lyrics,
)

pytestmark = pytest.mark.heavy

API_KEY = "sk-test"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
STYLE = "warm indie pop with acoustic guitar"


@pytest.fixture
def live(tmp_path):
    server = real_engine_server(tmp_path / "data")
    yield server
    server.stop()


def _report(dialect: str, lag_s: float, first_audio_at: float | None, ended_at: float) -> None:
    """Print the measured lag (``pytest -s`` shows it) and how long the stream went on after its first audio."""
    print(f"\n{dialect}: first audio {lag_s * 1000:.0f} ms after stream.part appeared; "
          f"the stream ended {ended_at - (first_audio_at or ended_at):.1f} s after it")


def test_native_stream_starts_within_half_a_second_of_the_first_audio(live, tmp_path):
    with Client(live.url) as client, PartWatcher(live.data_dir) as watcher:
        [job] = client.submit("pop", instrumental=True, duration_s=40, seed=2, format="mp3")
        audio, first_audio_at, statuses_at_audio, status = bytearray(), None, [], "queued"
        for event in client.events(job["id"]):
            if event.event == "progress":
                status = event.data["status"]
            elif event.event == "audio":
                first_audio_at = first_audio_at or time.monotonic()
                statuses_at_audio.append(status)
                assert event.data["offset"] == len(audio)
                audio += event.audio
        ended_at = time.monotonic()
        view = client.get(job["id"])
        assert view["status"] == "succeeded", view["error"]
        assert client.download(view, tmp_path / "song.mp3").read_bytes() == bytes(audio)
    lag_s = watcher.lag_s(first_audio_at)
    _report("native", lag_s, first_audio_at, ended_at)
    assert watcher.job_id == job["id"] and lag_s <= MAX_LAG_S
    assert statuses_at_audio[0] == "first_ready"  # heard before the song was done


def test_dashscope_sse_through_the_sdk_starts_within_half_a_second_of_the_first_audio(live):
    # The wire has no length: streamed lyrics (200-250 words) or a sung prompt make songs of 160 s
    # and more (30-60 s of work here), so this is an instrumental, the tiny preset's 12.8 s.
    with PartWatcher(live.data_dir) as watcher:
        parts = BaseApi.call(model="fun-music-v1", input={"prompt": STYLE, "is_instrumental": True, "format": "mp3"},
                             task_group="audio", task="music", function="generation", api_key=API_KEY,
                             base_address=f"{live.url}/api/v1", stream=True)
        audio, first_audio_at, status_at_first, final = bytearray(), None, None, None
        for part in parts:
            assert part.status_code == 200, part.message
            if part.output["finish_reason"] == "stop":
                final = part
                continue
            if first_audio_at is None:
                first_audio_at = time.monotonic()
                status_at_first = job_status(live, watcher.wait_job_id())
            audio += base64.b64decode(part.output["audio"]["data"])
        ended_at = time.monotonic()
    lag_s = watcher.lag_s(first_audio_at)
    _report("dashscope", lag_s, first_audio_at, ended_at)
    # heard before the song was done
    assert lag_s <= MAX_LAG_S and status_at_first == "first_ready", (lag_s, status_at_first)
    assert final is not None and f"/{watcher.job_id}/" in final.output["audio"]["url"]
    assert _download(live, final.output["audio"]["url"]) == bytes(audio)


def test_minimax_stream_starts_within_half_a_second_of_the_first_audio(live):
    body = {"model": "music-2.6", "prompt": STYLE, "lyrics": sung_lyrics(40), "stream": True, "seed": 3,
            "audio_setting": {"format": "mp3"}}
    audio, first_audio_at, status_at_first, final = bytearray(), None, None, None
    with PartWatcher(live.data_dir) as watcher, httpx.stream(
        "POST", f"{live.url}/v1/music_generation", json=body, headers=AUTH, timeout=60,
    ) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if not line:
                continue
            assert line.startswith("data: "), line[:100]
            event = json.loads(line.removeprefix("data: "))
            assert event["base_resp"]["status_code"] == 0, event["base_resp"]
            if event["data"]["status"] == 2:  # the summary: the whole file, hex
                final = event
                continue
            if first_audio_at is None:
                first_audio_at = time.monotonic()
                status_at_first = job_status(live, watcher.wait_job_id())
            audio += bytes.fromhex(event["data"]["audio"])
        ended_at = time.monotonic()
    lag_s = watcher.lag_s(first_audio_at)
    _report("minimax", lag_s, first_audio_at, ended_at)
    assert lag_s <= MAX_LAG_S and status_at_first == "first_ready", (lag_s, status_at_first)
    assert final is not None and bytes.fromhex(final["data"]["audio"]) == bytes(audio)
    assert final["extra_info"]["music_size"] == len(audio)


def test_suno_stream_url_starts_within_half_a_second_of_the_first_audio(live):
    body = {"customMode": True, "instrumental": False, "model": "V4_5", "prompt": sung_lyrics(40), "style": STYLE,
            "title": "River", "callBackUrl": "http://127.0.0.1:9/callback"}
    with httpx.Client(base_url=live.url, headers=AUTH, timeout=30) as http, PartWatcher(live.data_dir) as watcher:
        answer = http.post("/api/v1/generate", json=body).json()
        assert answer["code"] == 200, answer
        task_id = answer["data"]["taskId"]
        # a player polls record-info and opens the track's stream as soon as it is offered
        track = _wait_for_track(http, task_id, lambda t: t["id"] == watcher.job_id and t["streamAudioUrl"])
        audio, first_audio_at, status_at_first = bytearray(), None, None
        with http.stream("GET", track["streamAudioUrl"]) as response:
            assert response.status_code == 200 and response.headers["content-type"] == "audio/mpeg"
            for piece in response.iter_bytes():
                if first_audio_at is None and piece:
                    first_audio_at = time.monotonic()
                    status_at_first = job_status(live, track["id"])
                audio += piece
        ended_at = time.monotonic()
        done = _wait_for_track(http, task_id, lambda t: t["id"] == track["id"] and t["audioUrl"])
        served = http.get(done["audioUrl"])
    lag_s = watcher.lag_s(first_audio_at)
    _report("suno", lag_s, first_audio_at, ended_at)
    assert lag_s <= MAX_LAG_S and status_at_first == "first_ready", (lag_s, status_at_first)
    assert served.status_code == 200 and served.content == bytes(audio)


def _download(live: LiveServer, url: str) -> bytes:
    assert url.startswith(f"{live.url}/files/"), url
    response = httpx.get(url, timeout=30)
    assert response.status_code == 200
    return response.content


def _wait_for_track(http: httpx.Client, task_id: str, wanted, *, timeout_s: float = 60.0, poll_s: float = 0.05):
    """The first ``sunoData`` track of the task for which ``wanted(track)`` holds, polling record-info."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        body = http.get("/api/v1/generate/record-info", params={"taskId": task_id}).json()
        assert body["code"] == 200, body
        tracks = (body["data"]["response"] or {}).get("sunoData") or []
        found = next((t for t in tracks if wanted(t)), None)
        if found is not None:
            return found
        assert body["data"]["status"] not in ("GENERATE_AUDIO_FAILED", "CREATE_TASK_FAILED"), body["data"]
        time.sleep(poll_s)
    raise AssertionError(f"no such track of task {task_id} in {timeout_s:g} s")
