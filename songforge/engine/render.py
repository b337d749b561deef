"""Render a :class:`~songforge.engine.score.Score` to one stereo stem per part with FluidSynth.

Each part gets its own in-process ``fluidsynth.Synth`` (reverb and chorus off: the mixer adds
space), loaded with the SoundFont. FluidSynth 2 shares sample data between synths that load the same
file, so the module keeps one idle synth per SoundFont (:func:`release_soundfonts` frees them): in a
long-lived worker every later load is a cache hit (FluidR3 0.02 s, MuseScore sf3 0.13 s instead of
~4 s); a worker also makes the next song's synths ahead of need (:func:`prepare_synths`: each
load still parses the presets, 60-90 ms). Synths are created and parts rendered in parallel
threads: the ctypes call to ``fluid_synth_write_float`` releases the GIL.

Timing: note on/off times come from ``score.beats_to_seconds`` and are rounded to samples; audio is
written in blocks between events. FluidSynth applies events at its internal 64-sample block
boundaries, so onsets land within 64 samples (1.3 ms at 48 kHz) of the exact time, always the same
way: rendering is deterministic (same score -> identical arrays).

Pan is sent as MIDI CC10 (so stereo samples keep their width); ``Part.gain_db`` is applied after
rendering. Drum parts play on MIDI channel 10 (index 9) with bank 128 and ``Part.program`` as the kit.
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from songforge.engine.presets import DEFAULT_SOUNDFONT, soundfont_path
from songforge.engine.score import Part, Score
from songforge.errors import MissingDependency

__all__ = [
    "render_stems",
    "render_stems_iter",
    "render_blocks",
    "load_soundfont",
    "render_part",
    "release_soundfonts",
    "prepare_synths",
    "SYNTH_GAIN",
]

SYNTH_GAIN = 0.2
_DRUM_CHANNEL = 9
_MELODIC_CHANNEL = 0
_DRUM_BANK = 128
_CC_PAN = 10

# An event: (sample, order, kind, key, velocity); order puts note-offs before note-ons at one sample.
_NOTE_OFF, _NOTE_ON = 0, 1


def render_stems(
    score: Score,
    *,
    sample_rate_hz: int = 48000,
    soundfont: str = DEFAULT_SOUNDFONT,
    tail_s: float = 2.0,
    max_workers: int | None = None,
) -> dict[str, np.ndarray]:
    """Render every part of ``score`` to a stereo stem.

    Parameters
    ----------
    score : the song.
    sample_rate_hz : output rate in Hz.
    soundfont : SoundFont name (``"fluidr3"``, ``"timgm6mb"``, ``"musescore"``) or path.
    tail_s : seconds rendered after ``score.duration_s`` so releases ring out.
    max_workers : render threads (default: one per part, at most ``os.cpu_count()``); 1 = sequential.

    Returns
    -------
    ``{part.name: audio}`` in score order, each float32 shaped (n_samples, 2) with
    ``n_samples = round((score.duration_s + tail_s) * sample_rate_hz)``.

    Raises
    ------
    MissingDependency
        FluidSynth or the SoundFont is not installed.

    Example
    -------
    >>> stems = render_stems(score, soundfont="timgm6mb")  # doctest: +SKIP
    >>> stems["piano"].shape  # doctest: +SKIP
    (585600, 2)
    """
    n_samples = _total_samples(score, sample_rate_hz=sample_rate_hz, tail_s=tail_s)
    with ThreadPoolExecutor(_workers(max_workers, len(score.parts))) as pool:
        renderers = _make_renderers(
            score, sample_rate_hz=sample_rate_hz, soundfont=soundfont, pool=pool
        )
        try:
            chunks = list(pool.map(lambda r: r.render_until(n_samples), renderers))
        finally:
            _close_all(renderers)
    return {r.name: chunk for r, chunk in zip(renderers, chunks, strict=True)}


def render_stems_iter(
    score: Score,
    *,
    sample_rate_hz: int = 48000,
    soundfont: str = DEFAULT_SOUNDFONT,
    tail_s: float = 2.0,
    max_workers: int | None = None,
) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
    """Render section by section in playing order, for streaming.

    Yields ``(section_index, {part.name: chunk})``; chunks are float32 (n_section_samples, 2).
    The synths run on across section boundaries, the first chunk starts at sample 0 and the last
    one carries the tail, so concatenating the chunks of a part equals :func:`render_stems`' stem
    exactly. Parameters are those of :func:`render_stems`.
    """
    n_samples = _total_samples(score, sample_rate_hz=sample_rate_hz, tail_s=tail_s)
    bounds = _section_ends(score, sample_rate_hz=sample_rate_hz, n_samples=n_samples)
    with ThreadPoolExecutor(_workers(max_workers, len(score.parts))) as pool:
        renderers = _make_renderers(
            score, sample_rate_hz=sample_rate_hz, soundfont=soundfont, pool=pool
        )
        try:
            for index, end in bounds:
                chunks = list(pool.map(lambda r, e=end: r.render_until(e), renderers))
                yield index, {r.name: c for r, c in zip(renderers, chunks, strict=True)}
        finally:
            _close_all(renderers)


def render_blocks(
    score: Score,
    ends: list[int],
    *,
    sample_rate_hz: int = 48000,
    soundfont: str = DEFAULT_SOUNDFONT,
    max_workers: int | None = None,
) -> Iterator[dict[str, np.ndarray]]:
    """Render consecutive blocks ending at the samples ``ends`` (increasing), for streaming.

    Yields ``{part.name: chunk}`` per block, chunks float32 (n_block_samples, 2); the synths run
    on across block edges, so the chunks of a part concatenate to :func:`render_stems`' stem
    (with ``ends[-1]`` its length) exactly.
    """
    with ThreadPoolExecutor(_workers(max_workers, len(score.parts))) as pool:
        renderers = _make_renderers(
            score, sample_rate_hz=sample_rate_hz, soundfont=soundfont, pool=pool
        )
        try:
            for end in ends:
                chunks = list(pool.map(lambda r, e=end: r.render_until(e), renderers))
                yield {r.name: c for r, c in zip(renderers, chunks, strict=True)}
        finally:
            _close_all(renderers)


def render_part(
    part: Part,
    *,
    score: Score,
    sample_rate_hz: int = 48000,
    soundfont: str = DEFAULT_SOUNDFONT,
    tail_s: float = 2.0,
) -> np.ndarray:
    """Render one part of ``score`` alone: float32 (n_samples, 2), as in :func:`render_stems`."""
    n_samples = _total_samples(score, sample_rate_hz=sample_rate_hz, tail_s=tail_s)
    path = _sf_path(soundfont)
    _keep_loaded(path)
    renderer = _PartRenderer.create(part, score=score, sample_rate_hz=sample_rate_hz, path=path)
    try:
        return renderer.render_until(n_samples)
    finally:
        renderer.close()


# --- helpers ---------------------------------------------------------------------------------


def _total_samples(score: Score, *, sample_rate_hz: int, tail_s: float) -> int:
    return int(round((score.duration_s + max(tail_s, 0.0)) * sample_rate_hz))


def _workers(max_workers: int | None, n_parts: int) -> int:
    limit = max_workers if max_workers is not None else (os.cpu_count() or 1)
    return max(1, min(limit, n_parts))


def _section_ends(score: Score, *, sample_rate_hz: int, n_samples: int) -> list[tuple[int, int]]:
    """``(section_index, end_sample)`` in playing order; the last section ends at ``n_samples``."""
    order = sorted(range(len(score.sections)), key=lambda i: score.sections[i].start_beat)
    if not order:
        return [(0, n_samples)]
    ends = [
        round(score.beats_to_seconds(score.sections[i].end_beat) * sample_rate_hz) for i in order
    ]
    ends = [min(max(e, 0), n_samples) for e in ends[:-1]] + [n_samples]
    ends = list(np.maximum.accumulate(ends))
    return list(zip(order, ends, strict=True))


def _sf_path(soundfont: str) -> str:
    return str(soundfont_path(soundfont))


def _make_renderers(
    score: Score, *, sample_rate_hz: int, soundfont: str, pool: ThreadPoolExecutor
) -> list[_PartRenderer]:
    """One synth per part, created in ``pool`` once the SoundFont's samples are cached."""
    path = _sf_path(soundfont)
    _keep_loaded(path)

    def _create(part: Part) -> _PartRenderer:
        return _PartRenderer.create(part, score=score, sample_rate_hz=sample_rate_hz, path=path)

    futures = [pool.submit(_create, part) for part in score.parts]
    renderers, error = [], None
    for future in futures:
        try:
            renderers.append(future.result())
        except BaseException as exc:  # keep collecting so every created synth is closed
            error = error or exc
    if error is not None:
        _close_all(renderers)
        raise error
    return renderers


