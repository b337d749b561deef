"""The DashScope Fun-Music dialect in process (TestClient, stand-in engine): golden wire fixtures,
every documented length limit (hypothesis), model rules, the error envelope and the SSE framing."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from songforge.api.app import create_app
from songforge.api.dashscope import PATHS, dialect
from songforge.api.dashscope.wire import (
    LYRICS_LIMITS,
    MODEL_PREVIEW,
    PROMPT_LIMITS,
    LengthRange,
    parse_call,
)
from songforge.errors import InvalidRequest, SensitiveContent
from songforge.models import AudioFormat
from songforge.service.keys import Tier
from tests.api._engines import scripted_song
from tests.service._helpers import make_settings

FIXTURES = Path(__file__).parent / "fixtures" / "dashscope"
GENERATION = "/api/v1/services/audio/music/generation"
SSE = {"X-DashScope-SSE": "enable"}
CJK = "春夏秋冬山水花月风雨天地人心爱梦"
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
URL_RE = re.compile(r"^http://127\.0\.0\.1:8123/files/[0-9a-f]+/song\.(mp3|wav)\?expires=(\d+)&sig=[0-9a-f]{64}$")


def dashscope_song(request, *, preset="default", on_progress=None, on_chunk=None):
    """The scripted stand-in, plus ``blocked ...``: refused by the content rules."""
    if request.prompt.startswith("blocked"):
        raise SensitiveContent("the text breaks the content rules")
    return scripted_song(request, preset=preset, on_progress=on_progress, on_chunk=on_chunk)


@pytest.fixture(scope="module")
def dev(tmp_path_factory):
    settings_ = make_settings(tmp_path_factory.mktemp("dashscope"), max_body_bytes=64 * 1024)
    with TestClient(create_app(settings_, generate=dashscope_song)) as client:
        yield client


def _keyed(tmp_path, *, requests_per_minute: int) -> tuple[TestClient, str]:
    app = create_app(make_settings(tmp_path, dev_mode=False), run_workers=False)
    keys = app.state.service.keys
    keys.tiers["free"] = Tier("free", requests_per_minute=requests_per_minute, max_concurrent_jobs=2)
    return TestClient(app), keys.create(name="dashscope")[1]


# -- structural comparison ----------------------------------------------------------------------

def _matches(template: Any, value: Any, where: str = "$") -> None:
    """Assert ``value`` has ``template``'s shape: same keys, equal constants, ``<pattern>`` strings."""
    if isinstance(template, dict):
        assert isinstance(value, dict) and set(value) == set(template), f"{where}: {value!r}"
        for key, sub in template.items():
            _matches(sub, value[key], f"{where}.{key}")
    elif isinstance(template, str) and template.startswith("<") and template.endswith(">"):
        _PATTERNS[template](value, where)
    else:
        assert type(value) is type(template) and value == template, f"{where}: {value!r} != {template!r}"


def _check_uuid(value: Any, where: str) -> None:
    assert isinstance(value, str) and UUID_RE.match(value), f"{where}: {value!r}"


def _check_audio_id(value: Any, where: str) -> None:
    assert isinstance(value, str) and value.startswith("audio_"), f"{where}: {value!r}"
    _check_uuid(value.removeprefix("audio_"), where)


def _check_int(value: Any, where: str) -> None:
    assert isinstance(value, int) and not isinstance(value, bool) and value >= 0, f"{where}: {value!r}"


def _check_unix_s(value: Any, where: str) -> None:
    _check_int(value, where)
    assert value > 1_700_000_000, f"{where}: {value!r}"


def _check_base64(value: Any, where: str) -> None:
    assert isinstance(value, str) and value and base64.b64decode(value, validate=True), f"{where}"


_PATTERNS = {
    "<uuid>": _check_uuid,
    "<audio_id>": _check_audio_id,
    "<signed_url>": lambda v, w: (isinstance(v, str) and URL_RE.match(v)) or pytest.fail(f"{w}: {v!r}"),
    "<unix_s>": _check_unix_s,
    "<int>": _check_int,
    "<base64>": _check_base64,
    "<str>": lambda v, w: isinstance(v, str) or pytest.fail(f"{w}: {v!r}"),
    "<nonempty_str>": lambda v, w: (isinstance(v, str) and v.strip()) or pytest.fail(f"{w}: {v!r}"),
}

FRAME_RE = re.compile(r"id:(\d+)\nevent:(result|error)\n:HTTP_STATUS/(\d{3})\ndata:(\{.*\})")


def parse_sse(text: str) -> list[dict[str, Any]]:
    """DashScope SSE text as events; asserts the exact framing of every event."""
    assert text.endswith("\n\n"), "every event ends with a blank line"
    events = []
    for block in text[:-2].split("\n\n"):
        match = FRAME_RE.fullmatch(block)
        assert match, f"bad framing: {block[:200]!r}"
        events.append({"id": int(match[1]), "event": match[2], "http_status": int(match[3]),
                       "data": json.loads(match[4])})
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    return events


