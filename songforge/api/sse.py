"""The native event stream of one job (Server-Sent Events).

::

    event: progress   data: {"id", "status", "stage", "progress_pct"}         on every change
    event: audio      data: {"offset", "size", "data": <base64>}              the file, in order
    event: done       data: <the job as GET /v1/songs/{id} shows it>          then the stream ends
    event: error      data: {"code", "message"}                               failed or cancelled

Audio comes from the job's persisted bytes (:mod:`songforge.service.streaming`), not from the
live events: a subscriber that arrives late first gets everything from byte 0, then follows the
file as it grows; bus events only wake the stream up (it also polls, so it follows jobs run by
another process). The ``audio`` pieces concatenate to exactly the final file. A client that goes
away only ends its stream; the job goes on.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from songforge.models import JobStatus
from songforge.service.songs import SongService
from songforge.service.streaming import read_audio
from songforge.storage.jobs import Job

__all__ = ["job_events", "follow_job", "AUDIO_EVENT_BYTES"]

AUDIO_EVENT_BYTES = 48 * 1024
_POLL_S = 1.0

View = Callable[[Job], dict[str, Any]]


def _event(name: str, data: dict[str, Any]) -> dict[str, str]:
    return {"event": name, "data": json.dumps(data, separators=(",", ":"))}


def _progress(job: Job) -> dict[str, str]:
    return _event("progress", {
        "id": job.id, "status": job.status.value, "stage": job.stage, "progress_pct": job.progress_pct,
    })


def _audio(offset: int, data: bytes) -> dict[str, str]:
    return _event("audio", {"offset": offset, "size": len(data), "data": base64.b64encode(data).decode()})


def _end(job: Job, view: View) -> dict[str, str]:
    if job.status == JobStatus.SUCCEEDED:
        return _event("done", view(job))
    code = job.error_code or job.status.value
    return _event("error", {"code": code, "message": job.error_message or f"the job was {job.status.value}"})


async def follow_job(
    service: SongService, job: Job, *, chunk_bytes: int = AUDIO_EVENT_BYTES, poll_s: float = _POLL_S,
) -> AsyncIterator[Job | bytes]:
    """Follow ``job`` until it ends: the job as read (first, then after every wake-up) and its
    audio after what was already yielded, in pieces of at most ``chunk_bytes`` that concatenate
    to the final file. The last item is the terminal job's last piece of audio (or the terminal
    job itself when no audio was left): every dialect's stream is built on this."""
    stream = service.bus.open_stream(job.id)  # subscribe before reading, so nothing slips between
    sent = 0
    try:
        while True:
            job = await asyncio.to_thread(service.get, job.id)
            yield job
            while piece := await asyncio.to_thread(read_audio, service.blobs, job, sent, limit=chunk_bytes):
                yield piece
                sent += len(piece)
            if job.is_terminal:
                return
            await stream.get(poll_s)
    finally:
        stream.close()


async def job_events(service: SongService, job: Job, *, view: View, poll_s: float = _POLL_S) -> AsyncIterator[dict[str, str]]:
    """SSE messages (dicts for ``EventSourceResponse``) for ``job`` until it ends."""
    sent, seen = 0, None
    async for item in follow_job(service, job, poll_s=poll_s):
        if isinstance(item, bytes):
            yield _audio(sent, item)
            sent += len(item)
            continue
        job = item
        if (job.status, job.stage, job.progress_pct) != seen:
            seen = (job.status, job.stage, job.progress_pct)
            yield _progress(job)
    yield _end(job, view)
