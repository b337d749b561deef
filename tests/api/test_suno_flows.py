"""Suno success paths end to end in process (TestClient, the stand-in engine, which follows references:
an extend keeps the source up to continueAt, a replace-section keeps it outside the window, the other
modes play a sine as long as the reference): the upload family, add-vocals / add-instrumental,
replace-section, extend, the three file uploads feeding uploadUrl, style boost, lyrics while PENDING,
and the extras' callbacks and record-info checked field by field."""

from __future__ import annotations

import base64
import functools
import io
import json
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient

from songforge.api.suno.routes._common import runtime
from tests.api._suno import FIXTURES, TERMINAL, assert_wire, record_info
from tests.service._fake_engine import LEAD_SHARE
from tests.service._helpers import Receiver, wait_until

RATE_HZ = 48000
PCM16_STEP = 1 / 32768  # the stand-in writes 16-bit WAV
SPLIT_KEYS = {"origin_url", "vocal_url", "backing_vocals_url", "drums_url", "bass_url", "guitar_url", "keyboard_url",
              "percussion_url", "strings_url", "synth_url", "fx_url", "brass_url", "woodwinds_url"}


@pytest.fixture
def file_server(tmp_path):
    """A loopback static file server for ``file-url-upload``: ``(folder, base_url)``."""
    folder = tmp_path / "www"
    folder.mkdir()
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _wav(seconds: float, hz: float = 330.0) -> tuple[bytes, np.ndarray]:
    """A 48 kHz stereo 16-bit WAV and the float samples it decodes to."""
    t = np.arange(int(RATE_HZ * seconds)) / RATE_HZ
    mono = 0.25 * np.sin(2 * np.pi * hz * t)
    buf = io.BytesIO()
    sf.write(buf, np.stack([mono, mono], axis=1), RATE_HZ, format="WAV", subtype="PCM_16")
    data = buf.getvalue()
    return data, sf.read(io.BytesIO(data), dtype="float32", always_2d=True)[0]


def _decoded(client: TestClient, url: str) -> np.ndarray:
    audio, rate = sf.read(io.BytesIO(client.get(url).content), dtype="float32", always_2d=True)
    assert rate == RATE_HZ
    return audio


def _ok(client: TestClient, path: str, body: dict) -> str:
    answer = client.post(path, json=body).json()
    assert answer["code"] == 200 and answer["msg"] == "success", answer
    return str(answer["data"]["taskId"])


def _done(client: TestClient, task_id: str, *, operation: str) -> dict:
    data = wait_until(lambda: (d := record_info(client, task_id))["status"] in TERMINAL and d, timeout_s=60)
    assert data["status"] == "SUCCESS" and data["errorCode"] is None, data
    assert data["operationType"] == operation and len(data["response"]["sunoData"]) == 2
    assert_wire(data, "record_info_success")
    return data


def _song(client: TestClient, style: str = "pop") -> tuple[str, list[dict]]:
    body = {"customMode": True, "instrumental": False, "model": "V5", "prompt": "[Verse]\nla la", "style": style,
            "title": "Src", "callBackUrl": "http://127.0.0.1:9/x"}
    task_id = _ok(client, "/api/v1/generate", body)
    return task_id, _done(client, task_id, operation="generate")["response"]["sunoData"]


def _base64_upload(client: TestClient, data: bytes) -> str:
    body = {"base64Data": base64.b64encode(data).decode(), "uploadPath": "refs", "fileName": "ref.wav"}
    return str(client.post("/api/file-base64-upload", json=body).json()["data"]["downloadUrl"])


def test_upload_cover_of_a_base64_upload_follows_the_reference(dev, receiver):
    data, _ = _wav(3.0)
    body = {"uploadUrl": _base64_upload(dev, data), "customMode": True, "instrumental": True, "model": "V5",
            "style": "calm piano", "title": "Cover", "callBackUrl": receiver.url, "audioWeight": 0.7}
    task_id = _ok(dev, "/api/v1/generate/upload-cover", body)
    data_ = _done(dev, task_id, operation="upload_cover")
    assert json.loads(data_["param"])["uploadUrl"] == body["uploadUrl"]
    for track in data_["response"]["sunoData"]:
        assert track["title"] == "Cover" and track["tags"] == "calm piano" and track["duration"] == pytest.approx(3.0)
        assert _decoded(dev, track["audioUrl"]).shape == (3 * RATE_HZ, 2)
    wait_until(lambda: any(b["data"]["callbackType"] == "complete" for b in receiver.bodies), timeout_s=15)
    complete = next(b for b in receiver.bodies if b["data"]["callbackType"] == "complete")
    assert_wire(complete, "callback_complete")
    assert complete["data"]["task_id"] == task_id
    assert [i["id"] for i in complete["data"]["data"]] == [t["id"] for t in data_["response"]["sunoData"]]


