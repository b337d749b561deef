"""The queue protocol: job ids in, claimed job ids out; the job store holds the jobs themselves."""

from __future__ import annotations

from typing import Protocol

from songforge.queue.retry import Retry

__all__ = ["Queue"]


class Queue(Protocol):
    """A durable queue of job ids.

    ``claim`` hands a queued job to exactly one worker; ``ack`` ends the claim of a finished job;
    ``nack`` gives it back, to be claimed again after ``retry.defer_s`` (``None``: at once).
    """

    def enqueue(self, job_id: str) -> None: ...
    def claim(self) -> str | None: ...
    def ack(self, job_id: str) -> None: ...
    def nack(self, job_id: str, retry: Retry | None = None) -> None: ...
    def wait(self, timeout_s: float) -> bool: ...
    def notify(self) -> None: ...
    def recover(self) -> int: ...
