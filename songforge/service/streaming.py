"""Streamed audio kept as it is made, so that a late subscriber replays it from the first byte.

While a job runs, every encoded chunk is written at its byte offset into ``<job id>/stream.part``
(a growing file, not an atomic blob); when the job succeeds the final song replaces it as the
source. Readers ask :func:`read_audio` for the bytes after what they have already sent, so a
stream is "replay from the file, then follow it as it grows". A retried job (after a worker
crash) rewrites the same bytes from offset 0: the same request and seed give the same file.
"""

from __future__ import annotations

import os
from typing import Any

from songforge.models import JobStatus
from songforge.storage.blobs import FileBlobStore

__all__ = ["PARTIAL_NAME", "partial_key", "write_partial", "drop_partial", "read_audio", "song_key"]

PARTIAL_NAME = "stream.part"


def partial_key(job_id: str) -> str:
    """Blob key of a running job's streamed audio so far."""
    return f"{job_id}/{PARTIAL_NAME}"


def song_key(job: Any) -> str | None:
    """Blob key of a finished job's song, if it has one."""
    return ((getattr(job, "result", None) or {}).get("assets") or {}).get("song")


def write_partial(blobs: FileBlobStore, job_id: str, data: bytes, *, offset: int) -> None:
    """Write ``data`` at ``offset`` of the job's partial file; offset 0 starts it afresh."""
    path = blobs.path_for(partial_key(job_id))
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if offset == 0 else 0)
    fd = os.open(path, flags, 0o644)
    try:
        os.pwrite(fd, data, offset)
    finally:
        os.close(fd)


def drop_partial(blobs: FileBlobStore, job_id: str) -> None:
    """Remove the partial file (once the final song exists)."""
    blobs.delete(partial_key(job_id))


def read_audio(blobs: FileBlobStore, job: Any, start: int, *, limit: int) -> bytes:
    """Up to ``limit`` bytes of the job's audio from byte ``start``: from the final song once the
    job has succeeded, else from the partial file (``b""`` when there is nothing new yet)."""
    final = song_key(job) if job.status == JobStatus.SUCCEEDED else None
    path = blobs.path_for(final or partial_key(job.id))
    try:
        with path.open("rb") as fh:
            fh.seek(start)
            return fh.read(limit)
    except FileNotFoundError:
        return b""