_KEEPERS: dict[str, Any] = {}
_KEEPERS_LOCK = threading.Lock()


def _keep_loaded(path: str) -> None:
    """Hold one idle synth per SoundFont so FluidSynth's sample cache stays warm.

    FluidSynth shares sample data between synths that load the same file, but frees it when the
    last one is deleted; the keeper makes every later load a cache hit (FluidR3: 0.13 -> 0.02 s,
    MuseScore sf3: 3.7-5 s -> 0.13 s) at the price of keeping the samples in memory.
    """
    with _KEEPERS_LOCK:
        if path in _KEEPERS:
            return
        _KEEPERS[path], _ = _new_loaded_synth(path, 48000)


def load_soundfont(soundfont: str = DEFAULT_SOUNDFONT) -> None:
    """Load ``soundfont`` (a name or path) and keep it loaded: what a long-lived worker pays once."""
    _keep_loaded(_sf_path(soundfont))


def release_soundfonts() -> None:
    """Free the SoundFonts kept loaded between renders and the prepared synths (the next render
    loads them again)."""
    with _KEEPERS_LOCK:
        for synth in _KEEPERS.values():
            synth.delete()
        _KEEPERS.clear()
        for spares in _SPARES.values():
            for synth, _ in spares:
                synth.delete()
        _SPARES.clear()