def _match_events(templates: list[dict[str, Any]], events: list[dict[str, Any]]) -> None:
    queue = list(events)
    for template in templates:
        expected = {k: v for k, v in template.items() if k != "repeat"}
        count = 0
        while queue and (count == 0 or template.get("repeat")):
            if count and queue[0]["data"].get("output", {}).get("finish_reason") != "null":
                break
            _matches(expected, {k: queue[0][k] for k in ("event", "http_status", "data")})
            queue.pop(0)
            count += 1
        assert count >= 1, f"missing event {template}"
    assert not queue, f"unexpected events: {queue}"


def _consistent_ids(body: dict[str, Any]) -> None:
    audio = body["output"]["audio"]
    assert audio["id"] == f"audio_{body['request_id']}"
    if "url" in audio:
        match = URL_RE.match(audio["url"])
        assert match and int(match[2]) == audio["expires_at"]  # the URL's own expiry


# -- golden fixtures ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(p.stem for p in FIXTURES.glob("*.json")))
def test_golden_fixture(name, dev, tmp_path):
    fixture = json.loads((FIXTURES / f"{name}.json").read_text())
    client, headers = dev, dict(fixture["headers"])
    if fixture["app"] != "dev":
        client, key = _keyed(tmp_path, requests_per_minute=1 if fixture["app"] == "throttled" else 100)
        headers["Authorization"] = headers["Authorization"].replace("<key>", key)
    with client:
        for _ in range(fixture.get("before", 0)):
            client.post(fixture["path"], json=fixture["body"], headers=headers)
        response = client.post(fixture["path"], json=fixture["body"], headers=headers)
    assert response.status_code == fixture["status"], response.text
    assert response.headers["content-type"] == fixture["content_type"]
    for header, pattern in fixture.get("response_headers", {}).items():
        _PATTERNS[pattern](int(response.headers[header]), header)
    if "events" in fixture:
        events = parse_sse(response.text)
        _match_events(fixture["events"], events)
        assert {e["data"]["request_id"] for e in events} == {events[0]["data"]["request_id"]}
    else:
        _matches(fixture["response"], response.json())
        if response.status_code == 200:
            _consistent_ids(response.json())


def _download(client: TestClient, url: str) -> bytes:
    response = client.get(url.removeprefix("http://127.0.0.1:8123"))
    assert response.status_code == 200
    return response.content


@pytest.mark.parametrize("path", PATHS)
def test_streamed_chunks_are_the_file_at_the_url(dev, path):
    body = {"model": "fun-music-v1", "input": {"prompt": "paced song with a warm synth bass", "format": "wav"}}
    events = parse_sse(dev.post(path, json=body, headers=SSE).text)
    *chunks, final = [e["data"] for e in events]
    assert len(chunks) >= 2 and {c["output"]["finish_reason"] for c in chunks} == {"null"}
    streamed = b"".join(base64.b64decode(c["output"]["audio"]["data"]) for c in chunks)
    assert final["output"]["finish_reason"] == "stop" and final["output"]["audio"]["data"] == ""
    _consistent_ids(final)
    assert streamed[:4] == b"RIFF" and _download(dev, final["output"]["audio"]["url"]) == streamed
    assert all(c["output"]["audio"]["expires_at"] <= final["output"]["audio"]["expires_at"] for c in chunks)


def test_non_streaming_answer_points_at_the_song_and_echoes_the_lyrics(dev):
    lyrics = "[verse]\n春风吹过山岗\n[chorus]\n我们一起唱"
    body = {"model": "fun-music-v1", "input": {"lyrics": lyrics, "gender": "male", "format": "wav"}}
    answer = dev.post(GENERATION, json=body).json()
    assert answer["output"]["extra_info"]["lyrics"] == lyrics and answer["usage"]["duration"] == 1  # 0.5 s, ceil
    assert _download(dev, answer["output"]["audio"]["url"])[:4] == b"RIFF"


def test_defaults_and_precedence_reach_the_job(dev):
    service = dev.app.state.service
    answer = dev.post(GENERATION, json={"model": "fun-music-v1", "input": {"lyrics": "hello world", "prompt": "jazz"}})
    job_id = answer.json()["output"]["audio"]["url"].split("/files/")[1].split("/")[0]
    stored = service.get(job_id)
    assert stored.dialect == "dashscope" and stored.request["format"] == "mp3"
    assert stored.request["lyrics"] == "hello world" and stored.request["prompt"] == ""  # the prompt is ignored
    assert stored.request["gender"] == "female" and stored.request["sample_rate_hz"] == 48000


