"""The sunoapi.org Suno dialect (API_SPEC.md section 3).

Modules: :mod:`.wire` (bodies, limits, envelope and codes), :mod:`.convert` (wire -> canonical
requests), :mod:`.views` (jobs -> tracks, statuses, callbacks), :mod:`.music` (music tasks: a pair
of jobs under one ``taskId``), :mod:`.runtime` (task table, ordered callbacks, background work),
:mod:`.routes` (music, lyrics, extras, files). Callbacks are sent by this dialect's own bus
listener (the service's dispatcher gets a renderer that sends nothing), so that the text, first
and complete stages go out in order and once each.
"""

from __future__ import annotations

from collections.abc import Callable

from songforge.api.dialect import Dialect
from songforge.api.suno.errors import render_error
from songforge.api.suno.routes import build_router
from songforge.api.suno.runtime import close_runtime
from songforge.service.callbacks import Renderer
from songforge.service.songs import SongService

__all__ = ["dialect", "router", "NAME", "render_error"]

NAME = "suno"

router = build_router()


def _callbacks(service: SongService) -> Renderer:
    """Attach the dialect's listener to the service's bus; the dispatcher's renderer sends nothing."""
    from songforge.api.suno.music import on_job_event
    from songforge.api.suno.runtime import runtime_of

    runtime = runtime_of(service)
    service.bus.add_listener(lambda event: on_job_event(runtime, event))
    return lambda job, event: None


def dialect() -> Dialect:
    """This dialect, for the app."""
    factory: Callable[[SongService], Renderer] = _callbacks
    return Dialect(name=NAME, router=router, prefixes=("/api/v1/", "/api/file-"), render_error=render_error,
                   callback_renderer=factory, on_stop=close_runtime)
