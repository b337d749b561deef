"""Every documented limit of ``POST /v2/generate/audio`` is enforced with AIML's error (hypothesis).

For each model and each limited field, a generated value is accepted (200, a queued job) exactly
when it is within the vendor's limit, and otherwise refused with 400 ``Body validation error``
and a zod-style line naming the field and the limit. Reference audio is taken in by a fast
stand-in here (its own limits are tested against the real ReferenceService in test_aimlapi.py).
"""

from __future__ import annotations

import base64
import hashlib

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from songforge.api.app import create_app
from songforge.service.references import ReferenceIds, StoredAudio
from tests.service._helpers import make_settings

PATH = "/v2/generate/audio"
LYRICS = "[Verse]\nla la la la la"
SAMPLE_RATES_HZ = (16000, 24000, 32000, 44100)
BITRATES_BPS = (32000, 64000, 128000, 256000)
FORMATS = ("mp3", "wav", "pcm")
HYPOTHESIS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


class StandInReferences:
    """Takes any reference in at once as 20 s of WAV (no download, no decoding)."""

    def intake(self, *, url=None, base64_data=None, data=None, limits, field="audio"):
        audio_id = hashlib.md5((url or base64_data or "").encode()).hexdigest()
        return StoredAudio(audio_id=audio_id, format="wav", duration_s=20.0, size_bytes=1, key=f"refs/{audio_id}.wav")

    def register(self, audio_id, purpose):
        return ReferenceIds(audio_id=audio_id, voice_id=f"vocal-{audio_id}", instrumental_id=f"instrumental-{audio_id}")


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    app = create_app(make_settings(tmp_path_factory.mktemp("aiml-limits")), run_workers=False)
    app.state.service.references = StandInReferences()
    with TestClient(app) as c:
        yield c


def valid_body(model: str) -> dict:
    """A body of ``model`` that is accepted as it is."""
    base = {
        "minimax/music-2.6": {"prompt": "calm piano", "lyrics": LYRICS},
        "minimax/music-2.0": {"prompt": "Lo-fi pop hip-hop", "lyrics": LYRICS},
        "minimax/music-1.5": {"prompt": "Indie folk song", "lyrics": LYRICS},
        "minimax/music-cover": {"prompt": "a soft piano cover", "reference_audio_url": base64.b64encode(b"RIFF-stand-in").decode()},
        "minimax-music": {"prompt": "##la la la##", "reference_audio_url": "http://127.0.0.1:9/song.wav"},
    }[model]
    return {"model": model, **base}


# (model, field, min chars, max chars): API_SPEC.md 4.2
TEXT_LIMITS = [
    ("minimax/music-2.6", "prompt", 0, 2000),
    ("minimax/music-2.6", "lyrics", 0, 3000),
    ("minimax/music-2.0", "prompt", 10, 2000),
    ("minimax/music-2.0", "lyrics", 10, 3000),
    ("minimax/music-1.5", "prompt", 10, 300),
    ("minimax/music-1.5", "lyrics", 10, 3000),
    ("minimax/music-cover", "prompt", 10, 2000),
    ("minimax/music-cover", "lyrics", 10, 3000),
    ("minimax-music", "prompt", 1, 600),
]


def _length_around(low: int, high: int) -> st.SearchStrategy[int]:
    edges = st.sampled_from(sorted({max(0, low - 1), low, high, high + 1}))
    return st.one_of(edges, st.integers(0, high + 200))


def _text(length: int) -> str:
    return ("la " * (length // 3 + 1))[:length].replace(" ", "x") if length else ""


@pytest.mark.parametrize(("model", "field", "low", "high"), TEXT_LIMITS, ids=lambda v: str(v))
@HYPOTHESIS
@given(data=st.data())
def test_text_limits(client, model, field, low, high, data):
    length = data.draw(_length_around(low, high), label="length")
    body = {**valid_body(model), field: _text(length)}
    if model == "minimax/music-2.6" and length == 0:
        body[field] = "x"  # the empty cases are the cross-field rules, tested on their own
        length = 1
    response = client.post(PATH, json=body)
    if low <= length <= high:
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "queued"
    else:
        assert response.status_code == 400
        bound = f"at least {low}" if length < low else f"at most {high}"
        assert response.json()["message"] == (
            f'Body validation error\nString must contain {bound} character(s) at "{field}"')


ENCODED_MODELS = ("minimax/music-2.6", "minimax/music-2.0", "minimax/music-1.5", "minimax/music-cover")
ENUMS = [("audio_sample_rate", SAMPLE_RATES_HZ), ("sample_rate", SAMPLE_RATES_HZ), ("bitrate", BITRATES_BPS)]


@pytest.mark.parametrize("model", ENCODED_MODELS)
@pytest.mark.parametrize(("key", "allowed"), ENUMS, ids=[k for k, _ in ENUMS])
@HYPOTHESIS
@given(value=st.one_of(st.sampled_from([16000, 22050, 24000, 32000, 44100, 48000, 64000, 128000, 256000, 320000]),
                       st.integers(-1, 400_000)))
def test_numeric_audio_settings(client, model, key, allowed, value):
    response = client.post(PATH, json={**valid_body(model), "audio_setting": {key: value}})
    if value in allowed:
        assert response.status_code == 200, response.text
        job = client.app.state.service.get(response.json()["id"])
        field, expected = ("bitrate_kbps", value // 1000) if key == "bitrate" else ("sample_rate_hz", value)
        assert job.request[field] == expected
    else:
        assert response.status_code == 400
        options = " | ".join(map(str, allowed))
        assert response.json()["message"] == (
            f'Body validation error\nInvalid enum value. Expected {options}, received {value} at "audio_setting.{key}"')


@pytest.mark.parametrize("model", ENCODED_MODELS)
@HYPOTHESIS
@given(value=st.one_of(st.sampled_from(["mp3", "wav", "pcm", "flac", "MP3", "ogg", ""]), st.text(max_size=5)))
def test_format(client, model, value):
    response = client.post(PATH, json={**valid_body(model), "audio_setting": {"format": value}})
    if value in FORMATS:
        assert response.status_code == 200, response.text
        assert client.app.state.service.get(response.json()["id"]).request["format"] == value
    else:
        assert response.status_code == 400
        assert response.json()["message"] == (
            f"Body validation error\nInvalid enum value. Expected 'mp3' | 'wav' | 'pcm', received '{value}' "
            'at "audio_setting.format"')


@HYPOTHESIS
@given(model=st.text(max_size=30))
def test_unknown_models(client, model):
    response = client.post(PATH, json={"model": model, "prompt": "Lo-fi pop hip-hop", "lyrics": LYRICS})
    if model in ("minimax/music-2.0", "minimax/music-2.6"):
        assert response.status_code == 200
        return
    assert response.status_code == 400
    message = response.json()["message"]
    assert message.startswith("Body validation error\nInvalid enum value. Expected 'minimax/music-2.6' | ")
    assert message.endswith(f", received '{model}'")
