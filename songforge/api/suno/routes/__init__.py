"""The Suno dialect's routes, one module per family: music, lyrics, extras, files."""

from __future__ import annotations

from fastapi import APIRouter

from songforge.api.suno.errors import ROUTE_CLASS

__all__ = ["build_router"]


def build_router() -> APIRouter:
    """All routes of the dialect in one router."""
    from songforge.api.suno.routes import extras, files, lyrics, music

    router = APIRouter(route_class=ROUTE_CLASS, tags=["suno"])
    for module in (music, lyrics, extras, files):
        router.include_router(module.router)
    return router
