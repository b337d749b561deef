"""The official ``minimax-mcp`` client (``MinimaxAPIClient``) against a real ``songforge serve`` on
loopback: hex and url songs, lyrics, uploads (multipart ``files=``) and auth errors; one heavy
test with the real engine (tiny preset)."""

from __future__ import annotations

import io

import httpx
import pytest
import soundfile as sf
from minimax_mcp.client import MinimaxAPIClient
from minimax_mcp.exceptions import MinimaxAuthError, MinimaxRequestError
from typer.testing import CliRunner

from songforge.cli.app import app as cli
from tests.api._minimax import tone_wav
from tests.api._server import SCRIPTED, LiveServer

LYRICS = "[Verse]\nthe night is young\n[Chorus]\nwe drive along"
SONG = {"model": "music-2.6", "prompt": "synth-pop", "lyrics": LYRICS, "seed": 11,
        "audio_setting": {"sample_rate": 44100, "bitrate": 256000, "format": "wav"}}


def _make_key(data_dir, tier: str) -> str:
    result = CliRunner().invoke(cli, ["keys", "create", "--tier", tier, "--name", tier, "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("minimax-live") / "data"
    key = _make_key(data_dir, "paid")
    live = LiveServer(data_dir, args=("--engine", SCRIPTED, "--workers", "1")).start()
    live.key = key  # type: ignore[attr-defined]
    yield live
    live.stop()


@pytest.fixture
def client(server):
    return MinimaxAPIClient(server.key, server.url)


def test_hex_song_is_playable_and_the_url_downloads_the_same_file(client):
    hex_body = client.post("/v1/music_generation", json=SONG)
    assert hex_body["data"]["status"] == 2 and hex_body["base_resp"] == {"status_code": 0, "status_msg": "success"}
    data = bytes.fromhex(hex_body["data"]["audio"])
    info = sf.info(io.BytesIO(data))
    assert info.frames > 0 and hex_body["extra_info"]["music_size"] == len(data)
    url_body = client.post("/v1/music_generation", json={**SONG, "output_format": "url"})
    url = url_body["data"]["audio"]
    assert url.startswith("http://127.0.0.1:") and url_body["data"]["audio_url"] == url
    assert httpx.get(url).content == data  # same request and seed: the same file


def test_lyrics_generation(client):
    body = client.post("/v1/lyrics_generation", json={"mode": "write_full_song", "prompt": "a rainy city night",
                                                      "title": "Rain"})
    assert body["song_title"] == "Rain" and "[Chorus" in body["lyrics"] and isinstance(body["style_tags"], str)


def test_music_upload_with_multipart_files(client):
    body = client.post("/v1/music_upload", data={"purpose": "voice"},
                       files={"file": ("voice.wav", tone_wav(11.0), "audio/wav")})
    assert body["voice_id"].startswith("vocal-") and "instrumental_id" not in body


def test_errors_raise_the_clients_exceptions(server):
    with pytest.raises(MinimaxAuthError, match="authorization failed"):
        MinimaxAPIClient("sf_not_a_key", server.url).post("/v1/music_generation", json=SONG)
    with pytest.raises(MinimaxRequestError, match="2013-invalid params, lyrics"):
        MinimaxAPIClient(server.key, server.url).post("/v1/music_generation", json={**SONG, "lyrics": ""})


@pytest.mark.heavy
def test_real_engine_song_through_the_official_client(tmp_path):
    live = LiveServer(tmp_path / "data", args=("--dev", "--preset", "tiny", "--workers", "1")).start(timeout_s=120)
    try:
        song = {"model": "music-2.6", "prompt": "bright pop", "lyrics": "[Verse]\nla la la\nsing along",
                "audio_setting": {"sample_rate": 32000, "bitrate": 128000, "format": "wav", "channel": 1}}
        body = MinimaxAPIClient("any", live.url).post("/v1/music_generation", json=song, timeout=600)
        data = bytes.fromhex(body["data"]["audio"])
        info, extra = sf.info(io.BytesIO(data)), body["extra_info"]
        assert (info.samplerate, info.channels) == (32000, 1) == (extra["music_sample_rate"], extra["music_channel"])
        assert extra["music_size"] == len(data) and abs(extra["music_duration"] - info.duration * 1000) <= 50
        assert info.duration >= 5.0
    finally:
        live.stop()
