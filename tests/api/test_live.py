"""Integration tests against a real ``songforge serve`` (uvicorn) on loopback, driven over HTTP.

The server runs the scripted stand-in engine (``tests/api/_engines.py``) in real worker processes;
``test_real_engine_*`` uses the real engine with the tiny preset.
"""

from __future__ import annotations

import time

import httpx
import pytest
import soundfile as sf

from songforge import Client
from songforge.errors import InvalidRequest
from songforge.storage.jobs import SqlJobStore
from tests.api._server import SCRIPTED, LiveServer
from tests.service._helpers import Receiver, wait_until

URL_TTL_S = 3
MAX_BODY_BYTES = 64 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    env = {"SONGFORGE_URL_TTL_S": str(URL_TTL_S), "SONGFORGE_ALLOW_PRIVATE_CALLBACKS": "1",
           "SONGFORGE_MAX_BODY_BYTES": str(MAX_BODY_BYTES), "SONGFORGE_CALLBACK_ATTEMPTS": "4"}
    live = LiveServer(tmp_path_factory.mktemp("live") / "data", args=("--dev", "--engine", SCRIPTED, "--workers", "2"),
                      env=env).start()
    yield live
    live.stop()


@pytest.fixture
def client(server):
    with Client(server.url, api_key="anything-goes-in-dev-mode") as c:
        yield c


def _stream(client: Client, job_id: str) -> tuple[bytes, list[str]]:
    """All audio of a job's event stream (checking the offsets are contiguous) and the event names."""
    audio, names = bytearray(), []
    for event in client.events(job_id):
        names.append(event.event)
        if event.event == "audio":
            assert event.data["offset"] == len(audio) and event.data["size"] == len(event.audio)
            audio += event.audio
    return bytes(audio), names


def test_submit_stream_poll_download(client, tmp_path):
    [job] = client.submit("paced song", format="wav", seed=5)
    assert job["status"] == "queued" and job["seed"] == 5 and job["links"]["events"].endswith("/events")
    streamed, names = _stream(client, job["id"])
    assert names[0] == "progress" and names[-1] == "done" and names.count("audio") >= 6
    view = client.get(job["id"])
    assert view["status"] == "succeeded" and view["progress_pct"] == 100 and view["error"] is None
    assert view["result"]["seed"] == 5 and view["result"]["media_type"] == "audio/wav"
    path = client.download(view, tmp_path / "song.wav")
    assert path.read_bytes() == streamed and len(streamed) == view["result"]["size_bytes"]
    assert sf.info(str(path)).samplerate == 48000
    assert _stream(client, job["id"])[0] == streamed  # a subscriber after the end replays it all


def test_late_subscriber_gets_audio_from_the_start_and_a_dropped_client_kills_nothing(client, tmp_path):
    [job] = client.submit("paced song", format="wav", seed=6)
    for _event in client.events(job["id"]):  # connect, then go away at once
        break
    wait_until(lambda: client.get(job["id"])["status"] == "first_ready", timeout_s=20, every_s=0.02)
    streamed, names = _stream(client, job["id"])  # joins mid-job
    assert names[-1] == "done"
    client.download(job["id"], tmp_path / "late.wav")
    assert (tmp_path / "late.wav").read_bytes() == streamed


def test_failed_job_ends_the_stream_with_an_error(client):
    [job] = client.submit("fail please", format="wav")
    _, names = _stream(client, job["id"])
    assert names[-1] == "error"
    view = client.get(job["id"])
    assert view["status"] == "failed" and view["error"]["code"] == "vocals_failed"


