"""``"stream": true``: the song as hex chunks while it is made, then the summary (API_SPEC.md 2.6).

Exact vendor framing (``data: <json>`` and a blank line, no event names)::

    data: {"data":{"audio":"<hex chunk>","status":1},"trace_id":"...","base_resp":{"status_code":0,"status_msg":""}}
    ...
    data: {"data":{"audio":"<hex of the whole file>","status":2},"extra_info":{...},"trace_id":"...","base_resp":{"status_code":0,"status_msg":"success"}}

The chunks come from the job's persisted bytes (:mod:`songforge.service.streaming`), so they
concatenate to exactly the final file. A job that fails or is cancelled ends the stream with
``data: {"data":null,"trace_id":...,"base_resp":{<non-zero>}}``. A client that goes away only
ends its stream; the job goes on.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from songforge.api.minimax.convert import STATUS_DONE, STATUS_SYNTHESIZING
from songforge.api.minimax.errors import error_body, job_status_of
from songforge.api.minimax.wire import base_resp
from songforge.api.sse import follow_job
from songforge.models import JobStatus
from songforge.service.songs import SongService
from songforge.service.streaming import song_key
from songforge.storage.jobs import Job

__all__ = ["hex_events", "CHUNK_BYTES", "frame"]

CHUNK_BYTES = 64 * 1024
_POLL_S = 1.0


def frame(payload: dict[str, Any]) -> bytes:
    """One SSE event: ``data: <compact json>\\n\\n``."""
    return f"data: {json.dumps(payload, separators=(',', ':'))}\n\n".encode()


def _chunk(piece: bytes, trace_id: str) -> bytes:
    return frame({"data": {"audio": piece.hex(), "status": STATUS_SYNTHESIZING}, "trace_id": trace_id,
                  "base_resp": base_resp(0, "")})


async def _end(service: SongService, job: Job, trace_id: str, info: Callable[[Job], dict[str, int]]) -> bytes:
    key = song_key(job)
    if job.status != JobStatus.SUCCEEDED or key is None:
        return frame({"data": None, **error_body(trace_id, *job_status_of(job.error_code, job.error_message))})
    audio = await asyncio.to_thread(service.blobs.read, key)
    return frame({"data": {"audio": audio.hex(), "status": STATUS_DONE}, "extra_info": info(job),
                  "trace_id": trace_id, "base_resp": base_resp()})


async def hex_events(
    service: SongService, job: Job, *, trace_id: str, info: Callable[[Job], dict[str, int]], poll_s: float = _POLL_S,
) -> AsyncIterator[bytes]:
    """SSE frames for ``job`` until it ends; ``info`` gives the summary's ``extra_info``."""
    async for item in follow_job(service, job, chunk_bytes=CHUNK_BYTES, poll_s=poll_s):
        if isinstance(item, bytes):
            yield _chunk(item, trace_id)
        else:
            job = item
    yield await _end(service, job, trace_id, info)
