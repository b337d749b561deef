"""SongService: validate, apply defaults (here and nowhere else), persist jobs, enqueue, events.

Dialects call :meth:`SongService.submit` with a canonical :class:`~songforge.models.SongRequest`
and read jobs back with :meth:`~SongService.get` / :meth:`~SongService.events`; everything about
running them (worker pool, pipeline, callbacks, janitor) is wired by :func:`build_service`.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from songforge.config import Settings
from songforge.models import SongRequest
from songforge.queue.base import Queue
from songforge.queue.local import LocalQueue
from songforge.queue.worker import WorkerPool
from songforge.service.callbacks import (
    CallbackDispatcher,
    CallbackSender,
    Renderer,
    check_callback_url,
)
from songforge.service.keys import KeyService
from songforge.service.lifecycle import EVENT_STATUS, EventBus, JobEvent, Lifecycle
from songforge.service.pipeline import Generate, Pipeline, request_to_dict
from songforge.service.references import REFS_PREFIX, ReferenceService
from songforge.storage.blobs import FileBlobStore
from songforge.storage.jobs import (
    ACTIVE_STATUSES,
    ApiKeyRecord,
    Job,
    JobStore,
    SqlJobStore,
    new_job_id,
    utc_now,
)
from songforge.storage.urls import UrlSigner
from songforge.upstream.routing import ROUTE_KEY, Router

__all__ = ["SongService", "build_service", "apply_defaults", "JanitorReport", "SEED_LIMIT"]

SEED_LIMIT = 2**32
_CJK_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def apply_defaults(request: SongRequest, *, variations: int | None = None) -> list[SongRequest]:
    """The one place defaults are applied: one request per variation, each with its own seed.

    A missing seed is drawn at random (and so recorded in the job); variation ``i`` uses
    ``seed + i``. A missing language is ``"zh"`` when the text has CJK characters, else ``"en"``.
    The duration stays ``None`` when not given: the preset's default length is the engine's.
    """
    count = variations or request.variations
    seed = request.seed if request.seed is not None else secrets.randbelow(SEED_LIMIT)
    language = request.language or _detect_language(request)
    base = request.with_(variations=count, language=language)  # validates the count
    return [base.with_(seed=(seed + i) % SEED_LIMIT, variations=1) for i in range(count)]


def _with_route(data: dict[str, Any], route: tuple[str, ...] | None) -> dict[str, Any]:
    """The stored request with the upstream chain that serves it (none: the local engine)."""
    return {**data, ROUTE_KEY: list(route)} if route and route != ("local",) else data


def _detect_language(request: SongRequest) -> str:
    return "zh" if _CJK_RE.search(f"{request.prompt} {request.lyrics or ''}") else "en"


@dataclass(frozen=True)
class JanitorReport:
    """What one janitor pass removed."""

    jobs_deleted: int
    files_deleted: int


class SongService:
    """The service layer every dialect talks to.

    Parameters
    ----------
    settings : service settings.
    store, blobs, queue : persistence (see :func:`build_service` for the usual wiring).
    lifecycle : status changes and events (one over ``store`` by default).
    keys : API keys and limits (``None``: no per-key checks).
    signer : makes file URLs (one from the settings by default).
    """

    def __init__(
        self, settings: Settings, store: JobStore, blobs: FileBlobStore, queue: Queue, *,
        lifecycle: Lifecycle | None = None, keys: KeyService | None = None, signer: UrlSigner | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.blobs = blobs
        self.queue = queue
        self.lifecycle = lifecycle or Lifecycle(store)
        self.keys = keys
        self.signer = signer or UrlSigner(
            settings.signing_key(), ttl_s=settings.url_ttl_s, base_url=settings.base_url()
        )
        self.references = ReferenceService(settings, blobs, signer=self.signer)
        self.router = Router(settings)
        self.pool: WorkerPool | None = None
        self.dispatcher: CallbackDispatcher | None = None
        self.relay: Any = None

    @property
    def bus(self) -> EventBus:
        return self.lifecycle.bus

    # -- jobs ---------------------------------------------------------------------------------

    def submit(
        self, request: SongRequest, *, dialect: str = "native", key: ApiKeyRecord | None = None,
        callback_url: str | None = None, variations: int | None = None,
    ) -> list[Job]:
        """Validate, apply defaults, persist one queued job per variation and enqueue them."""
        requests = apply_defaults(request, variations=variations)
        if callback_url:
            check_callback_url(callback_url, allow_private=self.settings.allow_private_callbacks)
        if key is not None and self.keys is not None:
            self.keys.check_concurrency(key, len(requests))
        batch_id = uuid.uuid4().hex
        routes = [self.router.route(r, key=key) if self.router.active else None for r in requests]
        jobs = [
            self.lifecycle.create(Job(
                id=new_job_id(), request=_with_route(request_to_dict(r), route), dialect=dialect, callback_url=callback_url,
                owner_key_id=key.id if key is not None else None, batch_id=batch_id, variation_index=i,
            ))
            for i, (r, route) in enumerate(zip(requests, routes, strict=True))
        ]
        for job in jobs:
            self.queue.enqueue(job.id)
        return jobs

    def get(self, job_id: str) -> Job:
        """The job; raises :class:`~songforge.errors.NotFound`."""
        return self.store.get(job_id)

    def batch(self, batch_id: str) -> list[Job]:
        """The jobs submitted together (the variations of one request), in order."""
        return [j for j in self.store.list_jobs() if j.batch_id == batch_id]

    def cancel(self, job_id: str) -> Job:
        """Cancel a queued or running job; a running one is stopped by its worker."""
        return self.lifecycle.cancel(job_id)

    async def events(self, job_id: str, *, poll_s: float = 1.0) -> AsyncIterator[JobEvent]:
        """The job's current state, then its events until it ends.

        Falls back to polling the store every ``poll_s`` seconds, so jobs run by a worker in
        another process are followed too (their chunk events are not).
        """
        stream = self.bus.open_stream(job_id)
        try:
            job = await asyncio.to_thread(self.store.get, job_id)
            yield JobEvent.of(job)
            seen = (job.status, job.stage, job.progress_pct)
            while seen[0] in ACTIVE_STATUSES:
                event = await stream.get(poll_s)
                if event is None:
                    event = JobEvent.of(await asyncio.to_thread(self.store.get, job_id))
                    if (event.status, event.stage, event.progress_pct) == seen:
                        continue
                seen = (event.status, event.stage, event.progress_pct)
                yield event
        finally:
            stream.close()

    async def wait(self, job_id: str, *, timeout_s: float | None = None) -> Job:
        """Wait until the job ends (for synchronous dialects); raises ``TimeoutError``."""
        async def _until_done() -> Job:
            async for event in self.events(job_id):
                if event.kind == EVENT_STATUS and event.status not in ACTIVE_STATUSES:
                    break
            return await asyncio.to_thread(self.store.get, job_id)

        return await asyncio.wait_for(_until_done(), timeout_s)

    # -- files --------------------------------------------------------------------------------

    def file_url(self, key: str) -> str:
        """An absolute signed URL for a blob key."""
        return self.signer.sign(key)

    def native_view(self, job: Job, event: JobEvent | None = None) -> dict[str, Any]:
        """The job as native JSON, with signed URLs for its files (also the default callback body)."""
        data = job.to_dict()
        assets = (job.result or {}).get("assets") or {}
        data["urls"] = {
            name: ({k: self.file_url(v) for k, v in value.items()} if isinstance(value, dict) else self.file_url(value))
            for name, value in assets.items()
        }
        return data

    # -- running ------------------------------------------------------------------------------

    def start(
        self, *, generate: Generate | None = None, run_workers: bool = True,
        callback_renderers: dict[str, Renderer] | None = None, sender: CallbackSender | None = None,
    ) -> None:
        """Attach callbacks and (unless ``run_workers`` is false) start the worker pool."""
        self.dispatcher = CallbackDispatcher(
            self.store, sender or CallbackSender(self.settings), default=self.native_view,
            renderers=callback_renderers,
        )
        self.dispatcher.attach(self.bus)
        if self.settings.redis_url:
            from songforge.service.relay import RedisEventRelay

            channel = f"{self.settings.broker_queue}:events"
            self.relay = RedisEventRelay(self.bus, self.settings.redis_url, channel=channel)
            self.relay.start()
        if run_workers:
            self.pool = self.worker_pool(generate)
            self.pool.start()

    def worker_pool(self, generate: Generate | None = None) -> WorkerPool:
        """A (not started) pool that runs this service's jobs in worker processes."""
        route = self.router.generate_for if self.router.active else None
        pipeline = Pipeline(self.settings, self.lifecycle, self.blobs, generate=generate, route=route)
        return WorkerPool(self.queue, pipeline, size=self.settings.workers, job_timeout_s=self.settings.job_timeout_s)

    def stop(self) -> None:
        """Stop the workers (in-flight jobs are requeued) and callbacks."""
        if self.pool is not None:
            self.pool.stop()
            self.pool = None
        if self.relay is not None:
            self.relay.stop()
            self.relay = None
        if self.dispatcher is not None:
            self.dispatcher.detach()
            self.dispatcher.sender.close()
            self.dispatcher = None

    def janitor(self, *, now: datetime | None = None) -> JanitorReport:
        """Delete jobs older than ``retention_days`` with their files, stale leftover files,
        references unused that long (kept at least 24 h: MiniMax's cover_feature_id lifetime) and
        vendor task rows created before then."""
        now = now or utc_now()
        cutoff = now - timedelta(days=self.settings.retention_days)
        jobs = files = 0
        for job in self.store.list_jobs(created_before=cutoff, limit=10_000):
            if job.status in ACTIVE_STATUSES:
                self.lifecycle.cancel(job.id)
            files += self.blobs.delete_prefix(job.id)
            self.store.delete(job.id)
            jobs += 1
        age_s = (now - cutoff).total_seconds()
        for key in list(self.blobs.iter_older_than(age_s, now_s=now.timestamp())):
            if key.startswith(f"{REFS_PREFIX}/"):
                continue  # references go whole, and never before their minimum lifetime
            self.blobs.remove_path(key)
            files += 1
        files += self.references.sweep(age_s, now_s=now.timestamp())
        engine = getattr(self.store, "engine", None)
        if engine is not None:  # vendor tasks (Suno taskIds, ...) live in the jobs' database
            from songforge.storage.tasks import TaskStore

            TaskStore(engine).delete_older_than(cutoff)
        return JanitorReport(jobs_deleted=jobs, files_deleted=files)


def build_service(settings: Settings, *, store: JobStore | None = None) -> SongService:
    """The usual wiring: SQL job store, blob store, queue, keys, lifecycle.

    The queue is the durable local one, or the broker's when ``settings.broker_url`` is set
    (then jobs run in ``songforge worker`` processes, see :mod:`songforge.queue.broker`).
    """
    store = store or SqlJobStore(settings.database_url_or_default())
    return SongService(
        settings, store, settings.blob_store(), _queue_for(settings, store),
        keys=KeyService(settings, store),
    )


def _queue_for(settings: Settings, store: JobStore) -> Queue:
    if not settings.broker_url:
        return LocalQueue(store)
    from songforge.queue.broker import BrokerQueue, JobMessages

    messages = JobMessages(
        settings.broker_url, queue_name=settings.broker_queue, lease_s=settings.worker_lease_s,
        job_timeout_s=settings.job_timeout_s,
    )
    return BrokerQueue(messages)
