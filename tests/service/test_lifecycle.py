from __future__ import annotations

import asyncio

import pytest

from songforge.errors import NotFound
from songforge.models import JobStatus
from songforge.service.lifecycle import TRANSITIONS, IllegalTransition, Lifecycle, is_legal
from songforge.storage.jobs import Job, SqlJobStore, new_job_id

S = JobStatus


@pytest.fixture
def life(tmp_path):
    lc = Lifecycle(SqlJobStore(f"sqlite:///{tmp_path / 'j.db'}"))
    events = []
    lc.bus.add_listener(events.append)
    lc.events = events  # type: ignore[attr-defined]
    return lc


def _new(life) -> Job:
    return life.create(Job(id=new_job_id(), request={"prompt": "x"}))


def test_happy_path_emits_an_event_per_change(life):
    job = _new(life)
    life.start(job.id)
    life.progress(job.id, stage="render", progress_pct=40)
    life.first_ready(job.id)
    done = life.succeed(job.id, {"seed": 3})
    assert done.status == S.SUCCEEDED and done.result == {"seed": 3} and done.attempts == 1
    kinds = [(e.kind, e.status, e.stage) for e in life.events]
    assert kinds == [
        ("status", S.QUEUED, None), ("status", S.RUNNING, None), ("progress", S.RUNNING, "render"),
        ("status", S.FIRST_READY, "render"), ("status", S.SUCCEEDED, "render"),
    ]
    assert all(e.job_id == job.id and e.ts > 0 for e in life.events)


def test_succeed_from_running_passes_through_first_ready(life):
    job = _new(life)
    life.start(job.id)
    life.succeed(job.id, {})
    assert [e.status for e in life.events][-2:] == [S.FIRST_READY, S.SUCCEEDED]


@pytest.mark.parametrize("source", list(S))
@pytest.mark.parametrize("target", list(S))
def test_transition_table_matches_the_design(source, target):
    legal = {
        (S.QUEUED, S.RUNNING), (S.QUEUED, S.CANCELLED),
        (S.RUNNING, S.FIRST_READY), (S.RUNNING, S.FAILED), (S.RUNNING, S.CANCELLED), (S.RUNNING, S.QUEUED),
        (S.FIRST_READY, S.SUCCEEDED), (S.FIRST_READY, S.FAILED), (S.FIRST_READY, S.CANCELLED),
        (S.FIRST_READY, S.QUEUED),
    }
    assert is_legal(source, target) == ((source, target) in legal)
    assert set(TRANSITIONS) == set(S)


def test_illegal_transitions_raise(life):
    job = _new(life)
    with pytest.raises(IllegalTransition):
        life.first_ready(job.id)
    with pytest.raises(IllegalTransition):
        life.fail(job.id, code="x")
    life.cancel(job.id)
    with pytest.raises(IllegalTransition) as info:
        life.cancel(job.id)
    assert info.value.current == S.CANCELLED and info.value.http_status == 409
    with pytest.raises(IllegalTransition):
        life.start(job.id)
    with pytest.raises(NotFound):
        life.cancel("missing")


def test_fail_records_reason(life):
    job = _new(life)
    life.start(job.id)
    failed = life.fail(job.id, code="timeout", message="too slow")
    assert (failed.status, failed.error_code, failed.error_message) == (S.FAILED, "timeout", "too slow")
    assert life.events[-1].error_code == "timeout"


def test_progress_is_monotonic_and_ignored_when_not_running(life):
    job = _new(life)
    assert life.progress(job.id, stage="compose", progress_pct=10) is None  # queued
    life.start(job.id)
    life.progress(job.id, stage="render", progress_pct=50)
    assert life.progress(job.id, stage="render", progress_pct=20).progress_pct == 50
    life.cancel(job.id)
    assert life.progress(job.id, stage="mix", progress_pct=90) is None
    assert life.store.get(job.id).status == S.CANCELLED


def test_requeue_counts_attempts_unless_told_not_to(life):
    job = _new(life)
    life.start(job.id)
    assert life.requeue(job.id, reason="worker_lost").attempts == 1
    life.start(job.id)
    assert life.requeue(job.id, reason="shutdown", count_attempt=False).attempts == 1


def test_async_subscribers_get_events_from_other_threads(life):
    job = _new(life)

    async def main():
        stream = life.bus.open_stream(job.id)
        await asyncio.to_thread(life.start, job.id)
        event = await stream.get(5)
        stream.close()
        return event

    event = asyncio.run(main())
    assert event.status == S.RUNNING and event.to_dict()["status"] == "running"
