"""The sunoapi.org dialect in process (TestClient, the scripted stand-in engine): generate, record-info,
callbacks, credits, lyrics, extras and the envelope."""

from __future__ import annotations

import base64
import io
import json

import pytest
import soundfile as sf
from fastapi.testclient import TestClient

from songforge.api.app import create_app
from songforge.service.keys import Tier
from tests.api._suno import TERMINAL, assert_wire, record_info
from tests.service._helpers import make_settings, wait_until


def _finished(client, task_id):
    data = record_info(client, task_id)
    return data if data["status"] in TERMINAL else None


def _generate(client, receiver=None, **overrides):
    body = {"customMode": True, "instrumental": False, "model": "V4_5", "prompt": "[Verse]\nla la la\n",
            "style": "paced pop", "title": "Paced", "callBackUrl": receiver.url if receiver else "http://127.0.0.1:9/x"}
    body.update(overrides)
    response = client.post("/api/v1/generate", json=body)
    assert response.status_code == 200
    return response.json()


def test_generate_custom_mode_two_tracks_record_info_and_callbacks_in_order(dev, receiver):
    answer = _generate(dev, receiver, styleWeight=0.8, weirdnessConstraint=0.25, vocalGender="f", negativeTags="drums")
    assert_wire(answer, "generate")
    task_id = answer["data"]["taskId"]
    data = wait_until(lambda: _finished(dev, task_id), timeout_s=30)
    assert_wire(data, "record_info_success")
    assert data["status"] == "SUCCESS" and data["type"] == "GENERATE" and data["operationType"] == "generate"
    assert data["errorCode"] is None and data["errorMessage"] is None and data["parentMusicId"] == ""
    assert json.loads(data["param"])["styleWeight"] == 0.8
    tracks = data["response"]["sunoData"]
    assert len(tracks) == 2 and len({t["id"] for t in tracks}) == 2
    service = dev.app.state.service
    jobs = [service.get(t["id"]) for t in tracks]
    assert {j.batch_id for j in jobs} == {jobs[0].batch_id} and jobs[1].request["seed"] == jobs[0].request["seed"] + 1
    req = jobs[0].request
    assert req["lyrics"] == "[Verse]\nla la la" and req["prompt"] == "paced pop" and req["gender"] == "female"
    assert req["style_weight"] == 0.8 and req["weirdness"] == 0.25 and req["negative_prompt"] == "drums"
    assert req["want_timings"] and req["want_stems"] and req["want_midi"]
    for track in tracks:
        assert track["modelName"] == "chirp-v4-5" and track["title"] == "Paced" and track["tags"] == "paced pop"
        assert track["prompt"] == "[Verse]\nla la la" and track["duration"] == pytest.approx(0.5)
        assert dev.get(track["audioUrl"]).status_code == 200
        image = dev.get(track["imageUrl"])
        assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
        streamed = dev.get(track["streamAudioUrl"])
        assert streamed.status_code == 200 and streamed.content == dev.get(track["audioUrl"]).content
    wait_until(lambda: len(receiver.bodies) >= 3, timeout_s=15)
    assert [b["data"]["callbackType"] for b in receiver.bodies] == ["text", "first", "complete"]
    for body, name in zip(receiver.bodies, ("callback_text", "callback_first", "callback_complete"), strict=True):
        assert_wire(body, name) if body["data"]["data"] else None
        assert body["code"] == 200 and body["data"]["task_id"] == task_id
    complete = receiver.bodies[2]["data"]["data"]
    assert [i["id"] for i in complete] == [t["id"] for t in tracks]
    assert all(i["audio_url"] and i["image_url"] and i["duration"] for i in complete)


