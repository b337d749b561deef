"""Fast stand-ins for ``make_song`` used to test the queue, pipeline, storage and dialects.

They produce real audio (a stereo sine at 48 kHz, WAV via soundfile) with what a real result
carries: ``audio`` (n, 2) float32 at ``sample_rate_hz`` 48000 (so the service keeps a master for
later edits), a :class:`~songforge.engine.score.Score` of what they play (one sung ``lead`` line
and a ``bass`` line, so the service keeps an exact analysis), stems that sum to the mix, a MIDI
file of that score and a plan naming the parts. They follow ``make_song``'s signature and
callbacks, ``reference`` included: an extend keeps the source up to ``continue_at_s`` and goes on
with the sine, a replace-section keeps the source outside the window and puts the sine in it, the
other reference modes play the sine for as long as the reference lasts.
Module-level so a spawned worker process can import them by name.
"""

from __future__ import annotations

import io
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from songforge.engine.score import Chord, Note, Part, Score, Section, hz_to_midi

SAMPLE_RATE_HZ = 48000
DURATION_S = 0.5
TEMPO_BPM = 120.0
LEAD_SHARE, BASS_SHARE = 0.6, 0.4  # the stems' shares of the mix (they sum to it)
PARTS = ({"name": "lead", "role": "vocal", "program": 0, "is_drum": False},
         {"name": "bass", "role": "bass", "program": 33, "is_drum": False})


@dataclass
class FakeResult:
    encoded: bytes
    audio: np.ndarray
    seed: int
    score: Score | None = None
    media_type: str = "audio/wav"
    sample_rate_hz: int = SAMPLE_RATE_HZ
    stems: dict[str, np.ndarray] = field(default_factory=dict)
    word_timings: list[dict[str, object]] | None = None

    @property
    def duration_s(self) -> float:
        return self.audio.shape[0] / self.sample_rate_hz

    def midi_bytes(self) -> bytes:
        if self.score is None:
            return b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x01\xe0"
        buf = io.BytesIO()
        self.score.to_midi().write(buf)
        return buf.getvalue()

    def plan_json(self) -> str:
        return json.dumps({"genre": "test", "seed": self.seed, "parts": list(PARTS)})


def sine_hz(seed: int) -> float:
    """The frequency the stand-in plays for ``seed``."""
    return 220.0 + seed % 200


def _sine(seed: int, duration_s: float = DURATION_S, *, phase: float = 0.0) -> np.ndarray:
    t = np.arange(int(SAMPLE_RATE_HZ * duration_s)) / SAMPLE_RATE_HZ
    mono = (0.3 * np.sin(2 * np.pi * sine_hz(seed) * t + phase)).astype(np.float32)
    return np.stack([mono, mono], axis=1)


def _score(seed: int, duration_s: float) -> Score:
    """One beat-long note per beat on the sine's nearest pitch, sung ``la``, over one verse."""
    pitch = int(round(float(hz_to_midi(sine_hz(seed)))))
    beats = max(1, int(duration_s * TEMPO_BPM / 60.0))
    lead = tuple(Note(pitch, float(b), 1.0, 90, "la") for b in range(beats))
    bass = tuple(Note(pitch - 12, float(b), 1.0, 80) for b in range(beats))
    chords = (Chord(0.0, float(beats), pitch % 12, "maj"),)
    return Score(tempo_bpm=TEMPO_BPM, meter=(4, 4), tonic_pc=pitch % 12, mode="major",
                 sections=(Section("verse", "verse", 0.0, float(beats), 0.5, chords),),
                 parts=(Part("lead", "vocal", 0, lead), Part("bass", "bass", 33, bass)))


def _audio_for(request: Any, reference: Any, duration_s: float) -> np.ndarray:
    """The mix for ``request`` and its resolved reference, (n, 2) float32 at 48 kHz."""
    seed = request.seed or 0
    source = getattr(reference, "source", None)
    if source is None:
        return _sine(seed, duration_s)
    spec = reference.spec
    rate = SAMPLE_RATE_HZ
    if spec.mode == "extend":
        kept = source.audio[: int(round(float(spec.continue_at_s) * rate))]
        return np.concatenate([kept, _sine(seed, duration_s)]).astype(np.float32)
    if spec.mode == "replace_section":
        start, end = int(round(spec.infill_start_s * rate)), int(round(spec.infill_end_s * rate))
        # a cosine: never the source's own samples, even when the two seeds share a frequency
        # (1 in 200) and the window starts on a whole period
        sine = _sine(seed, (end - start) / rate, phase=np.pi / 2)
        out = source.audio.astype(np.float32).copy()
        out[start:start + sine.shape[0]] = sine
        return out
    return _sine(seed, source.audio.shape[0] / rate)


def sine_song(request, *, preset="default", on_progress=None, on_chunk=None, duration_s=DURATION_S,
              reference=None, songwriter=None):
    """A stereo sine (half a second unless told), reports every stage and streams the WAV in two
    pieces; with a ``reference`` it edits or follows the reference audio (see the module notes)."""
    for i, stage in enumerate(("compose", "render", "mix", "encode")):
        if on_progress:
            on_progress(stage, (i + 1) / 4)
    audio = _audio_for(request, reference, duration_s)
    buf = io.BytesIO()
    sf.write(buf, audio, SAMPLE_RATE_HZ, format="WAV", subtype="PCM_16")
    data = buf.getvalue()
    if on_chunk:
        on_chunk(data[: len(data) // 2])
        on_chunk(data[len(data) // 2 :])
    seed = request.seed or 0
    return FakeResult(
        encoded=data, audio=audio, seed=seed, score=_score(seed, audio.shape[0] / SAMPLE_RATE_HZ),
        stems={"lead": audio * LEAD_SHARE, "bass": audio * BASS_SHARE},
        word_timings=[{"word": "la", "start_s": 0.0, "end_s": 0.25}],
    )


def slow_song(request, *, preset="default", on_progress=None, on_chunk=None, **_):
    """Reports the first stage, then takes far longer than any test waits."""
    if on_progress:
        on_progress("compose", 0.05)
    time.sleep(60)
    return sine_song(request, preset=preset)


def failing_song(request, *, preset="default", on_progress=None, on_chunk=None, **_):
    from songforge.errors import GenerationFailed

    raise GenerationFailed("the vocals could not be sung", reason="vocals_failed")


def buggy_song(request, *, preset="default", on_progress=None, on_chunk=None, **_):
    raise ZeroDivisionError("a bug in the engine")


def crashing_song(request, *, preset="default", on_progress=None, on_chunk=None, **_):
    """The worker process dies (as if killed by the OOM killer)."""
    os._exit(3)


def crash_once_song(request, *, preset="default", on_progress=None, on_chunk=None, **_):
    """Dies the first time (leaving a marker file named by the prompt), then succeeds."""
    marker = Path(request.prompt)
    if not marker.exists():
        marker.write_text("crashed")
        os._exit(3)
    return sine_song(request, preset=preset, on_progress=on_progress, on_chunk=on_chunk)
