"""The Suno dialect with the real engine (tiny preset, 14 s songs) on a live server (heavy).

* the reference modes end to end: replace-section of a generated song, upload-cover of a file uploaded
  through file-base64-upload, extend, add-instrumental and add-vocals fed with our own separated stems;
* the extras of a sung song: timestamped lyrics (the sung words, in order, times increasing),
  vocal removal (vocal + instrumental sum to the mix) and MIDI (notes per instrument, the vocal line).
"""

from __future__ import annotations

import base64
import io
import re

import httpx
import numpy as np
import pytest
import soundfile as sf

from tests.api._server import LiveServer
from tests.service._helpers import wait_until

ENGINE = "tests.api._engines:short_real_song"
TERMINAL = {"SUCCESS", "CREATE_TASK_FAILED", "GENERATE_AUDIO_FAILED", "CALLBACK_EXCEPTION", "SENSITIVE_WORD_ERROR"}
CALLBACK = "http://127.0.0.1:9/cb"
LYRICS = "[Verse]\nsun on the water\nhold on"
SUNG_WORDS = ["sun", "on", "the", "water", "hold", "on"]
# vocal + instrumental is the 48 kHz master; the delivered mix is that master MP3-encoded
MIX_TOLERANCE = 0.1  # RMS of (vocal + instrumental - mix) relative to the RMS of the mix (-20 dB)
MAX_LAG = 4096  # samples of MP3 encoder/decoder priming searched when lining the two up


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("suno-engine") / "data",
                      args=("--dev", "--engine", ENGINE, "--preset", "tiny", "--workers", "1"),
                      env={"SONGFORGE_ALLOW_PRIVATE_CALLBACKS": "1", "SONGFORGE_CALLBACK_ATTEMPTS": "1"}
                      ).start(timeout_s=120)
    with httpx.Client(base_url=live.url, timeout=60, headers={"Authorization": "Bearer dev"}) as client:
        yield client
    live.stop()


def _ok(api: httpx.Client, path: str, body: dict) -> str:
    answer = api.post(path, json=body).json()
    assert answer["code"] == 200, answer
    return str(answer["data"]["taskId"])


def _record(api: httpx.Client, path: str, task_id: str) -> dict:
    return api.get(path, params={"taskId": task_id}).json()["data"]


def _music(api: httpx.Client, path: str, body: dict, *, timeout_s: float = 90) -> list[dict]:
    task_id = _ok(api, path, body)
    data = wait_until(lambda: (d := _record(api, "/api/v1/generate/record-info", task_id))["status"] in TERMINAL
                      and d, timeout_s=timeout_s, every_s=0.3)
    assert data["status"] == "SUCCESS", data
    return [{**t, "taskId": task_id} for t in data["response"]["sunoData"]]


def _audio(api: httpx.Client, url: str) -> tuple[np.ndarray, int]:
    response = api.get(url)
    assert response.status_code == 200
    audio, rate = sf.read(io.BytesIO(response.content), dtype="float32", always_2d=True)
    return audio, int(rate)


def _lag(mix: np.ndarray, total: np.ndarray) -> int:
    """Samples by which ``mix`` lags ``total`` (0..MAX_LAG), by cross-correlating the left channel."""
    window = total[: 5 * 48000, 0]
    scores = [float(np.dot(mix[lag: lag + len(window), 0], window)) for lag in range(MAX_LAG + 1)]
    return int(np.argmax(scores))


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x)))) if x.size else 0.0


@pytest.mark.heavy
def test_reference_modes_with_the_real_engine(api):
    source = _music(api, "/api/v1/generate", {"customMode": True, "instrumental": True, "model": "V5",
                                              "style": "pop", "title": "Src", "callBackUrl": CALLBACK})
    src, rate = _audio(api, source[0]["audioUrl"])
    assert 13.0 <= source[0]["duration"] <= 16.0

    replaced = _music(api, "/api/v1/generate/replace-section", {
        "taskId": source[0]["taskId"], "audioId": source[0]["id"], "prompt": "", "tags": "pop", "title": "Fixed",
        "infillStartS": 4.0, "infillEndS": 10.0})
    new, _ = _audio(api, replaced[0]["audioUrl"])
    n = min(len(new), len(src))
    assert abs(len(new) - len(src)) <= rate // 10
    seam = int(0.5 * rate)
    before = _rms(new[: 4 * rate - seam] - src[: 4 * rate - seam])
    inside = _rms(new[4 * rate + seam: 10 * rate - seam] - src[4 * rate + seam: 10 * rate - seam])
    after = _rms(new[10 * rate + seam: n] - src[10 * rate + seam: n])
    assert inside > 0.01 and max(before, after) < 0.2 * inside, (before, inside, after)

    upload = api.post("/api/file-base64-upload", json={
        "base64Data": base64.b64encode(api.get(source[1]["audioUrl"]).content).decode(), "uploadPath": "refs",
        "fileName": "src.mp3"}).json()
    assert upload["success"], upload
    covered = _music(api, "/api/v1/generate/upload-cover", {
        "uploadUrl": upload["data"]["downloadUrl"], "customMode": True, "instrumental": True, "model": "V5",
        "style": "jazz", "title": "Cover", "audioWeight": 0.8, "callBackUrl": CALLBACK})
    assert all(10.0 <= t["duration"] <= 20.0 and t["tags"] == "jazz" for t in covered)

    extended = _music(api, "/api/v1/generate/extend", {
        "defaultParamFlag": True, "audioId": source[1]["id"], "model": "V5", "continueAt": 8.0, "style": "pop",
        "title": "Longer", "callBackUrl": CALLBACK})
    assert all(t["duration"] > 8.0 + 5.0 for t in extended)


