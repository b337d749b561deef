"""How reference audio lies in the blob store (keys under ``refs/``), with locks and ageing.

::

    refs/<audio_id>.<ext>            the audio exactly as received (ext: wav mp3 flac ogg m4a)
    refs/<audio_id>.json             its record: {"audio_id", "format", "duration_s",
                                     "size_bytes", "created", "purposes"}
    refs/<audio_id>.analysis.json    its cached analysis

Writes go through the blob store (atomic). :meth:`RefFiles.touch` refreshes the modification
times that the janitor ages files by; :meth:`RefFiles.sweep` removes a reference as a whole.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from songforge.errors import NotFound
from songforge.storage.blobs import FileBlobStore

__all__ = ["RefFiles", "REFS_PREFIX", "audio_key", "record_key", "analysis_key"]

REFS_PREFIX = "refs"


def audio_key(audio_id: str, fmt: str) -> str:
    """Blob key of the audio (``fmt`` is its container and file extension)."""
    return f"{REFS_PREFIX}/{audio_id}.{fmt}"


def record_key(audio_id: str) -> str:
    """Blob key of the audio's JSON record."""
    return f"{REFS_PREFIX}/{audio_id}.json"


def analysis_key(audio_id: str) -> str:
    """Blob key of the audio's cached analysis."""
    return f"{REFS_PREFIX}/{audio_id}.analysis.json"


class RefFiles:
    """Reference files over a :class:`~songforge.storage.blobs.FileBlobStore`."""

    def __init__(self, blobs: FileBlobStore) -> None:
        self.blobs = blobs

    def path(self, key: str) -> Path:
        return Path(self.blobs.path_for(key))

    def put_new(self, key: str, data: bytes) -> None:
        """Store ``data`` at ``key`` unless it is there already (same key, same content)."""
        if not self.blobs.exists(key):
            self.blobs.put(key, data)

    def exists(self, key: str) -> bool:
        return bool(self.blobs.exists(key))

    def read_json(self, key: str) -> dict[str, Any] | None:
        """The JSON object at ``key``; ``None`` when missing or not an object."""
        try:
            value = json.loads(self.blobs.read(key))
        except (NotFound, ValueError):
            return None
        return value if isinstance(value, dict) else None

    def write_json(self, key: str, value: dict[str, Any]) -> None:
        """Write ``value`` (JSON-safe) atomically."""
        self.blobs.put(key, json.dumps(value, sort_keys=True).encode())

    @contextlib.contextmanager
    def locked(self, key: str) -> Iterator[None]:
        """An exclusive ``flock`` on the file at ``key`` (threads and processes alike); raises
        :class:`NotFound` when the file is gone."""
        try:
            fh = self.path(key).open("rb")
        except FileNotFoundError:
            raise NotFound(f"no file {key!r}") from None
        with fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def touch(self, audio_id: str, audio: str) -> None:
        """Mark a reference as used now (the audio at key ``audio``, its record and analysis)."""
        for key in (audio, record_key(audio_id), analysis_key(audio_id)):
            with contextlib.suppress(OSError):
                os.utime(self.path(key))

    def sweep(self, age_s: float, *, now_s: float | None = None) -> int:
        """Remove references whose record was last used ``age_s`` seconds ago or earlier, all
        their files together, and stray files of the same age; returns the files removed."""
        folder = self.path(REFS_PREFIX)
        if not folder.is_dir():
            return 0
        cutoff_s = (time.time() if now_s is None else now_s) - age_s
        removed = 0
        for path in sorted(p for p in folder.iterdir() if p.is_file()):
            record = folder / f"{path.name.split('.', 1)[0]}.json"
            used_s = record.stat().st_mtime if record.is_file() else path.stat().st_mtime
            if used_s < cutoff_s:
                path.unlink(missing_ok=True)
                removed += 1
        return removed
