"""Every documented MiniMax limit is enforced with the vendor's own error (hypothesis).

Refusals go through the app (``base_resp`` 2013, HTTP 200, the message naming the field and the
limit); acceptance at the boundaries is checked on the rules themselves (no song is made).
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from songforge.api.app import create_app
from songforge.api.minimax.rules import MODELS, check_generation
from songforge.api.minimax.wire import MusicGenerationBody
from tests.service._helpers import make_settings

CHECKS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
TEXT_MODELS = [m for m in MODELS.values() if m.family == "text"]
COVER_MODELS = [m for m in MODELS.values() if m.family == "cover"]
LYRICS = "[Verse]\nla la la la la"
COVER_SOURCE = {"audio_url": "http://127.0.0.1:9/a.mp3"}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    app = create_app(make_settings(tmp_path_factory.mktemp("limits")), run_workers=False)
    with TestClient(app) as test_client:
        yield test_client


def refused(client: TestClient, path: str, body: dict, *words: str) -> str:
    """POST ``body`` and assert a 2013 naming ``words``; returns the message."""
    response = client.post(path, json=body)
    assert response.status_code == 200
    base = response.json()["base_resp"]
    assert base["status_code"] == 2013, base
    assert base["status_msg"].startswith("invalid params, ")
    for word in words:
        assert word in base["status_msg"], (word, base["status_msg"])
    return str(base["status_msg"])


def _text_body(model, **fields) -> dict:
    body = {"model": model.name, "prompt": "p" * max(model.prompt_chars[0], 1), "lyrics": "l" * model.lyrics_chars[0]}
    return {**body, **fields}


@CHECKS
@given(model=st.sampled_from(TEXT_MODELS + COVER_MODELS), extra=st.integers(1, 500))
def test_prompt_over_the_model_limit_is_refused(client, model, extra):
    high = model.prompt_chars[1]
    body = {**_text_body(model, prompt="p" * (high + extra)), **(COVER_SOURCE if model.family == "cover" else {})}
    refused(client, "/v1/music_generation", body, "prompt", f"{model.prompt_chars[0]}-{high} characters")


@CHECKS
@given(model=st.sampled_from([m for m in TEXT_MODELS + COVER_MODELS if m.prompt_chars[0] > 1]), data=st.data())
def test_prompt_under_the_model_minimum_is_refused(client, model, data):
    short = data.draw(st.text(st.characters(codec="utf-8", exclude_categories=["Z", "C"]), min_size=1,
                              max_size=model.prompt_chars[0] - 1))
    body = {**_text_body(model, prompt=short), **(COVER_SOURCE if model.family == "cover" else {})}
    refused(client, "/v1/music_generation", body, "prompt", f"{model.prompt_chars[0]}-{model.prompt_chars[1]}")


@CHECKS
@given(model=st.sampled_from(TEXT_MODELS + COVER_MODELS + [MODELS["music-01"]]), extra=st.integers(1, 300))
def test_lyrics_over_the_model_limit_is_refused(client, model, extra):
    high = model.lyrics_chars[1]
    fields = {"cover": COVER_SOURCE, "legacy": {"refer_voice": "vocal-x"}}.get(model.family, {})
    body = {**_text_body(model, lyrics="l" * (high + extra)), **fields}
    if model.family == "legacy":
        body.pop("prompt")
    refused(client, "/v1/music_generation", body, "lyrics", f"-{high} characters")


@CHECKS
@given(model=st.sampled_from(TEXT_MODELS), data=st.data())
def test_lengths_within_the_limits_are_accepted(model, data):
    prompt_n = data.draw(st.integers(max(model.prompt_chars[0], 1), model.prompt_chars[1]))
    lyrics_n = data.draw(st.integers(model.lyrics_chars[0], model.lyrics_chars[1]))
    body = MusicGenerationBody(model=model.name, prompt="p" * prompt_n, lyrics="l" * lyrics_n)
    assert check_generation(body) is model


@pytest.mark.parametrize("model", [m for m in TEXT_MODELS if m.lyrics_required])
def test_lyrics_are_required_unless_instrumental_or_written(client, model):
    refused(client, "/v1/music_generation", {"model": model.name, "prompt": "p" * 20}, "lyrics is required")
    if model.instrumental:
        assert check_generation(MusicGenerationBody(model=model.name, prompt="drums", is_instrumental=True))
        refused(client, "/v1/music_generation", {"model": model.name, "is_instrumental": True}, "prompt is required")
    else:
        refused(client, "/v1/music_generation", {"model": model.name, "prompt": "p" * 20, "is_instrumental": True},
                f"is_instrumental is not supported by {model.name}")
    if not model.optimizer:
        refused(client, "/v1/music_generation", {"model": model.name, "prompt": "p" * 20, "lyrics_optimizer": True},
                f"lyrics_optimizer is not supported by {model.name}", "music-2.6, music-2.6-free")


@CHECKS
@given(field=st.sampled_from(["sample_rate", "bitrate"]), value=st.integers(-10, 400000))
def test_audio_setting_numbers_outside_the_enums_are_refused(client, field, value):
    allowed = {"sample_rate": (16000, 24000, 32000, 44100), "bitrate": (32000, 64000, 128000, 256000)}[field]
    if value in allowed:
        return
    body = _text_body(MODELS["music-2.6"], audio_setting={field: value})
    refused(client, "/v1/music_generation", body, f"audio_setting.{field}", " or ".join(map(str, allowed[-2:])))


@CHECKS
@given(value=st.text(min_size=1, max_size=8).filter(lambda v: v not in ("mp3", "wav", "pcm", "flac")))
def test_audio_formats_outside_the_enum_are_refused(client, value):
    body = _text_body(MODELS["music-2.6"], audio_setting={"format": value})
    refused(client, "/v1/music_generation", body, "audio_setting.format", "'mp3', 'wav', 'pcm' or 'flac'")


@CHECKS
@given(model=st.sampled_from(COVER_MODELS),
       sources=st.sets(st.sampled_from(["audio_url", "audio_base64", "cover_feature_id"])).filter(lambda s: len(s) != 1))
def test_cover_needs_exactly_one_source(client, model, sources):
    body = {"model": model.name, "prompt": "a jazz cover please", **{name: "x" for name in sources}}
    refused(client, "/v1/music_generation", body, "exactly one of audio_url, audio_base64, cover_feature_id")


def test_cover_feature_id_needs_lyrics_and_cover_fields_need_a_cover_model(client):
    body = {"model": "music-cover", "prompt": "a jazz cover please", "cover_feature_id": "0" * 32}
    refused(client, "/v1/music_generation", body, "lyrics is required", "10-1000 characters")
    refused(client, "/v1/music_generation", _text_body(MODELS["music-2.6"], audio_url="http://x/a.mp3"),
            "audio_url is only used by music-cover, music-cover-free")
    refused(client, "/v1/music_generation", _text_body(MODELS["music-2.6"], refer_voice="vocal-1"),
            "refer_voice is only used by music-01")


@pytest.mark.parametrize(("fields", "words"), [
    ({"is_instrumental": True, "lyrics": LYRICS}, "lyrics must be empty when is_instrumental is true"),
    ({"lyrics_optimizer": True, "lyrics": LYRICS}, "lyrics must be empty when lyrics_optimizer is true"),
    ({"lyrics_optimizer": True, "is_instrumental": True, "lyrics": ""}, "cannot both be true"),
    ({"stream": True, "output_format": "url"}, "output_format must be hex when stream is true"),
    ({"output_format": "mp3"}, "output_format"),
    ({"seed": 1_000_001}, "seed"),
    ({"model": "music-9"}, "model must be one of music-2.6, music-2.6-free"),
])
def test_mutually_exclusive_and_enumerated_fields(client, fields, words):
    refused(client, "/v1/music_generation", {**_text_body(MODELS["music-2.6"], prompt="pop"), **fields}, words)


@pytest.mark.parametrize(("fields", "words"), [
    ({"lyrics": LYRICS}, ("music-01 needs refer_voice or refer_instrumental",)),
    ({"refer_voice": "vocal-1"}, ("lyrics is required for music-01", "1-600 characters")),
    ({"refer_vocal": "vocal-2", "refer_voice": "vocal-1", "lyrics": LYRICS},
     ("refer_vocal needs refer_voice, refer_instrumental and lyrics",)),
])
def test_music_01_rules(client, fields, words):
    refused(client, "/v1/music_generation", {"model": "music-01", **fields}, *words)


def test_the_aiml_pass_through_is_music_01_with_lyrics_and_a_format(client):
    path = "/v2/generate/audio/minimax/generate"
    refused(client, path, {"model": "music-2.6", "lyrics": LYRICS}, "model must be one of music-01")
    refused(client, path, {"model": "music-01", "refer_instrumental": "instrumental-1"}, "lyrics is required")
    refused(client, path, {"model": "music-01", "refer_instrumental": "instrumental-1", "lyrics": LYRICS},
            "audio_setting.format is required")


@CHECKS
@given(field=st.sampled_from(["prompt", "lyrics"]), extra=st.integers(1, 200))
def test_lyrics_generation_lengths(client, field, extra):
    high = {"prompt": 2000, "lyrics": 3500}[field]
    body = {"mode": "edit", "lyrics": LYRICS, "prompt": "x", field: "w" * (high + extra)}
    refused(client, "/v1/lyrics_generation", body, field, f"0-{high} characters")


@CHECKS
@given(purpose=st.text(max_size=12).filter(lambda p: p not in ("song", "voice", "instrumental")))
def test_upload_purposes(client, purpose):
    for path in ("/v1/music_upload", "/v2/generate/audio/minimax/upload"):
        response = client.post(path, data={"purpose": purpose}, files={"file": ("a.wav", b"RIFF", "audio/wav")})
        base = response.json()["base_resp"]
        assert base["status_code"] == 2013 and "song, voice, instrumental" in base["status_msg"]


def test_upload_needs_a_file_and_cover_preprocess_one_source(client):
    response = client.post("/v1/music_upload", data={"purpose": "voice"})
    assert response.json()["base_resp"]["status_code"] == 2013 and "file is required" in response.text
    refused(client, "/v1/music_cover_preprocess", {"model": "music-cover"}, "exactly one of audio_url, audio_base64")
    refused(client, "/v1/music_cover_preprocess", {"model": "music-2.6", "audio_url": "http://x/a.mp3"},
            "model must be one of music-cover, music-cover-free")
