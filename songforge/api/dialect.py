"""What a vendor dialect plugs into the app: its routes, its error envelope, its callback bodies.

Each dialect module (``api/dashscope.py``, ``api/minimax``, ``api/suno``, ``api/aimlapi.py``)
exposes ``dialect() -> Dialect``. The app mounts the router and sends every failure on the
dialect's paths through ``render_error``:

* errors raised while a route runs (validation, auth, rate limits, engine refusals) are caught by
  :func:`route_class`, which the dialect's router must use (``APIRouter(route_class=...)``);
* errors raised outside any route (unknown path or method under the dialect's prefixes, a body
  over the size limit, an unexpected exception) are routed here by the app's handlers through
  :func:`dialect_for_path`.

Errors reach ``render_error`` as :class:`~songforge.errors.SongforgeError` (HTTP-level ones as
:class:`~songforge.errors.HttpError`), so a dialect maps one exception tree onto its envelope.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from songforge.errors import HttpError, InvalidRequest, SongforgeError

if TYPE_CHECKING:
    from songforge.service.callbacks import Renderer
    from songforge.service.songs import SongService

__all__ = ["Dialect", "ErrorRenderer", "route_class", "as_songforge_error", "dialect_for_path", "dialects_of"]

log = logging.getLogger(__name__)

ErrorRenderer = Callable[[Request, SongforgeError], Response]


@dataclass(frozen=True)
class Dialect:
    """A vendor dialect.

    Parameters
    ----------
    name : the dialect's name, stored on its jobs (``Job.dialect``) and used for callbacks.
    router : its routes (built with ``route_class=route_class(render_error)``).
    prefixes : URL path prefixes it owns, for errors raised outside a route (404, 405, 413).
    render_error : a songforge error as the vendor's error response.
    callback_renderer : given the service, the function building the vendor's callback body for
        a job event (``None`` from it: no callback for that event); ``None``: no callbacks.
    on_stop : called with the service when the app stops (finish background work the dialect
        keeps, e.g. callback deliveries); ``None``: nothing to stop.
    """

    name: str
    router: APIRouter
    prefixes: tuple[str, ...]
    render_error: ErrorRenderer
    callback_renderer: Callable[[SongService], Renderer] | None = None
    on_stop: Callable[[SongService], None] | None = None


def as_songforge_error(exc: BaseException) -> SongforgeError:
    """Any failure while handling a request as a songforge error (unexpected ones: HTTP 500)."""
    from songforge.api.errors import validation_error

    if isinstance(exc, SongforgeError):
        return exc
    if isinstance(exc, RequestValidationError):
        return validation_error(exc)
    if isinstance(exc, StarletteHTTPException):
        return HttpError(str(exc.detail), http_status=exc.status_code, limit=getattr(exc, "limit", None))
    if isinstance(exc, RecursionError):  # json.loads of a body nested thousands of levels deep
        return InvalidRequest("the request body is nested too deeply to read", limit="JSON nested less deeply")
    return HttpError("an internal error occurred", http_status=500)


def route_class(render_error: ErrorRenderer) -> type[APIRoute]:
    """An ``APIRoute`` subclass whose handlers render every failure with ``render_error``."""

    class DialectRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def handle(request: Request) -> Response:
                try:
                    return await handler(request)
                except Exception as exc:
                    if not isinstance(exc, (SongforgeError, RequestValidationError, StarletteHTTPException,
                                            RecursionError)):
                        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
                    return render_error(request, as_songforge_error(exc))

            return handle

    return DialectRoute


def dialect_for_path(dialects: Iterable[Dialect], path: str) -> Dialect | None:
    """The dialect owning ``path`` (longest matching prefix), or ``None`` for the native API."""
    best: tuple[int, Dialect] | None = None
    for dialect in dialects:
        for prefix in dialect.prefixes:
            if path.startswith(prefix) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), dialect)
    return best[1] if best else None


def dialects_of(app: Any) -> tuple[Dialect, ...]:
    """The dialects mounted on ``app`` (a FastAPI/Starlette app)."""
    return tuple(getattr(app.state, "dialects", ()))
