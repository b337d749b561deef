"""A durable local queue: queued jobs are rows in the job store; nothing in memory is the truth.

Several worker threads (or processes sharing the database) may claim concurrently: a claim is an
atomic update of the row. In-memory state is only a wake-up signal for idle workers of this process.
"""

from __future__ import annotations

import threading
from datetime import timedelta

from songforge.queue.retry import Retry
from songforge.storage.jobs import JobStore, utc_now

__all__ = ["LocalQueue"]


class LocalQueue:
    """:class:`~songforge.queue.base.Queue` backed by a :class:`~songforge.storage.jobs.JobStore`."""

    def __init__(self, store: JobStore) -> None:
        self.store = store
        self._wake = threading.Condition()

    def enqueue(self, job_id: str) -> None:
        """Make an already stored queued job claimable and wake an idle worker."""
        self.store.release_claim(job_id)
        self.notify()

    def claim(self) -> str | None:
        """Claim the oldest due queued job; ``None`` if there is none."""
        job = self.store.claim_next()
        return job.id if job is not None else None

    def ack(self, job_id: str) -> None:
        """The job is done with (finished, failed or cancelled): drop its claim."""
        self.store.release_claim(job_id)

    def nack(self, job_id: str, retry: Retry | None = None) -> None:
        """Give the job back, claimable again after ``retry.defer_s``."""
        defer_s = retry.defer_s if retry is not None else 0.0
        not_before = utc_now() + timedelta(seconds=defer_s) if defer_s > 0 else None
        self.store.release_claim(job_id, not_before=not_before)
        self.notify()

    def wait(self, timeout_s: float) -> bool:
        """Block until something is enqueued or ``timeout_s`` passes; ``True`` if woken."""
        with self._wake:
            return self._wake.wait(timeout_s)

    def recover(self) -> int:
        """Release claims left by a process that died; returns how many."""
        count = self.store.release_stale_claims()
        if count:
            self.notify()
        return count

    def notify(self) -> None:
        """Wake every idle worker of this process (on enqueue, and when stopping)."""
        with self._wake:
            self._wake.notify_all()
