"""The AI/ML API dialect in process: golden wire fixtures, limits, envelope, references, keys.

Fixtures are in ``tests/api/fixtures/aimlapi/``: ``create_*`` (one per model and body variant:
request, response and the canonical request it must become), ``poll_*`` (one per status) and
``error_*`` (request and response). Placeholders: ``<id>`` the generation id, ``<uuid>`` a
uuid4, ``<timestamp>`` ISO 8601 UTC with ms and Z, ``<signed-url>`` a signed loopback link,
``<reference-url>`` a loopback URL of reference audio, ``<md5>`` the reference's MD5.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient

from songforge.api.aimlapi.wire import MODEL_NAMES
from songforge.api.app import create_app
from songforge.errors import FeatureUnavailable
from songforge.service.keys import Tier
from tests.service._helpers import free_tier_keys, make_settings

FIXTURES = Path(__file__).parent / "fixtures" / "aimlapi"
PATH = "/v2/generate/audio"
PATTERNS = {
    "<uuid>": r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
    "<timestamp>": r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z",
    "<signed-url>": r"http://127\.0\.0\.1:\d+/files/[0-9a-f]{32}/song\.\w+\?expires=\d+&sig=[0-9a-f]{64}",
}


# -- helpers (also used by test_aimlapi_live) --------------------------------------------------

def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def assert_wire(golden, actual, *, job_id: str | None = None, path: str = "$") -> None:
    """``actual`` has exactly ``golden``'s keys and values, placeholders matched by pattern."""
    if isinstance(golden, dict):
        assert isinstance(actual, dict) and set(actual) == set(golden), f"{path}: {actual!r}"
        for key, value in golden.items():
            assert_wire(value, actual[key], job_id=job_id, path=f"{path}.{key}")
    elif golden == "<id>":
        assert isinstance(actual, str) and (actual == job_id if job_id else re.fullmatch(r"[0-9a-f]{32}", actual))
    elif isinstance(golden, str) and golden in PATTERNS:
        assert isinstance(actual, str) and re.fullmatch(PATTERNS[golden], actual), f"{path}: {actual!r}"
    else:
        assert actual == golden and type(actual) is type(golden), f"{path}: {actual!r} != {golden!r}"