def test_upload_extend_of_a_stream_upload_keeps_the_upload_up_to_continue_at(dev):
    data, source = _wav(3.0)
    uploaded = dev.post("/api/file-stream-upload", files={"file": ("up.wav", data)},
                        data={"uploadPath": "refs"}).json()
    assert uploaded["success"] and uploaded["data"]["fileSize"] == len(data)
    body = {"uploadUrl": uploaded["data"]["downloadUrl"], "defaultParamFlag": True, "instrumental": True,
            "model": "V4_5", "style": "pop", "title": "Longer", "continueAt": 2.0, "callBackUrl": "http://127.0.0.1:9/x"}
    data_ = _done(dev, _ok(dev, "/api/v1/generate/upload-extend", body), operation="upload_extend")
    for track in data_["response"]["sunoData"]:
        assert track["duration"] == pytest.approx(2.5)
        audio = _decoded(dev, track["audioUrl"])
        assert np.abs(audio[: 2 * RATE_HZ] - source[: 2 * RATE_HZ]).max() <= 2 * PCM16_STEP


@pytest.mark.parametrize(("path", "extra", "mode"), [
    ("/api/v1/generate/add-vocals", {"prompt": "[Verse]\nsing it", "style": "soul"}, "add_vocals"),
    ("/api/v1/generate/add-instrumental", {"tags": "funk band"}, "add_instrumental"),
])
def test_add_vocals_and_instrumental_from_a_url_upload(dev, file_server, path, extra, mode):
    folder, base_url = file_server
    data, _ = _wav(2.0)
    (folder / "stem.wav").write_bytes(data)
    upload = dev.post("/api/file-url-upload", json={"fileUrl": f"{base_url}/stem.wav", "uploadPath": "stems"}).json()
    assert upload["success"] and upload["data"]["fileName"] == "stem.wav" and upload["data"]["fileSize"] == len(data)
    assert dev.get(upload["data"]["downloadUrl"]).content == data
    body = {"uploadUrl": upload["data"]["downloadUrl"], "title": "Added", "negativeTags": "", "model": "V5",
            "callBackUrl": "http://127.0.0.1:9/x", **extra}
    data_ = _done(dev, _ok(dev, path, body), operation=mode)
    job = dev.app.state.service.get(data_["response"]["sunoData"][0]["id"])
    assert job.request["reference"]["mode"] == mode and job.request["title"] == "Added"
    assert all(t["duration"] == pytest.approx(2.0) for t in data_["response"]["sunoData"])
    lyrics = extra.get("prompt", "")
    assert all(t["prompt"] == lyrics for t in data_["response"]["sunoData"])


def test_replace_section_keeps_the_track_outside_the_window(dev):
    task_id, tracks = _song(dev, style="long pop")
    source = _decoded(dev, tracks[0]["audioUrl"])
    body = {"taskId": task_id, "audioId": tracks[0]["id"], "prompt": "[Verse]\nnew words", "tags": "pop",
            "title": "Fixed", "infillStartS": 3.0, "infillEndS": 9.0, "callBackUrl": "http://127.0.0.1:9/x"}
    data = _done(dev, _ok(dev, "/api/v1/generate/replace-section", body), operation="replace_section")
    assert data["parentMusicId"] == tracks[0]["id"]
    for track in data["response"]["sunoData"]:
        audio = _decoded(dev, track["audioUrl"])
        assert audio.shape == source.shape
        start, end = 3 * RATE_HZ, 9 * RATE_HZ
        outside = np.concatenate([audio[:start] - source[:start], audio[end:] - source[end:]])
        assert np.abs(outside).max() <= 2 * PCM16_STEP
        assert np.abs(audio[start:end] - source[start:end]).max() > 0.05  # the window was made anew


