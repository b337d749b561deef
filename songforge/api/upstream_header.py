"""``X-Songforge-Upstream``: the per-request choice of upstream backends, handed to the router.

A pure ASGI middleware puts the header's value in
:data:`songforge.upstream.routing.requested_route` for the duration of the request, where
:class:`~songforge.upstream.routing.Router` reads it when the job is submitted. Whether the
header is honoured at all is the routing table's ``"header"`` switch.
"""

from __future__ import annotations

from typing import Any

from songforge.upstream.routing import HEADER, requested_route

__all__ = ["UpstreamHeaderMiddleware"]

_HEADER_BYTES = HEADER.encode()


class UpstreamHeaderMiddleware:
    """Expose the request's ``X-Songforge-Upstream`` header to the service layer."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        value = next((v.decode("latin-1") for k, v in scope.get("headers", ()) if k.lower() == _HEADER_BYTES), None)
        token = requested_route.set(value)
        try:
            await self.app(scope, receive, send)
        finally:
            requested_route.reset(token)
