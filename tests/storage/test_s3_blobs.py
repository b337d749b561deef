"""The S3 blob store against a real S3-compatible HTTP server (moto's, in its own process)."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest

from songforge.errors import NotFound
from songforge.storage.blobs import S3BlobStore, blob_spec, open_blob_store
from tests.services import s3_server  # noqa: F401  (fixture)


@pytest.fixture
def s3(s3_server, tmp_path):  # noqa: F811
    bucket = f"sf-{uuid.uuid4().hex[:10]}"
    return S3BlobStore(bucket, tmp_path / "cache", endpoint_url=s3_server.endpoint,
                       access_key="test", secret_key="test")


def test_put_read_size_exists_and_delete(s3, tmp_path):
    assert s3.put("job1/song.mp3", b"ID3" + bytes(1000)) == 1003
    assert s3.read("job1/song.mp3")[:3] == b"ID3" and s3.size("job1/song.mp3") == 1003
    assert s3.exists("job1/song.mp3") and not s3.exists("job1/other.mp3")
    source = tmp_path / "plan.json"
    source.write_bytes(b"{}")
    assert s3.put("job1/plan.json", source) == 2
    s3.delete("job1/song.mp3")
    assert not s3.exists("job1/song.mp3")
    with pytest.raises(NotFound):
        s3.read("job1/song.mp3")
    with pytest.raises(NotFound):
        s3.size("job1/song.mp3")


def test_another_machine_sees_the_objects_through_its_own_cache(s3, tmp_path):
    s3.put("job2/song.wav", b"RIFF" + bytes(64))
    other = open_blob_store(blob_spec(s3).replace(str(tmp_path / "cache"), str(tmp_path / "other")))
    assert isinstance(other, S3BlobStore) and other.bucket == s3.bucket
    path = other.path_for("job2/song.wav")  # fetched on first use
    assert path.read_bytes() == b"RIFF" + bytes(64) and str(path).startswith(str(tmp_path / "other"))
    with other.open("job2/song.wav") as fh:
        assert fh.read(4) == b"RIFF"
    with pytest.raises(NotFound):
        other.open("job2/missing.wav")


def test_overwrite_invalidates_the_cached_copy(s3):
    s3.put("job3/plan.json", b"old")
    assert s3.path_for("job3/plan.json").read_bytes() == b"old"
    s3.put("job3/plan.json", b"new!")
    assert s3.path_for("job3/plan.json").read_bytes() == b"new!"


def test_delete_prefix_and_ageing(s3):
    for name in ("song.mp3", "stems/vocals.wav", "stems/drums.wav"):
        s3.put(f"job4/{name}", b"x")
    s3.put("job40/song.mp3", b"y")  # a sibling with the same leading characters stays
    s3.path_for("job4/song.mp3")
    assert s3.delete_prefix("job4") == 3
    assert not s3.exists("job4/stems/vocals.wav") and s3.exists("job40/song.mp3")
    assert not (s3.root / "job4" / "song.mp3").exists()
    assert list(s3.iter_older_than(3600)) == []
    assert "job40/song.mp3" in list(s3.iter_older_than(0, now_s=time.time() + 5))


def test_bad_keys_are_refused(s3):
    from songforge.errors import InvalidRequest

    with pytest.raises(InvalidRequest):
        s3.put("../escape", b"x")


def test_janitor_deletes_old_jobs_from_the_object_store(s3_server, tmp_path):  # noqa: F811
    from songforge.service.songs import build_service
    from songforge.storage.jobs import Job, new_job_id, utc_now
    from tests.service._helpers import make_settings

    settings = make_settings(tmp_path, s3_bucket=f"sf-{uuid.uuid4().hex[:10]}", s3_endpoint=s3_server.endpoint,
                             s3_access_key="test", s3_secret_key="test", retention_days=1)
    service = build_service(settings)
    assert isinstance(service.blobs, S3BlobStore)
    job = service.store.create(Job(id=new_job_id(), request={"prompt": "p"}))
    service.blobs.put(f"{job.id}/song.mp3", b"ID3")
    service.blobs.path_for(f"{job.id}/song.mp3")  # cached locally too
    report = service.janitor(now=utc_now() + timedelta(days=2))
    assert report.jobs_deleted == 1 and report.files_deleted >= 1
    assert not service.blobs.exists(f"{job.id}/song.mp3")
    assert not (service.blobs.root / job.id / "song.mp3").exists()
