from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

from songforge.errors import NotFound
from songforge.models import JobStatus
from songforge.storage.jobs import ApiKeyRecord, Job, SqlJobStore, new_job_id, utc_now
from tests.services import postgres_url  # noqa: F401  (fixture)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    """The same store tests on SQLite and on PostgreSQL (a fresh schema each)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'jobs.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    s = SqlJobStore(url)
    yield s
    s.close()


def _job(**kw) -> Job:
    return Job(id=new_job_id(), request={"prompt": "a song", "seed": 7}, **kw)


def test_create_get_roundtrip_keeps_json_and_utc(store):
    job = store.create(_job(callback_url="https://example.com/cb", variation_index=1))
    got = store.get(job.id)
    assert got.request == {"prompt": "a song", "seed": 7}
    assert got.status == JobStatus.QUEUED and got.variation_index == 1
    assert got.created_at.utcoffset() == timedelta(0)
    assert got.to_dict()["status"] == "queued"


def test_get_unknown_raises_not_found(store):
    with pytest.raises(NotFound):
        store.get("nope")


def test_update_sets_fields_but_never_status(store):
    job = store.create(_job())
    updated = store.update(job.id, stage="render", progress_pct=40.0, result={"seed": 1})
    assert (updated.stage, updated.progress_pct, updated.result) == ("render", 40.0, {"seed": 1})
    assert updated.updated_at >= job.updated_at
    with pytest.raises(ValueError):
        store.update(job.id, status=JobStatus.RUNNING)


def test_transition_is_compare_and_set(store):
    job = store.create(_job())
    moved = store.transition(job.id, from_statuses=[JobStatus.QUEUED], to_status=JobStatus.RUNNING)
    assert moved is not None and moved.status == JobStatus.RUNNING
    again = store.transition(job.id, from_statuses=[JobStatus.QUEUED], to_status=JobStatus.RUNNING)
    assert again is None


def test_list_filters_by_status_owner_and_age(store):
    a = store.create(_job(owner_key_id="k1"))
    b = store.create(_job(owner_key_id="k2"))
    store.transition(b.id, from_statuses=[JobStatus.QUEUED], to_status=JobStatus.CANCELLED)
    assert [j.id for j in store.list_jobs(statuses=[JobStatus.QUEUED])] == [a.id]
    assert [j.id for j in store.list_jobs(owner_key_id="k2")] == [b.id]
    assert store.list_jobs(created_before=utc_now() - timedelta(days=1)) == []
    assert store.count_active("k1") == 1 and store.count_active("k2") == 0


def test_claim_is_atomic_across_threads(store):
    ids = {store.create(_job()).id for _ in range(20)}
    claimed: list[str] = []
    lock = threading.Lock()

    def worker():
        while (job := store.claim_next()) is not None:
            with lock:
                claimed.append(job.id)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed) == sorted(ids)  # every job claimed exactly once


def test_claim_order_release_and_not_before(store):
    first, second = store.create(_job()), store.create(_job())
    assert store.claim_next().id == first.id
    store.release_claim(first.id, not_before=utc_now() + timedelta(hours=1))
    assert store.claim_next().id == second.id
    assert store.claim_next() is None
    store.release_claim(first.id)
    assert store.claim_next().id == first.id


def test_stale_claims_are_released(store):
    job = store.create(_job())
    store.claim_next()
    assert store.release_stale_claims() == 1
    assert store.claim_next().id == job.id


def test_jobs_survive_a_new_store_over_the_same_file(tmp_path):
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    first = SqlJobStore(url)
    job = first.create(_job())
    first.close()
    assert SqlJobStore(url).get(job.id).request == job.request


def test_sqlite_uses_wal(store):
    if store.engine.dialect.name != "sqlite":
        pytest.skip("a SQLite setting")
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_api_keys_table(store):
    rec = store.add_key(ApiKeyRecord(id="k1", name="ci", tier="free", key_hash="ab" * 32))
    assert store.key_by_hash("ab" * 32) == rec
    assert store.key_by_hash("cd" * 32) is None
    assert store.revoke_key("k1").revoked_at is not None
    assert [k.id for k in store.list_keys()] == ["k1"]
    with pytest.raises(NotFound):
        store.revoke_key("missing")


def test_delete(store):
    job = store.create(_job())
    store.delete(job.id)
    with pytest.raises(NotFound):
        store.get(job.id)


def test_list_newest_first_gives_the_newest_within_the_limit(store):
    start = utc_now()
    made = [store.create(_job(owner_key_id="k", created_at=start + timedelta(seconds=i))) for i in range(5)]
    newest = store.list_jobs(owner_key_id="k", limit=2, newest_first=True)
    assert [j.id for j in newest] == [made[4].id, made[3].id]
    assert [j.id for j in store.list_jobs(owner_key_id="k", limit=2)] == [made[0].id, made[1].id]
def test_schema_is_at_the_newest_migration_and_reopening_is_idempotent(store):
    from songforge.storage.migrations import HEAD, current_revision, upgrade

    assert current_revision(store.engine) == HEAD
    upgrade(store.engine)  # a second process opening the same database
    assert current_revision(store.engine) == HEAD


def test_a_database_made_before_migrations_is_adopted(tmp_path):
    from sqlalchemy import create_engine

    from songforge.storage.jobs import _metadata
    from songforge.storage.migrations import HEAD, current_revision

    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = create_engine(url)
    _metadata.create_all(old)  # what the store did before Alembic
    old.dispose()
    s = SqlJobStore(url)
    job = s.create(_job())
    assert current_revision(s.engine) == HEAD and s.get(job.id).id == job.id
    s.close()


def test_claim_job_is_exclusive_until_the_lease_runs_out(store):
    job = store.create(_job())
    token = store.claim_job(job.id, lease_s=60)
    assert token is not None
    assert store.claim_job(job.id, lease_s=60) is None  # held and fresh
    assert store.heartbeat(job.id, token)
    assert store.claim_job(job.id, lease_s=0) is not None  # the holder stopped renewing
    assert not store.heartbeat(job.id, token)  # ... and lost the claim


def test_claim_job_refuses_finished_jobs_and_release_frees_it(store):
    job = store.create(_job())
    token = store.claim_job(job.id, lease_s=60)
    store.release_job(job.id, token)
    again = store.claim_job(job.id, lease_s=60)
    assert again is not None
    store.transition(job.id, from_statuses=[JobStatus.QUEUED], to_status=JobStatus.CANCELLED)
    store.release_job(job.id, again)
    assert store.claim_job(job.id, lease_s=60) is None



def test_touch_stale_finds_active_unleased_idle_jobs_once(store):
    idle = store.create(_job())
    leased = store.create(_job())
    store.claim_job(leased.id, lease_s=60)
    done = store.create(_job())
    store.transition(done.id, from_statuses=[JobStatus.QUEUED], to_status=JobStatus.CANCELLED)
    assert store.touch_stale(idle_s=3600, lease_s=60) == []  # everything is fresh
    time.sleep(0.05)
    assert store.touch_stale(idle_s=0.01, lease_s=60) == [idle.id]
    assert store.touch_stale(idle_s=1, lease_s=60) == []  # touched: not again until idle again
