"""End-to-end runs through the worker pool: real spawned worker processes, fast fake engines."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf

from songforge.models import JobStatus, SongRequest
from songforge.service.songs import build_service
from tests.service import _fake_engine as fake
from tests.service._helpers import make_settings, wait_until

S = JobStatus


@pytest.fixture
def make_service(tmp_path):
    started = []

    def make(generate, **overrides):
        service = build_service(make_settings(tmp_path, **overrides))
        service.start(generate=generate)
        started.append(service)
        return service

    yield make
    for service in started:
        service.stop()


def _request(**kw) -> SongRequest:
    return SongRequest(**{"prompt": "a test song", "format": "wav", **kw})


def _finished(service, job_id):
    job = service.get(job_id)
    return job if job.status not in (S.QUEUED, S.RUNNING, S.FIRST_READY) else None


def test_job_runs_in_a_worker_process_and_stores_assets(make_service):
    service = make_service(fake.sine_song)
    events = []
    service.bus.add_listener(events.append)
    [job] = service.submit(_request(seed=5, want_stems=True, want_midi=True, want_timings=True))
    done = wait_until(lambda: _finished(service, job.id))
    assert done.status == S.SUCCEEDED, done.error_message
    assets = done.result["assets"]
    audio, rate_hz = sf.read(io.BytesIO(service.blobs.read(assets["song"])))
    assert rate_hz == 48000 and audio.shape == (24000, 2)
    assert abs(np.argmax(np.abs(np.fft.rfft(audio[:, 0]))) * 2 - 225) <= 2  # 225 Hz, 2 Hz bins
    assert set(assets["stems"]) == {"lead", "bass"} and service.blobs.exists(assets["midi"])
    assert {"plan", "timings"} <= set(assets)
    assert done.result["seed"] == 5 and done.result["duration_s"] == 0.5
    # the store changes before the event goes out: wait for the event too
    wait_until(lambda: any(e.kind == "status" and e.status == S.SUCCEEDED for e in events))
    statuses = [e.status for e in events if e.kind == "status"]
    assert statuses == [S.QUEUED, S.RUNNING, S.FIRST_READY, S.SUCCEEDED]
    chunks = b"".join(e.data for e in events if e.kind == "chunk")
    assert chunks == service.blobs.read(assets["song"])  # streamed pieces == final file
    assert max(e.progress_pct for e in events if e.kind == "progress") == 100.0
    assert done.attempts == 1


def test_engine_failure_gives_its_reason(make_service):
    service = make_service(fake.failing_song)
    [a] = service.submit(_request())
    failed = wait_until(lambda: _finished(service, a.id))
    assert (failed.status, failed.error_code) == (S.FAILED, "vocals_failed")
    assert service.blobs.delete_prefix(a.id) == 0  # nothing left behind


def test_unexpected_exception_is_engine_error(make_service):
    service = make_service(fake.buggy_song)
    [a] = service.submit(_request())
    failed = wait_until(lambda: _finished(service, a.id))
    assert failed.error_code == "engine_error" and "ZeroDivisionError" in failed.error_message


def test_timeout_kills_the_job_and_the_worker_goes_on(make_service):
    service = make_service(fake.slow_song, job_timeout_s=1.5)
    [slow] = service.submit(_request())
    failed = wait_until(lambda: _finished(service, slow.id))
    assert (failed.status, failed.error_code) == (S.FAILED, "timeout")


def test_cancel_a_running_job(make_service):
    service = make_service(fake.slow_song)
    [job] = service.submit(_request())
    wait_until(lambda: service.get(job.id).stage == "compose")  # it is running in the child
    service.cancel(job.id)
    wait_until(lambda: not service.pool.running)  # the worker let go of it
    job = service.get(job.id)
    assert job.status == S.CANCELLED and job.result is None


def test_cancel_a_queued_job_never_runs_it(tmp_path):
    service = build_service(make_settings(tmp_path))
    [job] = service.submit(_request())
    service.cancel(job.id)
    service.start(generate=fake.sine_song)
    try:
        assert service.queue.claim() is None
        assert service.get(job.id).status == S.CANCELLED and service.get(job.id).attempts == 0
    finally:
        service.stop()


def test_a_crashing_worker_is_retried_once_then_failed(make_service):
    service = make_service(fake.crashing_song)
    [job] = service.submit(_request())
    failed = wait_until(lambda: _finished(service, job.id), timeout_s=30)
    assert (failed.status, failed.error_code, failed.attempts) == (S.FAILED, "worker_lost", 2)


def test_a_crash_then_success(make_service, tmp_path):
    service = make_service(fake.crash_once_song)
    [job] = service.submit(_request(prompt=str(tmp_path / "crashed-once")))
    done = wait_until(lambda: _finished(service, job.id), timeout_s=30)
    assert (done.status, done.attempts) == (S.SUCCEEDED, 2)


def test_queue_is_durable_across_restarts(tmp_path, make_service):
    # a "service" that accepts jobs but dies before running them
    first = build_service(make_settings(tmp_path))
    jobs = first.submit(_request(), variations=2)
    first.queue.claim()  # one was claimed when the process died
    lost = first.submit(_request())[0]
    first.lifecycle.start(lost.id)  # and this one was running: a crash
    twice = first.submit(_request())[0]
    first.lifecycle.start(twice.id)
    first.lifecycle.requeue(twice.id, reason="worker_lost")
    first.lifecycle.start(twice.id)  # already on its second attempt
    first.store.close()

    second = make_service(fake.sine_song)  # a new service over the same data dir
    for job in [*jobs, lost]:
        done = wait_until(lambda j=job: _finished(second, j.id), timeout_s=30)
        assert done.status == S.SUCCEEDED
    assert second.get(lost.id).attempts == 2
    failed = second.get(twice.id)
    assert (failed.status, failed.error_code) == (S.FAILED, "worker_lost")
    seeds = [second.get(j.id).result["seed"] for j in jobs]
    assert seeds == [jobs[0].request["seed"], (jobs[0].request["seed"] + 1) % 2**32]


def test_stop_requeues_running_jobs_without_counting_an_attempt(make_service):
    service = make_service(fake.slow_song)
    [job] = service.submit(_request())
    wait_until(lambda: service.get(job.id).status == S.RUNNING)
    service.stop()
    job = service.get(job.id)
    assert (job.status, job.attempts) == (S.QUEUED, 0)
