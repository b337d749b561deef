"""Stand-ins for ``make_song`` chosen by the prompt, for servers started with ``--engine``.

Module-level so that a spawned worker process imports them by name.

* ``paced ...``: a WAV streamed in 6 pieces over about 1.2 s (``paced slow ...``: about 4 s);
* ``fail ...``: fails with ``vocals_failed``;
* ``sleep ...``: reports one stage and then takes a minute (to cancel, or to keep a key busy);
* ``long ...``: a 13 s sine (long enough for a 6 s replace-section window, at most half of it);
* anything else: the fast half-second sine of ``tests.service._fake_engine``.

A ``reference`` (extend, replace-section, cover, ...) is handed on to the sine, which follows it.
"""

from __future__ import annotations

import time

from tests.service import _fake_engine as fake

PIECES = 6
LONG_S = 13.0


def scripted_song(request, *, preset="default", on_progress=None, on_chunk=None, reference=None, songwriter=None):
    words = request.prompt.split()
    kind = words[0] if words else ""
    if kind == "fail":
        return fake.failing_song(request, preset=preset)
    if kind == "sleep":
        return fake.slow_song(request, preset=preset, on_progress=on_progress)
    if kind == "paced":
        pause_s = 0.7 if "slow" in words else 0.2
        return _paced(request, pause_s=pause_s, on_progress=on_progress, on_chunk=on_chunk, reference=reference)
    duration_s = LONG_S if kind == "long" else fake.DURATION_S
    return fake.sine_song(request, preset=preset, on_progress=on_progress, on_chunk=on_chunk, duration_s=duration_s,
                          reference=reference)


def _paced(request, *, pause_s, on_progress, on_chunk, reference):
    result = fake.sine_song(request, reference=reference)
    data = result.encoded
    step = -(-len(data) // PIECES)
    for i in range(PIECES):
        if on_progress:
            on_progress("render", (i + 1) / (PIECES + 1))
        time.sleep(pause_s)
        if on_chunk:
            on_chunk(data[i * step:(i + 1) * step])
    return result


REAL_SONG_S = 14.0


def short_real_song(request, *, preset="tiny", on_progress=None, on_chunk=None, reference=None, songwriter=None):
    """The real engine (``make_song``), with songs of 14 s unless the request names a length (the
    Suno wire has no length field, and the engine's default of 60 s is too long for a test)."""
    from songforge.engine.song import make_song

    request = request if request.duration_s or reference is not None else request.with_(duration_s=REAL_SONG_S)
    return make_song(request, preset=preset, on_progress=on_progress, on_chunk=on_chunk, reference=reference,
                     songwriter=songwriter)
