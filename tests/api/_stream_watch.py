"""Shared by the stream-start tests: a watcher for the first streamed audio a job writes, and a
real server with the real engine.

A job made block by block writes its first encoded piece to ``<job id>/stream.part`` under the
blob store long before the song is done (:mod:`songforge.service.streaming`). A
:class:`PartWatcher` notes when that file first appears (non-empty), so that a test can measure
how long each dialect's stream takes to deliver that audio to its client.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import TracebackType

from songforge import Client
from songforge.service.streaming import PARTIAL_NAME
from tests.api._server import LiveServer

__all__ = ["PartWatcher", "MAX_LAG_S", "real_engine_server", "job_status", "sung_lyrics"]

MAX_LAG_S = 0.5  # issue 13: every stream starts within 0.5 s of the first audio
_POLL_S = 0.005
_LYRIC_WORDS = ("we", "walk", "along", "the", "river", "light", "and", "sing", "until", "the", "morning", "comes",
                "the", "city", "sleeps", "below", "the", "hill", "our", "hearts", "are", "beating", "slow", "and",
                "still")


class PartWatcher:
    """A thread noting when a non-empty ``stream.part`` first exists under ``root``.

    After it saw one, ``at`` is its ``time.monotonic()`` time and ``job_id`` the job that wrote it
    (the file's folder). Use as a context manager: the thread starts on entry, stops on exit.
    """

    def __init__(self, root: Path, name: str = PARTIAL_NAME) -> None:
        self.root, self.name = root, name
        self.at: float | None = None
        self.path: Path | None = None
        self._stop, self._found = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._watch, name="part-watcher", daemon=True)

    @property
    def job_id(self) -> str | None:
        return self.path.parent.name if self.path is not None else None

    def wait_job_id(self, timeout_s: float = 10.0) -> str:
        """The job that wrote the file, waiting for the watcher to see it (a client may hear the
        audio a moment before this thread, busy walking the folder, notices the file)."""
        assert self._found.wait(timeout_s), f"no {self.name} appeared under {self.root} in {timeout_s:g} s"
        return str(self.job_id)

    def __enter__(self) -> PartWatcher:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join(5)

    def lag_s(self, first_audio_at: float | None) -> float:
        """Seconds from the file's appearance to ``first_audio_at`` (a ``time.monotonic()``)."""
        assert self.at is not None, f"no {self.name} appeared under {self.root}"
        assert first_audio_at is not None, "no audio was streamed"
        return first_audio_at - self.at

    def _watch(self) -> None:
        while not self._stop.is_set():
            for path in self.root.rglob(self.name):
                try:
                    if path.stat().st_size > 0:
                        self.at, self.path = time.monotonic(), path
                        self._found.set()
                        return
                except FileNotFoundError:
                    continue
            time.sleep(_POLL_S)


def real_engine_server(data_dir: Path) -> LiveServer:
    """A started ``songforge serve`` (dev mode, any key; callbacks may go to loopback) with the real
    engine, tiny preset, one worker."""
    return LiveServer(data_dir, args=("--dev", "--preset", "tiny", "--workers", "1"),
                      env={"SONGFORGE_ALLOW_PRIVATE_CALLBACKS": "true"}).start(timeout_s=120)


def job_status(live: LiveServer, job_id: str) -> str:
    """The job's status now, from the native API."""
    with Client(live.url, api_key="sk-test") as client:
        return str(client.get(job_id)["status"])


def sung_lyrics(n_words: int) -> str:
    """English lyrics of exactly ``n_words`` words: lines of six, four lines a section, verse and chorus."""
    lines: list[str] = []
    for start in range(0, n_words, 6):
        if start % 24 == 0:
            lines.append("[verse]" if start % 48 == 0 else "[chorus]")
        lines.append(" ".join(_LYRIC_WORDS[i % len(_LYRIC_WORDS)] for i in range(start, min(start + 6, n_words))))
    return "\n".join(lines)
