"""MiniMax reference audio through the real ReferenceService: music_upload (and the AI/ML
pass-through), cover preprocessing, covers and music-01 songs (stand-in engine)."""

from __future__ import annotations

import base64
import hashlib
import io
import json

import pytest
import soundfile as sf
from fastapi.testclient import TestClient

from songforge.api.app import create_app
from tests.api._minimax import golden, matches, minimax_song, post_golden, tone_wav
from tests.service._helpers import make_settings

LYRICS = "[Verse]\nthe night is young\n[Chorus]\nwe drive along"


@pytest.fixture
def dev(tmp_path):
    with TestClient(create_app(make_settings(tmp_path), generate=minimax_song)) as client:
        yield client


def _upload(client: TestClient, purpose: str, data: bytes, *, path: str = "/v1/music_upload") -> dict:
    response = client.post(path, data={"purpose": purpose}, files={"file": ("ref.wav", data, "audio/wav")})
    assert response.status_code == 200 and response.headers["Trace-Id"] == response.json()["trace_id"]
    return dict(response.json())


def _last_job(client: TestClient):
    return max(client.app.state.service.store.list_jobs(), key=lambda j: j.created_at)  # type: ignore[attr-defined]


@pytest.mark.parametrize("path", ["/v1/music_upload", "/v2/generate/audio/minimax/upload"])
def test_upload_gives_ids_per_purpose(dev, path):
    data = tone_wav(11.0)
    case = golden("music_upload")
    matches(_upload(dev, case["request"]["purpose"], data, path=path), case["response"])
    voice = _upload(dev, "voice", data, path=path)
    instrumental = _upload(dev, "instrumental", data, path=path)
    assert set(voice) == {"voice_id", "trace_id", "base_resp"} and set(instrumental) == {
        "instrumental_id", "trace_id", "base_resp"}
    song = _upload(dev, "song", data, path=path)
    assert (song["voice_id"], song["instrumental_id"]) == (voice["voice_id"], instrumental["instrumental_id"])


@pytest.mark.parametrize(("data", "words"), [
    (tone_wav(5.0), "10-600 s"),
    (tone_wav(11.0, fmt="FLAC"), "wav, mp3"),
    (b"not audio at all" * 100, "wav, mp3"),
])
def test_rejected_uploads_name_the_limit(dev, data, words):
    base = _upload(dev, "voice", data)["base_resp"]
    assert base["status_code"] == 2013 and base["status_msg"].startswith("invalid params, ") and words in base["status_msg"]


def test_cover_preprocess_golden_and_identical_audio_gets_the_identical_id(dev):
    data = tone_wav(8.0, hz=330.0)
    case = golden("music_cover_preprocess")
    body = post_golden(dev, "music_cover_preprocess", audio_base64=base64.b64encode(data).decode()).json()
    assert body["cover_feature_id"] == hashlib.md5(data).hexdigest()
    assert body["audio_duration"] == pytest.approx(8.0, abs=0.05)
    structure = json.loads(body["structure_result"])
    assert structure["num_segments"] == len(structure["segments"])
    for segment in structure["segments"]:
        matches(segment, case["segment"])
        assert 0 <= segment["start"] < segment["end"] <= body["audio_duration"] + 0.05
    again = dev.post("/v1/music_cover_preprocess", json={"model": "music-cover-free",
                                                          "audio_base64": base64.b64encode(data).decode()}).json()
    assert again["cover_feature_id"] == body["cover_feature_id"]


def test_cover_from_base64_and_from_a_feature_id(dev):
    data = tone_wav(7.0, hz=262.0)
    audio_id = hashlib.md5(data).hexdigest()
    body = {"model": "music-cover", "prompt": "a slow jazz cover with brushes", "seed": 3,
            "audio_base64": base64.b64encode(data).decode(), "audio_setting": {"format": "wav"}}
    first = dev.post("/v1/music_generation", json=body).json()
    assert first["base_resp"]["status_code"] == 0 and first["data"]["status"] == 2
    job = _last_job(dev)
    assert job.request["reference"]["mode"] == "cover" and job.request["reference"]["audio_id"] == audio_id
    assert job.request["lyrics"] is None  # taken from the reference by the engine
    by_id = {"model": "music-cover-free", "prompt": "a punk cover, fast", "cover_feature_id": audio_id, "lyrics": LYRICS}
    assert dev.post("/v1/music_generation", json=by_id).json()["base_resp"]["status_code"] == 0
    assert _last_job(dev).request["reference"]["audio_id"] == audio_id and _last_job(dev).request["lyrics"] == LYRICS


def test_cover_reference_errors(dev):
    short = {"model": "music-cover", "prompt": "a jazz cover please", "audio_base64": base64.b64encode(tone_wav(3.0)).decode()}
    base = dev.post("/v1/music_generation", json=short).json()["base_resp"]
    assert base["status_code"] == 2013 and "6-360 s" in base["status_msg"]
    unknown = {"model": "music-cover", "prompt": "a jazz cover please", "cover_feature_id": "f" * 32, "lyrics": LYRICS}
    base = dev.post("/v1/music_generation", json=unknown).json()["base_resp"]
    assert base["status_code"] == 2013 and "cover_feature_id" in base["status_msg"]


def test_music_01_sings_with_uploaded_profiles(dev):
    ids = _upload(dev, "song", tone_wav(12.0, hz=196.0))
    case = golden("music_01")
    request = {**case["request"], "refer_voice": ids["voice_id"], "refer_instrumental": ids["instrumental_id"]}
    response = dev.post(case["path"], json=request)
    matches(response.json(), case["response"])
    audio = bytes.fromhex(response.json()["data"]["audio"])
    assert response.json()["extra_info"]["audio_size"] == len(audio) and sf.info(io.BytesIO(audio)).frames > 0
    job = _last_job(dev)
    assert job.request["reference"] == {**job.request["reference"], "mode": "generate",
                                        "voice_id": ids["voice_id"], "instrumental_id": ids["instrumental_id"]}
    assert job.request["duration_s"] == 60.0 and "##" not in job.request["lyrics"]
    unknown = {**request, "refer_voice": "vocal-" + "0" * 32}
    base = dev.post(case["path"], json=unknown).json()["base_resp"]
    assert base["status_code"] == 2013 and "refer_voice" in base["status_msg"]


def test_the_aiml_pass_through_makes_a_music_01_song(dev):
    ids = _upload(dev, "instrumental", tone_wav(12.0, hz=247.0), path="/v2/generate/audio/minimax/upload")
    body = {"model": "music-01", "lyrics": "##hold the line##", "refer_instrumental": ids["instrumental_id"],
            "audio_setting": {"sample_rate": 44100, "bitrate": 256000, "format": "wav"}}
    response = dev.post("/v2/generate/audio/minimax/generate", json=body).json()
    matches(response, golden("music_01")["response"])
    assert _last_job(dev).request["instrumental"] is False and _last_job(dev).request["lyrics"] == "hold the line"
