"""The HTTP side of upstream routing.

* ``X-Songforge-Upstream``: the per-request choice of upstream backends. A pure ASGI middleware
  puts the header's value in :data:`songforge.upstream.routing.requested_route` for the duration of
  the request, where :class:`~songforge.upstream.routing.Router` reads it when the job is
  submitted. Whether the header is honoured at all is the routing table's ``"header"`` switch.
* ``POST /upstream/callback``: where asynchronous upstreams (sunoapi.org requires a
  ``callBackUrl``) post their results. It acknowledges them and nothing more: vendor callbacks
  carry no signature, so anyone could post one; the runner takes the result from the vendor's own
  authenticated record-info instead (polling).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter

from songforge.upstream.config import CALLBACK_PATH
from songforge.upstream.routing import HEADER, requested_route

__all__ = ["UpstreamHeaderMiddleware", "router", "CALLBACK_PATH"]

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)


@router.post(CALLBACK_PATH)
async def upstream_callback() -> dict[str, Any]:
    """Acknowledge an upstream's callback (its content is not trusted; see the module notes)."""
    log.info("an upstream callback was acknowledged")
    return {"code": 200, "msg": "success"}

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