def test_non_custom_vocal_song_gets_written_lyrics_both_tracks_sing(dev):
    task_id = _generate(dev, customMode=False, prompt="a happy summer road trip", style=None, title=None)["data"]["taskId"]
    data = wait_until(lambda: _finished(dev, task_id), timeout_s=30)
    tracks = data["response"]["sunoData"]
    lyrics = tracks[0]["prompt"]
    assert "[" in lyrics and len(lyrics.splitlines()) > 4 and tracks[1]["prompt"] == lyrics
    jobs = [dev.app.state.service.get(t["id"]) for t in tracks]
    assert all(j.request["lyrics"] == lyrics and j.request["prompt"] == "a happy summer road trip" for j in jobs)


def test_instrumental_tracks_carry_no_lyrics(dev):
    task_id = _generate(dev, instrumental=True, prompt=None)["data"]["taskId"]
    data = wait_until(lambda: _finished(dev, task_id), timeout_s=30)
    assert all(t["prompt"] == "" for t in data["response"]["sunoData"])
    assert dev.app.state.service.get(data["response"]["sunoData"][0]["id"]).request["instrumental"] is True


def test_a_failed_track_fails_the_task_and_sends_one_error_callback(dev, receiver):
    task_id = _generate(dev, receiver, style="fail now")["data"]["taskId"]
    data = wait_until(lambda: _finished(dev, task_id), timeout_s=30)
    assert data["status"] == "GENERATE_AUDIO_FAILED" and data["errorCode"] == 501
    assert "vocals" in data["errorMessage"]
    wait_until(lambda: any(b["data"]["callbackType"] == "error" for b in receiver.bodies), timeout_s=15)
    errors = [b for b in receiver.bodies if b["data"]["callbackType"] == "error"]
    assert len(errors) == 1 and errors[0]["code"] == 501 and errors[0]["data"]["data"] is None
    assert_wire(errors[0], "callback_error")


def test_streaming_status_shows_first_success_with_a_stream_url(dev):
    task_id = _generate(dev, style="paced slow pop")["data"]["taskId"]
    data = wait_until(lambda: (d := record_info(dev, task_id))["status"] == "FIRST_SUCCESS" and d, timeout_s=30,
                      every_s=0.05)
    streaming = [t for t in data["response"]["sunoData"] if t["streamAudioUrl"]]
    assert streaming and streaming[0]["streamAudioUrl"].startswith("http://127.0.0.1:8123/api/v1/generate/stream/")
    final = wait_until(lambda: _finished(dev, task_id), timeout_s=30)
    assert final["status"] == "SUCCESS"


@pytest.mark.parametrize(("change", "code", "field"), [
    ({"model": "V9"}, 400, "model"),
    ({"style": None}, 400, "style"),
    ({"title": None}, 400, "title"),
    ({"prompt": None}, 400, "prompt"),
    ({"vocalGender": "x"}, 400, "vocalGender"),
    ({"styleWeight": 1.5}, 400, "styleWeight"),
    ({"audioWeight": -0.1}, 400, "audioWeight"),
    ({"customMode": "maybe"}, 400, "customMode"),
    ({"title": "t" * 101}, 413, "title"),
    ({"personaId": "nope"}, 400, "personaId"),
])
def test_bad_generate_bodies_get_the_vendor_envelope(dev, change, code, field):
    body = _generate(dev, **change)
    assert body["code"] == code and body["data"] is None and field in body["msg"], body


def test_unknown_task_path_and_method(dev):
    assert dev.get("/api/v1/generate/record-info", params={"taskId": "nope"}).json()["code"] == 404
    assert dev.get("/api/v1/nothing-here").json()["code"] == 404
    body = dev.get("/api/v1/generate").json()
    assert body["code"] == 404 and body["data"] is None


def test_credits_dev_mode_constant(dev):
    body = dev.get("/api/v1/generate/credit").json()
    assert_wire(body, "credit")
    assert body == {"code": 200, "msg": "success", "data": 1_000_000}


