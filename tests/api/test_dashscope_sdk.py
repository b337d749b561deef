"""The real ``dashscope`` SDK (2.0.2) against a real ``songforge serve`` on loopback.

Every call names its server with ``base_address=`` (``url=`` for ``HttpSpeechSynthesizer``) and its
key with ``api_key=``: no SDK module globals or environment are changed. The server runs the
scripted stand-in engine (``tests/api/_engines.py``); ``test_real_engine_*`` the real one (tiny preset).
"""

from __future__ import annotations

import base64
import io
import re

import httpx
import pytest
import soundfile as sf
from dashscope.audio.http_tts import HttpSpeechSynthesisResult, HttpSpeechSynthesizer
from dashscope.client.base_api import BaseApi

from tests.api._server import SCRIPTED, LiveServer

ROUTES = {"tts": ("tts", "SpeechSynthesizer"), "music": ("music", "generation")}
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
API_KEY = "sk-test"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("dashscope") / "data",
                      args=("--dev", "--engine", SCRIPTED, "--workers", "2")).start()
    yield live
    live.stop()


def _call(server: LiveServer, input_: dict, *, route: str = "tts", stream: bool = False, model: str = "fun-music-v1"):
    task, function = ROUTES[route]
    return BaseApi.call(model=model, input=input_, task_group="audio", task=task, function=function,
                        api_key=API_KEY, base_address=f"{server.url}/api/v1", stream=stream)


def _download(server: LiveServer, url: str) -> bytes:
    assert url.startswith(f"{server.url}/files/"), url  # a loopback link: the client stays local
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200
    return response.content


def _check_final(output: dict, request_id: str) -> None:
    audio = output["audio"]
    assert audio["data"] == "" and audio["id"] == f"audio_{request_id}" and UUID_RE.match(request_id)
    assert f"expires={audio['expires_at']}&" in audio["url"]
    assert output["extra_info"]["channels"] == 2 and output["extra_info"]["sample_rate"] == 48000
    assert output["finish_reason"] == "stop"


@pytest.mark.parametrize("route", ROUTES)
def test_non_streaming_call_on_both_paths(server, route):
    response = _call(server, {"prompt": "a folk song with guitar", "gender": "male", "format": "wav"}, route=route)
    assert response.status_code == 200, response.message
    _check_final(response.output, response.request_id)
    assert isinstance(response.usage["duration"], int) and response.usage["duration"] >= 1
    info = sf.info(io.BytesIO(_download(server, response.output["audio"]["url"])))
    assert info.samplerate == 48000 and info.channels == 2 and info.duration == pytest.approx(0.5, abs=0.01)


@pytest.mark.parametrize("route", ROUTES)
def test_streamed_chunks_decode_to_the_file_at_the_url(server, route):
    parts = list(_call(server, {"prompt": "paced song with a warm synth bass", "format": "wav"},
                       route=route, stream=True))
    assert all(p.status_code == 200 for p in parts), [p.message for p in parts]
    *chunks, final = parts
    assert len(chunks) >= 2 and {c.output["finish_reason"] for c in chunks} == {"null"}
    assert {c.request_id for c in parts} == {final.request_id}
    streamed = b"".join(base64.b64decode(c.output["audio"]["data"]) for c in chunks)
    _check_final(final.output, final.request_id)
    assert final.usage["duration"] >= 1
    assert _download(server, final.output["audio"]["url"]) == streamed
    audio, rate = sf.read(io.BytesIO(streamed))
    assert rate == 48000 and audio.shape == (24000, 2) and abs(audio).max() > 0.1  # playable, not silence


def test_json_errors_reach_the_sdk(server):
    unknown = _call(server, {"prompt": "a song"}, model="fun-music-v9")
    assert (unknown.status_code, unknown.code) == (404, "ModelNotFound") and "fun-music-v9" in unknown.message
    short = _call(server, {"lyrics": "la"}, route="music")
    assert (short.status_code, short.code) == (400, "InvalidParameter")
    assert short.message.startswith("Range of input length should be [5, 2000]") and UUID_RE.match(short.request_id)
    [refused] = list(_call(server, {"lyrics": "only a few words"}, stream=True))  # refused before streaming
    assert (refused.status_code, refused.code) == (400, "InvalidParameter") and "[200, 250]" in refused.message
    preview = _call(server, {"prompt": "lofi beats", "gender": "female"}, model="fun-music-preview")
    assert (preview.status_code, preview.code) == (400, "InvalidParameter") and "gender" in preview.message


def test_a_mid_stream_failure_reaches_the_sdk_as_an_error(server):
    parts = list(_call(server, {"prompt": "fail this song right now please"}, route="music", stream=True))
    last = parts[-1]
    # DashScope sends no ``status:`` line, so the SDK reports its default 400 for an event:error
    assert last.status_code == 400 and last.code == "InternalError"
    assert last.message == "the vocals could not be sung" and last.output is None
    assert all(p.status_code == 200 for p in parts[:-1])


def test_http_speech_synthesizer_sends_its_extra_keys_and_gets_a_url(server):
    result = HttpSpeechSynthesizer.call(model="fun-music-v1", text="", voice="", api_key=API_KEY,
                                        url=f"{server.url}/api/v1", prompt="a quiet lullaby for a child")
    assert isinstance(result, HttpSpeechSynthesisResult) and result.audio_url and result.expires_at
    assert str(result.audio_id).startswith("audio_") and result.expires_at > 0
    assert _download(server, result.audio_url)[:4] == b"RIFF"  # its default format, "wav", was honoured


@pytest.mark.heavy
def test_real_engine_sings_the_lyrics_at_48_khz_stereo(tmp_path):
    lyrics = "[verse]\nHello morning light\nWe walk along the river\n[chorus]\nSing it loud tonight"
    live = LiveServer(tmp_path / "data", args=("--dev", "--preset", "tiny", "--workers", "1"),
                      env={"SONGFORGE_PRESET": "tiny"}).start(timeout_s=120)
    try:
        response = _call(live, {"lyrics": lyrics, "gender": "female", "format": "wav"}, route="music")
        assert response.status_code == 200, response.message
        _check_final(response.output, response.request_id)
        sung = response.output["extra_info"]["lyrics"]
        assert "[verse]" in sung.lower() and "[chorus]" in sung.lower()
        lines = iter(sung.splitlines())  # every line we sent, in order (a chorus may be sung again)
        assert all(any(line == got for got in lines) for line in lyrics.splitlines() if not line.startswith("["))
        audio, rate = sf.read(io.BytesIO(_download(live, response.output["audio"]["url"])))
        assert rate == 48000 and audio.ndim == 2 and audio.shape[1] == 2
        duration_s = audio.shape[0] / rate
        assert 5.0 <= duration_s <= 120.0 and abs(audio).max() > 0.05
        assert response.usage["duration"] == pytest.approx(duration_s, abs=1.0)
    finally:
        live.stop()
