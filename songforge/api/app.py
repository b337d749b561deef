"""The ASGI application: ``create_app(settings)`` builds everything; nothing happens at import.

Routes: the native API (:mod:`songforge.api.native`, ``/v1/...``), the vendor dialects of
:data:`DIALECT_MODULES` (each on its own paths, with its own errors and callbacks), signed file downloads
(:mod:`songforge.api.files`, ``/files/...``) and the operational endpoints ``/healthz`` (the
process is up), ``/readyz`` (database, file store and workers usable) and ``/metrics``
(Prometheus, :mod:`songforge.api.metrics`). Middleware, outermost first: HTTP latency metrics,
then the body size limit (413 before a body is read). Errors render in one envelope
(:mod:`songforge.api.errors`). The lifespan starts the worker pool, the callback dispatcher and
the periodic janitor, and stops them in reverse.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from songforge import __version__
from songforge.api import files, native, studio
from songforge.api import upstream as upstream_api
from songforge.api.dialect import Dialect
from songforge.api.errors import install_error_handlers
from songforge.api.metrics import HttpMetricsMiddleware, Metrics
from songforge.api.middleware import BodyLimitMiddleware
from songforge.config import Settings
from songforge.service.callbacks import Renderer
from songforge.service.pipeline import Generate
from songforge.service.songs import SongService, build_service

__all__ = ["create_app", "load_dialects", "callback_renderers", "JANITOR_INTERVAL_S", "DIALECT_MODULES"]

# vendor dialects: each module exposes ``dialect() -> Dialect`` (see songforge.api.dialect)
DIALECT_MODULES = (
    "songforge.api.dashscope", "songforge.api.minimax", "songforge.api.suno", "songforge.api.aimlapi",
)

log = logging.getLogger(__name__)
JANITOR_INTERVAL_S = 3600.0


async def _janitor_forever(service: SongService, interval_s: float) -> None:
    while True:
        try:
            report = await asyncio.to_thread(service.janitor)
            log.info("janitor removed %d jobs, %d files", report.jobs_deleted, report.files_deleted)
        except Exception:
            log.exception("janitor pass failed")
        await asyncio.sleep(interval_s)


def _readiness(service: SongService, *, run_workers: bool) -> dict[str, bool]:
    checks = {"database": True, "files": True, "workers": True}
    try:
        service.store.ping()
    except Exception:
        checks["database"] = False
    root = service.blobs.root
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = root / ".ready-probe"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError:
        checks["files"] = False
    if run_workers:
        checks["workers"] = service.pool is not None and service.pool.alive
    return checks


def load_dialects() -> tuple[Dialect, ...]:
    """The vendor dialects of :data:`DIALECT_MODULES`."""
    return tuple(importlib.import_module(name).dialect() for name in DIALECT_MODULES)


def callback_renderers(service: SongService, dialects: tuple[Dialect, ...]) -> dict[str, Renderer]:
    """Each dialect's callback body (the native view for native jobs); API and worker processes."""
    renderers: dict[str, Renderer] = {"native": lambda job, event: native.song_view(service, job)}
    for dialect in dialects:
        if dialect.callback_renderer is not None:
            renderers[dialect.name] = dialect.callback_renderer(service)
    return renderers


def create_app(
    settings: Settings, *, service: SongService | None = None, generate: Generate | None = None,
    run_workers: bool = True, janitor_interval_s: float = JANITOR_INTERVAL_S,
) -> FastAPI:
    """Build the application for ``settings``.

    Parameters
    ----------
    service : a prebuilt service (default: :func:`~songforge.service.songs.build_service`).
    generate : engine entry point for the workers (default ``make_song``).
    run_workers : run the worker pool in this process (off for an API-only process).
    janitor_interval_s : seconds between janitor passes.
    """
    service = service or build_service(settings)
    run_workers = run_workers and not settings.broker_url  # with a broker, workers run jobs
    dialects = load_dialects()
    renderers = callback_renderers(service, dialects)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(
            service.start, generate=generate, run_workers=run_workers, callback_renderers=renderers
        )
        janitor = asyncio.create_task(_janitor_forever(service, janitor_interval_s))
        try:
            yield
        finally:
            janitor.cancel()
            for dialect in dialects:
                if dialect.on_stop is not None:
                    await asyncio.to_thread(dialect.on_stop, service)
            await asyncio.to_thread(service.stop)

    app = FastAPI(
        title="songforge", version=__version__, lifespan=lifespan,
        description="Offline song generation. Authenticate with `Authorization: Bearer <API key>`.",
    )
    app.state.settings = settings
    app.state.service = service
    app.state.dialects = dialects
    metrics = Metrics(service)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(upstream_api.UpstreamHeaderMiddleware)  # X-Songforge-Upstream -> the router
    app.add_middleware(HttpMetricsMiddleware, metrics=metrics)  # added last: outermost
    install_error_handlers(app)
    app.include_router(native.router)
    app.include_router(files.router)
    app.include_router(upstream_api.router)  # acknowledges upstream callbacks
    for dialect in dialects:
        app.include_router(dialect.router)
    _add_operational_routes(app, service, metrics, run_workers=run_workers)
    studio.install(app)  # the web page at / (songforge/web) and its two native routes
    return app


def _add_operational_routes(app: FastAPI, service: SongService, metrics: Metrics, *, run_workers: bool) -> None:
    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "version": __version__}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> JSONResponse:
        checks = await asyncio.to_thread(_readiness, service, run_workers=run_workers)
        ready = all(checks.values())
        body = {"status": "ready" if ready else "not_ready", "checks": checks}
        return JSONResponse(body, status_code=200 if ready else 503)

    @app.get("/metrics", include_in_schema=False)
    async def metrics_text() -> Response:
        data = await asyncio.to_thread(generate_latest, metrics.registry)
        return Response(data, media_type=CONTENT_TYPE_LATEST)
