"""The whole pipeline for one song: plan -> compose -> render -> mix -> master -> encode.

``make_song`` is the single entry point the CLI, the service and the benchmarks call. It is pure
in the engine's sense: no HTTP, database or queue; progress and streamed audio leave through
callbacks.
"""

from __future__ import annotations

import io
import json
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np

from songforge.engine.plan import SongPlan
from songforge.engine.score import PITCH_CLASSES, Score
from songforge.models import AudioFormat, SongRequest, Stage

__all__ = ["SongResult", "make_song", "plan_to_json", "write_exports", "MEDIA_TYPES"]

MASTER_SAMPLE_RATE_HZ = 48000

MEDIA_TYPES = {
    AudioFormat.MP3: "audio/mpeg",
    AudioFormat.WAV: "audio/wav",
    AudioFormat.FLAC: "audio/flac",
    AudioFormat.PCM: "audio/L16",
}

ProgressFn = Callable[[str, float], None]
ChunkFn = Callable[[bytes], None]
T = TypeVar("T")


@dataclass
class SongResult:
    """A finished song.

    Attributes
    ----------
    audio : (n_samples, 2) float32 master at ``sample_rate_hz`` (48 kHz).
    encoded : the delivered file in the request's format, rate, bitrate and channels.
    stems : processed stems, name -> (n_samples, 2) float32; they sum to the pre-master mix.
    timings_s : wall seconds per stage, plus ``first_chunk`` (time to the first encoded audio).
    """

    request: SongRequest
    plan: SongPlan
    score: Score
    audio: np.ndarray
    sample_rate_hz: int
    encoded: bytes
    media_type: str
    stems: dict[str, np.ndarray]
    seed: int
    timings_s: dict[str, float] = field(default_factory=dict)
    word_timings: list[dict[str, object]] | None = None

    @property
    def duration_s(self) -> float:
        return self.audio.shape[0] / self.sample_rate_hz

    def midi_bytes(self) -> bytes:
        """The whole score as a Standard MIDI File."""
        buf = io.BytesIO()
        self.score.to_midi().write(buf)
        return buf.getvalue()

    def plan_json(self) -> str:
        return plan_to_json(self.plan, self.score, seed=self.seed, duration_s=self.duration_s)


class _Clock:
    """Times stages and reports progress (stage name, fraction of the whole job 0-1)."""

    _WEIGHTS = {Stage.COMPOSE: 0.025, Stage.RENDER: 0.45, Stage.MIX: 0.3, Stage.ENCODE: 0.2}

    def __init__(self, on_progress: ProgressFn | None) -> None:
        self.on_progress = on_progress
        self.timings_s: dict[str, float] = {}
        self._t0 = time.perf_counter()
        self._done = 0.0

    def run(self, stage: Stage, fn: Callable[[], T], *, label: str | None = None) -> T:
        """Run ``fn`` as (part of) ``stage``; its wall time is recorded under ``label``."""
        if self.on_progress:
            self.on_progress(stage.value, self._done)
        start = time.perf_counter()
        out = fn()
        self.timings_s[label or stage.value] = time.perf_counter() - start
        self._done += self._WEIGHTS.get(stage, 0.0)
        if self.on_progress:
            self.on_progress(stage.value, min(self._done, 1.0))
        return out

    def mark(self, name: str) -> None:
        self.timings_s.setdefault(name, time.perf_counter() - self._t0)

    def total(self) -> None:
        self.timings_s["total"] = time.perf_counter() - self._t0


def make_song(
    request: SongRequest,
    *,
    preset: str = "default",
    on_progress: ProgressFn | None = None,
    on_chunk: ChunkFn | None = None,
) -> SongResult:
    """Make one song for ``request``.

    Parameters
    ----------
    request : the canonical request (validated on construction).
    preset : engine preset name (``"default"``: FluidR3_GM; ``"tiny"``: TimGM6mb, for tests).
    on_progress : called with (stage, fraction 0-1) as stages start and end.
    on_chunk : called with each piece of the encoded file in playing order, section by section;
        the pieces concatenate to ``SongResult.encoded`` exactly.

    Returns
    -------
    SongResult with the master at 48 kHz stereo and the encoded file.
    """
    from songforge.engine.compose import compose
    from songforge.engine.plan import plan_song
    from songforge.engine.presets import get_preset

    settings = get_preset(preset)
    seed = request.seed if request.seed is not None else secrets.randbelow(2**32)
    if request.duration_s is None and settings.default_duration_s:
        request = request.with_(duration_s=float(settings.default_duration_s))
    clock = _Clock(on_progress)
    plan = clock.run(Stage.COMPOSE, lambda: plan_song(request, seed=seed), label="plan")
    score = clock.run(Stage.COMPOSE, lambda: compose(plan))
    stems = clock.run(
        Stage.RENDER, lambda: _render(score, soundfont=settings.soundfont, tail_s=settings.render_tail_s)
    )
    mixed, processed = clock.run(Stage.MIX, lambda: _mix(stems, score=score, plan=plan))
    encoded = clock.run(
        Stage.ENCODE,
        lambda: _encode_sections(
            mixed, score=score, request=request, mp3_quality=settings.mp3_quality, clock=clock, on_chunk=on_chunk
        ),
    )
    clock.total()
    return SongResult(
        request=request,
        plan=plan,
        score=score,
        audio=mixed,
        sample_rate_hz=MASTER_SAMPLE_RATE_HZ,
        encoded=encoded,
        media_type=MEDIA_TYPES[AudioFormat.parse(request.format)],
        stems=processed,
        seed=seed,
        timings_s=clock.timings_s,
    )


