"""The engine of the chaos test: each run to completion is logged (prompt, time) to the file named
by ``SONGFORGE_CHAOS_LOG``, so a job completed twice can be told from one re-run after a crash.

The real engine runs with the tiny preset (what CI runs); ``SONGFORGE_CHAOS_ENGINE=stub`` uses a
fast stand-in sine instead (with a short random pause, so kills land mid-run) for a quick look.
Module-level so that a spawned worker process imports it by name.
"""

from __future__ import annotations

import os
import random
import time

from tests.service import _fake_engine as fake


def chaos_song(request, *, preset="default", on_progress=None, on_chunk=None, reference=None, songwriter=None):
    if os.environ.get("SONGFORGE_CHAOS_ENGINE") != "stub":
        from songforge.engine.song import make_song

        result = make_song(request, preset="tiny", on_progress=on_progress, on_chunk=on_chunk)
    else:
        time.sleep(random.uniform(0.05, 0.3))
        result = fake.sine_song(request, preset=preset, on_progress=on_progress, on_chunk=on_chunk)
    with open(os.environ["SONGFORGE_CHAOS_LOG"], "a", encoding="utf-8") as log:
        log.write(f"{request.prompt}\t{time.time():.6f}\n")
    return result
