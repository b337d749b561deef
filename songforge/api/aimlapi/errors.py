"""AIML's error envelope (API_SPEC.md 4.4).

Every non-2xx answer on the dialect's paths is::

    {"message": "...", "path": "/v2/generate/audio", "requestId": "<uuid4>",
     "statusCode": 400, "timestamp": "2025-03-11T07:13:27.813Z"}

``statusCode`` is an integer (the spec leaves string vs int open; clients compare it with the
HTTP status). Mapping of the songforge exception tree:

=====================================  ====  ==========================================================
error                                  HTTP  message
=====================================  ====  ==========================================================
InvalidRequest (and subclasses)        400   ``Body validation error`` (``Query validation error`` for
                                             GET) then one zod-style issue per line naming field and limit
Unauthorized                           401   ``This request requires a valid API key. ...``
HttpError 403 (no credit system here)  403   ``You've run out of credits. ...``
NotFound                               404   the reason (unknown generation id, ...)
unknown path / method (HttpError)      404+  ``Cannot POST /v2/...`` (status kept: 404 or 405)
Conflict                               409   the reason
HttpError 413 (body over the limit)    413   the reason
RateLimited                            429   ``Too Many Requests: ...`` with ``Retry-After`` (s)
FeatureUnavailable, MissingDependency  503   ``Service unavailable: ...`` -- AIML's word for an API it
                                             cannot serve now; clients treat it as "not here, not your
                                             fault", and the reason says what is missing
anything else                          500   ``Internal server error`` (internals never leak)
=====================================  ====  ==========================================================
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime

from fastapi import Request
from fastapi.responses import JSONResponse

from songforge.api.aimlapi.issues import BodyIssues
from songforge.errors import (
    Conflict,
    FeatureUnavailable,
    HttpError,
    InvalidRequest,
    MissingDependency,
    NotFound,
    RateLimited,
    SongforgeError,
    Unauthorized,
)

__all__ = ["render_error", "error_body", "message_of", "timestamp_ms"]

KEY_HINT = "You can create a new API key with `songforge keys create`."
CREDITS_MESSAGE = "You've run out of credits. Please top up your balance or update your payment method to continue."


def timestamp_ms(now: datetime | None = None) -> str:
    """UTC time as AIML writes it: ISO 8601 with milliseconds and ``Z``."""
    now = now or datetime.now(UTC)
    return now.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def error_body(*, message: str, path: str, status: int) -> dict[str, object]:
    """The envelope, with a fresh request id and the current time."""
    return {"message": message, "path": path, "requestId": str(uuid.uuid4()), "statusCode": status,
            "timestamp": timestamp_ms()}


def render_error(request: Request, exc: SongforgeError) -> JSONResponse:
    """``exc`` as AIML's error response (``Retry-After`` in seconds when rate limited)."""
    status, message = message_of(exc, method=request.method, path=request.url.path)
    headers = {"Retry-After": str(max(1, math.ceil(exc.retry_after_s)))} if isinstance(exc, RateLimited) else None
    return JSONResponse(error_body(message=message, path=request.url.path, status=status), status_code=status,
                        headers=headers)


def message_of(exc: SongforgeError, *, method: str, path: str) -> tuple[int, str]:
    """HTTP status and AIML message for ``exc`` raised by ``method path``."""
    if isinstance(exc, InvalidRequest):
        headline = "Body validation error" if method in ("POST", "PUT", "PATCH") else "Query validation error"
        return 400, f"{headline}\n{_detail(exc)}"
    if isinstance(exc, Unauthorized):
        return 401, f"This request requires a valid API key ({exc.message}). {KEY_HINT}"
    if isinstance(exc, RateLimited):
        return 429, f"Too Many Requests: {exc.message}"
    if isinstance(exc, FeatureUnavailable | MissingDependency):
        return 503, f"Service unavailable: {exc.message}"
    if isinstance(exc, NotFound | Conflict):
        return exc.http_status, exc.message
    if isinstance(exc, HttpError):
        return _http_error(exc, method=method, path=path)
    return 500, "Internal server error"


def _http_error(exc: HttpError, *, method: str, path: str) -> tuple[int, str]:
    if exc.http_status in (404, 405):
        return exc.http_status, f"Cannot {method} {path}"
    if exc.http_status == 403:
        return 403, CREDITS_MESSAGE
    if exc.http_status >= 500:
        return exc.http_status, "Internal server error"
    return exc.http_status, exc.message


def _detail(exc: InvalidRequest) -> str:
    """The issue line(s): as they are for :class:`BodyIssues`; else the message with the broken
    limit and the field's path added where the message does not already say them."""
    if isinstance(exc, BodyIssues):
        return exc.message
    text = exc.message
    if exc.limit and exc.limit not in text:
        text += f" (limit: {exc.limit})"
    if exc.field and f'"{exc.field}"' not in text:
        text += f' at "{exc.field}"'
    return text
