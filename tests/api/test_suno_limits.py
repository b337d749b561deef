"""Every documented sunoapi.org limit is enforced with the vendor's own envelope code (hypothesis).

The limits are written here from API_SPEC.md section 3.3 (not read from the implementation):
text over a limit is envelope code 413 ("theme or prompt too long"), any other bad value 400; the
message names the field and the limit. Acceptance at the bounds goes through the same routes on an
app without workers (the task is created; no song is made). Limits that need a finished track
(continueAt, the replace-section window) use one app with the stand-in engine.
"""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from songforge.api.app import create_app
from songforge.api.suno.routes.music import check_infill
from songforge.errors import InvalidRequest
from tests.api._engines import LONG_S, scripted_song
from tests.service._helpers import make_settings, wait_until

CHECKS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
FEW = settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
CALLBACK = "http://127.0.0.1:9/cb"
# API_SPEC 3.3, custom mode: (prompt, style, title) characters per model (V3_5: legacy, as V4)
CUSTOM_CHARS = {
    "V3_5": (3000, 200, 80), "V4": (3000, 200, 80), "V4_5": (5000, 1000, 100), "V4_5PLUS": (5000, 1000, 100),
    "V4_5ALL": (5000, 1000, 80), "V5": (5000, 1000, 100), "V5_5": (5000, 1000, 100),
}
MODELS = tuple(CUSTOM_CHARS)
NON_CUSTOM_CHARS = 500
LYRICS_WORDS = 200
FIELDS = ("prompt", "style", "title")
WEIGHTS = ("styleWeight", "weirdnessConstraint", "audioWeight")
UPLOAD_MAX_S = {"V4_5ALL": 60.0, "V5": 480.0}
ADD_MODELS = ("V4_5PLUS", "V5")
TERMINAL = {"SUCCESS", "GENERATE_AUDIO_FAILED", "CREATE_TASK_FAILED"}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    app = create_app(make_settings(tmp_path_factory.mktemp("suno-limits")), run_workers=False)
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def worked(tmp_path_factory):
    """An app with the stand-in engine and one finished 13 s task: ``(client, task_id, audio_id)``."""
    app = create_app(make_settings(tmp_path_factory.mktemp("suno-limits-w"), workers=1), generate=scripted_song)
    with TestClient(app) as test_client:
        body = {"customMode": True, "instrumental": True, "model": "V5", "style": "long calm", "title": "Long",
                "callBackUrl": CALLBACK}
        task_id = test_client.post("/api/v1/generate", json=body).json()["data"]["taskId"]
        data = wait_until(lambda: (d := _record(test_client, task_id))["status"] in TERMINAL and d, timeout_s=60)
        assert data["status"] == "SUCCESS"
        yield test_client, task_id, data["response"]["sunoData"][0]["id"]


def _record(client: TestClient, task_id: str) -> dict:
    return client.get("/api/v1/generate/record-info", params={"taskId": task_id}).json()["data"]


def post(client: TestClient, path: str, body: dict) -> dict:
    response = client.post(path, json=body)
    assert response.status_code == 200
    return response.json()


def refused(client: TestClient, path: str, body: dict, code: int, *words: str) -> str:
    """POST ``body``; assert envelope ``code`` with ``data: null`` and a message naming ``words``."""
    answer = post(client, path, body)
    assert answer["code"] == code and answer["data"] is None, answer
    for word in words:
        assert word in answer["msg"], (word, answer["msg"])
    return str(answer["msg"])


def accepted(client: TestClient, path: str, body: dict) -> str:
    answer = post(client, path, body)
    assert answer["code"] == 200 and answer["msg"] == "success", answer
    return str(answer["data"]["taskId"])


def custom(model: str, **fields) -> dict:
    body = {"customMode": True, "instrumental": False, "model": model, "prompt": "[Verse]\nla la",
            "style": "pop", "title": "T", "callBackUrl": CALLBACK}
    return {**body, **fields}


