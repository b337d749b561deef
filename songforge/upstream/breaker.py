"""A circuit breaker per upstream, shared by every worker process through a small state file.

After ``failures`` transient failures in a row the breaker opens: the backend is skipped (the
chain moves on to the next one) for ``reset_s`` seconds; then one job may try it again (half
open), and a success closes it. State lives in ``<state_dir>/<name>.breaker.json`` so the worker
processes of one server agree; updates hold an exclusive ``flock``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["CircuitBreaker"]


class CircuitBreaker:
    """Parameters
    ----------
    path : the state file.
    failures : transient failures in a row that open the breaker.
    reset_s : seconds the breaker stays open.
    """

    def __init__(self, path: Path, *, failures: int, reset_s: float) -> None:
        self.path = path
        self.failures = failures
        self.reset_s = reset_s

    def allow(self, *, now_s: float | None = None) -> bool:
        """Whether the backend may be tried now (closed, or open for longer than ``reset_s``)."""
        return float(self._read().get("open_until_s", 0.0)) <= (now_s if now_s is not None else time.time())

    def success(self) -> None:
        """Close the breaker."""
        with self._locked() as state:
            state.update(failures=0, open_until_s=0.0)

    def failure(self, *, now_s: float | None = None) -> bool:
        """Count a transient failure; returns whether the breaker is open now."""
        now_s = now_s if now_s is not None else time.time()
        with self._locked() as state:
            state["failures"] = int(state.get("failures", 0)) + 1
            if state["failures"] >= self.failures:
                state["open_until_s"] = now_s + self.reset_s
            return bool(state.get("open_until_s", 0.0) > now_s)

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    @contextlib.contextmanager
    def _locked(self) -> Iterator[dict[str, Any]]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            state = self._read()
            yield state
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(state))
            tmp.replace(self.path)
