from __future__ import annotations

import pytest

from songforge.errors import InvalidRequest, RateLimited, Unauthorized
from songforge.models import JobStatus
from songforge.service.keys import DEV_KEY, KEY_PREFIX, KeyService, Tier, hash_key
from songforge.storage.jobs import Job, SqlJobStore, new_job_id
from tests.service._helpers import make_settings


@pytest.fixture
def store(tmp_path):
    return SqlJobStore(f"sqlite:///{tmp_path / 'k.db'}")


@pytest.fixture
def keys(tmp_path, store):
    return KeyService(make_settings(tmp_path, dev_mode=False), store,
                      tiers={"free": Tier("free", 3, 1), "paid": Tier("paid", 100, 5)})


def test_create_verify_revoke(keys, store):
    record, plaintext = keys.create(name="ci", tier="paid")
    assert plaintext.startswith(KEY_PREFIX)
    assert store.key_by_hash(hash_key(plaintext)).id == record.id
    assert plaintext not in repr(store.list_keys())  # only the hash is stored
    assert keys.verify(plaintext).id == record.id
    keys.revoke(record.id)
    with pytest.raises(Unauthorized, match="revoked"):
        keys.verify(plaintext)
    assert [k.id for k in keys.list_keys()] == [record.id]


def test_unknown_missing_key_and_bad_tier(keys):
    with pytest.raises(Unauthorized):
        keys.verify("sf_nope")
    with pytest.raises(Unauthorized):
        keys.verify(None)
    with pytest.raises(InvalidRequest):
        keys.create(name="x", tier="gold")


def test_dev_mode_accepts_any_key(tmp_path, store):
    keys = KeyService(make_settings(tmp_path, dev_mode=True), store)
    assert keys.verify("anything") == DEV_KEY
    assert keys.verify(None) == DEV_KEY
    for _ in range(500):
        keys.hit(DEV_KEY)  # never limited


def test_rate_limit_exceeded(keys):
    record, _ = keys.create(name="free one")
    for _ in range(3):
        keys.hit(record)
    with pytest.raises(RateLimited) as info:
        keys.hit(record)
    assert 0 < info.value.retry_after_s <= 60 and info.value.http_status == 429
    other, _ = keys.create(name="another")
    keys.hit(other)  # limits are per key


def test_max_concurrent_jobs(keys, store):
    record, _ = keys.create(name="free one")
    keys.check_concurrency(record, 1)
    store.create(Job(id=new_job_id(), request={}, owner_key_id=record.id))
    with pytest.raises(RateLimited):
        keys.check_concurrency(record, 1)
    job = store.list_jobs()[0]
    store.transition(job.id, from_statuses=[JobStatus.QUEUED], to_status=JobStatus.CANCELLED)
    keys.check_concurrency(record, 1)