def test_credits_per_key_and_auth(tmp_path):
    app = create_app(make_settings(tmp_path, dev_mode=False), run_workers=False)
    keys = app.state.service.keys
    keys.tiers["free"] = Tier("free", requests_per_minute=100, max_concurrent_jobs=10)
    with TestClient(app) as client:
        headers = {"Authorization": f"Bearer {keys.create(name='a')[1]}"}
        assert client.get("/api/v1/generate/credit").json()["code"] == 401
        assert client.get("/api/v1/generate/credit", headers=headers).json()["data"] == 1200
        body = {"customMode": False, "instrumental": True, "model": "V5", "prompt": "calm piano",
                "callBackUrl": "http://127.0.0.1:9/x"}
        assert client.post("/api/v1/generate", json=body, headers=headers).json()["code"] == 200
        assert client.get("/api/v1/generate/credit", headers=headers).json()["data"] == 1188


def test_lyrics_two_sheets_record_info_and_callback(dev, receiver):
    answer = dev.post("/api/v1/lyrics", json={"prompt": "a rainy night in the city", "callBackUrl": receiver.url}).json()
    assert_wire(answer, "generate")
    task_id = answer["data"]["taskId"]
    data = wait_until(lambda: (d := record_info(dev, task_id, "/api/v1/lyrics/record-info"))["status"] == "SUCCESS" and d)
    assert_wire(data, "lyrics_record_info")
    sheets = data["response"]["data"]
    assert len(sheets) == 2 and sheets[0]["text"] != sheets[1]["text"] and all("[" in s["text"] for s in sheets)
    assert data["type"] == "LYRICS" and data["errorCode"] is None
    wait_until(lambda: receiver.bodies, timeout_s=10)
    [callback] = receiver.bodies
    assert_wire(callback, "lyrics_callback")
    assert callback["data"]["taskId"] == task_id and callback["data"]["data"] == sheets


def test_lyrics_prompt_over_200_words_is_413(dev):
    body = dev.post("/api/v1/lyrics", json={"prompt": "word " * 201, "callBackUrl": "http://127.0.0.1:9/x"}).json()
    assert body["code"] == 413 and "200 words" in body["msg"]


def _song(dev, **overrides):
    task_id = _generate(dev, **overrides)["data"]["taskId"]
    data = wait_until(lambda: _finished(dev, task_id), timeout_s=30)
    assert data["status"] == "SUCCESS"
    return task_id, [t["id"] for t in data["response"]["sunoData"]]


def _poll(dev, path, task_id, done):
    return wait_until(lambda: d if done(d := record_info(dev, task_id, path)) else None, timeout_s=20)


