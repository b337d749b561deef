"""The persisted stream: partial file by offsets, final file once succeeded; LRC from timings."""

from __future__ import annotations

from songforge.models import JobStatus
from songforge.service.pipeline import _timings_to_lrc
from songforge.service.streaming import drop_partial, read_audio, write_partial
from songforge.storage.blobs import FileBlobStore
from songforge.storage.jobs import Job


def test_partial_then_final(tmp_path):
    blobs = FileBlobStore(tmp_path)
    job = Job(id="j1", request={}, status=JobStatus.RUNNING)
    assert read_audio(blobs, job, 0, limit=100) == b""
    write_partial(blobs, "j1", b"abc", offset=0)
    write_partial(blobs, "j1", b"def", offset=3)
    assert read_audio(blobs, job, 0, limit=4) == b"abcd" and read_audio(blobs, job, 4, limit=100) == b"ef"
    write_partial(blobs, "j1", b"ab", offset=0)  # a retried run starts the file afresh
    assert read_audio(blobs, job, 0, limit=100) == b"ab"
    blobs.put("j1/song.wav", b"abcdefgh")
    drop_partial(blobs, "j1")
    done = Job(id="j1", request={}, status=JobStatus.SUCCEEDED, result={"assets": {"song": "j1/song.wav"}})
    assert read_audio(blobs, done, 6, limit=100) == b"gh"


def test_lrc_lines_follow_line_indexes_or_pauses():
    by_line = [{"word": "hello", "start_s": 1.0, "end_s": 1.5, "line": 0},
               {"word": "there", "start_s": 1.5, "end_s": 2.0, "line": 0},
               {"word": "again", "start_s": 61.25, "end_s": 62.0, "line": 1}]
    assert _timings_to_lrc(by_line) == "[00:01.00]hello there\n[01:01.25]again\n"
    by_pause = [{"word": "a", "start_s": 0.0, "end_s": 0.5}, {"word": "b", "start_s": 2.0, "end_s": 2.5}]
    assert _timings_to_lrc(by_pause) == "[00:00.00]a\n[00:02.00]b\n"