# (SoundFont path, rate) -> synths made ahead of need, never played: (synth, sfid)
_SPARES: dict[tuple[str, int], list[tuple[Any, int]]] = {}


def prepare_synths(soundfont: str = DEFAULT_SOUNDFONT, *, sample_rate_hz: int = 48000, count: int = 8) -> int:
    """Make synths ahead of need until ``count`` wait unplayed for ``soundfont`` at ``sample_rate_hz``.

    Loading even a cached SoundFont into a new synth costs 60-90 ms (FluidR3: its presets are
    parsed again), paid per part before a render's first sample; a worker prepares them when it
    starts and between jobs (:mod:`songforge.engine.warm`). Only new, never-played synths are
    kept: a played one keeps traces of its last notes (the first block of its next notes differs),
    so renders stay byte-identical whichever synth they get. Returns how many were made.
    """
    path = _sf_path(soundfont)
    _keep_loaded(path)
    made = 0
    while True:
        with _KEEPERS_LOCK:
            if len(_SPARES.get((path, sample_rate_hz), ())) >= count:
                return made
        spare = _new_loaded_synth(path, sample_rate_hz)
        with _KEEPERS_LOCK:
            _SPARES.setdefault((path, sample_rate_hz), []).append(spare)
        made += 1


def _borrow_synth(path: str, sample_rate_hz: int) -> tuple[Any, int]:
    """A prepared synth with ``path`` loaded at ``sample_rate_hz``, or a new one: ``(synth, sfid)``."""
    with _KEEPERS_LOCK:
        spares = _SPARES.get((path, sample_rate_hz))
        if spares:
            return spares.pop()
    return _new_loaded_synth(path, sample_rate_hz)


def _new_loaded_synth(path: str, sample_rate_hz: int) -> tuple[Any, int]:
    synth = _new_synth(sample_rate_hz)
    sfid = synth.sfload(path)
    if sfid < 0:
        synth.delete()
        raise MissingDependency(f"FluidSynth could not load the SoundFont {path}")
    return synth, sfid


def _close_all(renderers: list[_PartRenderer]) -> None:
    for r in renderers:
        r.close()


def _note_events(
    part: Part, *, score: Score, sample_rate_hz: int
) -> list[tuple[int, int, int, int]]:
    """Sorted ``(sample, kind, key, velocity)``; offs sort before ons at the same sample."""
    events: list[tuple[int, int, int, int]] = []
    for note in part.notes:
        start = round(score.beats_to_seconds(note.start_beat) * sample_rate_hz)
        end = max(round(score.beats_to_seconds(note.end_beat) * sample_rate_hz), start + 1)
        key = int(np.clip(note.pitch, 0, 127))
        velocity = int(np.clip(note.velocity, 1, 127))
        events.append((start, _NOTE_ON, key, velocity))
        events.append((end, _NOTE_OFF, key, 0))
    events.sort()
    return events


def _pan_cc(pan: float) -> int:
    return int(np.clip(round(64 + float(pan) * 63.5), 0, 127))


def _load_fluidsynth() -> Any:  # the fluidsynth module
    try:
        import fluidsynth
    except (ImportError, OSError) as exc:
        raise MissingDependency(
            f"FluidSynth is not available ({exc}): apt-get install libfluidsynth3 && pip install pyfluidsynth"
        ) from exc
    return fluidsynth


