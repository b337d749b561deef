"""The blob store: generated files by key (``<job id>/song.mp3``, ``<job id>/stems/vocals.wav``, ...).

Writes are atomic: data goes to a temporary file in the destination folder, is fsynced and then
renamed over the key's path, so a reader sees the old file or the new one, never a partial one;
a crash mid-write leaves the old file (and at worst a hidden ``.tmp-*`` file the janitor removes).
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

from songforge.errors import InvalidRequest, NotFound
from songforge.storage.atomic import atomic_write

__all__ = ["BlobStore", "FileBlobStore", "BlobSource", "TEMP_PREFIX"]

TEMP_PREFIX = ".tmp-"
_KEY_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*(/[A-Za-z0-9_][A-Za-z0-9._-]*)*$")
_COPY_CHUNK_BYTES = 1 << 20

BlobSource = bytes | bytearray | memoryview | os.PathLike[str] | BinaryIO


class BlobStore(Protocol):
    """Where generated files live; keys are relative, slash-separated names."""

    def put(self, key: str, data: BlobSource) -> int: ...
    def open(self, key: str) -> BinaryIO: ...
    def read(self, key: str) -> bytes: ...
    def exists(self, key: str) -> bool: ...
    def size(self, key: str) -> int: ...
    def delete(self, key: str) -> None: ...
    def delete_prefix(self, prefix: str) -> int: ...
    def iter_older_than(self, age_s: float, *, now_s: float | None = None) -> Iterator[str]: ...


def _check_key(key: str) -> str:
    if not _KEY_RE.match(key) or ".." in key.split("/"):
        raise InvalidRequest(f"invalid file key {key!r}", field="key", limit="[A-Za-z0-9._-] segments")
    return key


class FileBlobStore:
    """:class:`BlobStore` on a local folder.

    Parameters
    ----------
    root : folder holding the files (created on first write).
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def path_for(self, key: str) -> Path:
        """Local path of ``key`` (whether or not it exists)."""
        return self.root / _check_key(key)

    def put(self, key: str, data: BlobSource) -> int:
        """Store ``data`` (bytes, a file path or a binary file object) at ``key``; returns its size."""
        target = atomic_write(self.path_for(key), lambda out: _copy_into(data, out), prefix=TEMP_PREFIX, suffix="")
        _fsync_dir(target.parent)
        return target.stat().st_size

    def open(self, key: str) -> BinaryIO:
        """Open ``key`` for reading; raises :class:`NotFound`."""
        try:
            return self.path_for(key).open("rb")
        except FileNotFoundError:
            raise NotFound(f"no file {key!r}") from None

    def read(self, key: str) -> bytes:
        """The whole content of ``key``; raises :class:`NotFound`."""
        with self.open(key) as fh:
            return fh.read()

    def exists(self, key: str) -> bool:
        return self.path_for(key).is_file()

    def size(self, key: str) -> int:
        """Size of ``key`` in bytes; raises :class:`NotFound`."""
        try:
            return self.path_for(key).stat().st_size
        except FileNotFoundError:
            raise NotFound(f"no file {key!r}") from None

    def delete(self, key: str) -> None:
        """Remove ``key`` if present."""
        self.path_for(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> int:
        """Remove the folder ``prefix`` (e.g. a job id) and everything under it; returns files removed."""
        folder = self.path_for(prefix.rstrip("/"))
        if not folder.is_dir():
            return 0
        count = sum(1 for p in folder.rglob("*") if p.is_file())
        shutil.rmtree(folder, ignore_errors=True)
        return count

    def iter_older_than(self, age_s: float, *, now_s: float | None = None) -> Iterator[str]:
        """Keys (and leftover temporary files) last modified more than ``age_s`` seconds ago."""
        if not self.root.is_dir():
            return
        cutoff = (time.time() if now_s is None else now_s) - age_s
        for path in sorted(self.root.rglob("*")):
            if path.is_file() and path.stat().st_mtime < cutoff:
                yield path.relative_to(self.root).as_posix()

    def remove_path(self, relative: str) -> None:
        """Remove a file found by :meth:`iter_older_than`, temporary files included."""
        path = (self.root / relative).resolve()
        if self.root.resolve() in path.parents:
            path.unlink(missing_ok=True)


def _copy_into(data: BlobSource, out: BinaryIO) -> None:
    if isinstance(data, bytes | bytearray | memoryview):
        out.write(data)
    elif isinstance(data, os.PathLike):
        with open(data, "rb") as src:
            shutil.copyfileobj(src, out, _COPY_CHUNK_BYTES)
    else:
        shutil.copyfileobj(data, out, _COPY_CHUNK_BYTES)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
