"""Errors of the Suno dialect: the vendor envelopes and the credit error."""

from __future__ import annotations

from fastapi import Request, Response
from fastapi.routing import APIRoute

from songforge.api.dialect import route_class
from songforge.api.suno.wire import envelope, error_code, upload_envelope
from songforge.errors import SongforgeError

__all__ = ["render_error", "InsufficientCredits", "ROUTE_CLASS", "UPLOAD_PREFIX"]

UPLOAD_PREFIX = "/api/file-"


class InsufficientCredits(SongforgeError):
    """The key's credits do not cover the request (envelope code 429)."""

    code = "insufficient_credits"
    http_status = 402


def render_error(request: Request, exc: SongforgeError) -> Response:
    """``{"code", "msg", "data": null}`` (HTTP 200); the upload host: ``{"success": false, "code", "msg"}``."""
    code = 429 if isinstance(exc, InsufficientCredits) else error_code(exc)
    if request.url.path.startswith(UPLOAD_PREFIX):
        upload_code = code if code in (400, 401) else (500 if code >= 500 or code == 455 else 400)
        return upload_envelope(upload_code, exc.message)
    return envelope(code, exc.message, None)


ROUTE_CLASS: type[APIRoute] = route_class(render_error)
