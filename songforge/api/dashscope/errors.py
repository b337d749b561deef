"""DashScope's error envelope (API_SPEC.md 1.6) and the mapping of songforge errors onto it.

::

    HTTP 4xx/5xx  application/json
    {"code": "InvalidParameter", "message": "Range of input length should be [5, 350]: ...",
     "request_id": "<uuid>"}

==========================================  ======  ==========================
songforge error                             HTTP    code
==========================================  ======  ==========================
InvalidRequest, field model, limit required   400   BadRequest.EmptyModel
InvalidRequest, field input, limit required   400   BadRequest.EmptyInput
SensitiveContent                              400   DataInspectionFailed
other InvalidRequest                          400   InvalidParameter
Unauthorized                                  401   InvalidApiKey
FeatureUnavailable (X-DashScope-Async)        403   AccessDenied
NotFound, HttpError 404 (model or path)       404   ModelNotFound
HttpError 405 / 413                         405/413 InvalidParameter
RateLimited (with Retry-After)                429   Throttling
GenerationFailed, anything else               500   InternalError
==========================================  ======  ==========================
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from songforge.errors import (
    FeatureUnavailable,
    GenerationFailed,
    HttpError,
    InvalidRequest,
    NotFound,
    RateLimited,
    SensitiveContent,
    SongforgeError,
    Unauthorized,
)

__all__ = ["WireError", "wire_error", "error_body", "render_error", "request_id_of", "job_failure",
           "REQUEST_ID_STATE"]

REQUEST_ID_STATE = "dashscope_request_id"
_EMPTY_CODES = {"model": "BadRequest.EmptyModel", "input": "BadRequest.EmptyInput"}
_INSPECTION_MESSAGE = "Input or output data may contain inappropriate content."
_API_KEY_MESSAGE = "Invalid API-key provided."
_THROTTLING_MESSAGE = "Requests rate limit exceeded, please try again later."
_INTERNAL_MESSAGE = "An internal error has occured, please try again later or contact service support."
# job error codes (songforge codes stored on failed jobs) that are the caller's fault
_UNEXPECTED_JOB_CODE = "engine_error"
_INPUT_JOB_CODES = {InvalidRequest.code, "content_too_long", "unsupported_format", "reference_rejected"}


@dataclass(frozen=True)
class WireError:
    """A DashScope error: HTTP status, code, message (and ``Retry-After`` seconds for 429)."""

    http_status: int
    code: str
    message: str
    retry_after_s: int | None = None


def wire_error(exc: SongforgeError) -> WireError:
    """The DashScope error for a songforge error (see the module's table)."""
    if isinstance(exc, SensitiveContent):
        return WireError(400, "DataInspectionFailed", f"{_INSPECTION_MESSAGE} {exc.message}")
    if isinstance(exc, InvalidRequest):
        empty = _EMPTY_CODES.get(exc.field or "") if exc.limit == "required" else None
        return WireError(400, empty or "InvalidParameter", exc.message)
    if isinstance(exc, Unauthorized):
        return WireError(401, "InvalidApiKey", _API_KEY_MESSAGE)
    if isinstance(exc, RateLimited):
        return WireError(429, "Throttling", f"{_THROTTLING_MESSAGE} ({exc.message})",
                         retry_after_s=max(1, math.ceil(exc.retry_after_s)))
    if isinstance(exc, FeatureUnavailable):
        return WireError(403, "AccessDenied", exc.message)
    if isinstance(exc, NotFound) or (isinstance(exc, HttpError) and exc.http_status == 404):
        return WireError(404, "ModelNotFound", exc.message if isinstance(exc, NotFound) else _path_message(exc))
    if isinstance(exc, HttpError) and 400 <= exc.http_status < 500:
        return WireError(exc.http_status, "InvalidParameter", _http_message(exc))
    if isinstance(exc, GenerationFailed):
        return WireError(500, "InternalError", exc.message)
    return WireError(500, "InternalError", _INTERNAL_MESSAGE)


def _path_message(exc: HttpError) -> str:
    return f"Model or path not found ({exc.message})."


def _http_message(exc: HttpError) -> str:
    return f"{exc.message} (limit: {exc.limit})" if exc.limit else exc.message


def error_body(error: WireError, request_id: str) -> dict[str, Any]:
    """``{"code", "message", "request_id"}``."""
    return {"code": error.code, "message": error.message, "request_id": request_id}


def request_id_of(request: Request) -> str:
    """The request's id (set by the route's dependency), or a fresh one for errors outside a route."""
    request_id = getattr(request.state, REQUEST_ID_STATE, None)
    return str(request_id) if request_id else str(uuid.uuid4())


def render_error(request: Request, exc: SongforgeError) -> Response:
    """A songforge error as DashScope's JSON error response (``Retry-After`` when throttled)."""
    error = wire_error(exc)
    headers = {"Retry-After": str(error.retry_after_s)} if error.retry_after_s is not None else None
    return JSONResponse(error_body(error, request_id_of(request)), status_code=error.http_status, headers=headers)


def job_failure(code: str | None, message: str | None) -> SongforgeError:
    """The songforge error of a job that failed with ``code`` (``Job.error_code``) and ``message``."""
    text = message or code or "the job failed"
    if code == SensitiveContent.code:
        return SensitiveContent(text)
    if code in _INPUT_JOB_CODES:
        return InvalidRequest(text)
    if code in (None, _UNEXPECTED_JOB_CODE):  # an engine bug: its details stay in the server's log
        return GenerationFailed(_INTERNAL_MESSAGE, reason=_UNEXPECTED_JOB_CODE)
    return GenerationFailed(text, reason=code)