# -- generate: lengths ----------------------------------------------------------------------------

@CHECKS
@given(model=st.sampled_from(MODELS), index=st.integers(0, 2), extra=st.integers(1, 300))
def test_custom_text_over_the_model_limit_is_413(client, model, index, extra):
    field, limit = FIELDS[index], CUSTOM_CHARS[model][index]
    body = custom(model, **{field: "a" * (limit + extra)})
    msg = refused(client, "/api/v1/generate", body, 413, field, str(limit))
    assert f"{limit + extra} characters" in msg


@CHECKS
@given(model=st.sampled_from(MODELS), index=st.integers(0, 2), below=st.integers(0, 3))
def test_custom_text_at_and_under_the_model_limit_is_accepted(client, model, index, below):
    field, limit = FIELDS[index], CUSTOM_CHARS[model][index]
    accepted(client, "/api/v1/generate", custom(model, **{field: "a" * (limit - below)}))


@CHECKS
@given(model=st.sampled_from(MODELS), length=st.integers(NON_CUSTOM_CHARS - 3, NON_CUSTOM_CHARS + 200))
def test_non_custom_prompt_is_at_most_500_characters(client, model, length):
    body = {"customMode": False, "instrumental": True, "model": model, "prompt": "a" * length, "callBackUrl": CALLBACK}
    if length > NON_CUSTOM_CHARS:
        refused(client, "/api/v1/generate", body, 413, "prompt", "500")
    else:
        accepted(client, "/api/v1/generate", body)


# -- generate: values -----------------------------------------------------------------------------

@CHECKS
@given(field=st.sampled_from(WEIGHTS), value=st.one_of(
    st.floats(max_value=-0.001, allow_nan=False, allow_infinity=False),
    st.floats(min_value=1.001, allow_nan=False, allow_infinity=False)))
def test_weights_outside_0_to_1_are_400(client, field, value):
    refused(client, "/api/v1/generate", custom("V5", **{field: value}), 400, field, "0.00-1.00")


@CHECKS
@given(field=st.sampled_from(WEIGHTS), value=st.floats(0.0, 1.0))
def test_weights_inside_0_to_1_are_kept_to_2_decimals(client, field, value):
    task_id = accepted(client, "/api/v1/generate", custom("V5", **{field: value}))
    if field != "audioWeight":  # audioWeight only matters with a reference
        job = client.app.state.service.get(_record(client, task_id)["response"]["sunoData"][0]["id"])
        name = {"styleWeight": "style_weight", "weirdnessConstraint": "weirdness"}[field]
        assert job.request[name] == round(value, 2)


@CHECKS
@given(gender=st.text(min_size=1, max_size=3).filter(lambda g: g not in ("m", "f")))
def test_vocal_gender_is_m_or_f(client, gender):
    refused(client, "/api/v1/generate", custom("V5", vocalGender=gender), 400, "vocalGender", "'m' or 'f'")


@pytest.mark.parametrize(("gender", "canonical"), [("m", "male"), ("f", "female")])
def test_vocal_gender_m_and_f_are_accepted(client, gender, canonical):
    task_id = accepted(client, "/api/v1/generate", custom("V5", vocalGender=gender))
    job = client.app.state.service.get(_record(client, task_id)["response"]["sunoData"][0]["id"])
    assert job.request["gender"] == canonical


@CHECKS
@given(model=st.text(max_size=10).filter(lambda m: m not in CUSTOM_CHARS))
def test_unknown_models_are_400_naming_the_choices(client, model):
    refused(client, "/api/v1/generate", custom(model), 400, "model", "V4, V4_5, V4_5PLUS, V4_5ALL, V5, V5_5")


@pytest.mark.parametrize(("change", "field"), [
    ({"style": None}, "style"), ({"style": "  "}, "style"), ({"title": None}, "title"), ({"title": ""}, "title"),
    ({"prompt": None}, "prompt"), ({"prompt": " \n"}, "prompt"),
])
def test_custom_mode_needs_style_title_and_sung_prompt(client, change, field):
    refused(client, "/api/v1/generate", custom("V4_5", **change), 400, field, "required")


