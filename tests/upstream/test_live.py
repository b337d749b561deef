"""Routing to upstreams end to end: a front ``songforge serve`` whose backends are other songforge
servers on loopback, each reached in the dialect of the vendor it stands for.

The upstream servers run the scripted stand-in engine (0.5 s songs); the front's own engine makes
1.5 s songs (``tests/upstream/_engines.py``), so the length of a delivered song says who made it.
Pairs (caller dialect -> upstream dialect): Suno -> MiniMax with the real ``suno`` CLI, DashScope
-> Suno with the real ``dashscope`` SDK streaming (a polled upstream turned into our SSE),
AI/ML -> DashScope, MiniMax -> Suno with the official ``minimax-mcp`` client; then an upstream
killed mid-job, whose job the local engine finishes.
"""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
import soundfile as sf
from dashscope.client.base_api import BaseApi
from minimax_mcp.client import MinimaxAPIClient

from songforge.storage.jobs import SqlJobStore
from tests.api._server import SCRIPTED, LiveServer
from tests.service._helpers import Receiver, wait_until
from tests.upstream._engines import LOCAL_ENGINE, LOCAL_S

SUNO = Path(sys.executable).parent / "suno"
SECRET = "sk-upstream-SECRET-4242"
UPSTREAM_S = 0.5
ROUTES = {"models": {"V4_5": ["minimax"], "fun-music-v1": ["suno"], "music-2.6": ["suno"],
                     "minimax/music-2.6": ["dashscope"]},
          "header": True}


@pytest.fixture(scope="module")
def upstream(tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("upstream") / "data", args=("--dev", "--engine", SCRIPTED,
                      "--workers", "2"), env={"SONGFORGE_ALLOW_PRIVATE_CALLBACKS": "1",
                                              "SONGFORGE_CALLBACK_ATTEMPTS": "1"}).start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def doomed(tmp_path_factory):
    """A second upstream (AI/ML dialect), killed by the failure test."""
    live = LiveServer(tmp_path_factory.mktemp("doomed") / "data", args=("--dev", "--engine", SCRIPTED,
                      "--workers", "1")).start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def front(tmp_path_factory, upstream, doomed):
    env = {"SONGFORGE_UPSTREAM_ROUTES": json.dumps(ROUTES), "SONGFORGE_UPSTREAM_RETRIES": "2",
           "SONGFORGE_ALLOW_PRIVATE_CALLBACKS": "1", "SONGFORGE_CALLBACK_ATTEMPTS": "1",
           "SONGFORGE_UPSTREAM_AIMLAPI_URL": doomed.url, "SONGFORGE_UPSTREAM_AIMLAPI_KEY": SECRET}
    for name in ("MINIMAX", "SUNO", "DASHSCOPE"):
        env |= {f"SONGFORGE_UPSTREAM_{name}_URL": upstream.url, f"SONGFORGE_UPSTREAM_{name}_KEY": SECRET}
    live = LiveServer(tmp_path_factory.mktemp("front") / "data",
                      args=("--dev", "--engine", LOCAL_ENGINE, "--workers", "2", "--log-level", "info"),
                      env=env).start()
    yield live
    live.stop()
    assert SECRET not in live.log.read_text()  # the upstream keys were never logged


def _jobs(server: LiveServer) -> list:
    return SqlJobStore(f"sqlite:///{server.data_dir / 'songforge.db'}").list_jobs()


def _front_job(front: LiveServer, predicate) -> object:
    return wait_until(lambda: next((j for j in _jobs(front) if predicate(j) and j.status.value == "succeeded"),
                                   None), timeout_s=30)


def _duration_s(data: bytes) -> float:
    info = sf.info(io.BytesIO(data))
    return info.frames / info.samplerate


def _download(front: LiveServer, url: str) -> bytes:
    assert url.startswith(f"{front.url}/files/"), url  # re-hosted: our signed link, not the upstream's
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200
    return response.content


def test_suno_cli_generate_is_made_by_a_minimax_upstream(front, upstream, tmp_path):
    receiver = Receiver()
    env = {**os.environ, "HOME": str(tmp_path), "SUNO_BASE_URL": front.url, "SUNO_API_KEY": "test",
           "SUNO_CALLBACK_URL": receiver.url, "COLUMNS": "200"}
    done = subprocess.run([str(SUNO), "generate", "--custom", "--prompt", "[Verse]\nla la la", "--style", "synth pop",
                           "--title", "Routed", "--model", "V4_5", "--wait", "--interval", "0.3", "--json"],
                          env=env, capture_output=True, text=True, timeout=120)
    receiver.close()
    assert done.returncode == 0, done.stdout + done.stderr
    record = json.loads(done.stdout[done.stdout.index("{"):])
    assert record["status"] == "SUCCESS"
    for track in record["response"]["sunoData"]:
        assert _duration_s(_download(front, track["audioUrl"])) == pytest.approx(UPSTREAM_S, abs=0.1)
    made = [j for j in _jobs(upstream) if j.dialect == "minimax"]
    assert made and all(j.request["lyrics"] == "[Verse]\nla la la" for j in made)
    job = _front_job(front, lambda j: j.dialect == "suno")
    info = job.result["upstream"]
    assert info["backend"] == "minimax" and any(w.startswith("seed: MiniMax") for w in info["warnings"])
    assert SECRET not in json.dumps(job.result) + json.dumps(job.request)


