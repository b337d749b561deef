"""ASGI middleware: refuse oversized request bodies before they are read into memory.

A declared ``Content-Length`` over the limit is answered 413 at once, without reading a byte; a
body without one (chunked) is counted as it streams in and cut off with 413 as soon as it passes
the limit. The 413 is a Starlette ``HTTPException``, so the app renders it in its error envelope.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from songforge.api.errors import error_body

__all__ = ["BodyLimitMiddleware", "BodyTooLarge"]


class BodyTooLarge(HTTPException):
    """The request body is over the limit (HTTP 413)."""

    def __init__(self, limit_bytes: int) -> None:
        super().__init__(413, f"the request body is larger than the limit of {limit_bytes} bytes")
        self.limit = f"{limit_bytes} bytes"


class BodyLimitMiddleware:
    """Refuse request bodies larger than ``max_bytes`` with 413.

    Parameters
    ----------
    app : the wrapped ASGI app.
    max_bytes : the largest body accepted (``Settings.max_body_bytes``).
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await _send_413(scope, receive, send, self.max_bytes)
            return
        await self.app(scope, self._counting(receive), send)

    def _counting(self, receive: Receive) -> Receive:
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        return counted


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _send_413(scope: Scope, receive: Receive, send: Send, limit_bytes: int) -> None:
    """413 in the envelope of the dialect owning the path (the native one otherwise)."""
    from songforge.api.dialect import as_songforge_error, dialect_for_path, dialects_of

    refusal = BodyTooLarge(limit_bytes)
    app = scope.get("app")
    dialect = dialect_for_path(dialects_of(app), scope.get("path", "")) if app is not None else None
    if dialect is not None:
        response = dialect.render_error(Request(scope), as_songforge_error(refusal))
        response.headers["connection"] = "close"
        await response(scope, receive, send)
        return
    body: dict[str, Any] = error_body("payload_too_large", refusal.detail, limit=refusal.limit)
    data = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
               (b"connection", b"close")]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": data})
