"""State shared by several API processes through Redis: rate limits and job events."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from songforge.errors import RateLimited
from songforge.models import JobStatus
from songforge.service.keys import KeyService, Tier
from songforge.service.lifecycle import EVENT_CHUNK, EventBus, JobEvent
from songforge.service.relay import RedisEventRelay, event_from_wire, event_to_wire
from songforge.storage.jobs import ApiKeyRecord, SqlJobStore
from tests.service._helpers import make_settings
from tests.services import redis_url  # noqa: F401  (fixture)


def test_rate_limit_is_shared_by_two_api_processes(tmp_path, redis_url):  # noqa: F811
    store = SqlJobStore(f"sqlite:///{tmp_path / 'db.sqlite'}")
    settings = make_settings(tmp_path, dev_mode=False, redis_url=redis_url)
    tiers = {"free": Tier("free", requests_per_minute=3, max_concurrent_jobs=2)}
    first, second = (KeyService(settings, store, tiers=tiers) for _ in range(2))
    key = ApiKeyRecord(id=uuid.uuid4().hex[:16], name="t", tier="free", key_hash="")
    first.hit(key)
    second.hit(key)
    first.hit(key)
    with pytest.raises(RateLimited):
        second.hit(key)  # the fourth request in a minute, counted across both


def test_without_redis_the_limit_is_per_process(tmp_path):
    store = SqlJobStore(f"sqlite:///{tmp_path / 'db.sqlite'}")
    tiers = {"free": Tier("free", requests_per_minute=1, max_concurrent_jobs=2)}
    first, second = (KeyService(make_settings(tmp_path, dev_mode=False), store, tiers=tiers) for _ in range(2))
    key = ApiKeyRecord(id="k", name="t", tier="free", key_hash="")
    first.hit(key)
    second.hit(key)


def test_event_wire_roundtrip_keeps_chunks():
    event = JobEvent(job_id="j", kind=EVENT_CHUNK, status=JobStatus.FIRST_READY, stage="mix", progress_pct=50.0,
                     data=b"\x00\xffRIFF", offset=1024)
    origin, back = event_from_wire(event_to_wire(event, "me"))
    assert origin == "me" and back == event


def test_relay_feeds_the_other_process_s_followers_and_not_its_listeners(redis_url):  # noqa: F811
    channel = f"test:{uuid.uuid4().hex}"
    bus_a, bus_b = EventBus(), EventBus()
    relay_a, relay_b = RedisEventRelay(bus_a, redis_url, channel=channel), RedisEventRelay(bus_b, redis_url, channel=channel)
    heard_by_b_listeners: list[JobEvent] = []
    bus_b.add_listener(heard_by_b_listeners.append)
    relay_a.start()
    relay_b.start()
    event = JobEvent(job_id="j1", kind="status", status=JobStatus.RUNNING, stage=None, progress_pct=0.0)

    async def follow_on_b() -> JobEvent | None:
        stream = bus_b.open_stream("j1")
        try:
            bus_a.publish(event)
            return await stream.get(10.0)
        finally:
            stream.close()

    try:
        assert asyncio.run(follow_on_b()) == event
        assert heard_by_b_listeners == []  # B's callbacks never fire for A's events
    finally:
        relay_a.stop()
        relay_b.stop()
