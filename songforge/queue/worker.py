"""The in-process worker pool: generation runs in worker *processes*, supervised by threads.

Each of the ``size`` slots is a supervising thread plus a one-process
:class:`~concurrent.futures.ProcessPoolExecutor` (``spawn`` context). One process per slot keeps
a warm interpreter between jobs and lets a single job be killed (timeout, cancellation) without
touching the others: the slot kills its process and starts a fresh one for the next job. The
event loop never waits on any of this.

The pool knows nothing about songs: a :class:`JobRunner` (``service.pipeline.Pipeline``) says what
to run for a job, handles the messages the child sends and decides what each :class:`Outcome`
means. The child talks to its slot through :func:`emit`.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import queue as queue_mod
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Protocol

from songforge.queue.base import Queue
from songforge.queue.retry import Retry

__all__ = [
    "WorkerPool",
    "JobRunner",
    "Task",
    "Outcome",
    "emit",
    "DONE",
    "ERROR",
    "CRASH",
    "TIMEOUT",
    "CANCELLED",
    "SHUTDOWN",
]

log = logging.getLogger(__name__)

DONE, ERROR, CRASH, TIMEOUT, CANCELLED, SHUTDOWN = "done", "error", "crash", "timeout", "cancelled", "shutdown"
_END = "end"
_END_GRACE_S = 2.0
_CANCEL_CHECK_S = 0.25
_IDLE_POLL_S = 1.0

_PR_SET_PDEATHSIG = 1
_channel: Any = None  # set in each child process by _init_child


def _init_child(channel: Any, warm_up: Callable[[], object] | None) -> None:
    """Child-process initializer: keep the message channel and warm up once (imports, SoundFont)."""
    global _channel
    _channel = channel
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _die_with_parent()
    if warm_up is not None:
        try:
            warm_up()
        except Exception:  # the job itself will report the problem
            log.exception("worker warm-up failed")


def _die_with_parent() -> None:
    """Ask Linux to kill this worker when the server that started it dies (kill -9 included),
    so a restarted server never finds an orphan still running a job it is about to retry."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: orphans finish their job; the retry is idempotent
        pass


def emit(message: tuple[Any, ...]) -> None:
    """Send a message from a worker process to its supervising slot (no-op outside a worker)."""
    if _channel is not None:
        _channel.put(message)


def end_of_job(job_id: str) -> None:
    """Mark the end of ``job_id``'s messages (the child calls this last)."""
    emit((_END, job_id))


@dataclass(frozen=True)
class Task:
    """What to run in the worker process: ``fn(*args)`` with ``fn`` importable by name."""

    fn: Callable[..., dict[str, Any]]
    args: tuple[Any, ...]


@dataclass(frozen=True)
class Outcome:
    """How a job's run ended: ``kind`` is one of DONE, ERROR, CRASH, TIMEOUT, CANCELLED, SHUTDOWN.

    ``value`` is the child's return value for DONE, the exception for ERROR.
    """

    kind: str
    value: Any = None


class JobRunner(Protocol):
    """The pool's view of the pipeline."""

    def start(self, job_id: str) -> Task | None: ...
    def on_message(self, job_id: str, message: tuple[Any, ...]) -> None: ...
    def finish(self, job_id: str, outcome: Outcome) -> Retry | None: ...
    def is_cancelled(self, job_id: str) -> bool: ...
    def recover(self) -> None: ...
    def warm_up(self) -> Callable[[], object] | None:
        """A picklable callable each worker process runs once when it starts (or ``None``)."""
        ...


class _Slot:
    """One worker process (created lazily, replaced after a kill or crash) and its channel."""

    def __init__(self, ctx: Any, warm_up: Callable[[], object] | None) -> None:
        self._ctx = ctx
        self._warm = warm_up
        self.executor: ProcessPoolExecutor | None = None
        self.channel: Any = None
        self.pid: int | None = None

    def start(self) -> None:
        """Start the worker process (and its warm-up) if it is not running."""
        if self.executor is None:
            self._spawn()

    def submit(self, task: Task) -> Future[dict[str, Any]]:
        self.start()
        assert self.executor is not None
        return self.executor.submit(task.fn, *task.args)

    def _spawn(self) -> None:
        self.channel = self._ctx.Queue()
        self.executor = ProcessPoolExecutor(
            max_workers=1, mp_context=self._ctx, initializer=_init_child, initargs=(self.channel, self._warm)
        )
        self.pid = self.executor.submit(os.getpid).result()

    def receive(self, timeout_s: float) -> tuple[Any, ...] | None:
        channel = self.channel
        if channel is None:
            return None
        try:
            return channel.get(timeout=timeout_s)
        except (queue_mod.Empty, EOFError, OSError, ValueError):  # ValueError: closed by a kill
            return None

    def kill(self) -> None:
        """Kill the process (if any) and forget it; the next submit starts a fresh one."""
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
        self.discard()

    def discard(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=False, cancel_futures=True)
        if self.channel is not None:
            self.channel.cancel_join_thread()
            self.channel.close()
        self.executor, self.channel, self.pid = None, None, None

    def close(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)
            self.executor = None
        self.discard()