def test_custom_instrumental_needs_no_prompt_and_non_custom_needs_one(client):
    accepted(client, "/api/v1/generate", custom("V4_5", instrumental=True, prompt=None))
    body = {"customMode": False, "instrumental": True, "model": "V4_5", "callBackUrl": CALLBACK}
    refused(client, "/api/v1/generate", body, 400, "prompt", "required")


@pytest.mark.parametrize("missing", ["customMode", "instrumental", "model", "callBackUrl"])
def test_required_generate_fields(client, missing):
    body = custom("V5")
    del body[missing]
    refused(client, "/api/v1/generate", body, 400, missing)


# -- lyrics ---------------------------------------------------------------------------------------

@CHECKS
@given(words=st.integers(LYRICS_WORDS + 1, LYRICS_WORDS + 400))
def test_lyrics_prompt_over_200_words_is_413(client, words):
    body = {"prompt": " ".join(["rain"] * words), "callBackUrl": CALLBACK}
    refused(client, "/api/v1/lyrics", body, 413, "prompt", f"{words} words", "200 words")


def test_lyrics_prompt_of_200_words_is_accepted(client):
    task_id = accepted(client, "/api/v1/lyrics", {"prompt": " ".join(["rain"] * LYRICS_WORDS), "callBackUrl": CALLBACK})
    done = wait_until(lambda: (d := client.get("/api/v1/lyrics/record-info", params={"taskId": task_id}).json()
                               ["data"])["status"] != "PENDING" and d, timeout_s=30)
    assert done["status"] == "SUCCESS" and len(done["response"]["data"]) == 2


# -- extend and replace-section (need a finished track) ---------------------------------------------

def _extend(audio_id: str, continue_at: float, model: str = "V5") -> dict:
    return {"defaultParamFlag": True, "audioId": audio_id, "model": model, "callBackUrl": CALLBACK,
            "style": "pop", "title": "More", "continueAt": continue_at}


@FEW
@given(at_s=st.one_of(st.floats(-100, 0), st.floats(LONG_S, LONG_S + 100)))
def test_continue_at_outside_the_source_is_400(worked, at_s):
    client, _, audio_id = worked
    refused(client, "/api/v1/generate/extend", _extend(audio_id, at_s), 400, "continueAt", "13 s")


def test_continue_at_inside_the_source_is_accepted_and_the_model_must_match(worked):
    client, _, audio_id = worked
    accepted(client, "/api/v1/generate/extend", _extend(audio_id, LONG_S - 0.01))
    refused(client, "/api/v1/generate/extend", _extend(audio_id, 5.0, model="V4_5"), 400, "model", "V5")
    refused(client, "/api/v1/generate/extend", _extend(audio_id, 5.0, model="V9"), 400, "model")


def _section(task_id: str, audio_id: str, start_s: float, end_s: float) -> dict:
    return {"taskId": task_id, "audioId": audio_id, "prompt": "", "tags": "pop", "title": "T",
            "infillStartS": start_s, "infillEndS": end_s}


@FEW
@given(start_s=st.floats(0, 6), length_s=st.floats(0.01, 5.99))
def test_replace_section_shorter_than_6_s_is_400(worked, start_s, length_s):
    client, task_id, audio_id = worked
    if round(start_s + length_s, 2) - round(start_s, 2) >= 6.0:
        return
    refused(client, "/api/v1/generate/replace-section", _section(task_id, audio_id, start_s, start_s + length_s),
            400, "infillEndS", "6-60 s")


@FEW
@given(start_s=st.floats(0, 0.4), length_s=st.floats(6.51, 12.5))
def test_replace_section_over_half_the_track_is_400(worked, start_s, length_s):
    client, task_id, audio_id = worked
    refused(client, "/api/v1/generate/replace-section", _section(task_id, audio_id, start_s, start_s + length_s),
            400, "infillEndS", "50 %")


