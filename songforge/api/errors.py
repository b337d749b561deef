"""The native error envelope and the handlers that render every failure in it.

::

    HTTP 4xx/5xx
    {"error": {"code": "invalid_request", "message": "...", "field": "duration_s", "limit": "10-480 s"}}

:class:`~songforge.errors.SongforgeError` subclasses carry their own code and status; pydantic
validation errors become 400 ``invalid_request`` with the field and the broken limit; Starlette's
HTTP errors (404 route, 405, 413 body) keep their status; anything else is a 500 that does not leak
internals. A :class:`~songforge.errors.RateLimited` error adds ``Retry-After``.
"""

from __future__ import annotations

import logging
import math
from typing import Any, cast

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from songforge.errors import InvalidRequest, RateLimited, SongforgeError

__all__ = ["install_error_handlers", "error_response", "error_body", "validation_error"]

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "invalid_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "payload_too_large", 415: "unsupported_media_type",
    416: "range_not_satisfiable", 429: "rate_limited",
}
_LIMITS = {  # pydantic error context key -> how the limit reads
    "ge": ">= {}", "gt": "> {}", "le": "<= {}", "lt": "< {}", "max_length": "at most {} characters",
    "min_length": "at least {} characters", "expected": "{}", "pattern": "matching {}",
}


def error_body(code: str, message: str, *, field: str | None = None, limit: str | None = None) -> dict[str, Any]:
    """The envelope ``{"error": {"code", "message", "field", "limit"}}``."""
    return {"error": {"code": code, "message": message, "field": field, "limit": limit}}


def error_response(exc: SongforgeError) -> JSONResponse:
    """A songforge error as a JSON response with its status (and ``Retry-After`` when rate limited)."""
    field = getattr(exc, "field", None) if isinstance(exc, InvalidRequest) else None
    limit = getattr(exc, "limit", None) if isinstance(exc, InvalidRequest) else None
    headers = {"Retry-After": str(max(1, math.ceil(exc.retry_after_s)))} if isinstance(exc, RateLimited) else None
    body = error_body(exc.code, exc.message, field=field, limit=limit)
    return JSONResponse(body, status_code=exc.http_status, headers=headers)


def validation_error(exc: RequestValidationError) -> InvalidRequest:
    """The first pydantic error as an :class:`InvalidRequest` naming the field and the limit."""
    first = exc.errors()[0] if exc.errors() else {}
    loc = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path", "header")]
    field = ".".join(loc) or None
    if first.get("type") == "json_invalid":
        return InvalidRequest("the request body is not valid JSON", field=None, limit="a JSON object")
    ctx = first.get("ctx") or {}
    limits = [template.format(ctx[key]) for key, template in _LIMITS.items() if key in ctx]
    limit = ", ".join(limits) or None
    message = str(first.get("msg", "invalid input"))
    return InvalidRequest(f"{field}: {message}" if field else message, field=field, limit=limit)


def _dialect_response(request: Request, exc: Exception) -> Response | None:
    """The owning dialect's rendering of ``exc`` when ``request`` is on a dialect's path."""
    from songforge.api.dialect import as_songforge_error, dialect_for_path, dialects_of

    dialect = dialect_for_path(dialects_of(request.app), request.url.path)
    return dialect.render_error(request, as_songforge_error(exc)) if dialect else None


async def _songforge_error(request: Request, exc: Exception) -> Response:
    return _dialect_response(request, exc) or error_response(cast(SongforgeError, exc))


async def _validation_error(request: Request, exc: Exception) -> Response:
    return _dialect_response(request, exc) or error_response(validation_error(cast(RequestValidationError, exc)))


async def _http_error(request: Request, exc: Exception) -> Response:
    dialect_response = _dialect_response(request, exc)
    if dialect_response is not None:
        return dialect_response
    exc = cast(StarletteHTTPException, exc)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    body = error_body(code, str(exc.detail), limit=getattr(exc, "limit", None))
    return JSONResponse(body, status_code=exc.status_code, headers=getattr(exc, "headers", None))


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    from songforge.api.dialect import as_songforge_error

    known = as_songforge_error(exc)
    if known.http_status < 500:  # a failure of the input found late (a body nested too deeply)
        return _dialect_response(request, exc) or error_response(known)
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _dialect_response(request, exc) or JSONResponse(error_body("internal_error", "an internal error occurred"), status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    """Render every error raised while handling a request in the native envelope, or in the
    envelope of the dialect owning the path (:mod:`songforge.api.dialect`)."""
    app.add_exception_handler(SongforgeError, _songforge_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