_WRITE_FLOAT: Any = None


def _write_float_fn() -> Any:  # a ctypes function
    """``fluid_synth_write_float`` as a GIL-releasing ctypes function (built once, lazily)."""
    global _WRITE_FLOAT
    if _WRITE_FLOAT is None:
        lib = _load_fluidsynth()._fl
        c_vp, c_int = ctypes.c_void_p, ctypes.c_int
        proto = ctypes.CFUNCTYPE(c_int, c_vp, c_int, c_vp, c_int, c_int, c_vp, c_int, c_int)
        _WRITE_FLOAT = proto(("fluid_synth_write_float", lib))
    return _WRITE_FLOAT


@dataclass
class _PartRenderer:
    """One synth playing one part; renders forward in time, keeping its state between calls."""

    name: str
    synth: Any
    channel: int
    events: list[tuple[int, int, int, int]]
    gain: float
    position: int = 0
    next_event: int = 0
    held: dict[int, int] = field(default_factory=dict)  # key -> sounding notes (overlaps)

    @classmethod
    def create(cls, part: Part, *, score: Score, sample_rate_hz: int, path: str) -> _PartRenderer:
        synth, sfid = _borrow_synth(path, sample_rate_hz)
        try:
            channel = _select_program(synth, part, sfid=sfid)
            synth.cc(channel, _CC_PAN, _pan_cc(part.pan))
        except BaseException:
            synth.delete()
            raise
        events = _note_events(part, score=score, sample_rate_hz=sample_rate_hz)
        gain = float(10.0 ** (part.gain_db / 20.0))
        return cls(part.name, synth, channel, events, gain)

    def render_until(self, end: int) -> np.ndarray:
        """Audio from ``self.position`` to sample ``end``: float32 (end - position, 2)."""
        chunk_start = self.position
        out = np.zeros((max(end - chunk_start, 0), 2), dtype=np.float32)
        while self.next_event < len(self.events) and self.events[self.next_event][0] < end:
            event_sample = self.events[self.next_event][0]
            self._write(out, chunk_start=chunk_start, until=event_sample)
            self.next_event = self._send_events_at(event_sample)
        self._write(out, chunk_start=chunk_start, until=end)
        if self.gain != 1.0:
            out *= np.float32(self.gain)
        return out

    def _write(self, out: np.ndarray, *, chunk_start: int, until: int) -> None:
        """Synthesize from ``self.position`` up to absolute sample ``until`` into ``out``."""
        n = until - self.position
        if n <= 0:
            return
        view = out[self.position - chunk_start : until - chunk_start]
        _write_float_fn()(self.synth.synth, n, view.ctypes.data, 0, 2, view.ctypes.data, 1, 2)
        self.position = until

    def _send_events_at(self, sample: int) -> int:
        """Send every event at ``sample``; returns the index of the next event."""
        held = self.held
        i = self.next_event
        while i < len(self.events) and self.events[i][0] == sample:
            _, kind, key, velocity = self.events[i]
            if kind == _NOTE_ON:
                held[key] = held.get(key, 0) + 1
                self.synth.noteon(self.channel, key, velocity)
            else:
                held[key] = held.get(key, 1) - 1
                if held[key] <= 0:
                    held.pop(key, None)
                    self.synth.noteoff(self.channel, key)
            i += 1
        return i

    def close(self) -> None:
        if self.synth is not None:
            self.synth.delete()
            self.synth = None


def _new_synth(sample_rate_hz: int) -> Any:  # fluidsynth.Synth
    fluidsynth = _load_fluidsynth()
    settings = {
        "synth.reverb.active": 0,
        "synth.chorus.active": 0,
        "synth.threadsafe-api": 0,
        "synth.polyphony": 256,
    }
    return fluidsynth.Synth(gain=SYNTH_GAIN, samplerate=float(sample_rate_hz), **settings)


def _select_program(synth: Any, part: Part, *, sfid: int) -> int:
    """Select the part's program from the SoundFont ``sfid`` loaded in ``synth``; returns the MIDI channel."""
    if part.is_drum:
        channel, bank = _DRUM_CHANNEL, _DRUM_BANK
    else:
        channel, bank = _MELODIC_CHANNEL, 0
    program = int(np.clip(part.program, 0, 127))
    if synth.program_select(channel, sfid, bank, program) != 0:
        synth.program_select(channel, sfid, bank, 0)  # kit/program missing from this SoundFont
    return channel
