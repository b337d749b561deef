"""Job lifecycle: the only module that changes a job's status, and the in-process event bus.

::

    queued -> running -> first_ready -> succeeded
    running | first_ready            -> failed      (error_code = reason)
    queued | running | first_ready   -> cancelled
    running | first_ready            -> queued      (retry after a worker crash)

Every change is an atomic compare-and-set in the job store followed by a :class:`JobEvent` on the
:class:`EventBus`, which SSE streams, polls and callbacks read. ``first_ready -> queued`` is
allowed as well as ``running -> queued``: a crash after the first section is still a crash, and the
same seed regenerates the same bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from songforge.errors import Conflict
from songforge.models import JobStatus
from songforge.storage.jobs import Job, JobStore

__all__ = [
    "Lifecycle",
    "is_legal",
    "EventBus",
    "JobEvent",
    "IllegalTransition",
    "TRANSITIONS",
    "MAX_ATTEMPTS",
    "EVENT_STATUS",
    "EVENT_PROGRESS",
    "EVENT_CHUNK",
]

MAX_ATTEMPTS = 2
EVENT_STATUS = "status"
EVENT_PROGRESS = "progress"
EVENT_CHUNK = "chunk"

S = JobStatus
TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    S.QUEUED: frozenset({S.RUNNING, S.CANCELLED}),
    S.RUNNING: frozenset({S.FIRST_READY, S.FAILED, S.CANCELLED, S.QUEUED}),
    S.FIRST_READY: frozenset({S.SUCCEEDED, S.FAILED, S.CANCELLED, S.QUEUED}),
    S.SUCCEEDED: frozenset(),
    S.FAILED: frozenset(),
    S.CANCELLED: frozenset(),
}


class IllegalTransition(Conflict):
    """A status change the lifecycle does not allow (e.g. cancelling a finished job)."""

    code = "illegal_transition"

    def __init__(self, message: str, *, current: JobStatus, wanted: JobStatus) -> None:
        super().__init__(message)
        self.current = current
        self.wanted = wanted


def _sources(target: JobStatus) -> frozenset[JobStatus]:
    return frozenset(s for s, targets in TRANSITIONS.items() if target in targets)


@dataclass(frozen=True)
class JobEvent:
    """Something happened to a job.

    ``kind`` is ``status`` (a status change), ``progress`` (stage/percent) or ``chunk`` (``data``
    holds the next piece of the encoded audio, starting at byte ``offset``).
    """

    job_id: str
    kind: str
    status: JobStatus
    stage: str | None
    progress_pct: float
    ts: float = field(default_factory=time.time)
    error_code: str | None = None
    data: bytes | None = None
    offset: int = 0

    @classmethod
    def of(cls, job: Job, kind: str = EVENT_STATUS, **extra: Any) -> JobEvent:
        return cls(
            job_id=job.id, kind=kind, status=job.status, stage=job.stage,
            progress_pct=job.progress_pct, error_code=job.error_code, **extra,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (chunk data left out)."""
        return {
            "job_id": self.job_id, "kind": self.kind, "status": self.status.value, "stage": self.stage,
            "progress_pct": self.progress_pct, "ts": self.ts, "error_code": self.error_code,
        }


Listener = Callable[[JobEvent], None]


class EventBus:
    """In-process publish/subscribe of :class:`JobEvent`; publish is safe from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []
        self._streams: dict[str | None, set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[JobEvent]]]] = {}

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` (in the publishing thread) for every event; returns an unsubscribe."""
        with self._lock:
            self._listeners.append(listener)
        return lambda: self._remove_listener(listener)

    def _remove_listener(self, listener: Listener) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def publish(self, event: JobEvent) -> None:
        """Deliver ``event`` to listeners and to async subscribers of its job (and of all jobs)."""
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener(event)
        self.publish_remote(event)

    def publish_remote(self, event: JobEvent) -> None:
        """Deliver an event that happened in another process (relayed by
        :mod:`songforge.service.relay`) to this process's async subscribers only: listeners
        (callbacks, the relay itself) act on the events of their own process."""
        with self._lock:
            streams = list(self._streams.get(event.job_id, ())) + list(self._streams.get(None, ()))
        for loop, queue in streams:
            with contextlib.suppress(RuntimeError):  # RuntimeError: the subscriber's loop is closed
                loop.call_soon_threadsafe(queue.put_nowait, event)

    async def subscribe(self, job_id: str | None = None) -> AsyncIterator[JobEvent]:
        """Events of ``job_id`` (or all jobs) from now on, until the consumer stops iterating."""
        stream = self.open_stream(job_id)
        try:
            while True:
                event = await stream.get()
                if event is not None:
                    yield event
        finally:
            stream.close()

    def open_stream(self, job_id: str | None = None) -> _Stream:
        """A subscription that starts now (use when a snapshot must be read after subscribing)."""
        return _Stream(self, job_id)


