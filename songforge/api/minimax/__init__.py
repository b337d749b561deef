"""The MiniMax music dialect (API_SPEC.md section 2)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from songforge.api.dialect import Dialect, route_class
from songforge.errors import SongforgeError

__all__ = ["dialect", "router", "NAME"]

NAME = "minimax"


def render_error(request: Request, exc: SongforgeError) -> Response:
    """(skeleton) the vendor's error envelope."""
    return JSONResponse({"message": exc.message}, status_code=exc.http_status)


router = APIRouter(route_class=route_class(render_error), tags=["minimax"])


def dialect() -> Dialect:
    """This dialect, for the app."""
    return Dialect(name=NAME, router=router, prefixes=("/v1/music_", "/v1/lyrics_generation"), render_error=render_error)
