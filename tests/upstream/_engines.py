"""The front server's local engine in the upstream tests: the scripted stand-in, but 1.5 s long,
so a song made locally (1.5 s) is told apart from one made by an upstream songforge (0.5 s)."""

from __future__ import annotations

from tests.service import _fake_engine as fake

LOCAL_S = 1.5
LOCAL_ENGINE = "tests.upstream._engines:local_song"


def local_song(request, *, preset="default", on_progress=None, on_chunk=None, reference=None, songwriter=None):
    return fake.sine_song(request, preset=preset, on_progress=on_progress, on_chunk=on_chunk, duration_s=LOCAL_S,
                          reference=reference)
