"""Prometheus metrics of one app: jobs by status, queue depth, workers, stage durations and HTTP
latencies by route. Each app has its own registry (tests build many apps in one process).

========================================  =========  ===============================================
name                                      type       labels
========================================  =========  ===============================================
songforge_jobs                            gauge      status (read from the job store at scrape time)
songforge_queue_depth                     gauge      queued jobs
songforge_workers, songforge_workers_busy gauge
songforge_job_status_changes_total        counter    status
songforge_stage_duration_seconds          histogram  stage (running jobs of this process)
songforge_http_request_duration_seconds   histogram  method, route (the path template), status
========================================  =========  ===============================================
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from songforge.models import JobStatus
from songforge.service.lifecycle import EVENT_CHUNK, EVENT_STATUS, JobEvent
from songforge.service.songs import SongService

__all__ = ["Metrics", "HttpMetricsMiddleware"]

_STAGE_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
_HTTP_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10)


class _JobCollector(Collector):
    """Job counts by status, queue depth and live workers, read at scrape time."""

    def __init__(self, service: SongService) -> None:
        self.service = service

    def collect(self) -> Iterator[GaugeMetricFamily]:
        counts = self.service.store.count_by_status()
        jobs = GaugeMetricFamily("songforge_jobs", "Jobs by status", labels=["status"])
        for status, count in counts.items():
            jobs.add_metric([status.value], count)
        yield jobs
        yield GaugeMetricFamily("songforge_queue_depth", "Jobs waiting for a worker", value=counts[JobStatus.QUEUED])
        pool = self.service.pool
        yield GaugeMetricFamily("songforge_workers", "Worker processes", value=pool.size if pool else 0)
        busy = len(pool.running) if pool else 0
        yield GaugeMetricFamily("songforge_workers_busy", "Workers running a job", value=busy)


class _StageTimer:
    """Turns a job's progress events into stage durations: a stage ends when the next begins or
    the job leaves the running states."""

    def __init__(self, histogram: Histogram) -> None:
        self.histogram = histogram
        self._current: dict[str, tuple[str, float]] = {}  # job id -> (stage, started at)
        self._lock = threading.Lock()

    def on_event(self, event: JobEvent) -> None:
        if event.kind == EVENT_CHUNK:
            return
        with self._lock:
            previous = self._current.get(event.job_id)
            running = event.status in (JobStatus.RUNNING, JobStatus.FIRST_READY)
            if previous is not None and (not running or previous[0] != event.stage):
                self.histogram.labels(previous[0]).observe(event.ts - previous[1])
                del self._current[event.job_id]
            if running and event.stage and event.job_id not in self._current:
                self._current[event.job_id] = (event.stage, event.ts)


class Metrics:
    """The app's registry and the instruments fed by the event bus and the HTTP middleware."""

    def __init__(self, service: SongService) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(_JobCollector(service))
        self.status_changes = Counter(
            "songforge_job_status_changes", "Job status changes", ["status"], registry=self.registry
        )
        self.stage_seconds = Histogram(
            "songforge_stage_duration_seconds", "Seconds spent in each generation stage", ["stage"],
            buckets=_STAGE_BUCKETS_S, registry=self.registry,
        )
        self.http_seconds = Histogram(
            "songforge_http_request_duration_seconds", "HTTP request latency", ["method", "route", "status"],
            buckets=_HTTP_BUCKETS_S, registry=self.registry,
        )
        self._stages = _StageTimer(self.stage_seconds)
        self._unsubscribe = service.bus.add_listener(self._on_event)

    def _on_event(self, event: JobEvent) -> None:
        if event.kind == EVENT_STATUS:
            self.status_changes.labels(event.status.value).inc()
        self._stages.on_event(event)

    def close(self) -> None:
        self._unsubscribe()


class HttpMetricsMiddleware:
    """Times every HTTP request; the ``route`` label is the matched path template
    (``/v1/songs/{job_id}``), so ids do not explode the label set."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start, status = time.perf_counter(), [500]

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.http_seconds.labels(scope["method"], route, str(status[0])).observe(
                time.perf_counter() - start
            )
