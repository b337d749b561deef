"""Broker workers (``songforge worker``) over PostgreSQL, RabbitMQ, Redis and an S3 server."""

from __future__ import annotations

import asyncio
import threading

import pytest

from songforge.models import JobStatus, SongRequest
from songforge.service.lifecycle import EVENT_STATUS
from songforge.service.songs import build_service
from songforge.storage.jobs import ACTIVE_STATUSES
from tests.cluster import cluster_env, settings_of, start_worker
from tests.service._helpers import Receiver, wait_until
from tests.services import (  # noqa: F401  (fixtures)
    amqp_url,
    delete_broker_queues,
    postgres_url,
    redis_url,
    s3_server,
)

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
def env(tmp_path, postgres_url, amqp_url, redis_url, s3_server):  # noqa: F811
    env = cluster_env(tmp_path, postgres_url=postgres_url, amqp_url=amqp_url, redis_url=redis_url,
                      s3_endpoint=s3_server.endpoint, song_s=3.0)
    yield env
    delete_broker_queues(amqp_url, env["SONGFORGE_BROKER_QUEUE"])


@pytest.fixture
def api(env, tmp_path):
    """The API side in this process: it only enqueues, relays events and sends cancellations."""
    service = build_service(settings_of(env, tmp_path / "api"))
    service.start(run_workers=False)
    yield service
    service.stop()


def _collect_events(service, job_ids: set[str], sink: list, done: threading.Event) -> threading.Thread:
    """Follow every job's events in a thread (as SSE does) until all are finished."""

    async def follow() -> None:
        async def one(job_id: str) -> None:
            async for event in service.events(job_id, poll_s=30.0):
                sink.append(event)
        await asyncio.wait_for(asyncio.gather(*(one(j) for j in job_ids)), 200)

    def run() -> None:
        try:
            asyncio.run(follow())
        finally:
            done.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_a_worker_killed_mid_song_leaves_its_job_to_another_and_nothing_runs_twice(api, env, tmp_path):
    hooks = Receiver()
    first = start_worker(env, tmp_path, "w1")
    second = None
    try:
        jobs = [api.submit(SongRequest(prompt=f"song {i}", seed=100 + i), callback_url=hooks.url)[0] for i in range(4)]
        ids = {j.id for j in jobs}
        events: list = []
        followed = threading.Event()
        _collect_events(api, ids, events, followed)
        running = wait_until(lambda: [j for j in map(api.get, ids) if j.status == JobStatus.RUNNING],
                             timeout_s=90)
        first.kill()  # mid-song: its generation child dies with it
        second = start_worker(env, tmp_path, "w2")
        wait_until(lambda: all(api.get(i).status not in ACTIVE_STATUSES for i in ids), timeout_s=150, every_s=0.5)
        final = {i: api.get(i) for i in ids}
        assert all(j.status == JobStatus.SUCCEEDED for j in final.values()), {i: j.error_message for i, j in final.items()}
        assert final[running[0].id].attempts == 2  # the killed attempt counted, then one more
        runs = sorted(p.name.split(".")[0] for p in (tmp_path / "runs").iterdir())
        assert runs == sorted(str(100 + i) for i in range(4))  # each song made to the end once
        for job in final.values():
            assert api.blobs.read(job.result["assets"]["song"])[:4] == b"RIFF"  # in the object store
        wait_until(lambda: len(hooks.bodies) >= 8, timeout_s=30)
        by_job: dict[str, list[str]] = {}
        for body in hooks.bodies:
            by_job.setdefault(body["id"], []).append(body["status"])
        assert by_job == {i: ["first_ready", "succeeded"] for i in ids}
        assert followed.wait(30)
        seen = {(e.job_id, e.status) for e in events if e.kind == EVENT_STATUS}
        for i in ids:  # relayed from the workers' processes as they happened
            assert {(i, JobStatus.RUNNING), (i, JobStatus.FIRST_READY), (i, JobStatus.SUCCEEDED)} <= seen
    finally:
        for proc in (first, second):
            if proc is not None:
                proc.stop()
        hooks.close()


def test_a_job_whose_message_was_lost_is_sent_again(api, env, tmp_path):
    from songforge.service.pipeline import request_to_dict
    from songforge.storage.jobs import Job, new_job_id

    job = api.lifecycle.create(Job(id=new_job_id(), request=request_to_dict(SongRequest(prompt="lost", seed=7))))
    worker = start_worker({**env, "SONGFORGE_WORKER_RESEND_AFTER_S": "1"}, tmp_path, "w1")  # no message was sent
    try:
        wait_until(lambda: api.get(job.id).status == JobStatus.SUCCEEDED, timeout_s=90, every_s=0.5)
        assert api.get(job.id).attempts == 1
    finally:
        worker.stop()


def test_worker_without_a_broker_says_what_to_set(monkeypatch):
    from typer.testing import CliRunner

    from songforge.cli.app import app

    monkeypatch.delenv("SONGFORGE_BROKER_URL", raising=False)
    result = CliRunner().invoke(app, ["worker"])
    assert result.exit_code == 2 and "SONGFORGE_BROKER_URL" in result.output


def test_an_unknown_broker_scheme_is_refused():
    from songforge.errors import InvalidRequest
    from songforge.queue.broker import make_broker

    with pytest.raises(InvalidRequest, match="amqp:// or redis://"):
        make_broker("kafka://somewhere")