@pytest.mark.heavy
def test_sung_song_timestamps_separation_midi_and_add_modes(api):
    tracks = _music(api, "/api/v1/generate", {"customMode": True, "instrumental": False, "model": "V5",
                                              "prompt": LYRICS, "style": "pop", "title": "Sung",
                                              "vocalGender": "f", "callBackUrl": CALLBACK})
    task_id, audio_id = tracks[0]["taskId"], tracks[0]["id"]

    words = api.post("/api/v1/generate/get-timestamped-lyrics", json={"taskId": task_id, "audioId": audio_id}).json()
    aligned = words["data"]["alignedWords"]
    plain = [re.sub(r"^\[[^\]]+\]\n", "", w["word"]).strip(",.!?").lower() for w in aligned]
    assert plain == SUNG_WORDS and aligned[0]["word"].startswith("[Verse]\n")
    starts = [w["startS"] for w in aligned]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    assert all(w["endS"] > w["startS"] and w["success"] for w in aligned) and aligned[-1]["endS"] <= tracks[0]["duration"]

    sep = _ok(api, "/api/v1/vocal-removal/generate", {"taskId": task_id, "audioId": audio_id, "callBackUrl": CALLBACK})
    record = wait_until(lambda: (d := _record(api, "/api/v1/vocal-removal/record-info", sep))["successFlag"]
                        != "PENDING" and d, timeout_s=60, every_s=0.3)
    assert record["successFlag"] == "SUCCESS", record
    vocal, rate = _audio(api, record["response"]["vocalUrl"])
    instrumental, _ = _audio(api, record["response"]["instrumentalUrl"])
    mix, mix_rate = _audio(api, record["response"]["originUrl"])
    assert rate == mix_rate == 48000 and _rms(vocal) > 0.005 and _rms(instrumental) > 0.005
    total = vocal + instrumental[: len(vocal)]
    lag = _lag(mix, total)  # the MP3 decoder's priming delay
    assert 0 <= lag <= MAX_LAG
    n = min(len(total), len(mix) - lag)
    error = _rms(total[:n] - mix[lag: lag + n]) / _rms(mix[lag: lag + n])
    assert error < MIX_TOLERANCE, error

    midi = _ok(api, "/api/v1/midi/generate", {"taskId": sep, "callBackUrl": CALLBACK})
    record = wait_until(lambda: (d := _record(api, "/api/v1/midi/record-info", midi))["successFlag"] != 0 and d,
                        timeout_s=60, every_s=0.3)
    assert record["successFlag"] == 1, record
    instruments = {i["name"]: i["notes"] for i in record["midiData"]["instruments"]}
    assert len(instruments) >= 3 and all(notes for notes in instruments.values())
    vocal_notes = next(notes for name, notes in instruments.items() if "vocal" in name.lower())
    assert len(vocal_notes) >= len(SUNG_WORDS)
    first_word_s = aligned[0]["startS"]
    assert min(n["start"] for n in vocal_notes) == pytest.approx(first_word_s, abs=0.5)

    added = _music(api, "/api/v1/generate/add-instrumental", {
        "uploadUrl": record_vocal_url(api, sep), "title": "Band", "tags": "rock", "negativeTags": "", "model": "V5",
        "callBackUrl": CALLBACK})
    assert all(t["duration"] >= 10.0 for t in added)
    sung = _music(api, "/api/v1/generate/add-vocals", {
        "uploadUrl": _record(api, "/api/v1/vocal-removal/record-info", sep)["response"]["instrumentalUrl"],
        "prompt": LYRICS, "title": "Again", "style": "pop", "negativeTags": "", "model": "V5",
        "callBackUrl": CALLBACK})
    assert all(t["prompt"] == LYRICS and t["duration"] >= 10.0 for t in sung)


def record_vocal_url(api: httpx.Client, sep: str) -> str:
    return str(_record(api, "/api/v1/vocal-removal/record-info", sep)["response"]["vocalUrl"])
