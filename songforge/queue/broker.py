"""Jobs through a message broker to ``songforge worker`` processes on any machine (Dramatiq).

Why Dramatiq (not Celery): its messages are acknowledged only after the actor returns (acks
late is the only mode, not an option to remember), a worker killed mid-job leaves its messages
unacknowledged, and the broker hands them to another worker (RabbitMQ at once, when the dead
worker's connection drops; Redis after the dead worker's heartbeats stop). Its retries are
bounded per message, it has no result backend to run, and a worker is a plain in-process
``dramatiq.Worker`` that ``songforge worker`` starts with our own process slots, so the local
pool and the broker workers run a job through the same code (:meth:`WorkerPool.run`).

Delivery is at least once; the job row makes it exactly once. Before running, a worker takes a
lease on the row (:meth:`~songforge.storage.jobs.SqlJobStore.claim_job`, ``FOR UPDATE SKIP
LOCKED`` on PostgreSQL) and renews it every third of ``worker_lease_s``. A message for a job
that is finished is dropped; one for a job leased by a live worker is retried later; one for a
job whose lease ran out (its worker died mid-song) counts the lost attempt and runs it again,
at most ``MAX_ATTEMPTS`` attempts in all, then the job fails with ``worker_lost``.

The API process only enqueues (:class:`BrokerQueue`); nothing is claimed or run there.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from dramatiq import Retry as DramatiqRetry

from songforge.errors import InvalidRequest, NotFound
from songforge.models import JobStatus
from songforge.queue.retry import Retry
from songforge.queue.worker import CRASH, Outcome, WorkerPool
from songforge.storage.jobs import JobStore

__all__ = ["JobMessages", "BrokerQueue", "BrokerWorker", "LeaseHeld", "make_broker"]

log = logging.getLogger(__name__)

ACTOR_NAME = "songforge_run_job"
_MAX_MESSAGE_RETRIES = 40


class LeaseHeld(DramatiqRetry):
    """Another worker holds a live lease on the job: the message is retried after half a lease
    (Dramatiq's ``Retry``: counted against the message's retries, not logged as an error)."""


def make_broker(url: str) -> Any:
    """A Dramatiq broker for ``amqp://`` (RabbitMQ) or ``redis://`` URLs."""
    if url.startswith(("amqp://", "amqps://")):
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        return RabbitmqBroker(url=url)
    if url.startswith(("redis://", "rediss://")):
        from dramatiq.brokers.redis import RedisBroker

        return RedisBroker(url=url)
    raise InvalidRequest(f"broker URL {url!r} must start with amqp:// or redis://", field="broker_url")


class JobMessages:
    """The broker and its one actor, ``run_job(job_id)``.

    Parameters
    ----------
    url : the broker URL (``Settings.broker_url``).
    queue_name : ``Settings.broker_queue``.
    lease_s : ``Settings.worker_lease_s``; the retry delay of a message whose job is leased.
    job_timeout_s : the actor's time limit is this plus two leases (the pool kills a job at it).
    """

    def __init__(self, url: str, *, queue_name: str, lease_s: float, job_timeout_s: float) -> None:
        import dramatiq

        self.broker = make_broker(url)
        self.queue_name = queue_name
        self.handler: Callable[[str], None] = _not_a_worker
        options = {
            "max_retries": _MAX_MESSAGE_RETRIES, "min_backoff": int(lease_s * 250),
            "max_backoff": int(lease_s * 1000), "time_limit": int((job_timeout_s + 2 * lease_s) * 1000),
        }
        self.actor = dramatiq.Actor(
            self._handle, broker=self.broker, actor_name=ACTOR_NAME, queue_name=queue_name,
            priority=0, options=options,
        )

    def _handle(self, job_id: str) -> None:
        self.handler(job_id)

    def send(self, job_id: str, *, delay_s: float = 0.0) -> None:
        """Ask some worker to run ``job_id`` (no sooner than ``delay_s`` from now)."""
        delay_ms = int(delay_s * 1000) if delay_s > 0 else None
        self.actor.send_with_options(args=(job_id,), delay=delay_ms)

    def close(self) -> None:
        self.broker.close()


def _not_a_worker(job_id: str) -> None:
    raise RuntimeError(f"job {job_id}: this process only enqueues (run `songforge worker`)")


class BrokerQueue:
    """:class:`~songforge.queue.base.Queue` of an API process: enqueue sends a message; the
    claiming side is :class:`BrokerWorker` in ``songforge worker`` processes."""

    def __init__(self, messages: JobMessages) -> None:
        self.messages = messages
        self._wake = threading.Event()

    def enqueue(self, job_id: str) -> None:
        self.messages.send(job_id)

    def claim(self) -> str | None:
        return None

    def ack(self, job_id: str) -> None:
        return None

    def nack(self, job_id: str, retry: Retry | None = None) -> None:
        self.messages.send(job_id, delay_s=retry.defer_s if retry is not None else 0.0)

    def wait(self, timeout_s: float) -> bool:
        return self._wake.wait(timeout_s)

    def notify(self) -> None:
        self._wake.set()
        self._wake.clear()

    def recover(self) -> int:
        return 0


