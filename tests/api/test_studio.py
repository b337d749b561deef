"""The studio's server side in process (TestClient, fast fake engine): the page and its files,
the song list (per key, newest first) and the extras (cover image, stems zip)."""

from __future__ import annotations

import io
import zipfile

import pytest
from fastapi.testclient import TestClient

from songforge.api.app import create_app
from tests.api._engines import scripted_song
from tests.service._helpers import free_tier_keys, make_settings, wait_until

BASE = "http://127.0.0.1:8123"


@pytest.fixture
def dev(tmp_path):
    with TestClient(create_app(make_settings(tmp_path), generate=scripted_song)) as client:
        yield client


@pytest.fixture
def keyed(tmp_path):
    app = create_app(make_settings(tmp_path, dev_mode=False), generate=scripted_song)
    with TestClient(app) as client:
        client.keys = free_tier_keys(app, max_concurrent_jobs=4)
        yield client


def _finished(client, job_id, headers=None):
    view = client.get(f"/v1/songs/{job_id}", headers=headers).json()
    return view if view["status"] in ("succeeded", "failed", "cancelled") else None


def _make(client, body, headers=None):
    job_id = client.post("/v1/songs", json=body, headers=headers).json()["jobs"][0]["id"]
    return wait_until(lambda: _finished(client, job_id, headers))


def test_the_page_and_its_modules_are_served_from_the_package(dev):
    page = dev.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/web/main.js">' in page.text and "/web/studio.css" in page.text
    for name in ("studio.css", "main.js", "api.js", "song.js", "stems.js", "stream.js"):
        response = dev.get(f"/web/{name}")
        assert response.status_code == 200 and len(response.content) > 500, name
        assert "https://" not in response.text and "http://" not in response.text, name  # nothing from elsewhere
    assert dev.get("/web/main.js").headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert "https://" not in page.text and "http://" not in page.text


def test_songs_list_newest_first_with_a_request_that_makes_them_again(dev):
    first = _make(dev, {"prompt": "x first", "seed": 3, "format": "wav", "stems": True, "duration_s": 12})
    second = _make(dev, {"prompt": "x second", "seed": 4})
    songs = dev.get("/v1/songs").json()["songs"]
    assert [s["id"] for s in songs] == [second["id"], first["id"]]
    one = songs[1]
    assert one["status"] == "succeeded" and one["prompt"] == "x first" and one["seed"] == 3
    assert one["duration_s"] == first["result"]["duration_s"] and one["dialect"] == "native"
    request = one["request"]
    assert request["format"] == "wav" and request["stems"] is True and request["midi"] is False
    assert request["duration_s"] == 12 and request["seed"] == 3
    again = dev.post("/v1/songs", json={**request, "seed": request["seed"] + 1})
    assert again.status_code == 202, again.text
    newest = dev.get("/v1/songs", params={"limit": 1}).json()["songs"]
    assert [s["id"] for s in newest] == [again.json()["jobs"][0]["id"]]


def test_songs_list_shows_each_key_only_its_own_songs(keyed):
    a, b = keyed.keys["a"], keyed.keys["b"]
    mine = keyed.post("/v1/songs", json={"prompt": "x"}, headers=a).json()["jobs"][0]["id"]
    assert [s["id"] for s in keyed.get("/v1/songs", headers=a).json()["songs"]] == [mine]
    assert keyed.get("/v1/songs", headers=b).json()["songs"] == []
    refused = keyed.get("/v1/songs")
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
    assert keyed.get(f"/v1/songs/{mine}/extras", headers=b).status_code == 404


@pytest.mark.parametrize("limit", [0, 101])
def test_songs_list_limit_is_checked(dev, limit):
    response = dev.get("/v1/songs", params={"limit": limit})
    assert response.status_code == 400 and response.json()["error"]["field"] == "limit"


def test_extras_give_a_cover_and_a_zip_of_the_stems(dev):
    view = _make(dev, {"prompt": "x", "stems": True, "seed": 5, "title": "Zip Me"})
    extras = dev.get(f"/v1/songs/{view['id']}/extras").json()
    cover = dev.get(extras["cover_url"].removeprefix(BASE))
    assert cover.status_code == 200 and cover.content.startswith(b"\x89PNG")
    archive = zipfile.ZipFile(io.BytesIO(dev.get(extras["stems_zip_url"].removeprefix(BASE)).content))
    assert sorted(archive.namelist()) == ["bass.wav", "lead.wav"]
    lead = dev.get(view["result"]["stems"]["lead"].removeprefix(BASE)).content
    assert archive.read("lead.wav") == lead
    assert dev.get(f"/v1/songs/{view['id']}/extras").json() == extras  # made once, same links


def test_extras_without_stems_and_of_unfinished_songs(dev):
    plain = _make(dev, {"prompt": "x"})
    assert dev.get(f"/v1/songs/{plain['id']}/extras").json()["stems_zip_url"] is None
    slow = dev.post("/v1/songs", json={"prompt": "sleep"}).json()["jobs"][0]["id"]
    response = dev.get(f"/v1/songs/{slow}/extras")
    assert response.status_code == 409 and response.json()["error"]["code"] == "conflict"
    dev.delete(f"/v1/songs/{slow}")
