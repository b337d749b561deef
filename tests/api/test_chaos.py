"""Chaos: SIGKILL a worker and the whole server at random points while 50 songs are in flight,
5 rounds. Every job ends succeeded or failed with a reason, no file is left without its job,
and no job is run twice to completion (a second completion only after a kill that may have lost
the first one's result).

The songs are made by the real engine with the tiny preset (several minutes);
``SONGFORGE_CHAOS_ENGINE=stub`` swaps in a fast stand-in for a quick look.
"""

from __future__ import annotations

import collections
import os
import random
import signal
import time
from pathlib import Path

import httpx
import pytest

from songforge.storage.jobs import SqlJobStore
from tests.api._server import LiveServer

ROUNDS = 5
SONGS = 50
ENGINE = "tests.api._chaos_engine:chaos_song"
AUTH = {"Authorization": "Bearer sf_chaos"}
TERMINAL = {"succeeded", "failed", "cancelled"}


def _workers(server_pid: int) -> list[int]:
    """The server's spawned worker processes (not the multiprocessing resource tracker)."""
    try:
        children = Path(f"/proc/{server_pid}/task/{server_pid}/children").read_text().split()
    except OSError:
        return []
    pids = []
    for pid in map(int, children):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"resource_tracker" not in cmdline:
            pids.append(pid)
    return pids


def _submit(url: str, round_no: int) -> list[str]:
    ids = []
    with httpx.Client(base_url=url, headers=AUTH, timeout=30) as client:
        for i in range(SONGS):
            body = {"prompt": f"chaos round {round_no} song {i}", "duration_s": 10, "seed": i, "format": "wav",
                    "instrumental": True}
            response = client.post("/v1/songs", json=body)
            assert response.status_code == 202, response.text
            ids.append(response.json()["jobs"][0]["id"])
    return ids


def _statuses(url: str, ids: list[str]) -> dict[str, dict]:
    with httpx.Client(base_url=url, headers=AUTH, timeout=30) as client:
        return {job_id: client.get(f"/v1/songs/{job_id}").json() for job_id in ids}


def _wait_all(url: str, ids: list[str], timeout_s: float) -> dict[str, dict]:
    deadline = time.monotonic() + timeout_s
    while True:
        views = _statuses(url, ids)
        if all(v["status"] in TERMINAL for v in views.values()) or time.monotonic() > deadline:
            return views
        time.sleep(0.5)


@pytest.mark.heavy
def test_kills_at_random_points_lose_nothing_and_run_nothing_twice(tmp_path):
    log = tmp_path / "completions.tsv"
    log.touch()
    env = {"SONGFORGE_CHAOS_LOG": str(log)}
    live = LiveServer(tmp_path / "data", args=("--dev", "--engine", ENGINE, "--workers", "2"), env=env)
    rng = random.Random(16)
    kills: list[float] = []
    all_ids: list[str] = []
    live.start()
    try:
        for round_no in range(ROUNDS):
            ids = _submit(live.url, round_no)
            all_ids += ids
            time.sleep(rng.uniform(0.2, 2.0))
            workers = _workers(live.process.pid)
            if workers:
                os.kill(rng.choice(workers), signal.SIGKILL)
                kills.append(time.time())
            time.sleep(rng.uniform(0.2, 2.0))
            live.kill()  # the server and its workers, as a crash would
            kills.append(time.time())
            live.start()
            views = _wait_all(live.url, ids, timeout_s=240)
            stuck = {k: v["status"] for k, v in views.items() if v["status"] not in TERMINAL}
            assert not stuck, f"round {round_no}: jobs not finished: {stuck}"
            for view in views.values():
                assert view["status"] in ("succeeded", "failed"), view
                if view["status"] == "failed":
                    assert view.get("error") and view["error"].get("message"), view
    finally:
        live.stop()
    _assert_no_double_completion(log, kills)
    _assert_no_orphans(tmp_path / "data", all_ids)


def _assert_no_double_completion(log: Path, kills: list[float]) -> None:
    runs: dict[str, list[float]] = collections.defaultdict(list)
    for line in log.read_text().splitlines():
        prompt, at = line.split("\t")
        runs[prompt].append(float(at))
    for prompt, times in runs.items():
        times.sort()
        for first, second in zip(times, times[1:], strict=False):
            assert any(first <= k <= second for k in kills), f"{prompt!r} ran to completion twice without a crash between"


def _assert_no_orphans(data: Path, ids: list[str]) -> None:
    store = SqlJobStore(f"sqlite:///{data / 'songforge.db'}")
    known = {job.id for job in store.list_jobs(limit=100_000)}
    blobs = data / "blobs"
    leftovers = [p for p in blobs.rglob("*") if p.is_file() and (".tmp" in p.name or p.name.startswith(".tmp"))]
    assert not leftovers, f"partial files left behind: {leftovers[:5]}"
    job_dirs = [p for p in blobs.iterdir() if p.is_dir() and len(p.name) == 32]
    orphans = [p for p in job_dirs if p.name not in known]
    assert not orphans, f"files of no job: {orphans[:5]}"
    for job_id in ids:
        job = store.get(job_id)
        if job.status.value == "failed":
            assert not (blobs / job_id).exists() or not any((blobs / job_id).iterdir()), f"a failed job kept files: {job_id}"