def wav_bytes(duration_s: float, *, sample_rate_hz: int = 22050, seed: int = 0) -> bytes:
    """A stereo WAV of a few tones and noise (a stand-in song) lasting ``duration_s``."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(duration_s * sample_rate_hz)) / sample_rate_hz
    mono = sum(0.15 * np.sin(2 * np.pi * hz * t) for hz in (220.0, 277.2, 329.6)) + 0.01 * rng.standard_normal(t.size)
    buf = io.BytesIO()
    sf.write(buf, np.stack([mono, mono], axis=1).astype(np.float32), sample_rate_hz, format="WAV", subtype="PCM_16")
    return buf.getvalue()


class FileServer:
    """Serves ``files`` (path -> bytes) on a loopback port, as a CDN would."""

    def __init__(self, files: dict[str, bytes]) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                data = files.get(self.path)
                self.send_response(200 if data is not None else 404)
                self.send_header("Content-Type", "audio/wav")
                self.send_header("Content-Length", str(len(data or b"")))
                self.end_headers()
                self.wfile.write(data or b"")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


COVER_WAV = wav_bytes(8.0, seed=1)
SONG_WAV = wav_bytes(16.0, seed=2)
SHORT_WAV = wav_bytes(3.0, seed=3)
REFERENCES = {"/cover.wav": COVER_WAV, "/song.wav": SONG_WAV, "/short.wav": SHORT_WAV, "/ten.wav": wav_bytes(10.0)}


@pytest.fixture(scope="module")
def files():
    server = FileServer(REFERENCES)
    yield server
    server.close()


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    """Dev mode, no workers: jobs stay queued, so submissions are fast and pollable."""
    app = create_app(make_settings(tmp_path_factory.mktemp("aiml")), run_workers=False)
    with TestClient(app) as client:
        yield client


@pytest.fixture
def keyed(tmp_path):
    app = create_app(make_settings(tmp_path, dev_mode=False), run_workers=False)
    with TestClient(app) as client:
        app.state.test_keys = free_tier_keys(app, max_concurrent_jobs=50)
        yield client


def service_of(client):
    return client.app.state.service


def _with_reference(request: dict, files: FileServer) -> tuple[dict, bytes | None]:
    if request.get("reference_audio_url") != "<reference-url>":
        return request, None
    name = "/cover.wav" if request["model"] == "minimax/music-cover" else "/song.wav"
    return {**request, "reference_audio_url": files.url + name}, REFERENCES[name]


def _expected_canonical(canonical: dict, reference: bytes | None) -> dict:
    text = json.dumps(canonical)
    if reference is not None:
        text = text.replace("<md5>", hashlib.md5(reference).hexdigest())
    return json.loads(text)


# -- golden fixtures ---------------------------------------------------------------------------

CREATE_FIXTURES = sorted(p.name for p in FIXTURES.glob("create_*.json"))


def test_every_model_has_a_create_fixture():
    models = {fixture(name)["request"]["model"] for name in CREATE_FIXTURES}
    assert models == set(MODEL_NAMES)


@pytest.mark.parametrize("name", CREATE_FIXTURES)
def test_create_fixtures(api, files, name):
    golden = fixture(name)
    request, reference = _with_reference(golden["request"], files)
    response = api.post(PATH, json=request)
    assert response.status_code == golden["status_code"], response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert_wire(golden["response"], body)
    job = service_of(api).get(body["id"])
    assert job.dialect == "aimlapi" and job.status.value == "queued"
    assert job.request["extra"] == {"aimlapi_model": request["model"]}
    for key, value in _expected_canonical(golden["canonical"], reference).items():
        assert job.request[key] == (value if not isinstance(value, dict) else {**job.request[key], **value}), key


def _submit(client, headers=None) -> str:
    body = {"model": "minimax/music-2.0", "prompt": "Lo-fi pop hip-hop", "lyrics": "[Verse]\nla la la la la"}
    response = client.post(PATH, json=body, headers=headers or {})
    assert response.status_code == 200, response.text
    return response.json()["id"]


def _poll(client, job_id, headers=None):
    response = client.get(PATH, params={"generation_id": job_id}, headers=headers or {})
    assert response.status_code == 200, response.text
    return response.json()


def test_poll_fixtures_follow_the_job(api):
    service = service_of(api)
    job_id = _submit(api)
    assert_wire(fixture("poll_queued.json")["response"], _poll(api, job_id), job_id=job_id)
    service.lifecycle.start(job_id)
    assert_wire(fixture("poll_generating.json")["response"], _poll(api, job_id), job_id=job_id)
    service.lifecycle.first_ready(job_id)
    assert_wire(fixture("poll_generating.json")["response"], _poll(api, job_id), job_id=job_id)
    song = wav_bytes(1.0)
    service.blobs.put(f"{job_id}/song.wav", song)
    service.lifecycle.succeed(job_id, {"assets": {"song": f"{job_id}/song.wav"}, "format": "wav"})
    view = _poll(api, job_id)
    assert_wire(fixture("poll_completed.json")["response"], view, job_id=job_id)
    download = api.get(view["audio_file"]["url"].removeprefix("http://127.0.0.1:8123"))
    assert download.status_code == 200 and download.content == song


def test_poll_error_fixture_and_cancelled_jobs(api):
    service = service_of(api)
    failed = _submit(api)
    service.lifecycle.start(failed)
    service.lifecycle.fail(failed, code="vocals_failed", message="the vocals could not be sung")
    assert_wire(fixture("poll_error.json")["response"], _poll(api, failed), job_id=failed)
    cancelled = _submit(api)
    service.cancel(cancelled)
    view = _poll(api, cancelled)
    assert view["status"] == "error" and view["error"] == {"name": "cancelled", "message": "cancelled"}


ERROR_FIXTURES = sorted(p.name for p in FIXTURES.glob("error_*.json"))


@pytest.mark.parametrize("name", ERROR_FIXTURES)
def test_error_fixtures(api, keyed, name):
    golden = fixture(name)
    client = keyed if name == "error_no_key.json" else api
    response = client.request(golden["method"], golden["path"], json=golden["request"])
    assert response.status_code == golden["status_code"]
    assert_wire(golden["response"], response.json())


# -- envelope, keys, rates ---------------------------------------------------------------------

def test_envelope_ids_are_fresh_and_times_are_now(api):
    first, second = (api.post(PATH, json={"model": "x"}).json() for _ in range(2))
    assert first["requestId"] != second["requestId"]
    from datetime import UTC, datetime

    stamp = datetime.strptime(first["timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert abs((datetime.now(UTC) - stamp).total_seconds()) < 60


def test_paid_model_rate_is_enforced_with_retry_after(keyed):
    keyed.app.state.service.keys.tiers["paid"] = Tier("paid", requests_per_minute=1, max_concurrent_jobs=8)
    a = keyed.app.state.test_keys["a"]
    _submit(keyed, a)
    response = keyed.post(PATH, json={"model": "minimax/music-2.0", "prompt": "Lo-fi pop hip-hop",
                                      "lyrics": "[Verse]\nla la la la la"}, headers=a)
    assert response.status_code == 429 and int(response.headers["Retry-After"]) >= 1
    body = response.json()
    assert body["statusCode"] == 429 and body["message"].startswith("Too Many Requests: rate limit of 1 requests")


def test_generations_are_private_to_their_key(keyed):
    a, b = keyed.app.state.test_keys["a"], keyed.app.state.test_keys["b"]
    job_id = _submit(keyed, a)
    assert _poll(keyed, job_id, a)["status"] == "queued"
    response = keyed.get(PATH, params={"generation_id": job_id}, headers=b)
    assert response.status_code == 404 and response.json()["statusCode"] == 404


def test_revoked_and_malformed_keys_are_401(keyed):
    service = keyed.app.state.service
    record, plaintext = service.keys.create(name="gone")
    service.keys.revoke(record.id)
    response = keyed.get(PATH, params={"generation_id": "x"}, headers={"Authorization": f"Bearer {plaintext}"})
    assert response.status_code == 401 and "revoked" in response.json()["message"]
    response = keyed.get(PATH, params={"generation_id": "x"}, headers={"Authorization": "Basic abc"})
    assert response.status_code == 401 and response.json()["message"].startswith("This request requires a valid API key")


def test_unexpected_failures_are_500_without_internals(api, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("secret database path /var/x")

    monkeypatch.setattr(service_of(api), "submit", boom)
    response = api.post(PATH, json={"model": "minimax/music-2.0", "prompt": "Lo-fi pop hip-hop", "lyrics": "la la la la la"})
    assert response.status_code == 500
    assert response.json()["message"] == "Internal server error" and response.json()["statusCode"] == 500


def test_an_unavailable_reference_feature_is_503(api, monkeypatch):
    def unavailable(**kwargs):
        raise FeatureUnavailable("reference audio is not available in this build yet")

    monkeypatch.setattr(service_of(api).references, "intake", unavailable)
    body = {"model": "minimax/music-cover", "prompt": "jazzy cover in a smoky bar", "reference_audio_url": "UklGRg=="}
    response = api.post(PATH, json=body)
    assert response.status_code == 503
    assert response.json()["message"] == "Service unavailable: reference audio is not available in this build yet"


def test_openapi_documents_every_model_body(api):
    operation = api.get("/openapi.json").json()["paths"][PATH]
    schema = operation["post"]["requestBody"]["content"]["application/json"]["schema"]
    models = {s["properties"]["model"]["const"] if "const" in s["properties"]["model"] else
              s["properties"]["model"]["enum"][0] for s in schema["oneOf"]}
    assert models == set(MODEL_NAMES)
    assert "generation_id" in {p["name"] for p in operation["get"]["parameters"]}


# -- body rules beyond single limits -----------------------------------------------------------

@pytest.mark.parametrize(("body", "line"), [
    ({"model": "minimax/music-2.6", "is_instrumental": True}, 'prompt is required when is_instrumental is true at "prompt"'),
    ({"model": "minimax/music-2.6", "prompt": "calm piano"},
     'lyrics are required unless is_instrumental or lyrics_optimizer is true at "lyrics"'),
    ({"model": "minimax/music-2.6", "lyrics_optimizer": True},
     'prompt is required when lyrics_optimizer writes the lyrics at "prompt"'),
    ({"model": "minimax/music-2.6", "lyrics": "la la la", "audio_setting": {"audio_sample_rate": 16000, "sample_rate": 44100}},
     'audio_sample_rate and sample_rate disagree; give one of them at "audio_setting"'),
    ({"model": "minimax/music-2.6", "lyrics": "la la la", "is_instrumental": "yes"}, 'Expected boolean, received string at "is_instrumental"'),
    ({"model": "minimax/music-2.6", "lyrics": 5}, 'Expected string, received number at "lyrics"'),
    ({"model": "minimax/music-2.6", "lyrics": "la la la", "audio_setting": {"audio_sample_rate": "44100"}},
     "Invalid enum value. Expected 16000 | 24000 | 32000 | 44100, received '44100' at \"audio_setting.audio_sample_rate\""),
    ({"model": "minimax/music-cover", "prompt": "a soft piano cover"}, 'Required at "reference_audio_url"'),
    ({"model": "minimax/music-cover", "prompt": "a soft piano cover", "reference_audio_url": "ftp://host/a.mp3"},
     'Invalid url at "reference_audio_url"'),
    ({"model": "minimax-music", "prompt": "la la", "reference_audio_url": "UklGRg=="}, 'Invalid url at "reference_audio_url"'),
    ({"prompt": "x"}, 'Required at "model"'),
    (["model"], "Expected object, received array"),
])
def test_body_rules_are_400_with_a_zod_style_line(api, body, line):
    response = api.post(PATH, json=body)
    assert response.status_code == 400, response.text
    assert response.json()["message"] == f"Body validation error\n{line}"


def test_bodies_without_a_json_content_type_are_read_as_json(api):
    body = b'{"model": "minimax/music-2.0", "prompt": "Lo-fi pop hip-hop", "lyrics": "la la la la la"}'
    response = api.post(PATH, content=body, headers={"Content-Type": "text/plain"})
    assert response.status_code == 200 and response.json()["status"] == "queued"
    response = api.post(PATH, content=b"model=x", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 400
    assert response.json()["message"] == "Body validation error\nthe request body is not valid JSON"
    response = api.post(PATH, content=b"{nope", headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["message"].startswith("Body validation error\n")


def test_sample_rate_is_accepted_under_both_names(api):
    for setting in ({"audio_sample_rate": 24000}, {"sample_rate": 24000}, {"sample_rate": 24000, "audio_sample_rate": 24000}):
        body = {"model": "minimax/music-2.6", "lyrics": "la la la", "audio_setting": setting}
        job_id = api.post(PATH, json=body).json()["id"]
        assert service_of(api).get(job_id).request["sample_rate_hz"] == 24000


def test_base64_and_data_url_references_are_taken_in(api):
    service = service_of(api)
    for value in (base64.b64encode(COVER_WAV).decode(), "data:audio/wav;base64," + base64.b64encode(COVER_WAV).decode()):
        body = {"model": "minimax/music-cover", "prompt": "a soft piano cover", "reference_audio_url": value}
        response = api.post(PATH, json=body)
        assert response.status_code == 200, response.text
        reference = service.get(response.json()["id"]).request["reference"]
        assert reference["mode"] == "cover" and reference["audio_id"] == hashlib.md5(COVER_WAV).hexdigest()


@pytest.mark.parametrize(("model", "path", "limit"), [
    ("minimax/music-cover", "/short.wav", "6"),
    ("minimax-music", "/ten.wav", "15"),
])
def test_references_outside_the_limits_are_400_naming_the_limit(api, files, model, path, limit):
    body = {"model": model, "prompt": "a soft piano cover", "reference_audio_url": files.url + path}
    response = api.post(PATH, json=body)
    assert response.status_code == 400, response.text
    message = response.json()["message"]
    assert message.startswith("Body validation error\n") and '"reference_audio_url"' in message
    assert re.search(rf"\b{limit}(\.0)?\s*(-|s\b)", message), message


def test_unreachable_reference_urls_are_400(api, files):
    body = {"model": "minimax/music-cover", "prompt": "a soft piano cover", "reference_audio_url": files.url + "/missing.wav"}
    response = api.post(PATH, json=body)
    assert response.status_code == 400 and '"reference_audio_url"' in response.json()["message"]


def test_a_cover_reference_over_six_minutes_is_400(api):
    t = np.arange(361 * 8000) / 8000
    buf = io.BytesIO()
    sf.write(buf, (0.2 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 8000, format="WAV", subtype="PCM_16")
    server = FileServer({"/long.wav": buf.getvalue()})
    try:
        body = {"model": "minimax/music-cover", "prompt": "a soft piano cover", "reference_audio_url": server.url + "/long.wav"}
        response = api.post(PATH, json=body)
    finally:
        server.close()
    assert response.status_code == 400, response.text
    message = response.json()["message"]
    assert '"reference_audio_url"' in message and re.search(r"\b360(\.0)?\s*s\b|6 min", message), message


def test_the_vendors_reference_limits_reach_the_reference_service(api, files, monkeypatch):
    service = service_of(api)
    seen = []
    real_intake = service.references.intake

    def spy(**kwargs):
        seen.append(kwargs["limits"])
        return real_intake(**kwargs)

    monkeypatch.setattr(service.references, "intake", spy)
    for model, name in (("minimax/music-cover", "/cover.wav"), ("minimax-music", "/song.wav")):
        body = {"model": model, "prompt": "a soft piano cover", "reference_audio_url": files.url + name}
        assert api.post(PATH, json=body).status_code == 200
    cover, legacy = seen
    assert (cover.min_duration_s, cover.max_duration_s, cover.max_bytes) == (6.0, 360.0, 50 * 1024 * 1024)
    assert legacy.min_duration_s == 15.0 and set(legacy.formats) == {"wav", "mp3"}