def test_extend_of_our_track_continues_it_at_continue_at(dev):
    _, tracks = _song(dev)
    source = _decoded(dev, tracks[1]["audioUrl"])
    body = {"defaultParamFlag": True, "audioId": tracks[1]["id"], "model": "V5", "prompt": "[Verse]\nmore",
            "style": "pop", "title": "More", "continueAt": 0.3, "callBackUrl": "http://127.0.0.1:9/x"}
    data = _done(dev, _ok(dev, "/api/v1/generate/extend", body), operation="extend")
    assert data["parentMusicId"] == tracks[1]["id"]
    for track in data["response"]["sunoData"]:
        assert track["duration"] == pytest.approx(0.8) and track["prompt"] == "[Verse]\nmore"
        audio = _decoded(dev, track["audioUrl"])
        cut = int(0.3 * RATE_HZ)
        assert np.abs(audio[:cut] - source[:cut]).max() <= 2 * PCM16_STEP
    default = {"defaultParamFlag": False, "audioId": tracks[1]["id"], "model": "V5",
               "callBackUrl": "http://127.0.0.1:9/x"}
    data = _done(dev, _ok(dev, "/api/v1/generate/extend", default), operation="extend")
    assert data["response"]["sunoData"][0]["duration"] == pytest.approx(1.0)  # from the end of the source


def test_style_boost(dev):
    answer = dev.post("/api/v1/style/generate", json={"content": "dreamy lo-fi hip hop for studying"}).json()
    assert answer["code"] == 200 and answer["msg"] == "success"
    data = answer["data"]
    assert set(data) == {"taskId", "param", "result", "creditsConsumed", "creditsRemaining", "successFlag",
                         "errorCode", "errorMessage", "createTime"}
    assert data["param"] == "dreamy lo-fi hip hop for studying" and data["successFlag"] == "1"
    assert "BPM" in data["result"] and data["errorCode"] is None and len(data["taskId"]) == 32
    assert dev.post("/api/v1/style/generate", json={"content": "x" * 2001}).json()["code"] == 413


def test_lyrics_record_info_while_pending(dev, receiver):
    rt = runtime_of_app(dev)
    gate = threading.Event()
    blockers = [rt.run(gate.wait, 30) for _ in range(2)]  # both background workers busy: the task waits
    try:
        task_id = _ok(dev, "/api/v1/lyrics", {"prompt": "a quiet harbour at dawn", "callBackUrl": receiver.url})
        pending = dev.get("/api/v1/lyrics/record-info", params={"taskId": task_id}).json()
        assert pending["code"] == 200
        assert pending["data"] == {"taskId": task_id, "param": json.dumps(
            {"prompt": "a quiet harbour at dawn", "callBackUrl": receiver.url}, separators=(",", ":")),
            "response": {"taskId": task_id, "data": []}, "status": "PENDING", "type": "LYRICS", "errorCode": None,
            "errorMessage": None}
        assert not receiver.bodies
    finally:
        gate.set()
        for blocker in blockers:
            blocker.result(timeout=30)
    done = wait_until(lambda: (d := record_info(dev, task_id, "/api/v1/lyrics/record-info"))["status"] == "SUCCESS" and d)
    assert len(done["response"]["data"]) == 2


def runtime_of_app(client: TestClient):
    class _Request:
        app = client.app

    return runtime(_Request())  # type: ignore[arg-type]


def _poll(client: TestClient, path: str, task_id: str, done) -> dict:
    return wait_until(lambda: d if done(d := record_info(client, task_id, path)) else None, timeout_s=30)


def _callback(receiver: Receiver, task_id: str) -> dict:
    def find():
        return next((b for b in receiver.bodies if task_id in (b.get("task_id"), (b.get("data") or {}).get("task_id"),
                                                                (b.get("data") or {}).get("taskId"))), None)

    return wait_until(find, timeout_s=15)


def test_wav_callback_and_record_info_field_by_field(dev, receiver):
    task_id, tracks = _song(dev)
    body = {"taskId": task_id, "audioId": tracks[0]["id"], "callBackUrl": receiver.url}
    wav_task = _ok(dev, "/api/v1/wav/generate", body)
    record = _poll(dev, "/api/v1/wav/record-info", wav_task, lambda d: d["successFlag"] == "SUCCESS")
    assert_wire(record, "wav_record_info")
    assert record["taskId"] == wav_task and record["musicId"] == tracks[0]["id"]
    assert record["callbackUrl"] == receiver.url and record["errorCode"] is None and record["errorMessage"] is None
    assert record["completeTime"] >= record["createTime"] > 1_600_000_000_000
    callback = _callback(receiver, wav_task)
    assert_wire(callback, "wav_callback")
    assert callback == {"code": 200, "msg": "success",
                        "data": {"audioWavUrl": callback["data"]["audioWavUrl"], "task_id": wav_task}}
    wav = _decoded(dev, callback["data"]["audioWavUrl"])
    assert np.array_equal(wav, _decoded(dev, record["response"]["audioWavUrl"]))
    assert np.abs(wav - _decoded(dev, tracks[0]["audioUrl"])).max() <= PCM16_STEP


