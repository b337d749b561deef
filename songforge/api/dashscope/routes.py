"""The Fun-Music routes: one handler on both documented paths, synchronous JSON or SSE.

Non-streaming (API_SPEC.md 1.4): the request waits for the job and answers::

    {"output": {"audio": {"data": "", "url", "id": "audio_<request_id>", "expires_at": <unix s>},
                "extra_info": {"channels", "sample_rate", "lyrics"}, "finish_reason": "stop"},
     "usage": {"duration": <s of audio>}, "request_id": "<uuid>"}

Streaming (header ``X-DashScope-SSE: enable``, API_SPEC.md 1.5), ``text/event-stream;charset=UTF-8``::

    id:1
    event:result
    :HTTP_STATUS/200
    data:{"output":{"audio":{"data":"<base64>","expires_at":..,"id":..},"finish_reason":"null"},"request_id":..}

    ... one event per piece of the file as it is made, then the final event (the body above with
    ``data: ""``), or ``event:error`` / ``:HTTP_STATUS/<code>`` / ``data:{"code","message","request_id"}``.

The audio pieces come from :func:`songforge.api.sse.follow_job` (the persisted file from byte 0,
followed as it grows), so they concatenate to exactly the file at ``url``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import math
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from songforge.api.auth import ApiKey, service_of
from songforge.api.dashscope.errors import (
    REQUEST_ID_STATE,
    error_body,
    job_failure,
    render_error,
    wire_error,
)
from songforge.api.dashscope.wire import MODELS, FunMusicInput, parse_call
from songforge.api.dialect import as_songforge_error, route_class
from songforge.api.sse import follow_job
from songforge.errors import FeatureUnavailable, InvalidRequest
from songforge.models import JobStatus
from songforge.service.songs import SongService
from songforge.storage.jobs import Job

__all__ = ["router", "PATHS", "SSE_MEDIA_TYPE", "final_body", "chunk_body", "sse_frame", "NAME"]

NAME = "dashscope"
PATHS = ("/api/v1/services/audio/tts/SpeechSynthesizer", "/api/v1/services/audio/music/generation")
SSE_MEDIA_TYPE = "text/event-stream;charset=UTF-8"
_SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}

log = logging.getLogger(__name__)

router = APIRouter(route_class=route_class(render_error), tags=["dashscope"])


def _new_request_id(request: Request) -> str:
    request_id = str(uuid.uuid4())
    setattr(request.state, REQUEST_ID_STATE, request_id)
    return request_id


RequestId = Annotated[str, Depends(_new_request_id)]  # declared first: errors of later steps carry it


# -- bodies -----------------------------------------------------------------------------------

def _dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _expires_of(url: str) -> int:
    return int(parse_qs(urlsplit(url).query)["expires"][0])


def final_body(service: SongService, job: Job, request_id: str) -> dict[str, Any]:
    """The answer for a succeeded job (the non-streaming body and the last streamed event)."""
    result = job.result or {}
    url = service.file_url(result["assets"]["song"])
    audio = {"data": "", "url": url, "id": f"audio_{request_id}", "expires_at": _expires_of(url)}
    extra_info = {"channels": result["channels"], "sample_rate": result["sample_rate_hz"],
                  "lyrics": result.get("lyrics") or ""}
    return {"output": {"audio": audio, "extra_info": extra_info, "finish_reason": "stop"},
            "usage": {"duration": math.ceil(float(result["duration_s"]))}, "request_id": request_id}


def chunk_body(data_b64: str, *, expires_at: int, request_id: str) -> dict[str, Any]:
    """An intermediate streamed event: the next piece of the file, base64."""
    audio = {"data": data_b64, "expires_at": expires_at, "id": f"audio_{request_id}"}
    return {"output": {"audio": audio, "finish_reason": "null"}, "request_id": request_id}


def sse_frame(event_id: int, event: str, http_status: int, data: dict[str, Any]) -> bytes:
    """One event in DashScope's framing (no space after the colons, a blank line after)."""
    return f"id:{event_id}\nevent:{event}\n:HTTP_STATUS/{http_status}\ndata:{_dumps(data)}\n\n".encode()


# -- the route --------------------------------------------------------------------------------

async def fun_music(request: Request, request_id: RequestId, key: ApiKey) -> Response:
    """Make a song from lyrics or a prompt; answer when it is done, or stream it as it is made."""
    if request.headers.get("x-dashscope-async", "").lower() == "enable":
        raise FeatureUnavailable("current user api does not support asynchronous calls")
    stream = request.headers.get("x-dashscope-sse", "").lower() == "enable"
    call = parse_call(await _json_body(request), stream=stream)
    service = service_of(request)
    [job] = await asyncio.to_thread(service.submit, call.song, dialect=NAME, key=key)
    if stream:
        return StreamingResponse(_sse(service, job, request_id), media_type=SSE_MEDIA_TYPE, headers=_SSE_HEADERS)
    done = await service.wait(job.id)
    if done.status != JobStatus.SUCCEEDED:
        raise job_failure(done.error_code, done.error_message)
    return JSONResponse(final_body(service, done, request_id))


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw)
    except ValueError:
        raise InvalidRequest("The request body is not valid JSON.", field=None, limit="a JSON object") from None


def _openapi_body() -> dict[str, Any]:
    """The body's schema for the OpenAPI document (the handler reads the body itself, so that each
    problem gets DashScope's own error code)."""
    schema = {"type": "object", "required": ["model", "input"], "properties": {
        "model": {"type": "string", "enum": list(MODELS)}, "input": FunMusicInput.model_json_schema(),
        "parameters": {"type": "object", "description": "Accepted and ignored."}}}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


for _path in PATHS:
    router.add_api_route(
        _path, fun_music, methods=["POST"], summary="Fun-Music: make a song (DashScope wire format)",
        response_class=JSONResponse, openapi_extra=_openapi_body(),
        responses={200: {"content": {"text/event-stream": {}}}, 400: {}, 401: {}, 404: {}, 429: {}, 500: {}},
    )


# -- streaming --------------------------------------------------------------------------------

async def _sse(service: SongService, job: Job, request_id: str) -> AsyncIterator[bytes]:
    """DashScope events for ``job`` until it ends (``event:error`` on failure, then close)."""
    expires_at = service.signer.expiry()
    event_id = 0
    try:
        async for item in follow_job(service, job):
            if isinstance(item, bytes):
                event_id += 1
                yield sse_frame(event_id, "result", 200, chunk_body(base64.b64encode(item).decode(),
                                                                     expires_at=expires_at, request_id=request_id))
            else:
                job = item
        event_id += 1
        if job.status == JobStatus.SUCCEEDED:
            yield sse_frame(event_id, "result", 200, final_body(service, job, request_id))
        else:
            failure = job_failure(job.error_code or job.status.value,
                                  job.error_message or f"the job was {job.status.value}")
            yield _error_frame(event_id, failure, request_id)
    except Exception as exc:  # the stream has started: report in-band, then close
        log.error("dashscope stream of job %s failed", job.id, exc_info=exc)
        yield _error_frame(event_id + 1, as_songforge_error(exc), request_id)


def _error_frame(event_id: int, exc: Exception, request_id: str) -> bytes:
    error = wire_error(as_songforge_error(exc))
    return sse_frame(event_id, "error", error.http_status, error_body(error, request_id))
