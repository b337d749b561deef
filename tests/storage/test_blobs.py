from __future__ import annotations

import io
import os
import time

import pytest

from songforge.errors import InvalidRequest, NotFound
from songforge.storage.blobs import TEMP_PREFIX, FileBlobStore


@pytest.fixture
def blobs(tmp_path):
    return FileBlobStore(tmp_path / "blobs")


def _temps(blobs):
    return [p for p in blobs.root.rglob(f"{TEMP_PREFIX}*")]


def test_put_bytes_path_and_file(blobs, tmp_path):
    assert blobs.put("j1/song.wav", b"abc") == 3
    src = tmp_path / "src.bin"
    src.write_bytes(b"from a path")
    blobs.put("j1/other.bin", src)
    blobs.put("j1/stems/lead.wav", io.BytesIO(b"from a file"))
    assert blobs.read("j1/song.wav") == b"abc"
    assert blobs.read("j1/other.bin") == b"from a path"
    with blobs.open("j1/stems/lead.wav") as fh:
        assert fh.read() == b"from a file"
    assert blobs.size("j1/song.wav") == 3 and blobs.exists("j1/song.wav")
    assert blobs.path_for("j1/song.wav") == blobs.root / "j1" / "song.wav"


class _Source(io.RawIOBase):
    """Yields ``n`` chunks; checks the destination meanwhile; optionally dies half way."""

    def __init__(self, blobs, key, old, *, crash_at=None):
        self.blobs, self.key, self.old, self.crash_at, self.calls = blobs, key, old, crash_at, 0

    def readable(self):
        return True

    def readinto(self, buf):
        # while a write is in progress, readers still see the complete old file
        assert self.blobs.read(self.key) == self.old
        self.calls += 1
        if self.calls == self.crash_at:
            raise OSError("disk vanished")
        if self.calls > 4:
            return 0
        buf[:4] = b"new!"
        return 4


def test_no_partial_file_is_ever_visible(blobs):
    blobs.put("k/a.bin", b"old")
    blobs.put("k/a.bin", _Source(blobs, "k/a.bin", b"old"))
    assert blobs.read("k/a.bin") == b"new!" * 4
    assert _temps(blobs) == []


def test_crash_mid_write_leaves_the_old_file(blobs):
    blobs.put("k/a.bin", b"old")
    with pytest.raises(OSError):
        blobs.put("k/a.bin", _Source(blobs, "k/a.bin", b"old", crash_at=3))
    assert blobs.read("k/a.bin") == b"old"
    assert _temps(blobs) == []


def test_missing_and_invalid_keys(blobs):
    with pytest.raises(NotFound):
        blobs.read("nope/x")
    for bad in ("../etc/passwd", "/abs", "a/../b", "a//b", ".hidden", ""):
        with pytest.raises(InvalidRequest):
            blobs.path_for(bad)


def test_delete_and_delete_prefix(blobs):
    blobs.put("j/a", b"1")
    blobs.put("j/s/b", b"2")
    blobs.put("other/c", b"3")
    blobs.delete("other/c")
    blobs.delete("other/c")  # idempotent
    assert blobs.delete_prefix("j") == 2
    assert not blobs.exists("j/a") and blobs.delete_prefix("j") == 0


def test_iter_older_than(blobs):
    blobs.put("old/a", b"1")
    blobs.put("new/b", b"2")
    stale = time.time() - 10 * 86400
    os.utime(blobs.path_for("old/a"), (stale, stale))
    assert list(blobs.iter_older_than(86400)) == ["old/a"]
    blobs.remove_path("old/a")
    assert list(blobs.iter_older_than(0, now_s=time.time() + 1)) == ["new/b"]