def test_vocal_removal_both_types_sum_to_the_mix_and_midi(dev, receiver):
    task_id, tracks = _song(dev)
    mix = _decoded(dev, tracks[0]["audioUrl"])
    body = {"taskId": task_id, "audioId": tracks[0]["id"], "callBackUrl": receiver.url}
    sep = _ok(dev, "/api/v1/vocal-removal/generate", body)
    record = _poll(dev, "/api/v1/vocal-removal/record-info", sep, lambda d: d["successFlag"] == "SUCCESS")
    assert_wire(record, "vocal_removal_record_info")
    assert record["musicId"] == task_id and record["audioId"] == tracks[0]["id"] and record["callbackUrl"] == receiver.url
    callback = _callback(receiver, sep)
    assert_wire(callback, "vocal_removal_callback")
    info = callback["data"]["vocal_removal_info"]
    files = {name: urlsplit(url).path for name, url in info.items()}  # links minted a grid step apart differ
    assert files == {"origin_url": urlsplit(record["response"]["originUrl"]).path,
                     "vocal_url": urlsplit(record["response"]["vocalUrl"]).path,
                     "instrumental_url": urlsplit(record["response"]["instrumentalUrl"]).path}
    vocal, instrumental = _decoded(dev, info["vocal_url"]), _decoded(dev, info["instrumental_url"])
    assert np.abs(vocal - LEAD_SHARE * mix).max() < 1e-3  # the sung line alone
    assert np.abs(vocal + instrumental - mix).max() < 1e-3  # the two halves sum to the mix
    assert np.array_equal(_decoded(dev, info["origin_url"]), mix)

    split = _ok(dev, "/api/v1/vocal-removal/generate", {**body, "type": "split_stem"})
    record = _poll(dev, "/api/v1/vocal-removal/record-info", split, lambda d: d["successFlag"] == "SUCCESS")
    golden = json.loads((FIXTURES / "vocal_removal_record_info.json").read_text())
    assert set(record) == set(golden) and set(record["response"]) == set(golden["response"])
    assert record["response"]["instrumentalUrl"] is None and record["response"]["bassUrl"]
    info = _callback(receiver, split)["data"]["vocal_removal_info"]
    assert set(info) == SPLIT_KEYS
    present = {k for k, v in info.items() if v}
    assert present == {"origin_url", "vocal_url", "bass_url"}
    total = _decoded(dev, info["vocal_url"]) + _decoded(dev, info["bass_url"])
    assert np.abs(total - mix).max() < 1e-3

    midi = _ok(dev, "/api/v1/midi/generate", {"taskId": sep, "callBackUrl": receiver.url})
    record = _poll(dev, "/api/v1/midi/record-info", midi, lambda d: d["successFlag"] != 0)
    assert record["successFlag"] == 1 and record["recordTaskId"] == sep and record["audioId"] == tracks[0]["id"]
    callback = _callback(receiver, midi)
    assert_wire(callback, "midi_callback")
    assert callback["task_id"] == midi and callback["code"] == 200 and callback["data"] == record["midiData"]
    names = [i["name"] for i in callback["data"]["instruments"]]
    assert names == ["lead", "bass"] and all(0 <= n["pitch"] <= 127 and 0 < n["velocity"] <= 1 and
                                             n["end"] > n["start"] for i in callback["data"]["instruments"]
                                             for n in i["notes"])


def test_cover_image_callback_and_record_info_field_by_field(dev, receiver):
    task_id, _ = _song(dev)
    cover = _ok(dev, "/api/v1/suno/cover/generate", {"taskId": task_id, "callBackUrl": receiver.url})
    record = _poll(dev, "/api/v1/suno/cover/record-info", cover, lambda d: d["successFlag"] != 0)
    assert_wire(record, "cover_record_info")
    assert record["successFlag"] == 1 and record["errorCode"] == 200 and record["parentTaskId"] == task_id
    callback = _callback(receiver, cover)
    assert_wire(callback, "cover_callback")
    assert callback == {"code": 200, "msg": "success", "data": {"taskId": cover, "images": record["response"]["images"]}}
    images = [dev.get(u).content for u in callback["data"]["images"]]
    assert len(images) == 2 and all(i.startswith(b"\x89PNG") for i in images) and images[0] != images[1]
