"""The ASGI application: ``create_app(settings)`` builds everything; nothing happens at import.

So far it serves the operational endpoints only: ``/healthz`` (the process is up), ``/readyz``
(database, file store and workers usable) and ``/metrics`` (Prometheus text format).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from songforge import __version__
from songforge.config import Settings
from songforge.service.lifecycle import EVENT_STATUS, JobEvent
from songforge.service.pipeline import Generate
from songforge.service.songs import SongService, build_service

__all__ = ["create_app", "JANITOR_INTERVAL_S"]

log = logging.getLogger(__name__)
JANITOR_INTERVAL_S = 3600.0


class _JobCollector(Collector):
    """Job counts by status and live workers, read at scrape time."""

    def __init__(self, service: SongService) -> None:
        self.service = service

    def collect(self) -> Iterator[GaugeMetricFamily]:
        jobs = GaugeMetricFamily("songforge_jobs", "Jobs by status", labels=["status"])
        for status, count in self.service.store.count_by_status().items():
            jobs.add_metric([status.value], count)
        yield jobs
        pool = self.service.pool
        yield GaugeMetricFamily("songforge_workers", "Worker processes", value=pool.size if pool else 0)
        busy = len(pool.running) if pool else 0
        yield GaugeMetricFamily("songforge_workers_busy", "Workers running a job", value=busy)


def _metrics(service: SongService) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(_JobCollector(service))
    changes = Counter(
        "songforge_job_status_changes", "Job status changes", ["status"], registry=registry
    )

    def count(event: JobEvent) -> None:
        if event.kind == EVENT_STATUS:
            changes.labels(event.status.value).inc()

    service.bus.add_listener(count)
    return registry


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

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(service.start, generate=generate, run_workers=run_workers)
        janitor = asyncio.create_task(_janitor_forever(service, janitor_interval_s))
        try:
            yield
        finally:
            janitor.cancel()
            await asyncio.to_thread(service.stop)

    app = FastAPI(title="songforge", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    app.state.service = service
    registry = _metrics(service)

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
    async def metrics() -> Response:
        data = await asyncio.to_thread(generate_latest, registry)
        return Response(data, media_type=CONTENT_TYPE_LATEST)

    return app