def test_range_requests_and_signed_url_expiry(client, server):
    [job] = client.submit("a sine", format="wav")
    view = client.wait(job["id"], timeout_s=30, poll_s=0.1)
    url = view["result"]["audio_url"]
    whole = httpx.get(url).content
    part = httpx.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == whole[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(whole)}"
    tail = httpx.get(url, headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == whole[-10:]
    bad = httpx.get(url, headers={"Range": f"bytes={len(whole) + 5}-"})
    assert bad.status_code == 416 and bad.headers["content-range"] == f"bytes */{len(whole)}"
    tampered = httpx.get(url.replace("song.wav", "plan.json"))
    assert tampered.status_code == 401 and tampered.json()["error"]["code"] == "unauthorized"
    expires = int(httpx.URL(url).params["expires"])
    time.sleep(max(0.0, expires - time.time()) + 1.1)
    expired = httpx.get(url)
    assert expired.status_code == 401 and "expired" in expired.json()["error"]["message"]
    assert httpx.get(client.get(job["id"])["result"]["audio_url"]).content == whole  # a fresh link works


def test_cancel_and_conflict(client):
    [job] = client.submit("sleep a while", format="wav")
    wait_until(lambda: client.get(job["id"])["status"] == "running", timeout_s=20)
    assert client.cancel(job["id"])["status"] == "cancelled"
    response = httpx.delete(f"{client._http.base_url}/v1/songs/{job['id']}")
    assert response.status_code == 409 and response.json()["error"]["code"] == "illegal_transition"


def test_callbacks_are_retried_until_delivered(client):
    receiver = Receiver(fail_first=2)
    try:
        [job] = client.submit("a sine", format="wav", callback_url=receiver.url)
        wait_until(lambda: any(b["status"] == "succeeded" for b in receiver.bodies), timeout_s=30)
        final = next(b for b in receiver.bodies if b["status"] == "succeeded")
        assert final["id"] == job["id"] and final["result"]["audio_url"].startswith("http://127.0.0.1:")
        assert receiver.attempts > len(receiver.bodies)  # the failed attempts were retried
    finally:
        receiver.close()


def test_oversized_bodies_are_refused_with_413(server):
    big = {"prompt": "x" * (MAX_BODY_BYTES + 10)}
    response = httpx.post(f"{server.url}/v1/songs", json=big)
    assert response.status_code == 413 and response.json()["error"]["code"] == "payload_too_large"

    def chunks():  # no Content-Length: counted as it streams in
        for _ in range(MAX_BODY_BYTES // 1024 + 4):
            yield b" " * 1024

    streamed = httpx.post(f"{server.url}/v1/songs", content=chunks(), headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413 and streamed.json()["error"]["code"] == "payload_too_large"
    assert streamed.json()["error"]["limit"] == response.json()["error"]["limit"] == f"{MAX_BODY_BYTES} bytes"


def test_validation_errors_are_400_with_field_and_limit(client):
    with pytest.raises(InvalidRequest) as info:
        client.submit("song", duration_s=5)
    assert info.value.field == "duration_s" and info.value.limit == ">= 10.0"
    with pytest.raises(InvalidRequest) as info:
        client.submit("")
    assert info.value.field == "prompt"


def test_kill_9_mid_job_and_restart_loses_nothing(tmp_path):
    args = ("--dev", "--engine", SCRIPTED, "--workers", "1")
    live = LiveServer(tmp_path / "data", args=args).start()
    try:
        with Client(live.url) as client:
            [job] = client.submit("paced slow song", format="wav", seed=3)
            wait_until(lambda: client.get(job["id"])["status"] == "first_ready", timeout_s=20, every_s=0.02)
        live.kill()
        live.start()
        with Client(live.url) as client:
            streamed, names = _stream(client, job["id"])
            view = client.get(job["id"])
            assert names[-1] == "done" and view["status"] == "succeeded"
            assert client.download(view, tmp_path / "after.wav").read_bytes() == streamed
        store = SqlJobStore(f"sqlite:///{tmp_path / 'data' / 'songforge.db'}")
        assert store.get(job["id"]).attempts == 2  # the killed run, then the one after the restart
    finally:
        live.stop()


def test_real_engine_tiny_preset_streams_the_final_file(tmp_path):
    live = LiveServer(tmp_path / "data", args=("--dev", "--preset", "tiny", "--workers", "1")).start(timeout_s=120)
    try:
        with Client(live.url) as client:
            [job] = client.submit("pop", instrumental=True, duration_s=10, seed=1, format="wav")
            streamed, names = _stream(client, job["id"])
            assert names[-1] == "done", client.get(job["id"])["error"]
            view = client.get(job["id"])
            path = client.download(view, tmp_path / "song.wav")
            assert path.read_bytes() == streamed
            assert sf.info(str(path)).duration >= 10.0 and view["result"]["duration_s"] >= 10.0
    finally:
        live.stop()


def _make_key(data_dir, *, tier: str, name: str) -> tuple[str, str]:
    from typer.testing import CliRunner

    from songforge.cli.app import app

    result = CliRunner().invoke(app, ["keys", "create", "--tier", tier, "--name", name, "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    plaintext = result.stdout.strip().splitlines()[-1]
    key_id = next(r.id for r in _key_records(data_dir) if r.name == name)
    return key_id, plaintext


def _key_records(data_dir):
    from songforge.config import Settings
    from songforge.storage.jobs import SqlJobStore

    return SqlJobStore(Settings(data_dir=data_dir).database_url_or_default()).list_keys()


def test_keys_rate_limits_and_revocation(tmp_path):
    from typer.testing import CliRunner

    from songforge.cli.app import app

    data_dir = tmp_path / "data"
    free_id, free_key = _make_key(data_dir, tier="free", name="free one")
    paid_id, paid_key = _make_key(data_dir, tier="paid", name="paid one")
    live = LiveServer(data_dir, args=("--engine", SCRIPTED, "--workers", "1")).start()
    try:
        songs = f"{live.url}/v1/songs"
        assert httpx.post(songs, json={"prompt": "x"}).status_code == 401  # no key
        wrong = httpx.get(f"{songs}/nope", headers={"Authorization": "Bearer sf_wrong"})
        assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "unauthorized"
        free = {"Authorization": f"Bearer {free_key}"}
        statuses = [httpx.get(f"{songs}/nope", headers=free).status_code for _ in range(10)]
        assert statuses == [404] * 10  # the free tier allows 10 requests a minute
        limited = httpx.get(f"{songs}/nope", headers=free)
        assert limited.status_code == 429 and limited.json()["error"]["code"] == "rate_limited"
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        paid = {"Authorization": f"Bearer {paid_key}"}
        assert httpx.post(songs, json={"prompt": "a sine", "format": "wav"}, headers=paid).status_code == 202
        revoked = CliRunner().invoke(app, ["keys", "revoke", paid_id, "--data-dir", str(data_dir)])
        assert revoked.exit_code == 0, revoked.output
        after = httpx.get(f"{songs}/nope", headers=paid)
        assert after.status_code == 401 and "revoked" in after.json()["error"]["message"]
    finally:
        live.stop()
