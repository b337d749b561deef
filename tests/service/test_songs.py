from __future__ import annotations

import asyncio
import os
import time
from datetime import timedelta

import pytest

from songforge.errors import ContentTooLong, InvalidRequest, RateLimited
from songforge.models import JobStatus, SongRequest
from songforge.service.keys import Tier
from songforge.service.songs import SEED_LIMIT, apply_defaults, build_service
from songforge.storage.jobs import utc_now
from tests.service._helpers import make_settings

S = JobStatus


@pytest.fixture
def service(settings):
    svc = build_service(settings)
    yield svc
    svc.stop()


def test_defaults_are_applied_once_with_a_recorded_seed():
    [req] = apply_defaults(SongRequest(prompt="a song"))
    assert req.seed is not None and 0 <= req.seed < SEED_LIMIT and req.language == "en" and req.variations == 1
    reqs = apply_defaults(SongRequest(prompt="歌", seed=SEED_LIMIT - 1), variations=3)
    assert [r.seed for r in reqs] == [SEED_LIMIT - 1, 0, 1] and reqs[0].language == "zh"
    assert apply_defaults(SongRequest(prompt="x", duration_s=30))[0].duration_s == 30
    with pytest.raises(InvalidRequest):
        apply_defaults(SongRequest(prompt="x"), variations=9)


def test_submit_persists_queued_jobs_per_variation(service):
    jobs = service.submit(SongRequest(prompt="rainy day", seed=10), dialect="suno", variations=2)
    assert [j.status for j in jobs] == [S.QUEUED, S.QUEUED]
    stored = [service.get(j.id) for j in jobs]
    assert [j.request["seed"] for j in stored] == [10, 11]
    assert {j.batch_id for j in stored} == {jobs[0].batch_id} and stored[1].variation_index == 1
    assert stored[0].dialect == "suno" and stored[0].request["format"] == "mp3"
    assert [j.id for j in service.batch(jobs[0].batch_id)] == [j.id for j in jobs]
    assert service.queue.claim() == jobs[0].id


def test_submit_rejects_bad_input_before_persisting(service):
    with pytest.raises(ContentTooLong):
        service.submit(SongRequest(prompt="x" * 10) .with_(prompt="x" * 3000))
    with pytest.raises(InvalidRequest):
        service.submit(SongRequest(prompt="x"), callback_url="ftp://example.com/")
    assert service.store.list_jobs() == []


def test_submit_checks_the_keys_concurrency(tmp_path):
    svc = build_service(make_settings(tmp_path, dev_mode=False))
    assert svc.keys is not None
    svc.keys.tiers["free"] = Tier("free", 100, 2)
    key, _ = svc.keys.create(name="k")
    svc.submit(SongRequest(prompt="x"), key=key, variations=2)
    with pytest.raises(RateLimited):
        svc.submit(SongRequest(prompt="x"), key=key)


def test_cancel_and_native_view_with_signed_urls(service):
    [job] = service.submit(SongRequest(prompt="x"))
    assert service.cancel(job.id).status == S.CANCELLED
    service.lifecycle.store.update(job.id, result={"assets": {"song": f"{job.id}/song.mp3",
                                                               "stems": {"lead": f"{job.id}/stems/lead.wav"}}})
    view = service.native_view(service.get(job.id))
    assert view["status"] == "cancelled"
    song_url = view["urls"]["song"]
    assert song_url.startswith(f"http://127.0.0.1:8123/files/{job.id}/song.mp3?expires=")
    assert service.signer.verify_url(song_url.removeprefix("http://127.0.0.1:8123")) == f"{job.id}/song.mp3"
    assert set(view["urls"]["stems"]) == {"lead"}


def test_events_stream_until_the_job_ends(service):
    [job] = service.submit(SongRequest(prompt="x"))

    async def main():
        seen = []

        async def consume():
            async for event in service.events(job.id, poll_s=0.2):
                seen.append((event.kind, event.status))

        task = asyncio.create_task(consume())
        await asyncio.sleep(0.05)
        lc = service.lifecycle
        for step in (lc.start, lambda i: lc.progress(i, stage="mix", progress_pct=50), lc.first_ready,
                     lambda i: lc.succeed(i, {})):
            await asyncio.to_thread(step, job.id)
        await asyncio.wait_for(task, 5)
        done = await service.wait(job.id, timeout_s=1)
        return seen, done

    seen, done = asyncio.run(main())
    assert seen[0] == ("status", S.QUEUED) and seen[-1] == ("status", S.SUCCEEDED)
    assert ("progress", S.RUNNING) in seen and done.status == S.SUCCEEDED


def test_events_follow_changes_made_by_another_process_by_polling(service):
    [job] = service.submit(SongRequest(prompt="x"))

    async def main():
        statuses = []
        async for event in service.events(job.id, poll_s=0.05):
            statuses.append(event.status)
            if event.status == S.QUEUED:  # a worker elsewhere: store changes, no local events
                service.store.transition(job.id, from_statuses=[S.QUEUED], to_status=S.CANCELLED)
        return statuses

    assert asyncio.run(asyncio.wait_for(main(), 5)) == [S.QUEUED, S.CANCELLED]


def test_janitor_deletes_old_jobs_files_and_leftovers(service):
    old, new = service.submit(SongRequest(prompt="x"), variations=2)
    service.store.update(old.id, result={})
    service.blobs.put(f"{old.id}/song.mp3", b"old")
    service.blobs.put(f"{new.id}/song.mp3", b"new")
    service.blobs.put("orphan/file.bin", b"?")
    stale = time.time() - 20 * 86400
    os.utime(service.blobs.path_for("orphan/file.bin"), (stale, stale))
    with service.store.engine.begin() as conn:  # age one job by 20 days
        conn.exec_driver_sql("UPDATE jobs SET created_at = ? WHERE id = ?",
                             ((utc_now() - timedelta(days=20)).replace(tzinfo=None), old.id))
    report = service.janitor()
    assert (report.jobs_deleted, report.files_deleted) == (1, 2)
    assert [j.id for j in service.store.list_jobs()] == [new.id]
    assert service.blobs.exists(f"{new.id}/song.mp3") and not service.blobs.exists(f"{old.id}/song.mp3")


def test_janitor_deletes_vendor_tasks_older_than_the_retention(service):
    from songforge.storage.tasks import TaskRecord, TaskStore

    tasks = TaskStore(service.store.engine)
    days = service.settings.retention_days
    now = utc_now()
    tasks.create(TaskRecord(id="old", kind="music", created_at=now - timedelta(days=days, minutes=1)))
    tasks.create(TaskRecord(id="edge", kind="lyrics", created_at=now - timedelta(days=days, minutes=-1)))
    tasks.create(TaskRecord(id="new", kind="wav"))
    service.janitor(now=now)
    assert [t for t in ("old", "edge", "new") if _exists(tasks, t)] == ["edge", "new"]


def _exists(tasks, task_id: str) -> bool:
    from songforge.errors import NotFound

    try:
        tasks.get(task_id)
    except NotFound:
        return False
    return True