def _render(score: Score, *, soundfont: str, tail_s: float) -> dict[str, np.ndarray]:
    from songforge.engine.render import render_stems

    return render_stems(score, sample_rate_hz=MASTER_SAMPLE_RATE_HZ, soundfont=soundfont, tail_s=tail_s)


def _mix(stems: dict[str, np.ndarray], *, score: Score, plan: SongPlan) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Mix and master; returns the master and the processed stems."""
    from songforge.engine.mix import master, mix_stems
    from songforge.engine.styles import load_style

    roles = {p.name: p.role for p in score.parts if p.name in stems}
    style_mix = load_style(plan.genre).mix
    mixed, processed = mix_stems(stems, roles=roles, sample_rate_hz=MASTER_SAMPLE_RATE_HZ, style_mix=style_mix)
    return master(mixed, sample_rate_hz=MASTER_SAMPLE_RATE_HZ), processed


def _section_bounds(score: Score, n_samples: int) -> list[tuple[int, int]]:
    """Sample ranges of the sections in playing order; the last one runs to the end (the tail)."""
    starts = [round(score.beats_to_seconds(s.start_beat) * MASTER_SAMPLE_RATE_HZ) for s in score.sections]
    starts = [min(max(s, 0), n_samples) for s in starts] or [0]
    starts[0] = 0
    ends = starts[1:] + [n_samples]
    return [(a, b) for a, b in zip(starts, ends, strict=True) if b > a]


def _encode_sections(
    audio: np.ndarray, *, score: Score, request: SongRequest, mp3_quality: int, clock: _Clock,
    on_chunk: ChunkFn | None,
) -> bytes:
    """Encode section by section with a streaming encoder; every piece goes to ``on_chunk``."""
    from songforge.engine.encode import StreamEncoder, encode

    if request.format == AudioFormat.FLAC:
        data = encode(
            audio, sample_rate_hz=MASTER_SAMPLE_RATE_HZ, format=request.format,
            out_sample_rate_hz=request.sample_rate_hz, channels=request.channels,
            bitrate_kbps=request.bitrate_kbps, mp3_quality=mp3_quality,
        )
        clock.mark("first_chunk")
        if on_chunk:
            on_chunk(data)
        return data
    encoder = StreamEncoder(
        format=request.format, sample_rate_hz=MASTER_SAMPLE_RATE_HZ,
        out_sample_rate_hz=request.sample_rate_hz, channels=request.channels,
        bitrate_kbps=request.bitrate_kbps, total_frames=audio.shape[0], mp3_quality=mp3_quality,
    )
    pieces: list[bytes] = []
    for start, end in _section_bounds(score, audio.shape[0]):
        pieces.append(encoder.feed(audio[start:end]))
        clock.mark("first_chunk")
        if on_chunk and pieces[-1]:
            on_chunk(pieces[-1])
    pieces.append(encoder.finish())
    if on_chunk and pieces[-1]:
        on_chunk(pieces[-1])
    return b"".join(pieces)


def plan_to_json(plan: SongPlan, score: Score, *, seed: int, duration_s: float) -> str:
    """The plan as JSON: genre, tempo, key, meter, instruments and sections with times in seconds."""
    import pretty_midi

    data = dict(plan.to_dict())
    data.update(
        seed=seed,
        duration_s=round(duration_s, 3),
        key=f"{PITCH_CLASSES[score.tonic_pc]} {score.mode}",
        quarter_bpm=score.tempo_bpm,
        instruments=[
            {"role": role, "program": prog, "name": pretty_midi.program_to_instrument_name(prog)}
            for role, prog in plan.instruments
        ],
        parts=[{"name": p.name, "role": p.role, "program": p.program, "is_drum": p.is_drum} for p in score.parts],
        sections=[
            {"name": name, "kind": kind, "start_s": round(a, 3), "end_s": round(b, 3)}
            for name, kind, a, b in score.section_times_s()
        ],
    )
    return json.dumps(data, indent=2, default=list)


def write_exports(
    result: SongResult,
    *,
    stems_dir: Path | None = None,
    midi_path: Path | None = None,
    plan_path: Path | None = None,
) -> list[Path]:
    """Write a WAV per stem, the MIDI file and the plan JSON; returns the paths written."""
    import soundfile as sf

    from songforge.storage.atomic import atomic_write_bytes

    written: list[Path] = []
    if stems_dir is not None:
        stems_dir.mkdir(parents=True, exist_ok=True)

        def _write(item: tuple[str, np.ndarray]) -> Path:
            name, audio = item
            buf = io.BytesIO()
            sf.write(buf, audio, result.sample_rate_hz, format="WAV", subtype="FLOAT")
            return atomic_write_bytes(stems_dir / f"{name}.wav", buf.getvalue())

        with ThreadPoolExecutor(max_workers=2) as pool:
            written.extend(pool.map(_write, sorted(result.stems.items())))
    if midi_path is not None:
        written.append(atomic_write_bytes(midi_path, result.midi_bytes()))
    if plan_path is not None:
        written.append(atomic_write_bytes(plan_path, result.plan_json().encode()))
    return written