# -- limits (hypothesis) ------------------------------------------------------------------------

def _text(length: int, *, chinese: bool, unit: str) -> str:
    if unit == "words":
        return " ".join(["la"] * length)
    if chinese:
        return (CJK * (length // len(CJK) + 1))[:length]
    return ("abc " * length)[: length - 1] + "z"  # no surrounding whitespace: every character counts


LIMIT_CASES = [(field, stream, chinese, limit)
               for field, limits in (("lyrics", LYRICS_LIMITS), ("prompt", PROMPT_LIMITS))
               for (stream, chinese), limit in limits.items()]


def _body(field: str, text: str, *, model: str = "fun-music-v1") -> dict[str, Any]:
    extra = {"prompt": "a calm song about the sea"} if model == MODEL_PREVIEW and field == "lyrics" else {}
    return {"model": model, "input": {field: text, **extra}}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=st.sampled_from(LIMIT_CASES), offset=st.integers(-3, 3), edge=st.sampled_from(["low", "high"]),
       model=st.sampled_from(["fun-music-v1", MODEL_PREVIEW]))
def test_every_length_limit_is_enforced_with_the_vendor_error(dev, case, offset, edge, model):
    field, stream, chinese, limit = case
    length = (limit.low if edge == "low" else limit.high) + offset
    if length < 1:
        return  # an empty text counts as not given (tested below)
    text = _text(length, chinese=chinese, unit=limit.unit)
    assert limit.measure(text) == length
    body = _body(field, text, model=model)
    if limit.low <= length <= limit.high:
        call = parse_call(body, stream=stream)
        kept = getattr(call.song, field)
        assert (kept == text or (field == "prompt" and text.startswith(kept) and 1990 < len(kept) <= 2000))
        assert call.stream is stream and call.model == model
        return
    response = dev.post(GENERATION, json=body, headers=SSE if stream else {})
    assert response.status_code == 400 and response.headers["content-type"] == "application/json"
    error = response.json()
    assert error["code"] == "InvalidParameter" and UUID_RE.match(error["request_id"])
    assert error["message"].startswith(f"Range of input length should be [{limit.low}, {limit.high}]: input.{field} ")
    assert f"has {length} {limit.unit}" in error["message"]


@given(unit=st.sampled_from(["characters", "words"]), padding=st.text(" \n\t", max_size=4))
@settings(max_examples=30, deadline=None)
def test_lengths_ignore_surrounding_whitespace(unit, padding):
    limit = LengthRange(1, 10, unit)
    assert limit.measure(f"{padding}ab cd{padding}") == (2 if unit == "words" else 5)


def test_a_chinese_character_makes_the_text_chinese():
    english = "x" * 351
    assert parse_call(_body("lyrics", english), stream=False).song.lyrics == english  # English: up to 2000
    with pytest.raises(InvalidRequest, match=r"\[5, 350\].*Chinese lyrics"):
        parse_call(_body("lyrics", "春" + english), stream=False)


def test_an_ignored_prompt_is_not_length_checked():
    body = {"model": "fun-music-v1", "input": {"lyrics": "hello there", "prompt": "x" * 5000}}
    assert parse_call(body, stream=False).song.prompt == ""


# -- model and field rules ----------------------------------------------------------------------

@pytest.mark.parametrize(("body", "stream", "code", "message"), [
    ({"model": MODEL_PREVIEW, "input": {"lyrics": "hello world"}}, False, "InvalidParameter",
     "input.prompt is required for fun-music-preview."),
    ({"model": MODEL_PREVIEW, "input": {"prompt": "a song", "gender": "male"}}, False, "InvalidParameter",
     "input.gender is not supported by fun-music-preview."),
    ({"model": "fun-music-v1", "input": {"lyrics": "hello world", "is_instrumental": True}}, False,
     "InvalidParameter", "input.prompt is required when input.is_instrumental is true."),
    ({"model": "fun-music-v1", "input": {"prompt": "p", "lyrics": "hello world", "is_instrumental": True}}, False,
     "InvalidParameter", "input.lyrics cannot be given when input.is_instrumental is true."),
    ({"model": "fun-music-v1", "input": {"prompt": "p", "gender": "male", "is_instrumental": True}}, False,
     "InvalidParameter", "input.gender cannot be given when input.is_instrumental is true."),
    ({"model": "fun-music-v1", "input": {"lyrics": "", "prompt": None}}, False, "InvalidParameter",
     "At least one of input.lyrics and input.prompt is required."),
    ({"model": "fun-music-v1", "input": {"prompt": "a song", "format": "ogg"}}, False, "InvalidParameter",
     "Parameter input.format is invalid: Input should be 'mp3' or 'wav'."),
    ({"model": "fun-music-v1", "input": {"prompt": "a song", "gender": "robot"}}, True, "InvalidParameter",
     "Parameter input.gender is invalid: Input should be 'female' or 'male'."),
    ({"model": "fun-music-v1", "input": {"prompt": "a song", "is_instrumental": "yes"}}, False,
     "InvalidParameter", "Parameter input.is_instrumental is invalid: Input should be a valid boolean."),
    ({"model": "fun-music-v1", "input": {"lyrics": 12345}}, False, "InvalidParameter",
     "Parameter input.lyrics is invalid: Input should be a valid string."),
    ({"model": "fun-music-v1", "input": "a song"}, False, "InvalidParameter", "Parameter input must be a JSON object."),
    ({"model": 1, "input": {"prompt": "a song"}}, False, "InvalidParameter", "Parameter model must be a string."),
    ({"model": "", "input": {"prompt": "a song"}}, True, "BadRequest.EmptyModel",
     'Required parameter "model" missing from request.'),
    ({"model": "fun-music-v1", "input": None}, True, "BadRequest.EmptyInput",
     "Required input parameter missing from request."),
    (["fun-music-v1"], False, "InvalidParameter", "the request body must be a JSON object"),
])
def test_rules_are_400_with_the_vendor_code(dev, body, stream, code, message):
    response = dev.post(PATHS[0], json=body, headers=SSE if stream else {})
    assert response.status_code == 400 and response.headers["content-type"] == "application/json"
    assert response.json() == {"code": code, "message": message, "request_id": response.json()["request_id"]}


def test_model_variants_become_canonical_requests():
    preview = parse_call({"model": MODEL_PREVIEW, "input": {"prompt": "lofi", "lyrics": "hello world"}}, stream=False)
    assert preview.song.prompt == "lofi" and preview.song.lyrics == "hello world" and preview.song.gender is None
    music = parse_call({"model": "fun-music-v1", "input": {"prompt": "calm piano for a rainy night", "is_instrumental": True}},
                       stream=True)
    assert music.song.instrumental and music.song.gender is None and music.song.lyrics is None
    sdk = parse_call({"model": "fun-music-v1", "parameters": {}, "input": {
        "prompt": "a song", "text": None, "voice": None, "format": "wav", "sample_rate": 24000}}, stream=False)
    assert sdk.song.format == AudioFormat.WAV and sdk.song.sample_rate_hz == 48000 and sdk.song.channels == 2


def test_transport_errors_keep_the_envelope(dev):
    bad_json = dev.post(GENERATION, content=b"{nope", headers={"Content-Type": "application/json"})
    assert bad_json.status_code == 400 and bad_json.json()["code"] == "InvalidParameter"
    too_big = dev.post(GENERATION, json={"model": "fun-music-v1", "input": {"prompt": "x" * 70_000}})
    assert too_big.status_code == 413 and too_big.json()["code"] == "InvalidParameter"
    assert "65536 bytes" in too_big.json()["message"] and UUID_RE.match(too_big.json()["request_id"])
    wrong_method = dev.get(GENERATION)
    assert wrong_method.status_code == 405 and set(wrong_method.json()) == {"code", "message", "request_id"}
    asynchronous = dev.post(GENERATION, json=_body("prompt", "a song"), headers={"X-DashScope-Async": "enable"})
    assert asynchronous.status_code == 403 and asynchronous.json()["code"] == "AccessDenied"


def test_the_dialect_plugs_in_without_callbacks():
    plugged = dialect()
    assert plugged.name == "dashscope" and plugged.callback_renderer is None
    assert plugged.prefixes == ("/api/v1/services/audio/",)
    assert {route.path for route in plugged.router.routes} == set(PATHS)  # type: ignore[attr-defined]


def test_a_key_that_passes_reaches_the_job_owner(tmp_path):
    client, key = _keyed(tmp_path, requests_per_minute=100)
    with client:
        response = client.post(GENERATION, json={"model": "fun-music-v1", "input": {"lyrics": "la"}},
                               headers={"Authorization": f"Bearer {key}"})
        missing = client.post(GENERATION, json=_body("prompt", "a song"))
    assert response.status_code == 400 and response.json()["code"] == "InvalidParameter"  # past auth
    assert missing.status_code == 401 and missing.json()["code"] == "InvalidApiKey"


def test_openapi_documents_both_paths_with_the_body(dev):
    paths = dev.get("/openapi.json").json()["paths"]
    for path in PATHS:
        schema = paths[path]["post"]["requestBody"]["content"]["application/json"]["schema"]
        assert schema["required"] == ["model", "input"] and schema["properties"]["model"]["enum"] == [
            "fun-music-v1", "fun-music-preview"]
        assert {"lyrics", "prompt", "gender", "format", "is_instrumental"} <= set(schema["properties"]["input"]["properties"])