class _Stream:
    """A registered async subscription; ``get(timeout_s)`` returns the next event or ``None``."""

    def __init__(self, bus: EventBus, job_id: str | None) -> None:
        self._bus, self._job_id = bus, job_id
        self._entry = (asyncio.get_running_loop(), asyncio.Queue[JobEvent]())
        with bus._lock:
            bus._streams.setdefault(job_id, set()).add(self._entry)

    async def get(self, timeout_s: float | None = None) -> JobEvent | None:
        try:
            return await asyncio.wait_for(self._entry[1].get(), timeout_s)
        except TimeoutError:
            return None

    def close(self) -> None:
        with self._bus._lock:
            self._bus._streams.get(self._job_id, set()).discard(self._entry)


class Lifecycle:
    """Owns every status change of every job.

    Parameters
    ----------
    store : the job store.
    bus : where events go (a new one by default).
    """

    def __init__(self, store: JobStore, bus: EventBus | None = None) -> None:
        self.store = store
        self.bus = bus or EventBus()

    def create(self, job: Job) -> Job:
        """Persist a new queued job and announce it."""
        if job.status != JobStatus.QUEUED:
            raise ValueError("new jobs start queued")
        return self._emit(self.store.create(job))

    def start(self, job_id: str) -> Job:
        """queued -> running; counts an attempt."""
        attempts = self.store.get(job_id).attempts
        return self._move(job_id, S.RUNNING, stage=None, progress_pct=0.0, attempts=attempts + 1)

    def first_ready(self, job_id: str) -> Job:
        """running -> first_ready: the first section of audio exists."""
        return self._move(job_id, S.FIRST_READY)

    def succeed(self, job_id: str, result: dict[str, Any]) -> Job:
        """(running ->) first_ready -> succeeded with ``result``."""
        if self.store.get(job_id).status == S.RUNNING:
            self.first_ready(job_id)
        return self._move(job_id, S.SUCCEEDED, result=result, progress_pct=100.0)

    def fail(self, job_id: str, *, code: str, message: str = "") -> Job:
        """running | first_ready -> failed with reason ``code``."""
        return self._move(job_id, S.FAILED, error_code=code, error_message=message or code)

    def cancel(self, job_id: str) -> Job:
        """queued | running | first_ready -> cancelled."""
        return self._move(job_id, S.CANCELLED, error_code="cancelled")

    def requeue(self, job_id: str, *, reason: str, count_attempt: bool = True) -> Job:
        """running | first_ready -> queued, to run again (after a crash, or a shutdown when
        ``count_attempt`` is false: then the interrupted attempt is not counted)."""
        attempts = self.store.get(job_id).attempts
        if not count_attempt:
            attempts = max(0, attempts - 1)
        return self._move(
            job_id, S.QUEUED, stage=None, progress_pct=0.0, attempts=attempts,
            error_code=None, error_message=reason,
        )

    def progress(self, job_id: str, *, stage: str | None, progress_pct: float) -> Job | None:
        """Record progress of a running job (never backwards); ``None`` if it is no longer active."""
        current = self.store.get(job_id)
        pct = max(current.progress_pct, min(100.0, max(0.0, progress_pct)))
        job = self.store.update_if_active(job_id, stage=stage, progress_pct=round(pct, 2))
        return self._emit(job, EVENT_PROGRESS) if job is not None else None

    def chunk(self, job_id: str, data: bytes, *, offset: int) -> None:
        """Publish a piece of streamed audio (no status change)."""
        self.bus.publish(JobEvent.of(self.store.get(job_id), EVENT_CHUNK, data=data, offset=offset))

    def _move(self, job_id: str, target: JobStatus, **changes: Any) -> Job:
        job = self.store.transition(job_id, from_statuses=_sources(target), to_status=target, **changes)
        if job is None:
            current = self.store.get(job_id).status  # raises NotFound for unknown ids
            raise IllegalTransition(
                f"job {job_id} is {current.value}; it cannot become {target.value}",
                current=current, wanted=target,
            )
        return self._emit(job)

    def _emit(self, job: Job, kind: str = EVENT_STATUS) -> Job:
        self.bus.publish(JobEvent.of(job, kind))
        return job


def is_legal(current: JobStatus, target: JobStatus) -> bool:
    """Whether ``current -> target`` is a legal transition."""
    return target in TRANSITIONS[current]