def test_replace_section_window_inside_the_rules_is_accepted(worked):
    client, task_id, audio_id = worked
    accepted(client, "/api/v1/generate/replace-section", _section(task_id, audio_id, 2.0, 8.0))
    refused(client, "/api/v1/generate/replace-section", _section(task_id, audio_id, 8.0, 14.0), 400, "infillEndS",
            "0-13 s")


@CHECKS
@given(length_s=st.floats(60.01, 200), duration_s=st.floats(400, 480))
def test_replace_section_longer_than_60_s_is_refused_by_the_rule(length_s, duration_s):
    """(Our tracks long enough to test this through the route take minutes to make.)"""
    with pytest.raises(InvalidRequest, match="6-60 s"):
        check_infill(10.0, 10.0 + length_s, duration_s)
    assert check_infill(10.0, 70.0, duration_s) == (10.0, 70.0)


# -- uploads --------------------------------------------------------------------------------------

def _upload(client: TestClient, seconds: float) -> str:
    """A ``seconds`` long 8 kHz mono WAV (8-bit: small) through file-base64-upload; its downloadUrl."""
    t = np.arange(int(8000 * seconds)) / 8000
    buf = io.BytesIO()
    sf.write(buf, 0.3 * np.sin(2 * np.pi * 220 * t), 8000, format="WAV", subtype="PCM_U8")
    body = {"base64Data": base64.b64encode(buf.getvalue()).decode(), "uploadPath": "t", "fileName": "a.wav"}
    return str(post(client, "/api/file-base64-upload", body)["data"]["downloadUrl"])


@pytest.mark.parametrize(("model", "seconds", "ok"), [
    ("V4_5ALL", 59.0, True), ("V4_5ALL", 61.5, False), ("V5", 61.5, True), ("V5", 481.0, False),
])
def test_uploaded_audio_length_per_model(client, model, seconds, ok):
    body = {"uploadUrl": _upload(client, seconds), "customMode": True, "instrumental": True, "model": model,
            "style": "pop", "title": "T", "callBackUrl": CALLBACK}
    extend = {"uploadUrl": body["uploadUrl"], "defaultParamFlag": False, "model": model, "callBackUrl": CALLBACK}
    for path, sent in (("/api/v1/generate/upload-cover", body), ("/api/v1/generate/upload-extend", extend)):
        if ok:
            accepted(client, path, sent)
        else:
            refused(client, path, sent, 400, f"{seconds:.2f} s", f"longer than {UPLOAD_MAX_S[model]:g} s")


@CHECKS
@given(model=st.sampled_from([m for m in MODELS if m not in ADD_MODELS] + ["V9", ""]),
       path=st.sampled_from(["/api/v1/generate/add-vocals", "/api/v1/generate/add-instrumental"]))
def test_add_vocals_and_add_instrumental_take_v4_5plus_or_v5(client, model, path):
    body = {"uploadUrl": "http://127.0.0.1:9/a.wav", "prompt": "[Verse]\nla", "title": "T", "style": "pop",
            "tags": "pop", "negativeTags": "", "callBackUrl": CALLBACK, "model": model}
    refused(client, path, body, 400, "model", "V4_5PLUS, V5")


@pytest.mark.parametrize(("path", "field"), [("/api/v1/generate/add-vocals", "style"),
                                             ("/api/v1/generate/add-instrumental", "tags")])
def test_add_endpoints_text_limits_are_413(client, path, field):
    body = {"uploadUrl": "http://127.0.0.1:9/a.wav", "prompt": "[Verse]\nla", "title": "T", "style": "pop",
            "tags": "pop", "negativeTags": "", "callBackUrl": CALLBACK, "model": "V5", field: "a" * 1001}
    refused(client, path, body, 413, field, "1000")
