"""Engines for the scale-out tests: the real engine, and a stand-in sine song that takes a set time.

``real_song`` is :func:`songforge.engine.song.make_song` (the worker's preset, tiny in the tests).

``paced_song`` spends ``SONGFORGE_TEST_SONG_S`` seconds (default 1.0) reporting progress in
steps, so a test can kill a worker mid-song, then returns the fake engine's sine song. It
writes ``<SONGFORGE_TEST_RUNS_DIR>/<seed>.<pid>`` when it finishes a run, so a test can count
how many times each song was made to the end (``real_song`` writes the same). Module-level: spawned workers import it by name.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from tests.service._fake_engine import sine_song

_STEPS = 4


def paced_song(request, *, preset="default", on_progress=None, on_chunk=None, **kwargs):
    """The sine song after ``SONGFORGE_TEST_SONG_S`` seconds of reported work."""
    total_s = float(os.environ.get("SONGFORGE_TEST_SONG_S", "1.0"))
    for step in range(_STEPS):
        if on_progress:
            on_progress("compose", step / _STEPS)
        time.sleep(total_s / _STEPS)
    result = sine_song(request, preset=preset, on_progress=on_progress, on_chunk=on_chunk, **kwargs)
    _mark_run(request)
    return result


def real_song(request, *, preset="default", on_progress=None, on_chunk=None, **kwargs):
    """The real engine's song, marked as made to the end like :func:`paced_song`."""
    from songforge.engine.song import make_song

    result = make_song(request, preset=preset, on_progress=on_progress, on_chunk=on_chunk, **kwargs)
    _mark_run(request)
    return result


def _mark_run(request) -> None:
    runs = os.environ.get("SONGFORGE_TEST_RUNS_DIR")
    if runs:
        (Path(runs) / f"{request.seed}.{os.getpid()}").touch()