def test_dashscope_sdk_stream_is_made_by_a_suno_upstream(front, upstream):
    parts = list(BaseApi.call(model="fun-music-v1", input={"prompt": "a bright folk song with fiddle", "format": "wav"},
                              task_group="audio", task="music", function="generation", api_key="sk-test",
                              base_address=f"{front.url}/api/v1", stream=True))
    assert all(p.status_code == 200 for p in parts), [p.message for p in parts]
    streamed = b"".join(base64.b64decode(p.output["audio"]["data"]) for p in parts if p.output["audio"]["data"])
    final = parts[-1].output
    assert final["finish_reason"] == "stop" and len(parts) >= 3  # chunks, then the final event
    stored = _download(front, final["audio"]["url"])
    assert streamed == stored and _duration_s(stored) == pytest.approx(UPSTREAM_S, abs=0.1)
    assert any(j.dialect == "suno" and j.request["prompt"] == "a bright folk song with fiddle" for j in _jobs(upstream))
    job = _front_job(front, lambda j: j.dialect == "dashscope" and j.request["prompt"] == "a bright folk song with fiddle")
    assert job.result["upstream"]["backend"] == "suno"


def test_aimlapi_caller_is_served_by_a_dashscope_upstream(front, upstream):
    body = {"model": "minimax/music-2.6", "prompt": "lofi beats", "lyrics": "[Verse]\nslow rain on the roof",
            "audio_setting": {"format": "mp3"}}
    headers = {"Authorization": "Bearer test"}
    created = httpx.post(f"{front.url}/v2/generate/audio", json=body, headers=headers, timeout=10).json()
    poll = lambda: (r := httpx.get(f"{front.url}/v2/generate/audio", params={"generation_id": created["id"]},  # noqa: E731
                                   headers=headers, timeout=10).json())["status"] in ("completed", "error") and r
    result = wait_until(poll, timeout_s=30, every_s=0.2)
    assert result["status"] == "completed", result
    audio = _download(front, result["audio_file"]["url"])
    assert audio[:3] == b"ID3" or audio[:2] == b"\xff\xfb"  # mp3, as asked, re-encoded from the upstream's file
    made = [j for j in _jobs(upstream) if j.dialect == "dashscope" and j.request["lyrics"] == body["lyrics"]]
    assert made and made[0].request["format"] == "mp3"
    job = _front_job(front, lambda j: j.dialect == "aimlapi")
    assert any("ignores the style prompt" in w for w in job.result["upstream"]["warnings"])


def test_minimax_client_is_served_by_a_suno_upstream(front, upstream):
    client = MinimaxAPIClient("test-key", front.url)
    body = {"model": "music-2.6", "prompt": "synth-pop", "lyrics": "[Verse]\nneon lights tonight",
            "output_format": "url", "audio_setting": {"sample_rate": 44100, "bitrate": 256000, "format": "wav"}}
    data = client.post("/v1/music_generation", json=body)
    assert data["data"]["status"] == 2
    audio = _download(front, data["data"]["audio"])
    info = sf.info(io.BytesIO(audio))
    assert info.samplerate == 44100 and info.duration == pytest.approx(UPSTREAM_S, abs=0.1)
    made = [j for j in _jobs(upstream) if j.dialect == "suno" and j.request["lyrics"] == body["lyrics"]]
    assert made and made[0].request["instrumental"] is False


def test_an_upstream_killed_mid_job_falls_back_to_the_local_engine(front, doomed):
    headers = {"Authorization": "Bearer test", "X-Songforge-Upstream": "aimlapi"}
    body = {"model": "fun-music-v1", "input": {"prompt": "paced slow song with a long synth intro", "format": "wav"}}
    answer: dict = {}
    call = threading.Thread(target=lambda: answer.update(r=httpx.post(
        f"{front.url}/api/v1/services/audio/music/generation", json=body, headers=headers, timeout=60)))
    call.start()
    wait_until(lambda: any(j.status.value == "running" for j in _jobs(doomed)), timeout_s=20)
    time.sleep(0.3)
    doomed.kill()
    call.join(60)
    response = answer["r"]
    assert response.status_code == 200, response.text
    stored = _download(front, response.json()["output"]["audio"]["url"])
    assert _duration_s(stored) == pytest.approx(LOCAL_S, abs=0.1)  # made by the local engine
    [job] = [j for j in _jobs(front) if j.request["prompt"] == body["input"]["prompt"]]
    assert job.status.value == "succeeded" and job.attempts == 1
    info = job.result["upstream"]
    assert info["backend"] == "local" and info["warnings"][0].startswith("aimlapi: failed")
    assert SECRET not in json.dumps(job.result)