class _Leases:
    """The job leases this process holds, renewed by one thread every third of the lease."""

    def __init__(self, store: JobStore, lease_s: float) -> None:
        self.store, self.lease_s = store, lease_s
        self._held: dict[str, str] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew_forever, name="songforge-leases", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5.0)

    def take(self, job_id: str) -> str | None:
        token = self.store.claim_job(job_id, lease_s=self.lease_s)
        if token is not None:
            with self._lock:
                self._held[job_id] = token
        return token

    def drop(self, job_id: str) -> None:
        with self._lock:
            token = self._held.pop(job_id, None)
        if token is not None:
            self.store.release_job(job_id, token)

    def _renew_forever(self) -> None:
        while not self._stop.wait(self.lease_s / 3):
            with self._lock:
                held = list(self._held.items())
            for job_id, token in held:
                try:
                    if not self.store.heartbeat(job_id, token):
                        log.warning("lost the lease on job %s", job_id)
                except Exception:  # a database hiccup: try again next round
                    log.exception("renewing the lease on job %s failed", job_id)


class BrokerWorker:
    """Consumes ``run_job`` messages with ``threads`` Dramatiq threads, each running jobs in its
    own worker process through ``pool`` (:meth:`WorkerPool.run`).

    Parameters
    ----------
    messages : the broker and actor.
    pool : the pool whose ``runner`` (the pipeline) and process slots run the jobs; it is not
        started (no claiming from the database, no startup recovery: other workers are alive).
    threads : jobs run at once in this process.
    lease_s : see :class:`~songforge.storage.jobs.SqlJobStore.claim_job`.
    resend_after_s : an active job unchanged this long and leased by nobody is sent again
        (:meth:`~songforge.storage.jobs.SqlJobStore.touch_stale`): nothing accepted is lost
        when a message is.
    """

    def __init__(
        self, messages: JobMessages, pool: WorkerPool, *, threads: int, lease_s: float, resend_after_s: float = 600.0,
    ) -> None:
        self.messages = messages
        self.resend_after_s = resend_after_s
        self._sweeper = threading.Thread(target=self._resend_forever, name="songforge-resend", daemon=True)
        self.pool = pool
        self.store: JobStore = pool.runner.store  # type: ignore[attr-defined]
        self.threads = threads
        self._leases = _Leases(self.store, lease_s)
        self._local = threading.local()
        self._worker: Any = None

    def start(self) -> None:
        """Start consuming."""
        import dramatiq

        self.messages.handler = self.handle
        self._leases.start()
        self._worker = dramatiq.Worker(self.messages.broker, queues={self.messages.queue_name}, worker_threads=self.threads)
        self._worker.queue_prefetch = self.threads  # no thread hoards messages others could run
        self._worker.start()
        self._sweeper.start()

    def resend_stale(self) -> int:
        """Send the jobs whose message was lost again; returns how many."""
        job_ids = self.store.touch_stale(idle_s=self.resend_after_s, lease_s=self._leases.lease_s)
        for job_id in job_ids:
            log.warning("job %s: no worker has it; sending it again", job_id)
            self.messages.send(job_id)
        return len(job_ids)

    def _resend_forever(self) -> None:
        while not self.pool._stop.wait(min(self.resend_after_s / 2, 60.0)):
            try:
                self.resend_stale()
            except Exception:  # the database or the broker is away: next round
                log.exception("sending stale jobs again failed")

    def stop(self, *, timeout_s: float = 30.0) -> None:
        """Stop: jobs in flight are killed and sent back (their attempt is not counted)."""
        self.pool._stop.set()
        if self._worker is not None:
            self._worker.stop(timeout=int(timeout_s * 1000))
        self._leases.stop()
        self.messages.close()

    def handle(self, job_id: str) -> None:
        """Run one message's job (a Dramatiq thread); raises :class:`LeaseHeld` to be retried."""
        if self._leases.take(job_id) is None:
            if self._settled(job_id):
                return
            raise LeaseHeld(f"job {job_id} is leased by a live worker", delay=int(self._leases.lease_s * 500))
        retry: Retry | None = None
        try:
            retry = self._run_leased(job_id)
        finally:
            self._leases.drop(job_id)
        if retry is not None:
            self.messages.send(job_id, delay_s=retry.defer_s)

    def _settled(self, job_id: str) -> bool:
        try:
            return self.store.get(job_id).is_terminal
        except NotFound:  # deleted by the janitor
            return True

    def _run_leased(self, job_id: str) -> Retry | None:
        """Run a job this process leased. One still marked running was left by a worker that died
        mid-song: that lost attempt is counted first (requeued, or failed with ``worker_lost``
        when it was the last one)."""
        if self.store.get(job_id).status in (JobStatus.RUNNING, JobStatus.FIRST_READY):
            self.pool.runner.finish(job_id, Outcome(CRASH))
        if self.store.get(job_id).is_terminal:
            return None
        slot = getattr(self._local, "slot", None)
        if slot is None:
            slot = self._local.slot = self.pool.new_slot()
        return self.pool.run(0, slot, job_id)
