"""The real ``suno`` command line (PyPI suno-music-cli) against a live server on loopback running the
scripted stand-in engine: generate, status, extend, lyrics, credits, with callbacks to a local receiver."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.api._server import SCRIPTED, LiveServer
from tests.service._helpers import Receiver, wait_until

SUNO = Path(sys.executable).parent / "suno"
TERMINAL = {"SUCCESS", "CREATE_TASK_FAILED", "GENERATE_AUDIO_FAILED", "CALLBACK_EXCEPTION", "SENSITIVE_WORD_ERROR"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    env = {"SONGFORGE_ALLOW_PRIVATE_CALLBACKS": "1", "SONGFORGE_CALLBACK_ATTEMPTS": "2"}
    live = LiveServer(tmp_path_factory.mktemp("suno-live") / "data",
                      args=("--dev", "--engine", SCRIPTED, "--workers", "2"), env=env).start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def suno(server, receiver, tmp_path):
    env = {**os.environ, "HOME": str(tmp_path), "SUNO_BASE_URL": server.url, "SUNO_API_KEY": "test",
           "SUNO_CALLBACK_URL": receiver.url, "COLUMNS": "200"}

    def run(*args: str, ok: bool | None = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([str(SUNO), *args], env=env, capture_output=True, text=True, timeout=120)
        assert ok is None or (done.returncode == 0) == ok, done.stdout + done.stderr
        return done

    return run


def test_generate_wait_status_extend_and_callbacks(suno, receiver):
    out = suno("generate", "--custom", "--prompt", "[Verse]\nla la", "--style", "paced pop", "--title", "Live",
               "--model", "V4_5", "--style-weight", "0.7", "--wait", "--interval", "0.3", "--json").stdout
    record = json.loads(out[out.index("{"):])
    task_id = record["taskId"]
    assert record["status"] == "SUCCESS" and record["errorCode"] is None
    tracks = record["response"]["sunoData"]
    assert len(tracks) == 2 and all(t["audioUrl"].startswith("http://127.0.0.1:") for t in tracks)
    status = json.loads(suno("status", task_id, "--json").stdout)
    assert status["status"] == "SUCCESS" and status["response"]["sunoData"][0]["id"] == tracks[0]["id"]
    wait_until(lambda: len([b for b in receiver.bodies if b["data"].get("task_id") == task_id]) >= 3, timeout_s=20)
    mine = [b for b in receiver.bodies if b["data"].get("task_id") == task_id]
    assert [b["data"]["callbackType"] for b in mine] == ["text", "first", "complete"]
    extended = json.loads(suno("extend", task_id, "--continue-at", "0.2", "--prompt", "[Verse]\nmore", "--style",
                               "pop", "--title", "More", "--model", "V4_5", "--json").stdout)
    assert extended["audioId"] == tracks[0]["id"] and len(extended["taskId"]) == 32
    done = wait_until(lambda: (s := json.loads(suno("status", extended["taskId"], "--json").stdout))["status"]
                      in TERMINAL and s, timeout_s=30, every_s=0.3)
    assert done["status"] == "SUCCESS" and done["errorCode"] is None, done
    # the source up to continueAt (0.2 s), then the half-second continuation
    assert [t["duration"] for t in done["response"]["sunoData"]] == [pytest.approx(0.7, abs=1e-3)] * 2
    assert all(t["title"] == "More" and t["tags"] == "pop" for t in done["response"]["sunoData"])


def test_failed_generation_exits_non_zero(suno):
    done = suno("generate", "--custom", "--instrumental", "--style", "fail", "--title", "X", "--wait", "--interval",
                "0.3", ok=False)
    assert "GENERATE_AUDIO_FAILED" in done.stdout


def test_bad_model_and_too_long_title_are_api_errors(suno):
    done = suno("generate", "--custom", "--instrumental", "--style", "pop", "--title", "t" * 101, "--model", "V5",
                ok=False)
    assert "[413]" in done.stderr and "title" in done.stderr


def test_lyrics_and_credits(suno, receiver):
    out = json.loads(suno("lyrics", "--prompt", "a rainy night in the city", "--json").stdout)
    wait_until(lambda: any(b["data"].get("taskId") == out["taskId"] for b in receiver.bodies), timeout_s=20)
    [body] = [b for b in receiver.bodies if b["data"].get("taskId") == out["taskId"]]
    assert body["code"] == 200 and len(body["data"]["data"]) == 2
    assert "credits: 1000000" in suno("credits").stdout
