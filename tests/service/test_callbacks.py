from __future__ import annotations

import json

import pytest

from songforge.errors import InvalidRequest
from songforge.models import JobStatus
from songforge.service.callbacks import (
    CallbackDispatcher,
    CallbackSender,
    check_callback_url,
    is_forbidden_address,
)
from songforge.service.lifecycle import Lifecycle
from songforge.storage.jobs import Job, SqlJobStore, new_job_id
from tests.service._helpers import Receiver, make_settings, wait_until


@pytest.fixture
def receiver():
    r = Receiver(fail_first=2)
    yield r
    r.close()


def test_delivery_is_retried_until_it_succeeds(tmp_path, receiver):
    sender = CallbackSender(make_settings(tmp_path, callback_attempts=4), backoff_s=0.01, max_backoff_s=0.05)
    assert sender.deliver(receiver.url, {"id": "j1", "status": "succeeded"})
    assert receiver.attempts == 3 and receiver.bodies == [{"id": "j1", "status": "succeeded"}]
    sender.close()


def test_delivery_gives_up_after_the_attempt_limit(tmp_path, receiver):
    sender = CallbackSender(make_settings(tmp_path, callback_attempts=2), backoff_s=0.01)
    assert not sender.deliver(receiver.url, {"x": 1})
    assert receiver.attempts == 2 and receiver.bodies == []
    sender.close()


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1/cb", "http://10.0.0.1/cb", "http://169.254.169.254/latest/meta-data",
     "http://[::1]:8080/cb", "http://192.168.1.5/", "http://100.100.100.200/", "http://0.0.0.0/",
     "http://[::ffff:127.0.0.1]/", "http://224.0.0.1/", "http://localhost/cb",
     "http://metadata.google.internal/computeMetadata/v1/"],
)
def test_ssrf_guard_refuses_private_addresses(url):
    with pytest.raises(InvalidRequest) as info:
        check_callback_url(url, allow_private=False)
    assert info.value.field == "callback_url"


def test_ssrf_guard_checks_every_resolved_address():
    def resolve(host, port):
        return ["93.184.216.34", "10.1.2.3"]  # a public name that also resolves inward

    with pytest.raises(InvalidRequest):
        check_callback_url("https://sneaky.example/cb", allow_private=False, resolve=resolve)
    check_callback_url("https://fine.example/cb", allow_private=False, resolve=lambda h, p: ["93.184.216.34"])


@pytest.mark.parametrize("url", ["ftp://example.com/x", "file:///etc/passwd", "/relative", "http:///nohost"])
def test_only_absolute_http_urls(url):
    with pytest.raises(InvalidRequest):
        check_callback_url(url, allow_private=True)


def test_allow_private_lets_loopback_through():
    check_callback_url("http://127.0.0.1:9/cb", allow_private=True)
    assert is_forbidden_address("127.0.0.1") and not is_forbidden_address("8.8.8.8")


def test_delivery_refuses_private_targets_when_not_allowed(tmp_path, receiver):
    sender = CallbackSender(make_settings(tmp_path, allow_private_callbacks=False), backoff_s=0.01)
    assert not sender.deliver(receiver.url, {"x": 1})
    assert receiver.attempts == 0
    sender.close()


def test_dispatcher_sends_status_callbacks_with_the_dialect_renderer(tmp_path):
    receiver = Receiver()
    store = SqlJobStore(f"sqlite:///{tmp_path / 'j.db'}")
    life = Lifecycle(store)
    sender = CallbackSender(make_settings(tmp_path), backoff_s=0.01)
    dispatcher = CallbackDispatcher(
        store, sender, default=lambda job, ev: {"native": ev.status.value},
        renderers={"suno": lambda job, ev: {"suno": ev.status.value} if ev.status != JobStatus.FIRST_READY else None},
    )
    dispatcher.attach(life.bus)
    try:
        for dialect in ("native", "suno"):
            job = life.create(Job(id=new_job_id(), request={}, dialect=dialect, callback_url=receiver.url))
            life.start(job.id)
            life.succeed(job.id, {})
        life.create(Job(id=new_job_id(), request={}))  # no callback URL: nothing sent
        wait_until(lambda: len(receiver.bodies) == 3, timeout_s=10)
        assert sorted(map(json.dumps, receiver.bodies)) == sorted(map(json.dumps, [
            {"native": "first_ready"}, {"native": "succeeded"}, {"suno": "succeeded"}]))
    finally:
        dispatcher.detach()
        sender.close()
        receiver.close()