def test_wav_vocal_removal_midi_cover_persona_timestamps(dev, receiver):
    task_id, (audio_id, other_id) = _song(dev)
    wav = dev.post("/api/v1/wav/generate", json={"taskId": task_id, "audioId": audio_id, "callBackUrl": receiver.url})
    wav_task = wav.json()["data"]["taskId"]
    record = _poll(dev, "/api/v1/wav/record-info", wav_task, lambda d: d["successFlag"] == "SUCCESS")
    assert_wire(record, "wav_record_info")
    audio, rate = sf.read(io.BytesIO(dev.get(record["response"]["audioWavUrl"]).content))
    assert rate == 48000 and audio.shape[0] == 24000

    sep = dev.post("/api/v1/vocal-removal/generate", json={"taskId": task_id, "audioId": audio_id,
                                                           "callBackUrl": receiver.url}).json()["data"]["taskId"]
    record = _poll(dev, "/api/v1/vocal-removal/record-info", sep, lambda d: d["successFlag"] == "SUCCESS")
    assert_wire(record, "vocal_removal_record_info")
    assert record["response"]["vocalUrl"] and record["response"]["instrumentalUrl"]
    assert record["response"]["drumsUrl"] is None and record["response"]["bassUrl"] is None

    split = dev.post("/api/v1/vocal-removal/generate", json={"taskId": task_id, "audioId": audio_id, "type": "split_stem",
                                                             "callBackUrl": receiver.url}).json()["data"]["taskId"]
    record = _poll(dev, "/api/v1/vocal-removal/record-info", split, lambda d: d["successFlag"] == "SUCCESS")
    assert record["response"]["instrumentalUrl"] is None and record["response"]["drumsUrl"] is None
    assert record["response"]["vocalUrl"] and record["response"]["bassUrl"]

    cover = dev.post("/api/v1/suno/cover/generate", json={"taskId": task_id, "callBackUrl": receiver.url}).json()
    record = _poll(dev, "/api/v1/suno/cover/record-info", cover["data"]["taskId"], lambda d: d["successFlag"] == 1)
    assert_wire(record, "cover_record_info")
    images = record["response"]["images"]
    assert len(images) == 2 and all(dev.get(u).content.startswith(b"\x89PNG") for u in images)
    again = dev.post("/api/v1/suno/cover/generate", json={"taskId": task_id, "callBackUrl": receiver.url}).json()
    assert again["code"] == 409 and again["data"]["taskId"] == cover["data"]["taskId"]

    persona = dev.post("/api/v1/generate/generate-persona", json={"taskId": task_id, "audioId": audio_id,
                                                                  "name": "Nova", "description": "airy"}).json()
    assert_wire(persona, "persona")
    pid = persona["data"]["personaId"]
    new_task = _generate(dev, personaId=pid, style="rock", vocalGender=None)["data"]["taskId"]
    job = dev.app.state.service.get(record_info(dev, new_task)["response"]["sunoData"][0]["id"])
    assert job.request["prompt"].startswith("paced pop")

    words = dev.post("/api/v1/generate/get-timestamped-lyrics", json={"taskId": task_id, "audioId": audio_id}).json()
    assert_wire(words, "timestamped_lyrics")
    assert words["data"]["alignedWords"][0] == {"word": "[Verse]\nla", "success": True, "startS": 0.0, "endS": 0.25, "palign": 0}
    assert max(words["data"]["waveformData"]) == 1.0

    wait_until(lambda: len([b for b in receiver.bodies if "task_id" in b or "audioWavUrl" in str(b)]) >= 1)
    kinds = {json.dumps(sorted(b.get("data", {}) or {})) for b in receiver.bodies}
    assert any("audioWavUrl" in k for k in kinds) and any("vocal_removal_info" in k for k in kinds)


def test_midi_needs_a_finished_vocal_removal_task(dev, receiver):
    task_id, (audio_id, _) = _song(dev)
    bad = dev.post("/api/v1/midi/generate", json={"taskId": task_id, "callBackUrl": receiver.url}).json()
    assert bad["code"] == 404
    sep = dev.post("/api/v1/vocal-removal/generate", json={"taskId": task_id, "audioId": audio_id,
                                                           "callBackUrl": receiver.url}).json()["data"]["taskId"]
    _poll(dev, "/api/v1/vocal-removal/record-info", sep, lambda d: d["successFlag"] == "SUCCESS")
    midi = dev.post("/api/v1/midi/generate", json={"taskId": sep, "callBackUrl": receiver.url}).json()
    record = _poll(dev, "/api/v1/midi/record-info", midi["data"]["taskId"], lambda d: d["successFlag"] != 0)
    assert record["successFlag"] == 1 and record["errorCode"] is None and record["recordTaskId"] == sep
    instruments = {i["name"]: i["notes"] for i in record["midiData"]["instruments"]}
    assert set(instruments) == {"lead", "bass"} and record["midiData"]["state"] == "complete"
    # the stand-in plays one beat-long note a beat (120 BPM) for the 0.5 s track
    assert instruments["lead"] == [{"pitch": instruments["lead"][0]["pitch"], "start": 0.0, "end": 0.5,
                                    "velocity": round(90 / 127, 4)}]
    assert instruments["bass"][0]["pitch"] == instruments["lead"][0]["pitch"] - 12