class WorkerPool:
    """Claims jobs from ``queue`` and runs them through ``runner`` in worker processes.

    Parameters
    ----------
    queue : where jobs are claimed.
    runner : what a job means (``service.pipeline.Pipeline``).
    size : number of worker processes (``Settings.workers``).
    job_timeout_s : a job running longer is killed and finished with a TIMEOUT outcome.
    start_method : multiprocessing start method, ``"spawn"`` or ``"forkserver"``.
    """

    def __init__(
        self, queue: Queue, runner: JobRunner, *, size: int, job_timeout_s: float, start_method: str = "spawn"
    ) -> None:
        self.queue = queue
        self.runner = runner
        self.size = size
        self.job_timeout_s = job_timeout_s
        self._ctx = multiprocessing.get_context(start_method)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._slots: list[_Slot] = []
        self.running: dict[str, int] = {}  # job id -> slot index

    def start(self) -> None:
        """Recover from a crash (jobs left running, stale claims), then start the slots."""
        self.runner.recover()
        self.queue.recover()
        warm = self.runner.warm_up()
        for index in range(self.size):
            slot = _Slot(self._ctx, warm)
            thread = threading.Thread(target=self._loop, args=(index, slot), name=f"songforge-worker-{index}", daemon=True)
            self._slots.append(slot)
            self._threads.append(thread)
            thread.start()

    def stop(self, *, timeout_s: float = 10.0) -> None:
        """Stop claiming; jobs in flight are killed and requeued (not counted as attempts).

        Each slot's own thread kills its process, so a slot is only ever touched by one thread.
        """
        self._stop.set()
        self.queue.notify()
        for thread in self._threads:
            thread.join(timeout_s)
        for slot in self._slots:
            slot.close()
        self._threads.clear()
        self._slots.clear()

    @property
    def alive(self) -> bool:
        """Whether every slot's thread is running."""
        return bool(self._threads) and all(t.is_alive() for t in self._threads)

    def _loop(self, index: int, slot: _Slot) -> None:
        try:  # start the process now, so the first job does not pay the engine's imports
            slot.start()
        except Exception:
            log.exception("worker slot %d could not start its process", index)
        while not self._stop.is_set():
            try:
                job_id = self.queue.claim()
                if job_id is None:
                    self.queue.wait(_IDLE_POLL_S)
                    continue
                self._run_one(index, slot, job_id)
            except Exception:  # a bug or a database hiccup must not kill the slot
                log.exception("worker slot %d failed", index)
                time.sleep(_IDLE_POLL_S)

    def _run_one(self, index: int, slot: _Slot, job_id: str) -> None:
        retry = self.run(index, slot, job_id)
        if retry is None:
            self.queue.ack(job_id)
        else:
            self.queue.nack(job_id, retry)

    def run(self, index: int, slot: _Slot, job_id: str) -> Retry | None:
        """Run one claimed job in ``slot``'s process to its end; returns the runner's retry, if any.

        The pool's own slots call it; a broker worker (:mod:`songforge.queue.broker`) calls it
        from the broker's threads, each with its own :func:`new_slot`.
        """
        task = self.runner.start(job_id)
        if task is None:
            return None
        self.running[job_id] = index
        try:
            outcome = self._execute(slot, job_id, task)
        finally:
            self.running.pop(job_id, None)
        return self.runner.finish(job_id, outcome)

    def new_slot(self) -> _Slot:
        """A worker-process slot for a thread that is not one of the pool's own."""
        return _Slot(self._ctx, self.runner.warm_up())

    def _execute(self, slot: _Slot, job_id: str, task: Task) -> Outcome:
        try:
            return self._watch(slot, job_id, slot.submit(task))
        except BrokenProcessPool:  # the process died before the job was even submitted
            slot.discard()
            return Outcome(SHUTDOWN if self._stop.is_set() else CRASH)
        except Exception as exc:  # could not start a process, or a bug: the job must not hang
            log.exception("running job %s failed", job_id)
            slot.kill()
            return Outcome(ERROR, exc)

    def _watch(self, slot: _Slot, job_id: str, future: Future[dict[str, Any]]) -> Outcome:
        deadline = time.monotonic() + self.job_timeout_s
        next_check = time.monotonic() + _CANCEL_CHECK_S
        ended = False
        while True:
            ended = self._pump(slot, job_id, wait_s=0.05) or ended
            if future.done():
                return self._settle(slot, job_id, future, ended=ended)
            now = time.monotonic()
            if self._stop.is_set():
                slot.kill()
                return Outcome(SHUTDOWN)
            if now >= deadline:
                slot.kill()
                return Outcome(TIMEOUT)
            if now >= next_check:
                next_check = now + _CANCEL_CHECK_S
                if self.runner.is_cancelled(job_id):
                    slot.kill()
                    return Outcome(CANCELLED)

    def _settle(self, slot: _Slot, job_id: str, future: Future[dict[str, Any]], *, ended: bool) -> Outcome:
        error = future.exception()
        if isinstance(error, BrokenProcessPool):
            slot.discard()
            return Outcome(SHUTDOWN if self._stop.is_set() else CRASH)
        if error is not None:
            return Outcome(ERROR, error)
        if not ended:
            self._drain_until_end(slot, job_id)
        return Outcome(DONE, future.result())

    def _drain_until_end(self, slot: _Slot, job_id: str) -> None:
        """Deliver the job's remaining messages (progress, chunks) before its result is handled."""
        deadline = time.monotonic() + _END_GRACE_S
        while time.monotonic() < deadline:
            if self._pump(slot, job_id, wait_s=0.05):
                return

    def _pump(self, slot: _Slot, job_id: str, *, wait_s: float) -> bool:
        """Handle waiting messages of ``job_id``; ``True`` once its end marker was seen."""
        message = slot.receive(wait_s)
        while message is not None:
            if message[0] == _END and message[1] == job_id:
                return True  # nothing of this job comes after its end marker
            if message[0] != _END and message[1] == job_id:
                self._deliver(job_id, message)
            message = slot.receive(0)
        return False

    def _deliver(self, job_id: str, message: tuple[Any, ...]) -> None:
        try:
            self.runner.on_message(job_id, message)
        except Exception:
            log.exception("handling a message of job %s failed", job_id)
