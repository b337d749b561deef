"""Per-service state of the Suno dialect: its task table, ordered callback delivery, background work.

One :class:`SunoRuntime` per :class:`~songforge.service.songs.SongService` (:func:`runtime_of`).
Callbacks are delivered by the service's callback sender (retries, SSRF guard) on a small thread
pool; the deliveries of one task are chained, so its payloads arrive in the order they were queued
(text, first, complete), while a slow or dead receiver of one task never holds up another's.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

from songforge.service.songs import SongService
from songforge.storage.tasks import TaskStore

__all__ = ["SunoRuntime", "runtime_of", "close_runtime"]

log = logging.getLogger(__name__)
_RUNTIMES: weakref.WeakKeyDictionary[SongService, SunoRuntime] = weakref.WeakKeyDictionary()
_RUNTIMES_LOCK = threading.Lock()
DELIVERY_THREADS = 8
ENDED = ":ended"  # suffix of a delivered (or given up) stage in the task's ``sent`` list
_ENDED_POLL_S = 0.05


class SunoRuntime:
    """Task store, callback queue and worker threads of the dialect for one service."""

    def __init__(self, service: SongService) -> None:
        self.service = service
        self.tasks = TaskStore(service.store.engine)  # type: ignore[attr-defined]
        self.lock = threading.RLock()
        self._deliveries = ThreadPoolExecutor(max_workers=DELIVERY_THREADS, thread_name_prefix="suno-callback")
        self._last: dict[str, Future[bool]] = {}
        self._work = ThreadPoolExecutor(max_workers=2, thread_name_prefix="suno-task")

    def close(self) -> None:
        """Stop taking work: queued tasks and callbacks are dropped, running ones finish on their
        own (as the service's own callback sender does; a receiver that keeps failing would
        otherwise hold the shutdown through its retries)."""
        self._work.shutdown(wait=False, cancel_futures=True)
        self._deliveries.shutdown(wait=False, cancel_futures=True)

    def deliver(
        self, url: str | None, payload: dict[str, Any], *, order_key: str, stage: str | None = None,
        after: str | None = None,
    ) -> Future[bool] | None:
        """Queue ``payload`` for ``url`` after the earlier ones of ``order_key`` (a task id);
        ``None`` when there is no URL.

        ``stage`` and ``after`` order deliveries across processes (API and broker workers send
        the stages of one task): this one waits until stage ``after`` was delivered (or given
        up) by whichever process sent it, and records ``stage`` as ended in the task row."""
        if not url:
            return None
        with self.lock:
            previous = self._last.get(order_key)
            future = self._deliveries.submit(self._send, url, payload, previous, order_key, stage, after)
            self._last[order_key] = future
        future.add_done_callback(lambda done: self._forget(order_key, done))
        return future

    def _forget(self, order_key: str, done: Future[bool]) -> None:
        with self.lock:
            if self._last.get(order_key) is done:
                del self._last[order_key]

    def _send(
        self, url: str, payload: dict[str, Any], previous: Future[bool] | None, order_key: str,
        stage: str | None, after: str | None,
    ) -> bool:
        if previous is not None:
            wait([previous])
        if after is not None:
            self._wait_ended(order_key, after)
        dispatcher = self.service.dispatcher
        if dispatcher is None:
            log.warning("callback to %s dropped: the service is not running", url)
            return False
        try:
            return dispatcher.sender.deliver(url, payload)
        finally:
            if stage is not None:
                self.tasks.mark_sent(order_key, stage + ENDED)

    def _wait_ended(self, task_id: str, stage: str) -> None:
        """Wait until ``stage`` of the task was delivered or given up, in any process; at most as
        long as one delivery can take (then its sender is presumed dead: go on)."""
        settings = self.service.settings
        deadline = time.monotonic() + settings.callback_timeout_s * settings.callback_attempts + 60.0
        while stage + ENDED not in self.tasks.get(task_id).sent and time.monotonic() < deadline:
            time.sleep(_ENDED_POLL_S)

    def run(self, work: Callable[..., Any], *args: Any) -> Future[Any]:
        """Run ``work(*args)`` in the background, logging any failure."""
        def guarded() -> Any:
            try:
                return work(*args)
            except Exception:
                log.exception("suno background task failed")
                raise

        return self._work.submit(guarded)


def runtime_of(service: SongService) -> SunoRuntime:
    """The runtime of ``service`` (made on first use)."""
    with _RUNTIMES_LOCK:
        runtime = _RUNTIMES.get(service)
        if runtime is None:
            runtime = _RUNTIMES[service] = SunoRuntime(service)
        return runtime


def close_runtime(service: SongService) -> None:
    """Stop the runtime's background tasks and callback deliveries (the app is stopping)."""
    with _RUNTIMES_LOCK:
        runtime = _RUNTIMES.pop(service, None)
    if runtime is not None:
        runtime.close()
