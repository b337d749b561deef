"""Fast stand-ins for ``make_song`` used to test the queue, pipeline and storage.

They produce real audio (a short sine as WAV via soundfile) and follow ``make_song``'s
signature and callbacks; module-level so a spawned worker process can import them by name.
"""

from __future__ import annotations

import io
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

SAMPLE_RATE_HZ = 48000
DURATION_S = 0.5


@dataclass
class FakeResult:
    encoded: bytes
    audio: np.ndarray
    seed: int
    media_type: str = "audio/wav"
    sample_rate_hz: int = SAMPLE_RATE_HZ
    stems: dict[str, np.ndarray] = field(default_factory=dict)
    word_timings: list[dict[str, object]] | None = None

    @property
    def duration_s(self) -> float:
        return self.audio.shape[0] / self.sample_rate_hz

    def midi_bytes(self) -> bytes:
        return b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x01\xe0"

    def plan_json(self) -> str:
        return json.dumps({"genre": "test", "seed": self.seed})


def _sine(seed: int) -> np.ndarray:
    t = np.arange(int(SAMPLE_RATE_HZ * DURATION_S)) / SAMPLE_RATE_HZ
    hz = 220.0 + seed % 200
    mono = (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32)
    return np.stack([mono, mono], axis=1)


def sine_song(request, *, preset="default", on_progress=None, on_chunk=None):
    """A half-second stereo sine; reports every stage and streams the WAV in two pieces."""
    for i, stage in enumerate(("compose", "render", "mix", "encode")):
        if on_progress:
            on_progress(stage, (i + 1) / 4)
    audio = _sine(request.seed or 0)
    buf = io.BytesIO()
    sf.write(buf, audio, SAMPLE_RATE_HZ, format="WAV", subtype="PCM_16")
    data = buf.getvalue()
    if on_chunk:
        on_chunk(data[: len(data) // 2])
        on_chunk(data[len(data) // 2 :])
    return FakeResult(
        encoded=data, audio=audio, seed=request.seed or 0, stems={"lead": audio, "bass": audio * 0.5},
        word_timings=[{"word": "la", "start_s": 0.0, "end_s": 0.25}],
    )


def slow_song(request, *, preset="default", on_progress=None, on_chunk=None):
    """Reports the first stage, then takes far longer than any test waits."""
    if on_progress:
        on_progress("compose", 0.05)
    time.sleep(60)
    return sine_song(request, preset=preset)


def failing_song(request, *, preset="default", on_progress=None, on_chunk=None):
    from songforge.errors import GenerationFailed

    raise GenerationFailed("the vocals could not be sung", reason="vocals_failed")


def buggy_song(request, *, preset="default", on_progress=None, on_chunk=None):
    raise ZeroDivisionError("a bug in the engine")


def crashing_song(request, *, preset="default", on_progress=None, on_chunk=None):
    """The worker process dies (as if killed by the OOM killer)."""
    os._exit(3)


def crash_once_song(request, *, preset="default", on_progress=None, on_chunk=None):
    """Dies the first time (leaving a marker file named by the prompt), then succeeds."""
    marker = Path(request.prompt)
    if not marker.exists():
        marker.write_text("crashed")
        os._exit(3)
    return sine_song(request, preset=preset, on_progress=on_progress, on_chunk=on_chunk)
