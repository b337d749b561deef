"""Stand-ins for ``make_song`` chosen by the prompt, for servers started with ``--engine``.

Module-level so that a spawned worker process imports them by name.

* ``paced ...``: a WAV streamed in 6 pieces over about 1.2 s (``paced slow ...``: about 4 s);
* ``fail ...``: fails with ``vocals_failed``;
* ``sleep ...``: reports one stage and then takes a minute (to cancel, or to keep a key busy);
* anything else: the fast half-second sine of ``tests.service._fake_engine``.
"""

from __future__ import annotations

import time

from tests.service import _fake_engine as fake

PIECES = 6


def scripted_song(request, *, preset="default", on_progress=None, on_chunk=None):
    words = request.prompt.split()
    kind = words[0] if words else ""
    if kind == "fail":
        return fake.failing_song(request, preset=preset)
    if kind == "sleep":
        return fake.slow_song(request, preset=preset, on_progress=on_progress)
    if kind == "paced":
        pause_s = 0.7 if "slow" in words else 0.2
        return _paced(request, pause_s=pause_s, on_progress=on_progress, on_chunk=on_chunk)
    return fake.sine_song(request, preset=preset, on_progress=on_progress, on_chunk=on_chunk)


def _paced(request, *, pause_s, on_progress, on_chunk):
    result = fake.sine_song(request)
    data = result.encoded
    step = -(-len(data) // PIECES)
    for i in range(PIECES):
        if on_progress:
            on_progress("render", (i + 1) / (PIECES + 1))
        time.sleep(pause_s)
        if on_chunk:
            on_chunk(data[i * step:(i + 1) * step])
    return result
