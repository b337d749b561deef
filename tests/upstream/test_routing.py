"""The routing table and the router: header, key, model, default; fallback; refusals; the circuit
breaker shared through its state file."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from songforge.errors import InvalidRequest
from songforge.models import Reference, SongRequest
from songforge.upstream.breaker import CircuitBreaker
from songforge.upstream.routing import ROUTE_KEY, Router, requested_route
from songforge.upstream.translate import Refused
from tests.service._helpers import make_settings

TABLE = {"default": ["local"], "models": {"V4_5": ["minimax"], "fun-music-v1": ["suno", "minimax"]},
         "keys": {"team-a": ["dashscope"]}, "header": True}


def _router(tmp_path, table=TABLE, **extra) -> Router:
    urls = {f"upstream_{n}_url": f"http://127.0.0.1:9/{n}" for n in ("minimax", "suno", "dashscope")}
    return Router(make_settings(tmp_path, upstream_routes=json.dumps(table), upstream_minimax_key="sk-x",
                                **urls, **extra))


def test_the_router_is_off_without_upstreams(tmp_path):
    assert not Router(make_settings(tmp_path)).active


def test_model_key_and_header_choose_the_chain_and_local_is_appended(tmp_path):
    router = _router(tmp_path)
    suno_caller = SongRequest(prompt="pop", extra={"suno_model": "V4_5"})
    assert router.route(suno_caller) == ("minimax", "local")
    assert router.route(SongRequest(prompt="pop", extra={"dashscope_model": "fun-music-v1"})) == (
        "suno", "minimax", "local")
    assert router.route(SongRequest(prompt="pop")) == ("local",)
    assert router.route(suno_caller, key=SimpleNamespace(id="k1", name="team-a")) == ("dashscope", "local")
    token = requested_route.set("suno, dashscope")
    try:
        assert router.route(suno_caller, key=SimpleNamespace(id="k1", name="team-a")) == ("suno", "dashscope", "local")
    finally:
        requested_route.reset(token)


def test_unknown_backends_and_a_disabled_header_are_clear_errors(tmp_path):
    with pytest.raises(InvalidRequest, match="'aimlapi' is not configured"):
        _router(tmp_path, {"default": ["aimlapi"]})
    router = _router(tmp_path, {**TABLE, "header": False})
    token = requested_route.set("suno")
    try:
        with pytest.raises(Refused, match="header is off"):
            router.route(SongRequest(prompt="pop"))
    finally:
        requested_route.reset(token)


def test_refusing_backends_leave_the_chain_and_without_local_the_refusal_reaches_the_caller(tmp_path):
    router = _router(tmp_path)
    cover = SongRequest(prompt="pop", reference=Reference(mode="cover", audio_id="0" * 32),
                        extra={"suno_model": "V4_5"})
    assert router.route(cover) == ("local",)
    strict = _router(tmp_path, {**TABLE, "fallback": []})
    with pytest.raises(Refused, match="reference"):
        strict.route(cover)


def test_generate_for_binds_the_stored_chain(tmp_path):
    router = _router(tmp_path)
    assert router.generate_for({"prompt": "pop"}, local=None) is None
    bound = router.generate_for({ROUTE_KEY: ["minimax", "local"]}, local=print)
    assert bound.keywords["chain"] == ("minimax", "local") and bound.keywords["local"] is print
    assert set(bound.keywords["configs"]) == {"minimax"} and "sk-x" not in repr(bound.keywords["configs"])


def test_the_breaker_opens_after_repeated_failures_and_closes_on_success(tmp_path):
    path = tmp_path / "minimax.breaker.json"
    breaker = CircuitBreaker(path, failures=2, reset_s=30.0)
    assert breaker.allow(now_s=0.0) and not breaker.failure(now_s=0.0)
    assert breaker.failure(now_s=1.0) and not breaker.allow(now_s=2.0)
    other_process = CircuitBreaker(path, failures=2, reset_s=30.0)  # shares the state file
    assert not other_process.allow(now_s=2.0) and other_process.allow(now_s=31.5)  # half open
    other_process.success()
    assert breaker.allow(now_s=2.0) and json.loads(path.read_text())["failures"] == 0


def test_the_header_reaches_the_router_and_upstream_callbacks_are_acknowledged(tmp_path):
    from fastapi.testclient import TestClient

    from songforge.api.app import create_app

    settings = make_settings(tmp_path, upstream_suno_url="http://127.0.0.1:9",
                             upstream_routes=json.dumps({"header": True}))
    with TestClient(create_app(settings, run_workers=False)) as client:
        headers = {"Authorization": "Bearer dev", "X-Songforge-Upstream": "suno"}
        submitted = client.post("/v1/songs", json={"prompt": "a song about rain"}, headers=headers)
        assert submitted.status_code == 202, submitted.text
        job = client.app.state.service.get(submitted.json()["jobs"][0]["id"])
        assert job.request["upstream_route"] == ["suno", "local"]
        unknown = client.post("/v1/songs", json={"prompt": "pop"}, headers={**headers, "X-Songforge-Upstream": "x"})
        assert unknown.status_code == 400 and "'x' is not configured" in unknown.text
        ack = client.post("/upstream/callback", json={"code": 200, "data": {"callbackType": "complete"}})
        assert ack.status_code == 200 and ack.json()["code"] == 200


def test_a_key_routed_upstream_keeps_its_songforge_quota(tmp_path):
    from fastapi.testclient import TestClient

    from songforge.api.app import create_app

    table = {"keys": {"team-a": ["suno"]}}
    settings = make_settings(tmp_path, dev_mode=False, upstream_suno_url="http://127.0.0.1:9",
                             upstream_routes=json.dumps(table))
    app = create_app(settings, run_workers=False)
    service = app.state.service
    record, secret = service.keys.create(name="team-a", tier="free")  # at most 2 jobs at once
    with TestClient(app) as client:
        headers = {"Authorization": f"Bearer {secret}"}
        ids = [client.post("/v1/songs", json={"prompt": "rain"}, headers=headers).json()["jobs"][0]["id"]
               for _ in range(2)]
        assert all(service.get(i).request["upstream_route"] == ["suno", "local"] for i in ids)
        third = client.post("/v1/songs", json={"prompt": "rain"}, headers=headers)
        assert third.status_code == 429, third.text
