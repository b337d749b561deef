"""The production layout on loopback: 2 API processes, 3 ``songforge worker`` processes,
PostgreSQL, RabbitMQ, Redis and an S3 server; 60 songs through both APIs while one worker is
SIGKILLed mid-song and one API process is restarted.

The songs are made by the real engine (``tests.queue._scale_engine:real_song``: tiny preset,
10 s instrumentals; Suno tasks use their own default length), about 1.5 min here;
``SONGFORGE_TEST_CLUSTER_ENGINE=tests.queue._scale_engine:paced_song`` swaps in a paced sine
stand-in for a quick look.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from collections import Counter

import httpx
import pytest

from tests.cluster import Api, cluster_env, start_worker
from tests.service._helpers import Receiver, wait_until
from tests.services import (  # noqa: F401  (fixtures)
    amqp_url,
    delete_broker_queues,
    postgres_url,
    redis_url,
    s3_server,
)

pytestmark = [pytest.mark.heavy, pytest.mark.timeout(600)]

NATIVE_PER_API = 20
SUNO_TASKS_PER_API = 5  # two songs each
SONGS = 2 * NATIVE_PER_API + 2 * 2 * SUNO_TASKS_PER_API


def _follow(url: str, sink: dict) -> None:
    """An SSE client: every (event, data) of one job's stream until it ends."""
    events: list[tuple[str, dict]] = []
    sink[url] = events
    with httpx.stream("GET", url, timeout=httpx.Timeout(10.0, read=300.0)) as response:
        name = None
        for line in response.iter_lines():
            if line.startswith("event:"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and name:
                events.append((name, json.loads(line.split(":", 1)[1])))
                if name in ("done", "error"):
                    return


def _native(api: Api, i: int, hook: str) -> str:
    body = {"prompt": "paced pop instrumental", "instrumental": True, "duration_s": 10, "seed": 1000 + i,
            "format": "wav", "callback_url": hook}
    response = _retry(lambda: httpx.post(f"{api.url}/v1/songs", json=body, timeout=30))
    assert response.status_code == 202, response.text
    return str(response.json()["jobs"][0]["id"])


def _suno(api: Api, k: int, hook: str) -> str:
    body = {"customMode": True, "instrumental": True, "model": "V4_5", "style": "paced pop",
            "title": f"Paced {k}", "callBackUrl": hook}
    response = _retry(lambda: httpx.post(f"{api.url}/api/v1/generate", json=body, timeout=30))
    assert response.json()["code"] == 200, response.text
    return str(response.json()["data"]["taskId"])


def _retry(call, attempts: int = 60):
    """A client that retries while an API process restarts."""
    for _ in range(attempts):
        try:
            return call()
        except httpx.TransportError:
            time.sleep(0.5)
    return call()


def test_sixty_songs_two_apis_three_workers_one_killed_one_api_restarted(
    tmp_path, postgres_url, amqp_url, redis_url, s3_server,  # noqa: F811
):
    env = cluster_env(tmp_path, postgres_url=postgres_url, amqp_url=amqp_url, redis_url=redis_url,
                      s3_endpoint=s3_server.endpoint, song_s=1.0)
    engine = os.environ.get("SONGFORGE_TEST_CLUSTER_ENGINE", "tests.queue._scale_engine:real_song")
    native_hooks, suno_hooks = Receiver(), Receiver()
    apis = [Api(env, tmp_path, "api-a"), Api(env, tmp_path, "api-b")]
    workers = [start_worker(env, tmp_path, f"worker-{n}", engine=engine) for n in range(3)]
    followers: dict[str, list] = {}
    threads: list[threading.Thread] = []
    try:
        for api in apis:
            api.wait_ready()
        native: dict[str, Api] = {}
        suno: dict[str, Api] = {}
        for i in range(NATIVE_PER_API):
            for side, api in enumerate(apis):
                native[_native(api, 2 * i + side, native_hooks.url)] = api
            if i < SUNO_TASKS_PER_API:
                for api in apis:
                    suno[_suno(api, len(suno), suno_hooks.url)] = api
            if i == NATIVE_PER_API // 2:
                apis[1].stop()  # graceful restart of one API process mid-run
                apis[1].start()
        for job_id, api in native.items():  # SSE followers on the *other* API process
            other = apis[0] if api is apis[1] else apis[1]
            url = f"{other.url}/v1/songs/{job_id}/events"
            thread = threading.Thread(target=_retry, args=(lambda u=url: _follow(u, followers),), daemon=True)
            thread.start()
            threads.append(thread)

        def status(job_id: str) -> str:
            return _retry(lambda: httpx.get(f"{apis[0].url}/v1/songs/{job_id}", timeout=10)).json()["status"]

        wait_until(lambda: sum(status(j) == "succeeded" for j in list(native)[:10]) >= 3, timeout_s=240, every_s=0.5)
        workers[0].kill()  # SIGKILL while every worker is busy: mid-song
        apis[1].wait_ready()
        wait_until(lambda: all(status(j) in ("succeeded", "failed", "cancelled") for j in native),
                   timeout_s=400, every_s=1.0)
        _check_jobs(apis, native, suno, tmp_path, postgres_url)
        _check_callbacks(native_hooks, suno_hooks, native, suno)
        for thread in threads:
            thread.join(60)
        _check_followers(followers, native, apis)
    finally:
        for proc in (*workers, *apis):
            proc.stop()
        delete_broker_queues(amqp_url, env["SONGFORGE_BROKER_QUEUE"])
        native_hooks.close()
        suno_hooks.close()


def _suno_tracks(api: Api, task_id: str) -> tuple[str, list[dict]]:
    data = httpx.get(f"{api.url}/api/v1/generate/record-info", params={"taskId": task_id}, timeout=10).json()["data"]
    return data["status"], data["response"]["sunoData"]


def _check_jobs(apis, native, suno, tmp_path, database_url) -> None:
    """Every job succeeded, exactly once; every file downloads through either API."""
    from songforge.storage.jobs import SqlJobStore

    wait_until(lambda: all(_suno_tracks(apis[0], t)[0] == "SUCCESS" for t in suno), timeout_s=120, every_s=1.0)
    for n, job_id in enumerate(native):
        view = httpx.get(f"{apis[n % 2].url}/v1/songs/{job_id}", timeout=10).json()
        assert view["status"] == "succeeded", view
        song = httpx.get(view["result"]["audio_url"], timeout=30)
        assert song.status_code == 200 and song.content[:4] == b"RIFF"
    for n, task_id in enumerate(suno):
        _, tracks = _suno_tracks(apis[n % 2], task_id)
        assert len(tracks) == 2
        for track in tracks:
            assert httpx.get(track["audioUrl"], timeout=30).status_code == 200
    made = Counter(p.name.split(".")[0] for p in (tmp_path / "runs").iterdir())
    assert sum(made.values()) == SONGS and set(made.values()) == {1}, made  # each song made to the end once
    store = SqlJobStore(database_url)
    jobs = store.list_jobs()
    store.close()
    assert len(jobs) == SONGS and {j.status.value for j in jobs} == {"succeeded"}
    assert max(j.attempts for j in jobs) == 2  # the song of the killed worker, taken over once


def _check_callbacks(native_hooks, suno_hooks, native, suno) -> None:
    def complete() -> bool:
        done_native = {b["id"] for b in native_hooks.bodies if b["status"] == "succeeded"}
        done_suno = {b["data"]["task_id"] for b in suno_hooks.bodies if b["data"]["callbackType"] == "complete"}
        return done_native >= set(native) and done_suno >= set(suno)

    wait_until(complete, timeout_s=120, every_s=0.5)
    by_task: dict[str, list[str]] = {}
    for body in suno_hooks.bodies:
        by_task.setdefault(body["data"]["task_id"], []).append(body["data"]["callbackType"])
    assert by_task == {t: ["text", "first", "complete"] for t in suno}


def _check_followers(followers, native, apis) -> None:
    assert len(followers) == len(native)
    for url, events in followers.items():
        names = [name for name, _ in events]
        assert names[-1] == "done", (url, names)
        statuses = [data["status"] for name, data in events if name == "progress"]
        assert "succeeded" in statuses or events[-1][1]["status"] == "succeeded"
        audio = b"".join(base64.b64decode(d["data"]) for n, d in events if n == "audio")
        assert audio[:4] == b"RIFF" and len(audio) == sum(d["size"] for n, d in events if n == "audio")