def test_extend_and_replace_section_rules(dev):
    task_id, (audio_id, _) = _song(dev)
    body = {"defaultParamFlag": True, "audioId": audio_id, "model": "V4_5", "callBackUrl": "http://127.0.0.1:9/x",
            "prompt": "[Verse]\nmore", "style": "pop", "title": "More", "continueAt": 0.2}
    answer = dev.post("/api/v1/generate/extend", json=body).json()
    assert answer["code"] == 200
    data = record_info(dev, answer["data"]["taskId"])
    assert data["operationType"] == "extend" and data["parentMusicId"] == audio_id
    ref = dev.app.state.service.get(data["response"]["sunoData"][0]["id"]).request["reference"]
    assert ref["mode"] == "extend" and ref["source_job_id"] == audio_id and ref["continue_at_s"] == 0.2
    assert dev.post("/api/v1/generate/extend", json={**body, "continueAt": 5}).json()["code"] == 400
    assert dev.post("/api/v1/generate/extend", json={**body, "model": "V5"}).json()["code"] == 400
    section = {"taskId": task_id, "audioId": audio_id, "prompt": "la", "tags": "pop", "title": "T",
               "infillStartS": 0.0, "infillEndS": 0.3}
    answer = dev.post("/api/v1/generate/replace-section", json=section).json()
    assert answer["code"] == 400 and "6-60 s" in answer["msg"]


def _sine_wav(seconds: float = 3.0) -> bytes:
    import numpy as np

    t = np.arange(int(48000 * seconds)) / 48000
    buf = io.BytesIO()
    sf.write(buf, 0.3 * np.sin(2 * np.pi * 220 * t), 48000, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def test_upload_cover_takes_an_uploaded_file_as_the_reference(dev):
    """Needs the reference side (ReferenceService.intake): while it is unavailable this gets 455."""
    import hashlib

    data = _sine_wav()
    upload = dev.post("/api/file-base64-upload", json={"base64Data": base64.b64encode(data).decode(),
                                                       "uploadPath": "refs", "fileName": "ref.wav"}).json()
    body = {"uploadUrl": upload["data"]["downloadUrl"], "customMode": False, "instrumental": True, "model": "V5",
            "prompt": "calm piano", "callBackUrl": "http://127.0.0.1:9/x", "audioWeight": 0.7}
    answer = dev.post("/api/v1/generate/upload-cover", json=body).json()
    assert answer["code"] == 200, answer
    data_ = record_info(dev, answer["data"]["taskId"])
    assert data_["operationType"] == "upload_cover"
    ref = dev.app.state.service.get(data_["response"]["sunoData"][0]["id"]).request["reference"]
    assert ref["mode"] == "cover" and ref["audio_id"] == hashlib.md5(data).hexdigest() and ref["audio_weight"] == 0.7
    unreachable = dev.post("/api/v1/generate/upload-cover", json={**body, "uploadUrl": "http://127.0.0.1:9/a.mp3"})
    assert unreachable.json()["code"] == 451


def test_file_uploads(dev, tmp_path):
    data = b"RIFF-not-really-audio"
    answer = dev.post("/api/file-base64-upload", json={"base64Data": base64.b64encode(data).decode(),
                                                       "uploadPath": "songs", "fileName": "a.wav"}).json()
    assert_wire(answer, "file_upload")
    assert answer["success"] is True and answer["data"]["fileSize"] == len(data)
    assert answer["data"]["filePath"] == "songs/a.wav" and answer["data"]["mimeType"] == "audio/x-wav"
    assert dev.get(answer["data"]["downloadUrl"]).content == data
    multi = dev.post("/api/file-stream-upload", files={"file": ("b.mp3", b"ID3abc")}, data={"uploadPath": "x"}).json()
    assert multi["success"] and dev.get(multi["data"]["downloadUrl"]).content == b"ID3abc"
    bad = dev.post("/api/file-base64-upload", json={"base64Data": "***", "uploadPath": "x"}).json()
    assert bad == {"success": False, "code": 400, "msg": "base64Data is not valid base64"}
    refused = dev.post("/api/file-url-upload", json={"fileUrl": "ftp://x/y", "uploadPath": "x"}).json()
    assert refused["success"] is False and refused["code"] == 400
