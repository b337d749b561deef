"""MiniMax's error envelope (API_SPEC.md 2.10) and trace ids.

Business errors are HTTP 200 with a non-zero ``base_resp`` (official clients call
``raise_for_status()`` and then read ``base_resp``)::

    {"trace_id": "<32 hex>", "base_resp": {"status_code": 2013, "status_msg": "invalid params, ..."}}

Only refusals outside any route keep their HTTP status (unknown path 404, wrong method 405, body
too large 413), with the same body. Every response carries the ``Trace-Id`` header.

Mapping: rate limits 1002; missing/bad key 1004; content rules 1026; bad input, unknown ids and
rejected reference audio 2013 (the message names the limit); a feature this installation cannot
provide (e.g. reference audio before it is enabled) 2044 "no permission"; a missing system part
1033; engine failures 1024 (a timed-out job 1001); anything unexpected 1000.
"""

from __future__ import annotations

import math
import uuid
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from songforge.errors import (
    FeatureUnavailable,
    GenerationFailed,
    HttpError,
    InvalidRequest,
    MissingDependency,
    NotFound,
    RateLimited,
    SensitiveContent,
    SongforgeError,
    Unauthorized,
)

__all__ = [
    "TRACE_HEADER", "trace_id_of", "status_of", "job_status_of", "error_body", "render_error",
    "INVALID_PARAMS", "RATE_LIMIT", "AUTH", "SENSITIVE", "INTERNAL", "UNKNOWN", "TIMEOUT", "NO_PERMISSION",
]

TRACE_HEADER = "Trace-Id"
UNKNOWN, TIMEOUT, RATE_LIMIT, AUTH, INTERNAL, SENSITIVE = 1000, 1001, 1002, 1004, 1024, 1026
SYSTEM, INVALID_PARAMS, NO_PERMISSION = 1033, 2013, 2044
_KEPT_HTTP_STATUSES = (404, 405, 413)
# a failed job's error_code -> base_resp status_code (anything else: INTERNAL)
_JOB_CODES = {
    "sensitive_content": SENSITIVE, "timeout": TIMEOUT, "invalid_request": INVALID_PARAMS,
    "content_too_long": INVALID_PARAMS, "unsupported_format": INVALID_PARAMS,
    "reference_rejected": INVALID_PARAMS, "feature_unavailable": NO_PERMISSION,
    "missing_dependency": SYSTEM, "cancelled": UNKNOWN,
}
_PREFIXES = {
    UNKNOWN: "unknown error", TIMEOUT: "request timeout", RATE_LIMIT: "rate limit exceeded",
    AUTH: "authorization failed", INTERNAL: "internal error", SENSITIVE: "input new_sensitive",
    SYSTEM: "system error", INVALID_PARAMS: "invalid params", NO_PERMISSION: "no permission",
}


def trace_id_of(request: Request) -> str:
    """This request's trace id (32 hex digits), made once and kept on the request."""
    trace_id: str | None = getattr(request.state, "minimax_trace_id", None)
    if trace_id is None:
        trace_id = uuid.uuid4().hex
        request.state.minimax_trace_id = trace_id
    return trace_id


def _code_of(exc: SongforgeError) -> int:
    if isinstance(exc, HttpError):
        return INVALID_PARAMS if exc.http_status == 413 else UNKNOWN
    if isinstance(exc, GenerationFailed):
        return TIMEOUT if exc.reason == "timeout" else INTERNAL
    for kind, code in ((RateLimited, RATE_LIMIT), (Unauthorized, AUTH), (SensitiveContent, SENSITIVE),
                       (InvalidRequest, INVALID_PARAMS), (NotFound, INVALID_PARAMS),
                       (FeatureUnavailable, NO_PERMISSION), (MissingDependency, SYSTEM)):
        if isinstance(exc, kind):
            return code
    return UNKNOWN


def _message(code: int, message: str, limit: str | None = None) -> str:
    text = f"{_PREFIXES[code]}, {message}"
    return f"{text} (limit: {limit})" if limit and limit not in message else text


def status_of(exc: SongforgeError) -> tuple[int, str]:
    """``(status_code, status_msg)`` for a songforge error; the message names any limit."""
    code = _code_of(exc)
    return code, _message(code, exc.message, getattr(exc, "limit", None))


def job_status_of(error_code: str | None, error_message: str | None) -> tuple[int, str]:
    """``(status_code, status_msg)`` for a job that did not succeed."""
    code = _JOB_CODES.get(error_code or "", INTERNAL)
    return code, _message(code, error_message or error_code or "the song could not be made")


def error_body(trace_id: str, status_code: int, status_msg: str) -> dict[str, Any]:
    """The error envelope."""
    return {"trace_id": trace_id, "base_resp": {"status_code": status_code, "status_msg": status_msg}}


def render_error(request: Request, exc: SongforgeError) -> Response:
    """A songforge error in MiniMax's envelope (see the module docstring)."""
    trace_id = trace_id_of(request)
    headers = {TRACE_HEADER: trace_id}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after_s)))
    http_status = exc.http_status if isinstance(exc, HttpError) and exc.http_status in _KEPT_HTTP_STATUSES else 200
    return JSONResponse(error_body(trace_id, *status_of(exc)), status_code=http_status, headers=headers)
